"""HealthSync composition root.

`python main.py` (or `python main.py serve`) migrates and serves; other commands:
`migrate`, `seed-demo`, `import-fhir PATH [PATH ...]`, `create-admin`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import timedelta

from pydantic import ValidationError

from data.settings import Settings

JOB_INTERVAL_SECONDS = 15


def build(settings: Settings):  # type: ignore[no-untyped-def]
    """Wire engine, bus, services, live bridge and pages. Returns the AppContext."""
    from fastapi.responses import JSONResponse
    from nicegui import app, ui

    from components.live import LiveBridge
    from data.db import make_engine, ping
    from data.queries import Queries
    from data.relay import start_relay
    from data.security import Argon2Hasher, InviteTokens, OneTimeTokens
    from data.uow import SqlUnitOfWorkFactory
    from domain.bus import MessageBus
    from domain.services import Services, SystemClock
    from pages import (
        admin,
        admin_audit,
        admin_board,
        admin_reports,
        auth,
        doctor,
        frontdesk,
        patient,
        record_access,
        records,
    )
    from pages.context import AppContext

    engine = make_engine(settings.database_url)
    bus = MessageBus()
    live = LiveBridge()
    bus.subscribe(live.publish)
    services = Services(
        SqlUnitOfWorkFactory(engine, bus),
        Argon2Hasher(),
        SystemClock(settings.tz),
        settings.tz,
        cancel_cutoff=timedelta(hours=settings.cancel_cutoff_hours),
        offer_hold=timedelta(minutes=settings.offer_hold_minutes),
        invite_tokens=InviteTokens.from_settings(settings),  # a key from the settings: links survive restarts
        invite_ttl=timedelta(hours=settings.invite_hours),
    )
    ctx = AppContext(
        settings=settings,
        services=services,
        queries=Queries(engine),
        live=live,
        login_tokens=OneTimeTokens("sign-in", max_age=60),  # a random key per process, never a configured one
    )
    for module in (
        auth,
        patient,
        doctor,
        admin,
        frontdesk,
        admin_board,
        admin_audit,
        admin_reports,
        record_access,
        records,
    ):
        module.register(ctx)

    def healthz() -> JSONResponse:
        try:
            ping(engine)
        except Exception as error:  # any driver error means: not healthy
            reason = type(error).__name__
            return JSONResponse({"status": "error", "database": f"unreachable ({reason})"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.middleware("http")
    async def no_framing(request, call_next):  # type: ignore[no-untyped-def]
        """No other site may show HealthSync inside a frame (clickjacking)."""
        response = await call_next(request)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.state.healthsync = ctx  # for tests and admin tooling inside the process
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)

    async def background_jobs() -> None:
        """Due work read from the database on every run, so a restart misses nothing: booked appointments
        past their end plus the grace period become noshow; expired waiting-list holds pass to the next."""
        import logging

        grace = timedelta(minutes=settings.noshow_grace_minutes)
        while True:
            try:
                # asyncio.to_thread, not run.io_bound: io_bound swallows the cancellation at shutdown
                await asyncio.to_thread(services.mark_noshows, grace)
                await asyncio.to_thread(services.expire_offers)
            except Exception as error:  # e.g. the database is briefly unreachable: retried on the next tick
                logging.getLogger("healthsync.jobs").warning("background job failed, will retry: %r", error)
            await asyncio.sleep(JOB_INTERVAL_SECONDS)

    async def on_startup() -> None:
        loop = asyncio.get_running_loop()
        live.attach(loop)
        jobs = loop.create_task(background_jobs())
        app.on_shutdown(jobs.cancel)
        relay = start_relay(engine, live.deliver, loop)
        if relay is not None:
            live.relays.append(relay.notify)
            app.on_shutdown(relay.stop)

    def on_exception(error: Exception) -> None:
        # Anything not turned into a domain error: logged by NiceGUI; the user gets a clear message.
        try:
            client = ui.context.client
        except RuntimeError:
            return
        with client:
            ui.notify(
                "Sorry, that did not work and nothing was changed. Please try again in a moment.",
                type="negative",
                position="bottom",
            )

    app.on_exception(on_exception)
    app.on_startup(on_startup)
    app.on_shutdown(engine.dispose)
    return ctx


def serve(settings: Settings) -> None:
    from nicegui import ui

    build(settings)
    ui.run(
        host=settings.host,
        port=settings.port,
        title="HealthSync",
        favicon="🏥",
        storage_secret=settings.storage_secret,
        reconnect_timeout=settings.reconnect_timeout,
        session_middleware_kwargs={"https_only": settings.secure_cookies, "same_site": "lax"},
        reload=False,
        show=False,
        show_welcome_message=True,
    )


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="main.py", description="HealthSync hospital management")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="migrate the database and serve the web app (default)")
    sub.add_parser("migrate", help="apply database migrations")
    seed = sub.add_parser("seed-demo", help="seed a demo hospital into an EMPTY database")
    seed.add_argument("--quiet", action="store_true")
    imp = sub.add_parser("import-fhir", help="import FHIR R4 bundles (.json/.json.gz, folders recursively)")
    imp.add_argument("paths", nargs="+")
    admin = sub.add_parser("create-admin", help="create an admin account (password from HEALTHSYNC_ADMIN_PASSWORD)")
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", default="Administrator")
    args = parser.parse_args(argv)

    try:
        settings = Settings()
    except ValidationError as error:  # say why without echoing values: they may hold passwords
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"HealthSync cannot start: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    try:
        from sqlalchemy.engine import make_url

        make_url(settings.database_url)
    except Exception:
        print("HealthSync cannot start: HEALTHSYNC_DATABASE_URL is not a valid database URL.", file=sys.stderr)
        return 2

    from data.migrate import upgrade

    command = args.command or "serve"
    if command == "migrate":
        before, after = upgrade(settings.database_url)
        if before == after:
            print(f"Database is up to date (schema {after}).")
        elif before is None:
            print(f"Database created (schema {after}).")
        else:
            print(f"Database migrated from schema {before} to {after}.")
        return 0
    if command == "serve":
        upgrade(settings.database_url)
        serve(settings)
        return 0
    if command == "seed-demo":
        from data.seed import seed_demo

        upgrade(settings.database_url)
        logins = seed_demo(settings)
        if logins is None:
            print("The database already has data: the demo hospital was not seeded.")
        elif not args.quiet:
            print(f"Demo hospital seeded. Sign in at http://{settings.host}:{settings.port} with:")
            for role, email, password in logins:
                print(f"  {role:8} {email:32} {password}")
        return 0
    if command == "import-fhir":
        from data.db import make_engine
        from data.fhir_import import import_paths

        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        report = import_paths(engine, args.paths, progress=lambda line: print(line, file=sys.stderr, flush=True))
        print(report.to_json())
        return 1 if report.errors else 0
    if command == "create-admin":
        from data.seed import create_admin

        password = os.environ.get("HEALTHSYNC_ADMIN_PASSWORD") or ""
        if not password:
            import getpass

            password = getpass.getpass("Password for the new admin: ")
        upgrade(settings.database_url)
        try:
            create_admin(settings, args.email, args.name, password)
        except Exception as error:
            print(f"Could not create the admin: {getattr(error, 'message', error)}", file=sys.stderr)
            return 1
        print(f"Admin {args.email} created.")
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    if os.environ.get("NICEGUI_USER_SIMULATION"):
        serve(Settings())  # the NiceGUI `user` test fixture runs this file; ui.run does not serve then
    else:
        sys.exit(cli(sys.argv[1:]))
