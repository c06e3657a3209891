"""One editor for a doctor's leave (/doctor/leave) and the hospital's closures (/admin/closures): the form, what
a new entry cancelled, and the live list of what is ahead. `doctor_id` None edits closures; a doctor's list shows
the closures too, read-only. Markers start with `leave-` or `closure-` accordingly."""

from __future__ import annotations

from datetime import datetime, time

from nicegui import ui

from components.dialogs import confirm
from components.frame import date_input, fmt_day, fmt_leave, fmt_when, notify_error, notify_ok, parse_date
from components.io import io
from components.live import coalesced, on_reconnect
from data.queries import LeaveDTO
from domain import events as ev
from domain.errors import DomainError, ValidationError
from domain.model import Actor, Appointment
from pages.context import AppContext

MAX_LISTED = 50  # cancelled appointments listed one by one; the rest are counted
LEAVE_PARTS = {"full": "Whole day(s)", "morning": "Morning (until 12:00)", "afternoon": "Afternoon (from 12:00)"}


async def leave_editor(ctx: AppContext, actor: Actor, doctor_id: int | None) -> None:
    """Build the editor on the current page and keep its list live."""
    mine = doctor_id is not None  # a doctor's leave, not the hospital's closures
    kind = noun = "leave" if mine else "closure"
    busy = {"saving": False}
    today = ctx.services.clock.today()

    async def show_list() -> None:
        items: list[LeaveDTO] = await io(ctx.queries.leaves, doctor_id, ctx.services.clock.now())
        list_box.clear()
        with list_box:
            if not items:
                ui.label("No leave or closures ahead." if mine else "No closures ahead.").classes("text-slate-500")
            for item in items:
                closure = item.doctor_id is None
                with ui.card().classes("w-full p-3").mark(f"{kind}-{item.id}"):
                    with ui.row().classes("w-full items-center gap-3 no-wrap"):
                        ui.icon("domain_disabled" if closure else "beach_access", size="1.5rem").classes(
                            "shrink-0 text-slate-500"
                        )
                        with ui.column().classes("gap-0 grow min-w-0"):
                            ui.label(fmt_leave(item.start, item.end, ctx.tz)).classes("font-medium break-words")
                            ui.label(item.reason or "No reason given").classes("text-sm text-slate-600 break-words")
                        if item.doctor_id != doctor_id:  # a closure on a doctor's list: the admins' to change
                            ui.badge("Hospital closed", color="secondary").props("outline").classes("shrink-0")
                        else:
                            ui.button(icon="delete", on_click=lambda x=item: remove(x)).props(
                                f"flat round color=negative aria-label='Remove {noun}' title='Remove this {noun}'"
                            ).mark(f"remove-{kind}-{item.id}")

    async def remove(item: LeaveDTO) -> None:
        if not await confirm(
            f"Remove this {noun}?",
            f"{fmt_leave(item.start, item.end, ctx.tz)}. Its times become bookable again; "
            "appointments it cancelled stay cancelled.",
            ok="Remove",
            cancel="Keep it",
        ):
            return
        try:
            await io(ctx.services.remove_leave, actor, item.id)
        except DomainError as error:
            notify_error(error.message)
            return
        notify_ok(f"{noun.capitalize()} removed.")
        await redraw()

    async def show_result(text: str, cancelled: list[Appointment]) -> None:
        listed = [a.id for a in cancelled[:MAX_LISTED] if a.id is not None]
        dtos = await io(ctx.queries.appointments, listed)
        n = len(cancelled)
        result_box.clear()
        result_box.visible = True
        with result_box:
            ui.label(f"{noun.capitalize()} added: {text}").classes("font-medium").mark(f"{kind}-added")
            told = "the patient was" if n == 1 else "the patients were"
            ui.label(
                f"{n} appointment{'' if n == 1 else 's'} cancelled; {told} told at once and offered other times."
                if n
                else "No patients were booked in this time."
            ).classes("text-slate-700").mark(f"{kind}-cancelled")
            for dto in dtos:
                with ui.row().classes("items-baseline gap-2").mark(f"affected-{dto.id}"):
                    if not mine:  # the admin can open the appointment (to reset it, say)
                        ui.link(dto.patient, f"/admin/appointments/{dto.id}").classes("font-medium")
                        ui.label(f"{dto.doctor} · {fmt_when(dto.start, ctx.tz)}").classes("text-sm text-slate-600")
                    else:
                        ui.label(dto.patient).classes("font-medium")
                        ui.label(fmt_when(dto.start, ctx.tz)).classes("text-sm text-slate-600 tabular-nums")
            if n > len(dtos):
                ui.label(f"… and {n - len(dtos)} more.").classes("text-slate-600")

    async def add() -> None:
        if busy["saving"]:
            return
        try:
            first = parse_date(first_in.value, "First day")
            last = parse_date(last_in.value, "Last day")
            if last < first:
                raise ValidationError(f"The last day of the {noun} must not be before the first.")
        except DomainError as error:
            notify_error(error.message)
            return
        part = part_in.value if part_in is not None else "full"
        if not mine:
            question, detail, ok = (
                "Close the hospital on these days?",
                "Every appointment booked then is cancelled and the patients are told at once.",
                "Yes, close",
            )
        else:
            span = fmt_day(datetime.combine(first, time(12), tzinfo=ctx.tz), ctx.tz)
            if last != first:
                span += f" – {last.strftime('%a %d %b %Y')}"
            elif part != "full":
                span += f", {LEAVE_PARTS.get(part, part).lower()}"
            question, detail, ok = (
                "Add this leave?",
                f"{span}. Patients booked in this time are cancelled and told at once.",
                "Yes, add it",
            )
        if not await confirm(question, detail, ok=ok, cancel="Back"):
            return
        busy["saving"] = True
        try:
            entry, cancelled = await io(
                ctx.services.add_leave, actor, doctor_id, first, last, part, reason_in.value or ""
            )
        except DomainError as error:
            notify_error(error.message)
            return
        finally:
            busy["saving"] = False
        reason_in.value = ""
        notify_ok(f"{noun.capitalize()} added.")
        await show_result(fmt_leave(entry.start, entry.end, ctx.tz), cancelled)
        await redraw()

    async def on_event(event: ev.DomainEvent) -> None:
        if isinstance(event, ev.LeaveChanged):
            await redraw()

    with ui.card().classes("w-full p-4 gap-3"):
        with ui.row().classes("w-full items-start gap-3 sm:gap-4"):
            first_in = date_input("First day", today).classes("w-[8.5rem] sm:w-44").mark(f"{kind}-first")
            last_in = date_input("Last day", today).classes("w-[8.5rem] sm:w-44").mark(f"{kind}-last")
            part_in = None
            if mine:  # the hospital closes whole days only
                part_in = ui.select(LEAVE_PARTS, value="full", label="Part of the day").classes("w-56")
                part_in.mark(f"{kind}-part")
        reason_in = ui.input("Reason (shown to the patients)").props("maxlength=300 counter")
        reason_in.classes("w-full").mark(f"{kind}-reason")
        ui.button(f"Add {noun}", icon="add", on_click=add).props("unelevated").mark(f"add-{kind}")
    result_box = ui.card().classes("w-full p-4 gap-1 bg-amber-50").props("flat bordered").mark(f"{kind}-result")
    result_box.visible = False
    ui.label("Upcoming leave and closures" if mine else "Upcoming closures").classes("text-lg font-medium")
    list_box = ui.column().classes("w-full gap-2")
    redraw = coalesced(show_list)
    await show_list()
    if mine:
        ctx.live.subscribe(f"doctor:{doctor_id}", on_event)
    ctx.live.subscribe("closures", on_event)
    on_reconnect(redraw)
