"""Shared chrome: header with the hospital name, navigation by role, sign-out; plus the guard every page uses."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi.responses import RedirectResponse
from nicegui import Client, app, ui
from nicegui.slot import Slot

from components.io import io
from domain.errors import NotAllowed, ValidationError
from domain.events import AccountStatusChanged, DomainEvent
from domain.model import AccountStatus, Actor, Role
from pages.context import AppContext

NAV: dict[Role, list[tuple[str, str, str]]] = {
    Role.PATIENT: [
        ("My appointments", "/patient", "event"),
        ("Find a doctor", "/patient/doctors", "search"),
        ("My history", "/patient/history", "history"),
        ("Who opened my record", "/patient/record-access", "visibility"),
    ],
    Role.DOCTOR: [
        ("My day", "/doctor", "today"),
        ("Week", "/doctor/week", "view_week"),
        ("My patients", "/doctor/patients", "folder_shared"),
        ("Availability", "/doctor/availability", "schedule"),
        ("Leave", "/doctor/leave", "beach_access"),
    ],
    Role.ADMIN: [
        ("Overview", "/admin", "dashboard"),
        ("Board", "/admin/board", "insights"),
        ("Arrivals", "/admin/arrivals", "how_to_reg"),
        ("Appointments", "/admin/appointments", "table_rows"),
        ("Doctors", "/admin/doctors", "medical_services"),
        ("Patients", "/admin/patients", "groups"),
        ("Departments", "/admin/departments", "domain"),
        ("Closures", "/admin/closures", "event_busy"),
        ("Audit", "/admin/audit", "policy"),
    ],
}
# On a landscape tablet (1024 px) the header holds this many entries in a row; the rest go under "More".
NAV_IN_ROW = {Role.PATIENT: 4, Role.DOCTOR: 5, Role.ADMIN: 4}
HOME = {Role.PATIENT: "/patient", Role.DOCTOR: "/doctor", Role.ADMIN: "/admin"}


def fmt_day(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y")


def fmt_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def fmt_when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def specialty_line(specialty: str, department: str) -> str:
    """'Cardiology', not 'Cardiology · Cardiology', where the specialty names the department."""
    if not department or specialty.casefold() == department.casefold():
        return specialty
    return f"{specialty} · {department}" if specialty else department


def fmt_leave(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """Leave or a closure in the words it was entered in: whole days, a morning or an afternoon."""
    first, until = start.astimezone(tz), end.astimezone(tz)
    midnight, noon = time(0), time(12)
    if first.time() == midnight and until.time() == midnight:
        last = until.date() - timedelta(days=1)
        if last == first.date():
            return f"{fmt_day(first, tz)}, whole day"
        return f"{fmt_day(first, tz)} – {last.strftime('%a %d %b %Y')}"
    if first.time() == midnight and until.time() == noon and first.date() == until.date():
        return f"{fmt_day(first, tz)}, morning (until 12:00)"
    if first.time() == noon and until.time() == midnight and until.date() == first.date() + timedelta(days=1):
        return f"{fmt_day(first, tz)}, afternoon (from 12:00)"
    return f"{fmt_when(first, tz)} – {fmt_when(until, tz)}"


def date_input(label: str, value: date | None = None) -> ui.input:
    """A date field: type YYYY-MM-DD or pick it from a calendar. Its value is a string; parse it with
    `parse_date` where the command is built."""
    field = ui.input(label, value=value.isoformat() if value else "")
    field.props('mask="####-##-##" inputmode=numeric hint="YYYY-MM-DD" hide-hint')
    with field:
        with ui.menu().props("no-parent-event") as menu:
            picker = ui.date(mask="YYYY-MM-DD").props("first-day-of-week=1 today-btn").bind_value(field)
            picker.on_value_change(menu.close)
        with field.add_slot("append"):
            ui.icon("edit_calendar").classes("cursor-pointer").props("aria-label='Choose a date' role=button").on(
                "click", menu.open
            )
    return field


def parse_date(raw: str | None, what: str) -> date:
    """A date typed or picked at the edge -> date; a clear message otherwise."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(f"{what}: please enter a date like 2026-05-04.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what}: “{text}” is not a real date; please enter one like 2026-05-04.") from None


_open_pages: dict[str, weakref.WeakSet[Client]] = {}


def _session_id() -> str | None:
    request = ui.context.client.request
    return request.session.get("id") if request is not None and "session" in request.scope else None


def _register_open_page() -> None:
    session_id = _session_id()
    if session_id:
        _open_pages.setdefault(session_id, weakref.WeakSet()).add(ui.context.client)


def close_open_pages(session_id: str | None, target: str = "/login") -> None:
    """Sign-out ends the session everywhere: every open page of this browser session goes to /login (`target`),
    so a forgotten tab cannot keep booking or cancelling."""
    for client in list(_open_pages.pop(session_id or "", ())):
        if not client.is_deleted:
            with client:
                ui.navigate.to(target)


DEACTIVATED_URL = "/logout?why=deactivated"


