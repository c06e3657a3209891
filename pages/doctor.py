"""Doctor portal: the live day view (tablet first) and weekly availability."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import AppointmentRow
from components.dialogs import cancel_dialog
from components.frame import fmt_when, frame, guard, notify_error, notify_ok
from components.io import io
from components.live import on_reconnect
from data.queries import AppointmentDTO
from domain import events as ev
from domain.errors import DomainError, ValidationError
from domain.model import TIME_RE, WEEKDAY_NAMES, Actor, Role, WorkingHours, parse_clock_time, template_on
from domain.schedule import ALLOWED_SLOT_MINUTES
from pages.context import AppContext

WEEKDAYS = WEEKDAY_NAMES


def _parse_day(raw: str | None, fallback: date) -> date:
    """A day from the URL; anything unreadable or absurdly far away shows today instead."""
    try:
        day = date.fromisoformat(raw) if raw else fallback
    except ValueError:
        return fallback
    return day if abs((day - fallback).days) <= 3660 else fallback


def register(ctx: AppContext) -> None:
    @ui.page("/doctor")
    async def day_view(day: str | None = None) -> RedirectResponse | None:
        actor = await guard(ctx, "/doctor", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        doctor_id = actor.doctor_id
        today = ctx.services.clock.today()
        shown = _parse_day(day, today)
        rows: dict[int, AppointmentRow] = {}

        async def on_cancel(dto: AppointmentDTO) -> None:
            answer = await cancel_dialog(
                "Cancel this appointment?", f"{dto.patient}, {fmt_when(dto.start, ctx.tz)}", staff=True
            )
            if answer is None:
                return
            try:
                await io(ctx.services.cancel, actor, dto.id, *answer)
            except DomainError as error:
                notify_error(error.message)
                return
            notify_ok("Cancelled; the patient sees it at once.")

        def summary_text() -> str:
            active = sum(1 for r in rows.values() if r.dto.status not in ("cancelled", "noshow", "entered-in-error"))
            return f"{active} appointment{'s' if active != 1 else ''}"

        async def load() -> None:
            items = await io(ctx.queries.doctor_day, doctor_id, shown, ctx.tz)
            rows.clear()
            listing.clear()
            with listing:
                for dto in items:
                    rows[dto.id] = AppointmentRow(dto, ctx.tz, show="patient", on_cancel=on_cancel)
            empty.visible = not rows
            summary.text = summary_text()

        async def on_event(event: ev.DomainEvent) -> None:
            if not isinstance(event, ev.SlotBooked | ev.AppointmentCancelled):
                return
            if event.start.astimezone(ctx.tz).date() != shown:
                return
            dto = await io(ctx.queries.appointment, event.appointment_id)
            if dto is None:
                return
            existing = rows.get(dto.id)
            if existing is not None:
                existing.update(dto)
            else:
                with listing:
                    row = AppointmentRow(dto, ctx.tz, show="patient", on_cancel=on_cancel)
                rows[dto.id] = row
                ordered = sorted(rows.values(), key=lambda r: (r.dto.start, r.dto.id))
                row.card.move(target_index=ordered.index(row))
                row.card.classes("ring-2 ring-amber-400")
                ui.timer(4, lambda r=row: r.card.classes(remove="ring-2 ring-amber-400"), once=True)
            empty.visible = not rows
            summary.text = summary_text()

        with frame(ctx, actor, "My day"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.button(
                    icon="chevron_left", on_click=lambda: ui.navigate.to(f"/doctor?day={shown - timedelta(days=1)}")
                ).props("flat round aria-label='Previous day'")
                ui.label(shown.strftime("%A %d %B %Y")).classes("text-xl font-medium").mark("day-title")
                ui.button(
                    icon="chevron_right", on_click=lambda: ui.navigate.to(f"/doctor?day={shown + timedelta(days=1)}")
                ).props("flat round aria-label='Next day'")
                if shown != today:
                    ui.button("Today", on_click=lambda: ui.navigate.to("/doctor")).props("flat no-caps")
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
            empty = ui.label("No appointments on this day.").classes("text-slate-500")
            listing = ui.column().classes("w-full gap-2")
            await load()
        ctx.live.subscribe(f"doctor:{doctor_id}", on_event)
        on_reconnect(load)
        return None

    @ui.page("/doctor/availability")
    async def availability() -> RedirectResponse | None:
        actor = await guard(ctx, "/doctor/availability", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        doctor_id = actor.doctor_id
        doctor = await io(ctx.queries.doctor, doctor_id)
        templates = await io(ctx.queries.templates, doctor_id)
        current = template_on(templates, ctx.services.clock.today()) or (templates[-1] if templates else None)
        hours = list(current.hours) if current else []
        by_day: dict[int, list[WorkingHours]] = {}
        for h in hours:
            by_day.setdefault(h.weekday, []).append(h)
        ranges: dict[int, list[tuple[ui.input, ui.input]]] = {d: [] for d in range(7)}
        containers: dict[int, ui.column] = {}

        def add_range(weekday: int, start_text: str = "09:00", end_text: str = "17:00") -> None:
            with containers[weekday], ui.row().classes("items-center gap-2 no-wrap") as row:
                # 24-hour text with a mask: a native time input follows the browser's locale (AM/PM)
                start = ui.input("From", value=start_text).props('mask="##:##" dense inputmode=numeric')
                start.classes("w-20").mark(f"from-{weekday}")
                end = ui.input("Until", value=end_text).props('mask="##:##" dense inputmode=numeric')
                end.classes("w-20").mark(f"until-{weekday}")
                pair = (start, end)

                def remove() -> None:
                    ranges[weekday].remove(pair)
                    row.delete()

                ui.button(icon="close", on_click=remove).props("flat round dense aria-label='Remove range'")
            ranges[weekday].append(pair)

        def add_next_range(weekday: int) -> None:
            """A new range starts where the day's last one ends (09:00–12:00 on an empty day)."""
            ends = [e.value for _, e in ranges[weekday] if TIME_RE.fullmatch(e.value or "")]
            if not ends:
                add_range(weekday, "09:00", "12:00")
                return
            last = max(parse_clock_time(v, "End") for v in ends)
            start_h = min(last.hour + 1, 22)
            add_range(weekday, f"{start_h:02d}:{last.minute:02d}", f"{min(start_h + 3, 23):02d}:{last.minute:02d}")

        async def save() -> None:
            try:
                new_hours = [
                    WorkingHours(
                        weekday,
                        parse_clock_time(start.value, f"{WEEKDAYS[weekday]} start"),
                        parse_clock_time(end.value, f"{WEEKDAYS[weekday]} end"),
                    )
                    for weekday, pairs in ranges.items()
                    for start, end in pairs
                ]
                if slot.value is None:
                    raise ValidationError("Please choose a slot length.")
                await io(ctx.services.set_availability, actor, doctor_id, new_hours, int(slot.value))
            except DomainError as error:
                notify_error(error.message)
                return
            notify_ok("Availability saved. Patients see the new times at once.")

        with frame(ctx, actor, "Weekly availability"):
            ui.label(
                "Set the hours you see patients on each weekday; add a second range for a break. "
                "Existing appointments are never moved."
            ).classes("text-slate-600")
            with ui.card().classes("w-full p-4 gap-3"):
                grid_minutes = doctor.slot_minutes if doctor else 15
                slot = ui.select(
                    {m: f"{m} minutes" for m in ALLOWED_SLOT_MINUTES}, value=grid_minutes, label="Slot length"
                ).classes("w-48")
                for weekday, name in enumerate(WEEKDAYS):
                    ui.separator()
                    with ui.row().classes("w-full items-start gap-3"):
                        ui.label(name).classes("w-28 pt-3 font-medium")
                        containers[weekday] = ui.column().classes("gap-1")
                        for h in by_day.get(weekday, []):
                            add_range(weekday, h.start.strftime("%H:%M"), h.end.strftime("%H:%M"))
                        ui.button("Add hours", icon="add", on_click=lambda d=weekday: add_next_range(d)).props(
                            "flat dense no-caps"
                        ).classes("mt-2")
                ui.button("Save availability", icon="save", on_click=save).props("unelevated")
        return None
