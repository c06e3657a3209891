"""UI tests: each test gets a copy of a migrated, seeded demo hospital (built once per session)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import pytest
from nicegui import context, ui
from nicegui.testing import User
from nicegui.testing.user_navigate import UserNavigate
from nicegui.testing.user_notify import UserNotify

from data.db import make_engine
from data.migrate import upgrade
from data.queries import Queries
from data.seed import ADMIN, DOCTOR_PASSWORD, DOCTORS, PATIENT, PATIENTS, seed_demo
from data.settings import Settings


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    settings = Settings(database_url=url)
    assert seed_demo(settings) is not None
    return path


@pytest.fixture(autouse=True)
def demo_db(demo_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    target = tmp_path / "hospital.db"
    # the backup API copies committed pages whether they sit in the main file or in the WAL
    with sqlite3.connect(demo_template) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("HEALTHSYNC_DATABASE_URL", url)
    yield url


@pytest.fixture(autouse=True)
def each_page_navigates_and_notifies_its_own_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a browser, ui.navigate and ui.notify act on the page whose client runs the handler. The simulation
    instead hands both to whichever simulated user had an attribute read last (even by its own outbox), so with
    several users a live event could send one user's navigation or toast to another. Route both by the client of
    the running handler, as a browser would; outside any client the simulation's choice stands."""
    pages: dict[str, User] = {}  # every page a simulated user opened, by client id (old pages live on, too)
    opening: ContextVar[User | None] = ContextVar("opening", default=None)  # whose page is being built
    opened = User.open

    async def open_and_remember(self: User, path: str, *, clear_forward_history: bool = True):  # type: ignore[no-untyped-def]
        token = opening.set(self)
        try:
            client = await opened(self, path, clear_forward_history=clear_forward_history)
        finally:
            opening.reset(token)
        pages[client.id] = self
        return client

    def owner() -> User | None:
        try:
            client = context.client
        except RuntimeError:  # a background task outside any page
            return opening.get()
        return pages.get(client.id) or opening.get()  # a page still being built is not the user's client yet

    navigate_to = UserNavigate.to

    def to(self: UserNavigate, target, new_tab: bool = False) -> None:  # type: ignore[no-untyped-def]
        user = owner()
        navigate_to(user.navigate if user is not None else self, target, new_tab)

    navigate_reload = UserNavigate.reload

    def reload(self: UserNavigate) -> None:
        user = owner()
        navigate_reload(user.navigate if user is not None else self)

    notify = UserNotify.__call__

    def call(self: UserNotify, message: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        user = owner()
        notify(user.notify if user is not None else self, message, **kwargs)

    should_see = User.should_see

    async def should_see_in_time(self: User, target=None, *, kind=None, marker=None, content=None, retries=3):  # type: ignore[no-untyped-def]
        # NiceGUI looks three times in 0.3 s; a page opened by a click is still being built that long on a busy
        # 2-core machine (the ICD-10 index builds in the background of each new app). Look for up to 5 s.
        await should_see(self, target, kind=kind, marker=marker, content=content, retries=max(retries, 50))  # type: ignore[call-overload]

    monkeypatch.setattr(User, "should_see", should_see_in_time)
    monkeypatch.setattr(User, "open", open_and_remember)
    monkeypatch.setattr(UserNavigate, "to", to)
    monkeypatch.setattr(UserNavigate, "reload", reload)
    monkeypatch.setattr(UserNotify, "__call__", call)


@pytest.fixture
def queries(demo_db: str) -> Iterator[Queries]:
    engine = make_engine(demo_db)
    yield Queries(engine)
    engine.dispose()


async def login(user: User, email: str, password: str) -> None:
    await user.open("/login")
    user.find("Email").type(email)
    user.find("Password").type(password)
    user.find(kind=ui.button, content="Sign in").click()
    # argon2 verification runs in a worker thread, then sign-in finishes over /auth/session and
    # /auth/complete: wait until the portal page is open (or the sign-in was refused)
    for _ in range(300):
        if user.notify.messages:
            return
        try:
            user.find("Sign out")  # only portal pages have it
            return
        except AssertionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"sign-in of {email} did not finish: {user.back_history} {user.notify.messages}")


ADMIN_LOGIN = ADMIN
PATIENT_LOGIN = PATIENT
OTHER_PATIENT_LOGIN = (PATIENTS[1][1], PATIENTS[1][2])
DOCTOR_LOGIN = (DOCTORS[0][1], DOCTOR_PASSWORD)


async def sign_in(user: User, email: str, demo_db: str) -> None:
    """Sign in without the form, through the same /auth/session hand-over the form ends with.

    For tests with several simulated users at once: the simulation patches ui.navigate globally to the
    user who acted last, so a form submitted by one user can navigate another one. The form itself is
    covered by the single-user tests in test_auth.py."""
    from nicegui import app
    from sqlalchemy import text

    engine = make_engine(demo_db)
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE email = :e"), {"e": email}).scalar_one()
    engine.dispose()
    await user.open("/login")  # the browser gets its session; the token is bound to it
    client = user.client
    assert client is not None and client.request is not None
    session_id = client.request.session["id"]
    token = app.state.healthsync.login_tokens.issue(account_id, binding=session_id)
    await user.open(f"/auth/session?token={token}&next=/")
    await user.should_see("Sign out")
