"""Run the real HealthSync app in a subprocess for browser tests and benchmarks; plus small Playwright helpers.

Used by tests/e2e/conftest.py and bench/push_latency.py. Standard library only at import time: Playwright
is imported lazily so that a missing package becomes a skip (or a failure with HEALTHSYNC_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
TIMEZONE = "Europe/Berlin"
REQUIRE_BROWSER_ENV = "HEALTHSYNC_REQUIRE_BROWSER"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Login:
    email: str
    password: str
    name: str
    home: str  # where signing in lands


# demo logins from data/seed.py
PATIENT = Login("patient@healthsync.example", "patient-demo-2026", "Maria Schmidt", "/patient")
TOMAS = Login("tomas@healthsync.example", "tomas-demo-2026", "Tomás Álvarez", "/patient")
DOCTOR = Login("okafor@healthsync.example", "doctor-demo-2026", "Dr. Amara Okafor", "/doctor")
ADMIN = Login("admin@healthsync.example", "admin-demo-2026", "Hospital Administrator", "/admin")


def chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def browser_problem() -> str | None:
    """Why real-browser runs are impossible here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the `playwright` Python package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium at /usr/bin/chromium or on PATH (apt-get install chromium)"
    return None


def browser_required() -> bool:
    return os.environ.get(REQUIRE_BROWSER_ENV, "") not in ("", "0")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class AppServer:
    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _app_env(workdir: Path, port: int) -> dict[str, str]:
    # PYTEST_CURRENT_TEST would make NiceGUI's ui.run believe it is inside its own test harness
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEALTHSYNC_", "NICEGUI_", "PYTEST_"))}
    env.update(
        {
            "HEALTHSYNC_DATABASE_URL": f"sqlite:///{workdir / 'e2e.db'}",
            "HEALTHSYNC_HOST": "127.0.0.1",
            "HEALTHSYNC_PORT": str(port),
            "HEALTHSYNC_TIMEZONE": TIMEZONE,
            "NICEGUI_STORAGE_PATH": str(workdir / ".nicegui"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _wait_healthy(server: AppServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"the app exited with status {server.process.returncode} before it was healthy:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except OSError as error:
            last = type(error).__name__
        time.sleep(0.2)
    raise RuntimeError(f"/healthz not OK after {timeout:.0f} s ({last}):\n{server.log_tail()}")


@contextmanager
def running_app(workdir: Path, timeout: float = 60.0) -> Iterator[AppServer]:
    """Migrate and seed a fresh SQLite database in `workdir`, serve it on a free port, stop it afterwards.
    The app runs with `workdir` as its working directory (no .env, no .nicegui/ in the repository)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = _app_env(workdir, port)
    main = str(ROOT / "main.py")
    for command in (["migrate"], ["seed-demo", "--quiet"]):
        done = subprocess.run(
            [sys.executable, main, *command], cwd=workdir, env=env, capture_output=True, timeout=120, check=False
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise RuntimeError(f"`main.py {' '.join(command)}` failed ({done.returncode}):\n{output}")
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, main, "serve"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    server = AppServer(f"http://127.0.0.1:{port}", env["HEALTHSYNC_DATABASE_URL"], process, log_path)
    try:
        _wait_healthy(server, timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ---- Playwright helpers ---------------------------------------------------------------------------------


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)


def new_context(
    browser: Browser, base_url: str, width: int = 1280, height: int = 900, storage_state: Any = None
) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, viewport={"width": width, "height": height}, locale="en-GB", storage_state=storage_state
    )
    context.set_default_timeout(15_000)
    return context


def wait_connected(page: Page) -> None:
    """The page's websocket handshake is done: from now on server-side changes reach this page live."""
    page.wait_for_function("() => window.did_handshake === true")


def sign_in(page: Page, login: Login) -> None:
    """Sign in through the form and wait for the role's start page."""
    page.goto("/login")
    wait_connected(page)
    page.get_by_test_id("email").fill(login.email)
    page.get_by_test_id("password").fill(login.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{login.home}", timeout=20_000)
    wait_connected(page)


def hospital_today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def day_from_heading(heading: str, first: date | None = None, days: int = 30) -> date:
    """The slot grid heads each day 'Friday 04 December' (no year): find it among the coming days."""
    first = first or hospital_today()
    for offset in range(days):
        candidate = first + timedelta(days=offset)
        if candidate.strftime("%A %d %B") == heading.strip():
            return candidate
    raise AssertionError(f"no day in the next {days} days is headed {heading!r}")


@dataclass(frozen=True)
class FreeSlot:
    time: str  # "08:30", as on the button
    day: date  # local hospital day

    @property
    def label_free(self) -> str:
        return f"{self.time} free"

    @property
    def label_taken(self) -> str:
        return f"{self.time} taken"

    def button(self, page: Page) -> Locator:
        """The slot's button on a booking page, whatever its state (the grid holds each time once per day)."""
        heading = self.day.strftime("%A %d %B")
        card = page.locator(".q-card").filter(has=page.get_by_text(heading, exact=True))
        return card.locator(f'button[aria-label^="{self.time} "]')


def first_free_slot(page: Page, skip: int = 0) -> FreeSlot:
    """The first (or `skip`-th) free slot on an open booking page: its time and day."""
    button = page.locator('button[aria-label$=" free"]').nth(skip)
    button.wait_for()
    label = button.get_attribute("aria-label") or ""
    heading = button.evaluate("b => b.closest('.q-card').innerText.split('\\n')[0]")
    return FreeSlot(label.split(" ")[0], day_from_heading(heading))


class ContextFactory(Protocol):
    """What the `open_context` fixture gives: a fresh browser context (own cookies, so its own user)."""

    def __call__(self, width: int = 1280, height: int = 900, user: Login | None = None) -> BrowserContext:
        """With `user`, the context starts signed in as that user."""
        ...
