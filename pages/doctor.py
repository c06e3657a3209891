"""Doctor portal: the live day view (tablet first) with the visit workflow, weekly availability (dated
templates, visit types, booking window) and leave."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import AppointmentRow
from components.dialogs import cancel_dialog, confirm
from components.frame import (
    date_input,
    fmt_leave,
    fmt_time,
    fmt_when,
    frame,
    guard,
    notify_error,
    notify_ok,
    parse_date,
)
from components.io import io
from components.leave_editor import leave_editor
from components.live import coalesced, on_reconnect
from components.queue_board import QueueBoard, WeekBoard
from data.queries import AppointmentDTO, LeaveDTO
from domain import events as ev
from domain.errors import DomainError, ValidationError
from domain.model import (
    TIME_RE,
    WEEKDAY_NAMES,
    Actor,
    Appointment,
    AppointmentStatus,
    Role,
    VisitType,
    WeeklyTemplate,
    WorkingHours,
    fold_text,
    parse_clock_time,
    template_on,
)
from domain.schedule import ALLOWED_SLOT_MINUTES
from pages.context import AppContext

WEEKDAYS = WEEKDAY_NAMES
MAX_LISTED = 50  # appointments outside new hours shown by name; the rest are counted
STEP_DONE = {
    AppointmentStatus.ARRIVED: "{patient} has arrived.",
    AppointmentStatus.CHECKED_IN: "Visit with {patient} started.",
    AppointmentStatus.FULFILLED: "Visit with {patient} finished.",
    AppointmentStatus.NOSHOW: "{patient} marked as not attended.",
}


def _parse_day(raw: str | None, fallback: date) -> date:
    """A day from the URL; anything unreadable or absurdly far away shows today instead."""
    try:
        day = date.fromisoformat(raw) if raw else fallback
    except ValueError:
        return fallback
    return day if abs((day - fallback).days) <= 3660 else fallback


def _slug(name: str) -> str:
    """A stable code for a new visit type: 'Long consultation' -> 'long-consultation'."""
    return re.sub(r"[^a-z0-9]+", "-", fold_text(name)).strip("-")[:40] or "visit"


def _unique(code: str, used: set[str]) -> str:
    candidate, n = code, 2
    while candidate in used:
        candidate, n = f"{code}-{n}", n + 1
    return candidate


def _whole(value: Any, what: str, unit: str) -> int:
    """A number field's value (float or None) -> a whole number, with a clear message otherwise."""
    if value is None or value == "":
        raise ValidationError(f"{what}: please enter a number of {unit}.")
    number = float(value)
    if number != int(number):
        raise ValidationError(f"{what}: please enter whole {unit}.")
    return int(number)


def _week_lines(template: WeeklyTemplate) -> list[tuple[str, str]]:
    """(weekday, its ranges) for the days with hours."""
    lines = []
    for weekday, name in enumerate(WEEKDAYS):
        ranges = template.ranges_on(weekday)
        if ranges:
            lines.append((name[:3], ", ".join(f"{h.start:%H:%M}–{h.end:%H:%M}" for h in ranges)))
    return lines


