"""Charts of the admin board (ui.echart) and the live re-read that keeps them current.

Options are built from fixed keys only; names of departments and doctors (typed by users) travel as values in
category lists, never as dict keys (NiceGUI 3.18 runs keys starting with ':' as JavaScript)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from nicegui import ui

from components.appointment_card import STATUS_LABELS
from components.live import coalesced
from data.stats_queries import STATUS_ORDER, DepartmentFigures, DoctorFigures
from domain.stats import DayRange

#: colours per status, matching the badges of appointment cards (Quasar's palette as hex for ECharts)
STATUS_HEX = {
    "pending": "#f59e0b",
    "booked": "#0f766e",
    "arrived": "#14b8a6",
    "checked-in": "#0d9488",
    "fulfilled": "#16a34a",
    "cancelled": "#94a3b8",
    "noshow": "#dc2626",
    "entered-in-error": "#cbd5e1",
    "waitlist": "#7c3aed",
}
#: the board's departments chart groups the FHIR statuses into what an admin asks about
GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Still to come", ("pending", "booked", "arrived", "checked-in"), "#0f766e"),
    ("Fulfilled", ("fulfilled",), "#16a34a"),
    ("Cancelled", ("cancelled",), "#94a3b8"),
    ("No-show", ("noshow",), "#dc2626"),
)
ROW_PX = 26  # height per category in the horizontal bar charts


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def _shown_statuses(*counts: Mapping[str, int]) -> list[str]:
    """Statuses in FHIR order; the common ones always, rare ones only when they occur."""
    always = ("booked", "fulfilled", "cancelled", "noshow")
    return [s for s in STATUS_ORDER if s in always or any(c.get(s) for c in counts)]


def _base(grid_left: int = 8) -> dict[str, Any]:
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "grid": {"left": grid_left, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "legend": {"top": 0, "type": "scroll"},
    }


def status_options(by_status: Mapping[str, int], today: Mapping[str, int], range_name: str) -> dict[str, Any]:
    statuses = _shown_statuses(by_status, today)
    series = [
        {"name": "Today", "type": "bar", "data": [today.get(s, 0) for s in statuses], "color": "#0369a1"},
    ]
    if range_name != "Today":
        series.append(
            {"name": range_name, "type": "bar", "data": [by_status.get(s, 0) for s in statuses], "color": "#0f766e"}
        )
    return {
        **_base(),
        "xAxis": {"type": "category", "data": [status_label(s) for s in statuses], "axisLabel": {"interval": 0}},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": series,
    }


def department_options(departments: list[DepartmentFigures]) -> dict[str, Any]:
    names = [d.name for d in reversed(departments)]  # ECharts draws the first category at the bottom
    series = []
    for label, statuses, colour in GROUPS:
        series.append(
            {
                "name": label,
                "type": "bar",
                "stack": "all",
                "color": colour,
                "data": [sum(d.by_status.get(s, 0) for s in statuses) for d in reversed(departments)],
            }
        )
    return {
        **_base(),
        "yAxis": {"type": "category", "data": names, "axisLabel": {"width": 140, "overflow": "truncate"}},
        "xAxis": {"type": "value", "minInterval": 1},
        "series": series,
    }


def utilisation_options(doctors: list[DoctorFigures]) -> dict[str, Any]:
    shown = list(reversed(doctors))  # highest first, at the top
    return {
        **_base(),
        "legend": {"show": False},
        "yAxis": {
            "type": "category",
            "data": [d.name for d in shown],
            "axisLabel": {"width": 150, "overflow": "truncate"},
        },
        "xAxis": {
            "type": "value",
            "min": 0,
            "max": max([100, *[round((d.utilisation or 0) * 100) for d in shown]]),
            "axisLabel": {"formatter": "{value} %"},
        },
        "series": [
            {
                "name": "Booked of offered (%)",
                "type": "bar",
                "color": "#0f766e",
                "data": [round((d.utilisation or 0) * 100, 1) for d in shown],
                "label": {"show": True, "position": "right", "formatter": "{c} %"},
            }
        ],
    }


def registrations_options(period: DayRange, counts: list[int]) -> dict[str, Any]:
    days = [period.first + timedelta(days=i) for i in range(period.days)]
    fmt = "%a %d" if period.days <= 7 else "%d %b"
    return {
        **_base(),
        "legend": {"show": False},
        "xAxis": {"type": "category", "data": [d.strftime(fmt) for d in days]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [{"name": "New patient accounts", "type": "bar", "data": counts, "color": "#7c3aed"}],
    }


def bar_height(categories: int) -> int:
    return max(180, 60 + ROW_PX * categories)


def chart(options: dict[str, Any], height: int = 260) -> ui.echart:
    return ui.echart(options).classes("w-full").style(f"height: {height}px")


def set_options(target: ui.echart, options: dict[str, Any], height: int | None = None) -> None:
    """Change a chart in place: new options on the same element, one update to the browser."""
    for key in [k for k in target.options if k not in options]:
        del target.options[key]
    for key, value in options.items():
        target.options[key] = value
    if height is not None:
        target.style(f"height: {height}px")
    target.update()


def throttled(refresh: Callable[[], Awaitable[None]], interval: float = 0.75) -> Callable[[], Awaitable[None]]:
    """For a burst of events: at most one re-read per `interval` seconds, and one more after the burst so the
    last change is always shown. Re-reads never overlap (see components.live.coalesced)."""
    run = coalesced(refresh)
    state = {"waiting": False, "last": 0.0}

    async def trigger() -> None:
        if state["waiting"]:
            return  # the re-read already scheduled will see this change too
        loop = asyncio.get_running_loop()
        state["waiting"] = True
        try:
            delay = state["last"] + interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            state["waiting"] = False
        state["last"] = loop.time()
        await run()

    return trigger
