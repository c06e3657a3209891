"""Sign in, sign out, register."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from components.frame import HOME, close_open_pages, fmt_when, frame, notify_error
from components.io import hashing, io
from domain.errors import DomainError
from domain.model import MIN_PASSWORD_LENGTH
from pages.context import AppContext

SIGNED_OUT_BECAUSE = {"deactivated": "Your account was deactivated. Please contact the hospital if this is a mistake."}
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.\-]*(\?[A-Za-z0-9_.\-=&%]*)?", re.ASCII)


def _safe_next(target: str | None) -> str | None:
    """Only a plain local path (letters, digits, / _ . - and a simple query): never another site.
    Browsers drop tabs and newlines from URLs, so '/\t/evil' would become '//evil': such input is refused."""
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return None


def client_address() -> str:
    """Where the page was opened from (behind a proxy: what uvicorn's proxy headers make of it)."""
    request = ui.context.client.request
    return request.client.host if request is not None and request.client is not None else ""


def register(ctx: AppContext) -> None:
    @ui.page("/")
    async def index() -> RedirectResponse:
        account_id = app.storage.user.get("account_id")
        if isinstance(account_id, int):
            try:
                actor = await io(ctx.services.actor_for, account_id)
            except DomainError:
                app.storage.user.clear()
            else:
                return RedirectResponse(HOME[actor.role], status_code=303)
        return RedirectResponse("/login", status_code=303)

    @ui.page("/login")
    def login(next: str | None = None, why: str = "") -> RedirectResponse | None:  # noqa: A002 - query names
        if isinstance(app.storage.user.get("account_id"), int):
            return RedirectResponse(_safe_next(next) or "/", status_code=303)
        target = _safe_next(next)
        source = client_address()

        async def submit() -> None:
            if button.props.get("loading"):
                return
            button.props("loading")
            try:
                account = await hashing(ctx.services.authenticate, email.value, password.value, source)
            except DomainError as error:
                notify_error(error.message)
                password.value = ""
                return
            finally:
                button.props(remove="loading")
            assert account.id is not None
            ui.navigate.to(finish_url(account.id, target or HOME[account.role]))

        with frame(ctx, None, "Sign in"), ui.card().classes("w-full max-w-md mx-auto p-6 gap-3"):
            if why in SIGNED_OUT_BECAUSE:  # fixed texts only: nothing from the URL is shown
                with ui.row().classes("w-full items-center gap-2 no-wrap p-3 rounded bg-amber-50").mark("why"):
                    ui.icon("info", color="warning").classes("shrink-0")
                    ui.label(SIGNED_OUT_BECAUSE[why]).classes("text-slate-800")
            ui.label("Welcome to HealthSync").classes("text-lg font-medium")
            email = ui.input("Email").props('type=email autocomplete=username autofocus data-testid="email"')
            email.classes("w-full")
            password = ui.input("Password", password=True, password_toggle_button=True).props(
                'autocomplete=current-password data-testid="password"'
            )
            password.classes("w-full").on("keydown.enter", submit)
            button = ui.button("Sign in", on_click=submit).classes("w-full").props('data-testid="sign-in"')
            with ui.row().classes("w-full justify-center gap-1 text-sm"):
                ui.label("New patient?")
                ui.link("Create an account", "/register")
        return None

    @ui.page("/logout")
    def logout(request: Request, why: str = "") -> RedirectResponse:
        target = "/login?why=deactivated" if why == "deactivated" else "/login"  # (a fixed text, never echoed)
        app.storage.user.clear()
        close_open_pages(request.session.get("id"), target)
        request.session["id"] = str(uuid.uuid4())  # a fresh, empty session from here on
        return RedirectResponse(target, status_code=303)

    def finish_url(account_id: int, target: str) -> str:
        # bound to this browser's session: a captured link cannot sign another browser in
        request = ui.context.client.request
        token = ctx.login_tokens.issue(account_id, binding=request.session.get("id", "") if request else "")
        return f"/auth/session?{urlencode({'token': token, 'next': target})}"

    # Sign-in ends over plain HTTP so the session id can be rotated: whoever knew (or planted) the
    # anonymous session id gains nothing. Step 1 checks the token against the session that asked for it and
    # rotates the id; step 2 runs under the new id, which step 1 marked, and stores the account id there.
    # The token is signed with a per-process random key, expires in a minute and works once.
    @app.get("/auth/session", include_in_schema=False)
    def auth_session(request: Request, token: str = "", next: str = "/") -> RedirectResponse:  # noqa: A002
        old_id = request.session.get("id", "")
        if ctx.login_tokens.peek(token, binding=old_id) is None:
            return RedirectResponse("/login", status_code=303)
        request.session["id"] = str(uuid.uuid4())
        request.session["sign_in"] = {"token": token, "binding": old_id}
        return RedirectResponse(f"/auth/complete?{urlencode({'next': next})}", status_code=303)

    @ui.page("/auth/complete")
    def auth_complete(request: Request, next: str = "/") -> RedirectResponse:  # noqa: A002
        pending = request.session.pop("sign_in", None)  # only step 1 puts it there
        account_id = None
        if isinstance(pending, dict):
            account_id = ctx.login_tokens.spend(str(pending.get("token")), binding=str(pending.get("binding")))
        if account_id is None:
            return RedirectResponse("/login", status_code=303)
        app.storage.user.clear()
        app.storage.user["account_id"] = account_id  # the session holds the account id only
        return RedirectResponse(_safe_next(next) or "/", status_code=303)

    @ui.page("/register")
    def register_page() -> None:
        source = client_address()

        async def submit() -> None:
            if password.value != repeat.value:
                notify_error("The two passwords do not match.")
                return
            try:
                await hashing(ctx.services.register_patient, name.value, email.value, password.value, birth.value or "")
                account = await hashing(ctx.services.authenticate, email.value, password.value, source)
            except DomainError as error:
                notify_error(error.message)
                return
            assert account.id is not None
            ui.notify("Welcome! Your account is ready.", type="positive")
            ui.navigate.to(finish_url(account.id, "/patient/doctors"))

        with frame(ctx, None, "Create a patient account"):
            with ui.card().classes("w-full max-w-md mx-auto p-6 gap-2"):
                name = ui.input("Full name").props("autocomplete=name").classes("w-full")
                email = ui.input("Email").props("type=email autocomplete=email").classes("w-full")
                with ui.input("Date of birth").props("autocomplete=bday hint=YYYY-MM-DD").classes("w-full") as birth:
                    with ui.menu().props("no-parent-event") as menu:
                        with ui.date(mask="YYYY-MM-DD").props("default-view=Years").bind_value(birth):
                            with ui.row().classes("justify-end"):
                                ui.button("Close", on_click=menu.close).props("flat")
                    with birth.add_slot("append"):
                        ui.icon("edit_calendar").on("click", menu.open).classes("cursor-pointer")
                password = ui.input("Password (at least 8 characters)", password=True).props(
                    "autocomplete=new-password"
                )
                password.classes("w-full")
                repeat = ui.input("Repeat password", password=True).props("autocomplete=new-password").classes("w-full")
                ui.button("Create account", on_click=submit).classes("w-full")
                with ui.row().classes("w-full justify-center gap-1 text-sm"):
                    ui.label("Already registered?")
                    ui.link("Sign in", "/login")

    @ui.page("/invite/{token}")
    async def invite(token: str) -> None:
        """An invite link (a new doctor, an imported patient): who it is for, and their own password. A link
        that is expired, used, replaced or tampered with says so and changes nothing."""
        with frame(ctx, None, "Set up your account"):
            card = ui.card().classes("w-full max-w-md mx-auto p-6 gap-3")
        try:
            info = await io(ctx.services.invite_details, token)
        except DomainError as error:
            with card:
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon("link_off", size="1.8rem", color="negative").classes("shrink-0")
                    ui.label("This link cannot be used").classes("text-lg font-medium")
                ui.label(error.message).classes("text-slate-700").mark("invite-error")
                ui.link("Go to sign-in", "/login")
            return
        busy = {"saving": False}

        async def submit() -> None:
            if busy["saving"]:
                return
            if password.value != repeat.value:
                notify_error("The two passwords do not match.")
                return
            busy["saving"] = True
            button.props("loading")
            try:
                account = await hashing(ctx.services.accept_invite, token, password.value or "")
            except DomainError as error:
                notify_error(error.message)
                return
            finally:
                busy["saving"] = False
                button.props(remove="loading")
            assert account.id is not None
            ui.notify("Your password is set. Welcome to HealthSync!", type="positive")
            ui.navigate.to(finish_url(account.id, HOME[account.role]))

        role = {"doctor": "doctor", "patient": "patient", "admin": "administrator"}[info.role.value]
        with card:
            ui.label(f"Welcome, {info.name}").classes("text-lg font-medium break-words").mark("invite-name")
            ui.label(f"This invite sets up the {role} account {info.email}. Choose your own password.").classes(
                "text-slate-700 break-words"
            )
            ui.label(f"The link works once, until {fmt_when(info.expires_at, ctx.tz)}.").classes(
                "text-sm text-slate-500"
            )
            password = ui.input(
                f"New password (at least {MIN_PASSWORD_LENGTH} characters)", password=True, password_toggle_button=True
            ).props("autocomplete=new-password")
            password.classes("w-full").mark("invite-password")
            repeat = ui.input("Repeat password", password=True).props("autocomplete=new-password").classes("w-full")
            repeat.mark("invite-repeat").on("keydown.enter", submit)
            button = ui.button("Set password and sign in", on_click=submit).classes("w-full").mark("invite-submit")