def register(ctx: AppContext) -> None:  # noqa: C901 - one closure per page
    def staff_cancel(actor: Actor) -> Any:
        async def on_cancel(dto: AppointmentDTO) -> AppointmentDTO | None:
            answer = await cancel_dialog(
                "Cancel this appointment?", f"{dto.patient}, {fmt_when(dto.start, ctx.tz)}", staff=True
            )
            if answer is None:
                return None
            try:
                await io(ctx.services.cancel, actor, dto.id, *answer)
            except DomainError as error:
                notify_error(error.message)
                return None
            notify_ok("Cancelled; the patient sees it at once.")
            return await io(ctx.queries.appointment, dto.id)

        return on_cancel

    def visit_url(dto: AppointmentDTO) -> str:
        return f"/doctor/visit/{dto.id}"

    def patient_url(dto: AppointmentDTO) -> str:
        return f"/doctor/patients/{dto.patient_id}"

    def day_bounds(first: date, days: int) -> tuple[datetime, datetime]:
        """[first 00:00, first + days 00:00) in the hospital's zone, as UTC."""
        start = datetime.combine(first, time(0), tzinfo=ctx.tz).astimezone(UTC)
        return start, datetime.combine(first + timedelta(days=days), time(0), tzinfo=ctx.tz).astimezone(UTC)

    def away_text(leaves: Sequence[LeaveDTO], day: date) -> str:
        """'On leave' / 'Hospital closed' (with the reason) for leave overlapping the day, else ''."""
        start, end = day_bounds(day, 1)
        parts = []
        for leave in leaves:
            if leave.start < end and start < leave.end:
                what = "Hospital closed" if leave.doctor_id is None else "On leave"
                whole = leave.start <= start and end <= leave.end
                if not whole:
                    what += f" {fmt_time(max(leave.start, start), ctx.tz)}–{fmt_time(min(leave.end, end), ctx.tz)}"
                parts.append(what + (f": {leave.reason}" if leave.reason else ""))
        return " · ".join(parts)

    @ui.page("/doctor")
    async def day_view(day: str | None = None) -> RedirectResponse | None:  # noqa: C901
        """The doctor's day as a live queue (components/queue_board.py): counters, the next patient, the
        visit workflow on each card; bookings, cancellations and arrivals appear in place."""
        actor = await guard(ctx, "/doctor", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        doctor_id = actor.doctor_id
        today = ctx.services.clock.today()
        shown = _parse_day(day, today)
        day_start, day_end = day_bounds(shown, 1)
        cancel = staff_cancel(actor)
        reads: dict[int, int] = {}  # appointment id -> the latest re-read asked for (an older answer is dropped)

        def read_one(
            appointment_id: int,
        ) -> tuple[AppointmentDTO | None, dict[int, tuple[datetime | None, datetime | None]]]:
            dto = ctx.queries.appointment(appointment_id)
            return dto, (ctx.queries.visit_times([appointment_id], day_start) if dto is not None else {})

        async def refresh_one(appointment_id: int) -> bool:
            """Re-read one appointment and change its card in place (or insert it); True if the card is new."""
            reads[appointment_id] = asked = reads.get(appointment_id, 0) + 1
            dto, times = await io(read_one, appointment_id)  # one trip to a worker: the loop is busy enough
            if dto is None or dto.doctor_id != doctor_id or not day_start <= dto.start < day_end:
                return False
            if reads.get(appointment_id) != asked:
                return False  # a newer re-read of the same appointment is on its way
            new = board.upsert(dto, times.get(dto.id, (None, None)))
            summary.text = summary_text()
            return new

        async def on_cancel(dto: AppointmentDTO) -> None:
            fresh = await cancel(dto)
            if fresh is not None:
                await refresh_one(fresh.id)

        async def on_status(dto: AppointmentDTO, new: AppointmentStatus) -> None:
            client = ui.context.client
            if new == AppointmentStatus.NOSHOW and not await confirm(
                "Mark as not attended?",
                f"{dto.patient}, {fmt_when(dto.start, ctx.tz)}",
                ok="Mark no-show",
                cancel="Back",
            ):
                return
            try:
                await io(ctx.services.set_status, actor, dto.id, new)
            except DomainError as error:
                notify_error(error.message, client)
                return
            await refresh_one(dto.id)
            notify_ok(STEP_DONE[new].format(patient=dto.patient), client)

        def summary_text() -> str:
            active = board.active()
            return f"{active} appointment{'s' if active != 1 else ''}"

        async def show_leave() -> None:
            leaves = [x for x in await io(ctx.queries.leaves, doctor_id, day_start) if x.start < day_end]
            leave_box.clear()
            with leave_box:
                for leave in leaves:
                    with ui.card().classes("w-full p-3 bg-amber-50").props("flat bordered").mark(f"away-{leave.id}"):
                        with ui.row().classes("items-center gap-2 no-wrap"):
                            ui.icon("domain_disabled" if leave.doctor_id is None else "beach_access", color="warning")
                            what = "The hospital is closed" if leave.doctor_id is None else "You are on leave"
                            text = f"{what}: {fmt_leave(leave.start, leave.end, ctx.tz)}"
                            ui.label(text + (f" · {leave.reason}" if leave.reason else "")).classes("break-words")

        async def load() -> None:
            items = await io(ctx.queries.doctor_day, doctor_id, shown, ctx.tz)
            times = await io(ctx.queries.visit_times, [dto.id for dto in items], day_start)
            board.load(items, times)
            summary.text = summary_text()
            await show_leave()

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.LeaveChanged):
                if event.start < day_end and day_start < event.end:
                    await show_leave()
                return
            if not isinstance(event, ev.SlotBooked | ev.AppointmentCancelled | ev.AppointmentStatusChanged):
                return
            if not day_start <= event.start < day_end:
                return
            if await refresh_one(event.appointment_id):
                card = board.cards[event.appointment_id].card  # a new booking: briefly marked
                card.classes("ring-2 ring-amber-400")
                ui.timer(4, lambda c=card: c.classes(remove="ring-2 ring-amber-400"), once=True)

        def tick() -> None:
            """Minutes waited, and 'No-show' once a start has passed, without a reload."""
            board.tick()
            summary.text = summary_text()

        with frame(ctx, actor, "My day"):
            with ui.row().classes("w-full items-center gap-2"):
                with ui.row().classes("items-center gap-1 no-wrap"):
                    ui.button(
                        icon="chevron_left",
                        on_click=lambda: ui.navigate.to(f"/doctor?day={shown - timedelta(days=1)}"),
                    ).props("flat round aria-label='Previous day'")
                    ui.label(shown.strftime("%A %d %B %Y")).classes("text-lg sm:text-xl font-medium").mark("day-title")
                    ui.button(
                        icon="chevron_right",
                        on_click=lambda: ui.navigate.to(f"/doctor?day={shown + timedelta(days=1)}"),
                    ).props("flat round aria-label='Next day'")
                if shown != today:
                    ui.button("Today", on_click=lambda: ui.navigate.to("/doctor")).props("flat no-caps")
                monday = shown - timedelta(days=shown.weekday())
                ui.button(
                    "Week", icon="view_week", on_click=lambda: ui.navigate.to(f"/doctor/week?start={monday}")
                ).props("flat no-caps")
                ui.space()
                summary = ui.label().classes("text-slate-600").mark("day-summary")
                ui.label(ctx.settings.timezone).classes("text-xs text-slate-500")
                with ui.row().classes("items-center gap-1 text-sm text-slate-500"):
                    ui.icon("sensors", color="positive")
                    ui.label("Live")
            me = await io(ctx.queries.doctor, doctor_id)
            if me is not None and not me.bookable:
                with ui.card().classes("w-full p-3 bg-amber-50").props("flat bordered"):
                    with ui.row().classes("items-center gap-2"):
                        ui.icon("info", color="warning")
                        ui.label("Patients cannot book you yet: set your weekly hours first.")
                        ui.link("Set availability", "/doctor/availability")
            leave_box = ui.column().classes("w-full gap-2")
            board = QueueBoard(
                ctx.tz,
                now=ctx.services.clock.now,
                is_today=lambda: shown == ctx.services.clock.today(),
                on_cancel=on_cancel,
                on_status=on_status,
                visit_url=visit_url,
                patient_url=patient_url,
            )
            await load()
        ctx.live.subscribe(f"doctor:{doctor_id}", on_event)
        ctx.live.subscribe("closures", on_event)
        on_reconnect(load)
        if shown == today:
            ui.timer(30, tick)
        return None

    @ui.page("/doctor/week")
    async def week_view(start: str | None = None) -> RedirectResponse | None:  # noqa: C901
        """Seven day columns of the doctor's appointments (Monday to Sunday in the hospital's zone), live."""
        actor = await guard(ctx, "/doctor/week", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        doctor_id = actor.doctor_id
        today = ctx.services.clock.today()
        first = _parse_day(start, today)
        monday = first - timedelta(days=first.weekday())
        days = [monday + timedelta(days=i) for i in range(7)]
        week_start, week_end = day_bounds(monday, 7)
        this_monday = today - timedelta(days=today.weekday())
        reads: dict[int, int] = {}

        def entry_url(dto: AppointmentDTO) -> str:
            if dto.status in ("cancelled", "noshow", "entered-in-error"):
                return f"/doctor?day={dto.start.astimezone(ctx.tz).date()}"  # no visit took place: its day
            return visit_url(dto)

        async def show_leave() -> None:
            leaves = [x for x in await io(ctx.queries.leaves, doctor_id, week_start) if x.start < week_end]
            for day in days:
                board.set_away(day, away_text(leaves, day))

        async def load() -> None:
            board.load(await io(ctx.queries.doctor_week, doctor_id, monday, ctx.tz))
            summary.text = summary_text()
            await show_leave()

        def summary_text() -> str:
            active = sum(1 for e in board.entries.values() if e.dto.status not in ("cancelled", "noshow"))
            return f"{active} appointment{'s' if active != 1 else ''} this week"

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.LeaveChanged):
                if event.start < week_end and week_start < event.end:
                    await show_leave()
                return
            if not isinstance(event, ev.SlotBooked | ev.AppointmentCancelled | ev.AppointmentStatusChanged):
                return
            if not week_start <= event.start < week_end:
                return
            reads[event.appointment_id] = asked = reads.get(event.appointment_id, 0) + 1
            dto = await io(ctx.queries.appointment, event.appointment_id)
            if dto is None or dto.doctor_id != doctor_id or reads.get(event.appointment_id) != asked:
                return
            entry = board.upsert(dto)
            summary.text = summary_text()
            if entry is not None:  # a new booking: briefly marked
                entry.link.classes("ring-2 ring-amber-400")
                ui.timer(4, lambda e=entry: e.link.classes(remove="ring-2 ring-amber-400"), once=True)

        with frame(ctx, actor, "My week"):
            with ui.row().classes("w-full items-center gap-2"):
                with ui.row().classes("items-center gap-1 no-wrap"):
                    ui.button(
                        icon="chevron_left",
                        on_click=lambda: ui.navigate.to(f"/doctor/week?start={monday - timedelta(days=7)}"),
                    ).props("flat round aria-label='Previous week'")
                    title = f"{monday:%a %d %b} – {monday + timedelta(days=6):%a %d %b %Y}"
                    ui.label(title).classes("text-lg sm:text-xl font-medium").mark("week-title")
                    ui.button(
                        icon="chevron_right",
                        on_click=lambda: ui.navigate.to(f"/doctor/week?start={monday + timedelta(days=7)}"),
                    ).props("flat round aria-label='Next week'")
                if monday != this_monday:
                    ui.button("This week", on_click=lambda: ui.navigate.to("/doctor/week")).props("flat no-caps")
                day = today if monday == this_monday else monday
                ui.button("Day", icon="today", on_click=lambda: ui.navigate.to(f"/doctor?day={day}")).props(
                    "flat no-caps"
                )
                ui.space()
                summary = ui.label().classes("text-slate-600").mark("week-summary")
                ui.label(ctx.settings.timezone).classes("text-xs text-slate-500")
                with ui.row().classes("items-center gap-1 text-sm text-slate-500"):
                    ui.icon("sensors", color="positive")
                    ui.label("Live")
            board = WeekBoard(days, today, ctx.tz, day_url=lambda d: f"/doctor?day={d}", entry_url=entry_url)
            await load()
        ctx.live.subscribe(f"doctor:{doctor_id}", on_event)
        ctx.live.subscribe("closures", on_event)
        on_reconnect(load)
        return None

    @ui.page("/doctor/availability")
    async def availability() -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/doctor/availability", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        doctor_id = actor.doctor_id
        today = ctx.services.clock.today()
        record = await io(ctx.queries.doctor, doctor_id)
        offered = await io(ctx.queries.visit_types, doctor_id)
        state: dict[str, list[WeeklyTemplate]] = {"templates": await io(ctx.queries.templates, doctor_id)}
        templates = state["templates"]
        current = template_on(templates, today) or (templates[-1] if templates else None)
        ranges: dict[int, list[tuple[ui.input, ui.input, ui.row]]] = {d: [] for d in range(7)}
        containers: dict[int, ui.column] = {}
        type_rows: list[dict[str, Any]] = []
        type_index = itertools.count()
        conflict_rows: dict[int, AppointmentRow] = {}
        cancel = staff_cancel(actor)
        busy = {"saving": False}

        def add_range(weekday: int, start_text: str = "09:00", end_text: str = "17:00") -> None:
            with containers[weekday], ui.row().classes("items-center gap-2 no-wrap") as row:
                # 24-hour text with a mask: a native time input follows the browser's locale (AM/PM)
                start = ui.input("From", value=start_text).props('mask="##:##" dense inputmode=numeric')
                start.classes("w-20").mark(f"from-{weekday}")
                end = ui.input("Until", value=end_text).props('mask="##:##" dense inputmode=numeric')
                end.classes("w-20").mark(f"until-{weekday}")
                entry = (start, end, row)

                def remove() -> None:
                    ranges[weekday].remove(entry)
                    row.delete()

                ui.button(icon="close", on_click=remove).props("flat round dense aria-label='Remove range'")
            ranges[weekday].append(entry)

        def add_next_range(weekday: int) -> None:
            """A new range starts where the day's last one ends (09:00–12:00 on an empty day)."""
            ends = [e.value for _, e, _ in ranges[weekday] if TIME_RE.fullmatch(e.value or "")]
            if not ends:
                add_range(weekday, "09:00", "12:00")
                return
            last = max(parse_clock_time(v, "End") for v in ends)
            start_h = min(last.hour + 1, 22)
            add_range(weekday, f"{start_h:02d}:{last.minute:02d}", f"{min(start_h + 3, 23):02d}:{last.minute:02d}")

        def fill_week(template: WeeklyTemplate | None) -> None:
            for weekday in range(7):
                for _, _, row in ranges[weekday]:
                    row.delete()
                ranges[weekday].clear()
                for h in template.ranges_on(weekday) if template else []:
                    add_range(weekday, h.start.strftime("%H:%M"), h.end.strftime("%H:%M"))

        def add_type(code: str | None, name: str = "", minutes: int = 15) -> None:
            index = next(type_index)
            with types_box, ui.row().classes("w-full items-center gap-2 no-wrap") as row:
                name_in = ui.input("Name", value=name).props("maxlength=60 dense").classes("grow min-w-0")
                name_in.mark(f"vt-name-{index}")
                minutes_in = ui.number("Minutes", value=minutes, min=5, max=480, step=5, format="%.0f")
                minutes_in.props("dense inputmode=numeric").classes("w-24 shrink-0").mark(f"vt-minutes-{index}")
                entry: dict[str, Any] = {"code": code, "name": name_in, "minutes": minutes_in}

                def remove() -> None:
                    type_rows.remove(entry)
                    row.delete()

                ui.button(icon="close", on_click=remove).props("flat round dense aria-label='Remove visit type'").mark(
                    f"vt-remove-{index}"
                )
            type_rows.append(entry)

        def collect_types() -> list[tuple[dict[str, Any], VisitType]]:
            used = {e["code"] for e in type_rows if e["code"]}
            out = []
            for entry in type_rows:
                name = (entry["name"].value or "").strip()
                minutes = _whole(entry["minutes"].value, f"Length of “{name or 'a visit type'}”", "minutes")
                code = entry["code"]
                if not code:
                    code = _unique(_slug(name), used)
                    used.add(code)
                out.append((entry, VisitType(code, name, minutes)))
            return out

        def replaced_text() -> str:
            """Saving a week from a date replaces the weeks planned from that date on: say so before."""
            try:
                chosen = date.fromisoformat((effective.value or "").strip())
            except ValueError:
                return ""
            gone = [t for t in state["templates"] if t.effective_from >= chosen and t.effective_from > today]
            if not gone:
                return ""
            days = ", ".join(t.effective_from.strftime("%a %d %b %Y") for t in gone)
            return f"Saving also replaces the week{'s' if len(gone) > 1 else ''} planned from {days}."

        async def show_templates() -> None:
            state["templates"] = await io(ctx.queries.templates, doctor_id)
            in_force = template_on(state["templates"], today)
            shown = [t for t in state["templates"] if t is in_force or t.effective_from > today]
            templates_box.clear()
            with templates_box:
                if not shown:
                    ui.label("No weekly hours stored yet: patients cannot book you.").classes("text-slate-500")
                for t in shown:
                    planned = t.effective_from > today
                    with ui.card().classes("w-full sm:w-72 p-3 gap-1").props("flat bordered") as card:
                        card.mark(f"template-{t.effective_from.isoformat()}")
                        with ui.row().classes("w-full items-center gap-2 no-wrap"):
                            ui.badge("planned" if planned else "in force", color="secondary" if planned else "positive")
                            when = t.effective_from.strftime("%a %d %b %Y")
                            ui.label(f"From {when}" if planned else f"Since {when}").classes("font-medium")
                        ui.label(f"{t.slot_minutes}-minute grid").classes("text-sm text-slate-500")
                        for weekday, times in _week_lines(t):
                            with ui.row().classes("gap-2 no-wrap text-sm tabular-nums"):
                                ui.label(weekday).classes("w-9 shrink-0 text-slate-500")
                                ui.label(times)
                        if not t.hours:
                            ui.label("No hours: patients cannot book.").classes("text-sm text-slate-600")
                        ui.button("Edit a copy", icon="content_copy", on_click=lambda t=t: load_copy(t)).props(
                            "flat dense no-caps"
                        ).classes("self-start")
            replaced.text = replaced_text()

        def load_copy(template: WeeklyTemplate) -> None:
            fill_week(template)
            slot.value = template.slot_minutes
            effective.value = max(template.effective_from, today).isoformat()
            notify_ok("Copied into the editor below: change it and save.")

        async def cancel_conflict(dto: AppointmentDTO) -> None:
            fresh = await cancel(dto)
            if fresh is not None and dto.id in conflict_rows:
                conflict_rows[dto.id].update(fresh)

        async def show_conflicts(appointments: Sequence[Appointment], heading: str) -> None:
            listed = [a.id for a in appointments[:MAX_LISTED] if a.id is not None]
            dtos = await io(ctx.queries.appointments, listed)
            conflict_box.clear()
            conflict_rows.clear()
            conflict_box.visible = bool(dtos)
            with conflict_box:
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon("warning", color="warning", size="1.5rem").classes("shrink-0")
                    ui.label(heading).classes("text-lg font-medium").mark("conflicts-heading")
                ui.label(
                    "Cancel the ones you cannot see (the patient is told at once and offered other times), "
                    "or change your hours back."
                ).classes("text-sm text-slate-600")
                for dto in dtos:
                    conflict_rows[dto.id] = AppointmentRow(dto, ctx.tz, show="patient", on_cancel=cancel_conflict)
                if len(appointments) > len(dtos):
                    ui.label(f"… and {len(appointments) - len(dtos)} more.").classes("text-slate-600")

        async def save() -> None:
            if busy["saving"]:
                return  # a double click saves once
            try:
                starts = parse_date(effective.value, "Takes effect on")
                new_hours = [
                    WorkingHours(
                        weekday,
                        parse_clock_time(start.value, f"{WEEKDAYS[weekday]} start"),
                        parse_clock_time(end.value, f"{WEEKDAYS[weekday]} end"),
                    )
                    for weekday, entries in ranges.items()
                    for start, end, _ in entries
                ]
                if slot.value is None:
                    raise ValidationError("Please choose a slot length.")
                types = collect_types()
                notice = _whole(min_notice.value, "Minimum notice", "hours")
                ahead = _whole(horizon.value, "Booking window", "days")
                busy["saving"] = True
                try:
                    conflicts = await io(
                        ctx.services.set_availability,
                        actor,
                        doctor_id,
                        new_hours,
                        int(slot.value),
                        starts,
                        [vt for _, vt in types],
                        notice,
                        ahead,
                    )
                finally:
                    busy["saving"] = False
            except DomainError as error:
                notify_error(error.message)
                return
            for entry, vt in types:
                entry["code"] = vt.code  # a renamed visit type keeps its code
            if starts == today:
                notify_ok("Availability saved. Patients see the new times at once.")
            else:
                notify_ok(f"Saved. Your new week takes effect on {starts.strftime('%a %d %b %Y')}.")
            await redraw_templates()
            await show_conflicts(conflicts, "These appointments are outside your new hours; they were not moved.")

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.AvailabilityChanged):
                await redraw_templates()
            elif isinstance(event, ev.AppointmentCancelled | ev.AppointmentStatusChanged):
                row = conflict_rows.get(event.appointment_id)
                dto = await io(ctx.queries.appointment, event.appointment_id) if row is not None else None
                if row is not None and dto is not None:
                    row.update(dto)

        with frame(ctx, actor, "Weekly availability"):
            ui.label(
                "Set the hours you see patients on each weekday, from the day the new week takes effect; add a "
                "second range for a break. Existing appointments are never moved."
            ).classes("text-slate-600")
            conflict_box = ui.card().classes("w-full p-4 gap-2 bg-amber-50").props("flat bordered")
            conflict_box.mark("conflicts")
            conflict_box.visible = False
            ui.label("Your weeks").classes("text-lg font-medium")
            templates_box = ui.row().classes("w-full gap-3 items-stretch")
            with ui.card().classes("w-full p-4 gap-3"):
                ui.label("New week").classes("text-lg font-medium")
                with ui.row().classes("w-full items-start gap-4"):
                    effective = date_input("Takes effect on", today).classes("w-48").mark("effective-from")
                    grid_minutes = current.slot_minutes if current else (record.slot_minutes if record else 15)
                    slot = ui.select(
                        {m: f"{m} minutes" for m in ALLOWED_SLOT_MINUTES}, value=grid_minutes, label="Slot length"
                    ).classes("w-48")
                for weekday, name in enumerate(WEEKDAYS):
                    ui.separator()
                    with ui.row().classes("w-full items-start gap-x-3 gap-y-0"):
                        ui.label(name).classes("w-28 pt-3 font-medium")
                        containers[weekday] = ui.column().classes("gap-1")
                        ui.button("Add hours", icon="add", on_click=lambda d=weekday: add_next_range(d)).props(
                            "flat dense no-caps"
                        ).classes("mt-2")
                fill_week(current)
            with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-4"):
                with ui.card().classes("w-full p-4 gap-2"):
                    ui.label("Visit types").classes("text-lg font-medium")
                    ui.label("What patients can book, each with its own length.").classes("text-sm text-slate-600")
                    types_box = ui.column().classes("w-full gap-1")
                    for code, name, minutes in offered:
                        add_type(code, name, minutes)
                    ui.button("Add visit type", icon="add", on_click=lambda: add_type(None)).props(
                        "flat dense no-caps"
                    ).classes("self-start")
                with ui.card().classes("w-full p-4 gap-2"):
                    ui.label("Booking window").classes("text-lg font-medium")
                    min_notice = (
                        ui.number(
                            "Minimum notice (hours)",
                            value=record.min_notice_hours if record else 1,
                            min=0,
                            max=336,
                            step=1,
                            format="%.0f",
                        )
                        .classes("w-full")
                        .props("inputmode=numeric")
                        .mark("min-notice")
                    )
                    horizon = (
                        ui.number(
                            "Patients can book up to (days ahead)",
                            value=record.horizon_days if record else 28,
                            min=1,
                            max=366,
                            step=1,
                            format="%.0f",
                        )
                        .classes("w-full")
                        .props("inputmode=numeric")
                        .mark("horizon")
                    )
            ui.label(
                "Visit types and the booking window apply from now on; the weekly hours from the date above."
            ).classes("text-sm text-slate-600")
            replaced = ui.label().classes("text-sm text-amber-800").mark("replaces")
            ui.button("Save availability", icon="save", on_click=save).props("unelevated")
            redraw_templates = coalesced(show_templates)
            await show_templates()
            effective.on_value_change(lambda: replaced.set_text(replaced_text()))
            await show_conflicts(
                await io(ctx.services.schedule_conflicts, actor, doctor_id),
                "These upcoming appointments are outside your hours; they were not moved.",
            )
        ctx.live.subscribe(f"doctor:{doctor_id}", on_event)
        on_reconnect(redraw_templates)
        return None

    @ui.page("/doctor/leave")
    async def leave_page() -> RedirectResponse | None:
        actor = await guard(ctx, "/doctor/leave", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        with frame(ctx, actor, "Leave"):
            ui.label(
                "Days you are away: patients cannot book them, and anyone already booked is cancelled, told at "
                "once and offered other times."
            ).classes("text-slate-600")
            await leave_editor(ctx, actor, actor.doctor_id)
        return None