def _close_when_deactivated(ctx: AppContext, account_id: int) -> None:
    """Every guarded page listens on its viewer's `account:<id>` topic: when an admin deactivates the account,
    the page goes to /logout (which clears the browser's session storage and closes its other pages) and on to
    /login with "Your account was deactivated". The account id is captured now: a callback runs with the
    emitting admin's request context."""
    client = ui.context.client

    def on_event(event: DomainEvent) -> None:
        if (
            isinstance(event, AccountStatusChanged)
            and event.account_id == account_id
            and event.status == AccountStatus.DEACTIVATED.value
            and not client.is_deleted
        ):
            with client:
                ui.navigate.to(DEACTIVATED_URL)

    ctx.live.subscribe(f"account:{account_id}", on_event)


async def guard(ctx: AppContext, path: str, *roles: Role) -> Actor | RedirectResponse | None:
    """Who is the user? Anonymous -> redirect to /login; wrong role -> a 'not allowed' page (returns None)."""
    account_id = app.storage.user.get("account_id")
    if not isinstance(account_id, int):
        return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
    try:
        actor = await io(ctx.services.actor_for, account_id)
    except NotAllowed:
        app.storage.user.clear()
        return RedirectResponse("/login", status_code=303)
    _register_open_page()
    _close_when_deactivated(ctx, actor.account_id)
    if actor.role not in roles:
        with frame(ctx, actor, "Not allowed"):
            with ui.card().classes("w-full max-w-xl mx-auto items-center text-center gap-3 p-8"):
                ui.icon("block", size="3rem", color="negative")
                ui.label("Not allowed").classes("text-2xl font-semibold").props('data-testid="not-allowed"')
                ui.label("Your account cannot open this page.")
                ui.link("Back to your start page", HOME[actor.role])
        return None
    return actor


@contextmanager
def frame(ctx: AppContext, actor: Actor | None, title: str) -> Iterator[ui.column]:  # noqa: C901
    ui.page_title(f"{title} · HealthSync")
    ui.colors(primary="#0f766e", secondary="#0369a1", accent="#7c3aed")
    ui.query("body").classes("bg-slate-50")
    with ui.header(elevated=False).classes("bg-primary text-white items-center px-3 py-2 gap-2"):
        if actor is not None:
            with ui.button(icon="menu").props("flat round color=white aria-label=Menu").classes("lt-md"):
                with ui.menu():
                    for text, target, icon in NAV[actor.role]:
                        with ui.menu_item(on_click=lambda t=target: ui.navigate.to(t)):
                            with ui.row().classes("items-center gap-2"):
                                ui.icon(icon)
                                ui.label(text)
                    ui.separator()
                    ui.menu_item("Sign out", on_click=lambda: ui.navigate.to("/logout"))
        with ui.link(target=HOME[actor.role] if actor else "/").classes("no-underline text-white"):
            with ui.row().classes("items-center gap-1 no-wrap"):
                ui.icon("local_hospital", size="1.6rem")
                ui.label("HealthSync").classes("text-lg font-bold")
        if actor is not None:
            entries, in_row = NAV[actor.role], NAV_IN_ROW[actor.role]
            with ui.row().classes("gt-sm items-center gap-1 ml-4 no-wrap"):
                for text, target, icon in entries[:in_row]:
                    ui.button(text, icon=icon, on_click=lambda t=target: ui.navigate.to(t)).props(
                        "flat no-caps color=white padding='6px 10px'"
                    )
                if len(entries) > in_row:
                    with ui.button("More", icon="expand_more").props("flat no-caps color=white padding='6px 10px'"):
                        with ui.menu():
                            for text, target, icon in entries[in_row:]:
                                with ui.menu_item(on_click=lambda t=target: ui.navigate.to(t)):
                                    with ui.row().classes("items-center gap-2"):
                                        ui.icon(icon)
                                        ui.label(text)
            ui.space()
            with ui.column().classes("gt-xs gap-0 items-end leading-tight"):
                ui.label(actor.name).classes("text-sm font-medium max-w-[14rem] truncate")
                ui.label(actor.role.value.capitalize()).classes("text-xs opacity-80")
            ui.button("Sign out", icon="logout", on_click=lambda: ui.navigate.to("/logout")).props(
                "flat no-caps color=white"
            ).classes("gt-md")
            # tablets in landscape (1024-1439 px) keep one row of navigation: sign-out as an icon
            ui.button(icon="logout", on_click=lambda: ui.navigate.to("/logout")).props(
                "flat round color=white aria-label='Sign out'"
            ).classes("md").tooltip("Sign out")
    with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4") as body:
        ui.label(title).classes("text-2xl font-semibold text-slate-800")
        yield body


def page_client() -> Client | None:
    """The page of the running handler, also when a live refresh deleted the element that started it (a row whose
    Move button was clicked, say): the innermost slot whose element still exists."""
    for slot in reversed(Slot.get_stack()):
        try:
            return slot.parent.client
        except RuntimeError:  # that element is gone
            continue
    return None


def notify_error(message: str, client: Client | None = None) -> None:
    """`client`: the page; found from the running handler when not given."""
    with client or page_client() or nullcontext():
        ui.notify(message, type="negative", position="bottom", multi_line=True)


def notify_ok(message: str, client: Client | None = None) -> None:
    with client or page_client() or nullcontext():
        ui.notify(message, type="positive", position="bottom")


def parse_id(raw: str) -> int | None:
    """A database id from a URL: a positive integer that fits the column, else None (-> 'not found')."""
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**63 else None
