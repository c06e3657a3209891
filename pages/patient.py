"""Patient portal: own appointments, find a doctor, book from live free slots, history."""

from __future__ import annotations

import re

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import AppointmentRow
from components.dialogs import cancel_dialog
from components.frame import fmt_day, fmt_when, frame, guard, notify_error, notify_ok, parse_id
from components.io import io
from components.live import coalesced, on_reconnect
from components.slot_grid import SlotGrid
from data.queries import AppointmentDTO
from domain import events as ev
from domain.errors import DomainError, SlotTaken
from domain.model import Actor, Role, Slot
from pages.context import AppContext

PAGE_SIZE = 20
SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|person|procedure)\)$")


def move_url(dto: AppointmentDTO) -> str:
    return f"/patient/doctors/{dto.doctor_id}?move={dto.id}"


def specialty_line(specialty: str, department: str) -> str:
    return specialty if specialty.casefold() == department.casefold() else f"{specialty} · {department}"


GRID_DAYS = 14


def register(ctx: AppContext) -> None:
    async def cancel_flow(actor: Actor, dto: AppointmentDTO) -> bool:
        client = ui.context.client  # the row that asked may be re-drawn by the live update meanwhile
        answer = await cancel_dialog(
            "Cancel this appointment?", f"{dto.doctor}, {fmt_when(dto.start, ctx.tz)}", staff=False
        )
        if answer is None:
            return False
        try:
            await io(ctx.services.cancel, actor, dto.id, *answer)
        except DomainError as error:
            notify_error(error.message, client)
            return False
        notify_ok("Your appointment was cancelled.", client)
        return True

    @ui.page("/patient")
    async def my_appointments(booked: str = "", moved: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/patient", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        patient_id = actor.patient_id

        async def on_cancel(dto: AppointmentDTO) -> None:
            await cancel_flow(actor, dto)  # the live update re-draws the list

        @ui.refreshable
        async def show() -> None:
            now = ctx.services.clock.now()
            upcoming = await io(ctx.queries.patient_appointments, patient_id, now, True)
            past = await io(ctx.queries.patient_appointments, patient_id, now, False, 10)
            with ui.row().classes("items-baseline gap-2"):
                ui.label("Upcoming").classes("text-lg font-medium")
                ui.label(f"times in {ctx.settings.timezone}").classes("text-xs text-slate-500")
            if not upcoming:
                with ui.card().classes("w-full p-4"):
                    ui.label("You have no upcoming appointments.")
                    ui.button("Find a doctor", icon="search", on_click=lambda: ui.navigate.to("/patient/doctors"))
            for dto in upcoming:
                AppointmentRow(dto, ctx.tz, show="doctor", on_cancel=on_cancel, move_to=move_url)
            if past:
                ui.label("Recent and cancelled").classes("text-lg font-medium mt-4")
                for dto in past:
                    AppointmentRow(dto, ctx.tz, show="doctor")

        with frame(ctx, actor, "My appointments"):
            await show()
        redraw = coalesced(show.refresh)
        client = ui.context.client

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.AppointmentCancelled) and event.by_role in ("doctor", "admin"):
                dto = await io(ctx.queries.appointment, event.appointment_id)
                who = dto.doctor if dto else "The hospital"
                with client:
                    ui.notify(
                        f"{who} cancelled your appointment of {fmt_when(event.start, ctx.tz)}. "
                        f"{event.reason}. You can book another time under “Find a doctor”.",
                        type="warning",
                        position="bottom",
                        multi_line=True,
                        timeout=0,
                        close_button="OK",
                    )
            await redraw()

        ctx.live.subscribe(f"patient:{patient_id}", on_event)
        on_reconnect(redraw)
        booked_id = parse_id(booked)
        if booked_id is not None:  # confirmation after the booking page handed over
            dto = await io(ctx.queries.appointment, booked_id)
            if dto is not None and dto.patient_id == patient_id:
                notify_ok(f"{'Moved to' if moved else 'Booked:'} {dto.doctor}, {fmt_when(dto.start, ctx.tz)}")
        return None

    @ui.page("/patient/doctors")
    async def find_doctor(q: str = "", department: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/doctors", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        departments = await io(ctx.queries.departments)
        state = {"limit": PAGE_SIZE}

        @ui.refreshable
        async def results() -> None:
            page = await io(ctx.queries.doctors, search.value or "", dept.value, True, state["limit"], 0)
            if not page.items:
                ui.label("No doctor matches your search.").classes("text-slate-500")
            with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-3"):
                for doc in page.items:
                    with ui.card().classes("p-4 gap-1").mark(f"doctor-{doc.id}"):
                        ui.label(doc.name).classes("text-lg font-medium")
                        ui.label(specialty_line(doc.specialty, doc.department)).classes("text-slate-600")
                        ui.button(
                            "See free times",
                            icon="event_available",
                            on_click=lambda d=doc.id: ui.navigate.to(f"/patient/doctors/{d}"),
                        ).props("unelevated no-caps").classes("mt-2")
            ui.label(f"Showing {len(page.items)} of {page.total}").classes("text-sm text-slate-500")
            if page.total > len(page.items):

                async def more() -> None:
                    state["limit"] += PAGE_SIZE
                    await results.refresh()

                ui.button("Show more", on_click=more).props("flat")

        async def reset_and_search() -> None:
            state["limit"] = PAGE_SIZE
            await results.refresh()

        with frame(ctx, actor, "Find a doctor"):
            with ui.row().classes("w-full items-end gap-3"):
                search = (
                    ui.input("Name, specialty or department", value=q)
                    .props("clearable debounce=300 autofocus")
                    .classes("grow min-w-[14rem]")
                )
                options = {None: "All departments"} | {d.id: d.name for d in departments}
                dept = ui.select(
                    options, value=parse_id(department) if parse_id(department) in options else None, label="Department"
                )
                dept.classes("min-w-[12rem]")
            search.on_value_change(reset_and_search)
            dept.on_value_change(reset_and_search)
            await results()
        return None

    @ui.page("/patient/doctors/{doctor_ref}")
    async def book_page(doctor_ref: str, move: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/doctors", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        doctor_id = parse_id(doctor_ref)
        doctor = await io(ctx.queries.doctor, doctor_id) if doctor_id is not None else None
        # ?move=<id>: pick a new time for an own, still booked appointment with this doctor
        move_id = parse_id(move)
        moving = await io(ctx.queries.appointment, move_id) if move_id is not None else None
        if moving is not None and (
            moving.patient_id != actor.patient_id or moving.doctor_id != doctor_id or moving.status != "booked"
        ):
            moving = None
        with frame(ctx, actor, "Move an appointment" if moving else "Book an appointment"):
            if doctor is None or not doctor.bookable:
                text = "This doctor does not exist." if doctor is None else "This doctor does not take online bookings."
                ui.label(text).classes("text-slate-600")
                ui.link("Back to the doctor list", "/patient/doctors")
                return None
            with ui.card().classes("w-full p-4 gap-1"):
                ui.label(doctor.name).classes("text-xl font-medium")
                ui.label(
                    f"{specialty_line(doctor.specialty, doctor.department)} · {doctor.slot_minutes}-minute visits"
                ).classes("text-slate-600")
                ui.label(f"Times are {ctx.settings.timezone} time and update live.").classes("text-sm text-slate-500")
            if moving is not None:
                with ui.card().classes("w-full p-3 bg-sky-50").props("flat bordered"):
                    ui.label(
                        f"You are moving your appointment of {fmt_when(moving.start, ctx.tz)}. Pick the new time; "
                        "the old one is given up only when the new one is yours."
                    )

            chosen: dict[str, Slot] = {}
            with ui.dialog() as dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
                ui.label("Move to this time?" if moving else "Book this time?").classes("text-lg font-medium")
                when = ui.label()
                reason = ui.input("Reason for the visit (optional)").props("maxlength=500").classes("w-full")
                reason.visible = moving is None  # a move keeps the reason given at booking
                with ui.row().classes("w-full justify-end gap-2"):
                    ui.button("Back", on_click=lambda: dialog.submit(False)).props("flat")
                    ui.button("Move" if moving else "Book", on_click=lambda: dialog.submit(True)).props(
                        'data-testid="confirm-book"'
                    )

            async def pick(slot: Slot) -> None:
                if dialog.value or "slot" in chosen:
                    return  # a second tap while one booking is being confirmed: the dialog shows the first
                chosen["slot"] = slot
                try:
                    when.text = f"{doctor.name}, {fmt_when(slot.start, ctx.tz)}"
                    reason.value = ""
                    if await dialog:
                        await book(chosen["slot"])
                finally:
                    chosen.pop("slot", None)

            async def book(slot: Slot) -> None:
                try:
                    if moving is not None:
                        appointment = await io(ctx.services.reschedule, actor, moving.id, slot.start)
                    else:
                        appointment = await io(ctx.services.book, actor, doctor.id, slot.start, reason.value or "")
                except SlotTaken as error:
                    grid.mark(slot.start, free=False)
                    notify_error(error.message)
                    return
                except DomainError as error:
                    notify_error(error.message)
                    return
                ui.navigate.to(f"/patient?booked={appointment.id}" + ("&moved=1" if moving else ""))

            today = ctx.services.clock.today()
            grid = SlotGrid(ctx, doctor.id, today, GRID_DAYS, pick)
            await grid.load()
            on_reconnect(grid.load)
        return None

    @ui.page("/patient/appointments/{appointment_ref}")
    async def appointment_page(appointment_ref: str) -> RedirectResponse | None:
        actor = await guard(ctx, "/patient", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        appointment_id = parse_id(appointment_ref) or 0
        dto = await io(ctx.queries.appointment, appointment_id) if appointment_id else None
        with frame(ctx, actor, "Appointment"):
            if dto is None or dto.patient_id != actor.patient_id:
                # the same answer whether it does not exist or belongs to someone else
                ui.label("This appointment does not exist.").props('data-testid="not-found"')
                ui.link("Back to my appointments", "/patient")
                return None

            async def on_cancel(d: AppointmentDTO) -> None:
                if await cancel_flow(actor, d):
                    fresh = await io(ctx.queries.appointment, appointment_id)
                    if fresh:
                        row.update(fresh)

            row = AppointmentRow(dto, ctx.tz, show="doctor", on_cancel=on_cancel)

            async def on_event(event: ev.DomainEvent) -> None:
                if getattr(event, "appointment_id", None) == appointment_id:
                    fresh = await io(ctx.queries.appointment, appointment_id)
                    if fresh:
                        row.update(fresh)

            ctx.live.subscribe(f"patient:{actor.patient_id}", on_event)
        return None

    @ui.page("/patient/history")
    async def history(page: str = "1") -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/history", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        page_no = min(parse_id(page) or 1, 100_000)
        result = await io(ctx.queries.patient_history, actor.patient_id, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
        with frame(ctx, actor, "My history"):
            if not result.items:
                ui.label("No visits on record yet.").classes("text-slate-500")
            for visit in result.items:
                with ui.card().classes("w-full p-4 gap-1"):
                    with ui.row().classes("w-full items-baseline gap-2"):
                        ui.label(fmt_day(visit.start, ctx.tz)).classes("font-semibold")
                        ui.label(visit.kind).classes("text-slate-700")
                        ui.space()
                        ui.label(visit.doctor).classes("text-sm text-slate-500")
                    if visit.reason:
                        ui.label(f"Reason: {visit.reason}").classes("text-sm")
                    if visit.diagnoses:
                        ui.label("Diagnoses").classes("text-sm font-medium mt-1")
                        for d in visit.diagnoses:
                            with ui.row().classes("gap-2 items-center text-sm"):
                                ui.badge(d.code or "—", color="secondary").props("outline")
                                ui.label(SEMANTIC_TAG.sub("", d.display))
                                if d.clinical_status:
                                    ui.label(f"({d.clinical_status})").classes("text-slate-500")
                    if visit.prescriptions:
                        ui.label("Prescriptions").classes("text-sm font-medium mt-1")
                        for p in visit.prescriptions:
                            with ui.row().classes("gap-2 items-start no-wrap text-sm"):
                                ui.icon("medication", color="secondary").classes("mt-0.5")
                                with ui.column().classes("gap-0"):
                                    ui.label(p.drug)
                                    if p.dosage:
                                        ui.label(p.dosage).classes("text-slate-600")
            pages = max(1, -(-result.total // PAGE_SIZE))
            if pages > 1:
                with ui.row().classes("items-center gap-2"):
                    ui.pagination(
                        1,
                        pages,
                        value=min(page_no, pages),
                        on_change=lambda e: ui.navigate.to(f"/patient/history?page={e.value}"),
                    )
                    ui.label(f"{result.total} visits").classes("text-sm text-slate-500")
        return None
