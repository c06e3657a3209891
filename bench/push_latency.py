"""Live-update latency: a patient clicks "Book" in one browser; how long until the others see it?

    .venv/bin/python bench/push_latency.py [--bookings 20] [--timeout 10]

Starts the real app like the browser tests do (tests/e2e/server.py: fresh SQLite database, demo seed, free
port) and drives one Chromium with three users: Maria books, Tomás watches the same doctor's slot grid, and
Dr. Okafor watches her day view. For each booking it measures, with in-page clocks
(`performance.timeOrigin + performance.now()`, one machine so one clock):

- slot:   click on "Book" -> Tomás's button for that slot is disabled / labelled "taken";
- doctor: click on "Book" -> the doctor's day view shows the new appointment card;
- and, for both, the part until the watcher's websocket received the update that did it
  ("server": booking, commit, event fan-out, query, send; localhost transport is negligible),
  the rest being the browser's render.

The click is dispatched from a script in the booking page so that its timestamp is exact. Prints p50, p95 and
max in ms and the number of samples; exit status 1 if any watcher missed an update.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.server import (  # noqa: E402
    DOCTOR,
    PATIENT,
    TOMAS,
    FreeSlot,
    browser_problem,
    first_free_slot,
    launch_chromium,
    new_context,
    running_app,
    sign_in,
    wait_connected,
)

# Armed in a watcher page before the click: a MutationObserver records when `check()` first holds, together
# with the arrival time of the last websocket message before it (the update that caused the change).
ARM_JS = """
([kind, target, time, name]) => {
  const now = () => performance.timeOrigin + performance.now();
  if (!window.__hsListening) {
    window.socket.onAny(() => { window.__hsLastMessage = now(); });
    window.__hsListening = true;
  }
  window.__hsLastMessage = null;
  window.__hsSeen = null;
  const check = kind === 'slot'
    ? () => target.hasAttribute('disabled') || (target.getAttribute('aria-label') || '').endsWith(' taken')
    : () => [...document.querySelectorAll('.q-card')].some(
        c => c.innerText.includes(time + '\u2013') && c.innerText.includes(name));
  if (check()) { window.__hsSeen = {dom: 0, message: 0, already: true}; return; }
  const observer = new MutationObserver(() => {
    if (window.__hsSeen === null && check()) {
      window.__hsSeen = {dom: now(), message: window.__hsLastMessage, already: false};
      observer.disconnect();
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}
"""

CLICK_JS = """
() => {
  const button = document.querySelector('[data-testid="confirm-book"]');
  const at = performance.timeOrigin + performance.now();
  button.click();
  return at;
}
"""


@dataclass
class Series:
    name: str
    total: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)

    def add(self, clicked: float, seen: dict[str, Any]) -> None:
        self.total.append(seen["dom"] - clicked)
        if seen.get("message"):
            self.server.append(seen["message"] - clicked)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)  # nearest rank
    return ordered[index]


def line(label: str, values: list[float]) -> str:
    if not values:
        return f"  {label:44} no samples"
    return (
        f"  {label:44} p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}  "
        f"max {max(values):7.1f} ms  (n={len(values)})"
    )


def run(bookings: int, timeout_s: float) -> int:
    from playwright.sync_api import sync_playwright

    slot_series = Series("other patient's slot turns taken")
    doctor_series = Series("doctor's day view shows the card")
    missed = 0
    timeout_ms = timeout_s * 1000
    with tempfile.TemporaryDirectory(prefix="hs-push-") as tmp, running_app(Path(tmp)) as server:
        print(f"app on {server.base_url}; {bookings} bookings", flush=True)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                pages = []
                for user in (PATIENT, TOMAS, DOCTOR):
                    context = new_context(browser, server.base_url)
                    context.set_default_timeout(timeout_ms)
                    page = context.new_page()
                    sign_in(page, user)
                    pages.append(page)
                booker, watcher, doctor = pages

                booker.goto("/patient/doctors?q=Okafor")
                wait_connected(booker)
                booker.get_by_role("button", name="See free times").click()
                booker.wait_for_url("**/patient/doctors/*")
                booking_path = booker.url.removeprefix(server.base_url)
                watcher.goto(booking_path)
                wait_connected(watcher)
                shown_day = None

                for i in range(bookings):
                    if i:
                        booker.goto(booking_path)
                        wait_connected(booker)
                    slot: FreeSlot = first_free_slot(booker)
                    if slot.day != shown_day:
                        doctor.goto(f"/doctor?day={slot.day.isoformat()}")
                        wait_connected(doctor)
                        shown_day = slot.day
                    watched = slot.button(watcher)
                    watched.wait_for()
                    watcher.evaluate(ARM_JS, ["slot", watched.element_handle(), slot.time, PATIENT.name])
                    doctor.evaluate(ARM_JS, ["doctor", None, slot.time, PATIENT.name])

                    slot.button(booker).click()
                    booker.get_by_test_id("confirm-book").wait_for(state="visible")
                    clicked = float(booker.evaluate(CLICK_JS))
                    for series, page in ((slot_series, watcher), (doctor_series, doctor)):
                        try:
                            page.wait_for_function("() => window.__hsSeen !== null", timeout=timeout_ms)
                        except Exception as error:  # playwright's TimeoutError
                            missed += 1
                            print(f"  booking {i + 1}: {series.name}: not seen ({type(error).__name__})")
                            continue
                        seen = page.evaluate("() => window.__hsSeen")
                        if seen["already"]:
                            missed += 1
                            print(f"  booking {i + 1}: {series.name}: already true before the click (skipped)")
                            continue
                        series.add(clicked, seen)
                    booker.wait_for_url(re.compile(r".*/patient(\?booked=\d+)?$"))
            finally:
                browser.close()

    print()
    print("Click on 'Book' -> change visible in another browser (ms):")
    for series in (slot_series, doctor_series):
        print(line(series.name, series.total))
        print(line("  of which until the update message arrived", series.server))
    print(f"samples: {len(slot_series.total)} slot, {len(doctor_series.total)} doctor; missed: {missed}")
    return 1 if missed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bookings", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each update")
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem:
        print(f"push_latency needs a browser: {problem}", file=sys.stderr)
        return 2
    return run(args.bookings, args.timeout)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
