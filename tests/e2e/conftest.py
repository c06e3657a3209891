"""Real-browser fixtures: the whole app in a subprocess (migrated, seeded, on a free port) and one Chromium.

Module-scoped, not session-scoped: sync Playwright leaves its event loop marked as running in this thread while
it is open, which breaks every later pytest-asyncio test (tests/ui) with "Cannot run the event loop while
another loop is running". Closing it when the journeys module is done avoids that.

Skipped with a reason when Chromium or the `playwright` package is missing; with HEALTHSYNC_REQUIRE_BROWSER=1
(CI) that is an error instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.server import (
    SCREENSHOTS,
    AppServer,
    ContextFactory,
    Login,
    browser_problem,
    browser_required,
    launch_chromium,
    new_context,
    running_app,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext


@pytest.fixture(scope="session")
def e2e_ready() -> None:
    problem = browser_problem()
    if problem is None:
        return
    if browser_required():
        pytest.fail(f"HEALTHSYNC_REQUIRE_BROWSER is set but {problem}", pytrace=False)
    pytest.skip(f"real-browser tests skipped: {problem}")


@pytest.fixture(scope="module")
def app_server(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with running_app(tmp_path_factory.mktemp("e2e-app")) as server:
        yield server


@pytest.fixture(scope="module")
def browser(e2e_ready: None) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def signed_in_states() -> dict[str, Any]:
    """Cookies of one signed-in context per user, so that only the first sign-in pays for argon2."""
    return {}


@pytest.fixture
def open_context(browser: Browser, app_server: AppServer, signed_in_states: dict[str, Any]) -> Iterator[ContextFactory]:
    """`open_context(width, height, user=…)`: a fresh browser context, optionally already signed in."""
    made: list[BrowserContext] = []

    def make(width: int = 1280, height: int = 900, user: Login | None = None) -> BrowserContext:
        state = signed_in_states.get(user.email) if user else None
        context = new_context(browser, app_server.base_url, width, height, storage_state=state)
        made.append(context)
        if user is not None and state is None:
            page = context.new_page()
            sign_in(page, user)
            signed_in_states[user.email] = context.storage_state()
            page.close()
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture(scope="module")
def okafor_id(app_server: AppServer) -> int:
    path = app_server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT id FROM doctor WHERE name = ?", ("Dr. Amara Okafor",)).fetchone()
    assert row is not None, "the demo seed has no Dr. Amara Okafor"
    return int(row[0])


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
