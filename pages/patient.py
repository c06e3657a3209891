"""Patient portal: own appointments and waiting lists, find a doctor, book from live free times (one doctor
and a visit type, or any doctor of a department), join waiting lists, check in on the day, history."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import AppointmentRow
from components.dialogs import cancel_dialog, confirm, form_dialog
from components.frame import (
    date_input,
    fmt_when,
    frame,
    guard,
    notify_error,
    notify_ok,
    parse_date,
    parse_id,
    specialty_line,
)
from components.io import io
from components.live import coalesced, on_reconnect
from components.patient_alerts import patient_alerts
from components.slot_grid import SlotGrid
from data.queries import AppointmentDTO
from domain import events as ev
from domain.errors import DomainError, SlotTaken, ValidationError
from domain.model import ACTIVE_STATUSES, Actor, AppointmentStatus, Role, Slot
from pages.context import AppContext
from pages.records import patient_timeline

PAGE_SIZE = 20
SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|person|procedure)\)$")


def move_url(dto: AppointmentDTO) -> str:
    return f"/patient/doctors/{dto.doctor_id}?move={dto.id}"


GRID_DAYS = 14
MAX_GRID_DAYS = 42
FIRST_GRID_DAYS = 14  # drawn when the page opens; the rest on asking
WAITLIST_DAYS = 14  # the default waiting period
ACTIVE_CODES = {s.value for s in ACTIVE_STATUSES}


class ConfirmBooking:
    """The "Book this time?" dialog of a booking page. One booking at a time: a second tap while one is being
    confirmed or stored is ignored (the dialog shows the first)."""

    def __init__(self, title: str, ok: str, ask_reason: bool = True) -> None:
        with ui.dialog() as self.dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
            ui.label(title).classes("text-lg font-medium")
            self.when = ui.label()
            self.reason = ui.input("Reason for the visit (optional)").props("maxlength=500").classes("w-full")
            self.reason.visible = ask_reason
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Back", on_click=lambda: self.dialog.submit(False)).props("flat")
                ui.button(ok, on_click=lambda: self.dialog.submit(True)).props('data-testid="confirm-book"')
        self.busy = False

    async def run(self, text: str, book: Callable[[str], Awaitable[None]]) -> None:
        if self.busy or self.dialog.value:
            return
        self.busy = True
        try:
            self.when.text = text
            self.reason.value = ""
            if await self.dialog:
                await book(self.reason.value or "")
        finally:
            self.busy = False


async def waitlist_dialog(
    ctx: AppContext, actor: Actor, who: str, doctor_id: int | None = None, department_id: int | None = None
) -> bool:
    """Ask for the days the patient can come and put them on the waiting list of the doctor or the
    department. Bad input keeps the dialog and what was typed, with a message."""
    today = ctx.services.clock.today()
    hold = int(ctx.services.offer_hold.total_seconds() // 60)

    def fields() -> Callable[[], Awaitable[object]]:
        ui.label(
            f"When a time with {who} becomes free on one of these days, it is held for you for {hold} minutes "
            "and shown on any HealthSync page you have open."
        ).classes("text-slate-600")
        with ui.row().classes("w-full gap-3 no-wrap"):
            first = date_input("First day", today).classes("grow")
            last = date_input("Last day", today + timedelta(days=WAITLIST_DAYS)).classes("grow")

        async def join() -> None:
            first_day = parse_date(first.value, "First day")
            last_day = parse_date(last.value, "Last day")
            await io(
                ctx.services.join_waitlist, actor, first_day, last_day, doctor_id=doctor_id, department_id=department_id
            )

        return join

    saved = f"You are on the waiting list for {who}. You can leave it under “My appointments”."
    return await form_dialog("Join the waiting list", fields, saved, ok="Join", ok_marker="waitlist-join")


def register(ctx: AppContext) -> None:  # noqa: C901 - one closure per page
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

    def can_check_in(dto: AppointmentDTO) -> bool:
        """Offer "I'm here" on the day of a booked visit until it ends (the service decides)."""
        return (
            dto.status == AppointmentStatus.BOOKED.value
            and dto.start.astimezone(ctx.tz).date() == ctx.services.clock.today()
            and ctx.services.clock.now() < dto.end
        )

    @ui.page("/patient")
    async def my_appointments(booked: str = "", moved: str = "", assigned: str = "") -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/patient", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        patient_id = actor.patient_id
        rows: dict[int, tuple[AppointmentRow, ui.button]] = {}
        watched: set[int] = set()  # doctors of the upcoming visits, whose (un)availability the list shows
        shown = {"upcoming": PAGE_SIZE}  # the next visits first; more on asking (a live redraw keeps the count)

        async def on_cancel(dto: AppointmentDTO) -> None:
            await cancel_flow(actor, dto)  # the live update re-draws the list

        async def update_rows(appointment_ids: list[int]) -> None:
            for dto in await io(ctx.queries.appointments, appointment_ids):  # one query, rows changed in place
                if dto.id in rows:
                    row, check_in_button = rows[dto.id]
                    row.update(dto)
                    check_in_button.visible = can_check_in(dto)

        async def update_row(appointment_id: int) -> None:
            await update_rows([appointment_id])

        async def check_in(appointment_id: int) -> None:
            client = ui.context.client
            try:
                await io(ctx.services.set_status, actor, appointment_id, AppointmentStatus.ARRIVED)
            except DomainError as error:
                notify_error(error.message, client)
                return
            notify_ok("You are checked in. Please take a seat; you will be called.", client)
            await update_row(appointment_id)

        async def leave(entry_id: int, who: str) -> None:
            client = ui.context.client
            if not await confirm("Leave this waiting list?", who, ok="Leave", cancel="Stay"):
                return
            try:
                await io(ctx.services.leave_waitlist, actor, entry_id)
            except DomainError as error:
                notify_error(error.message, client)
                return
            notify_ok("You left the waiting list.", client)
            await redraw()

        @ui.refreshable
        async def show() -> None:
            now = ctx.services.clock.now()
            upcoming = await io(ctx.queries.patient_appointments, patient_id, now, True, shown["upcoming"] + 1)
            more_upcoming = len(upcoming) > shown["upcoming"]
            upcoming = upcoming[: shown["upcoming"]]
            past = await io(ctx.queries.patient_appointments, patient_id, now, False, 10)
            waiting, _ = await io(ctx.queries.patient_scheduling, patient_id, now)
            rows.clear()
            with ui.row().classes("items-baseline gap-2"):
                ui.label("Upcoming").classes("text-lg font-medium")
                ui.label(f"times in {ctx.settings.timezone}").classes("text-xs text-slate-500")
            if not upcoming:
                with ui.card().classes("w-full p-4"):
                    ui.label("You have no upcoming appointments.")
                    ui.button("Find a doctor", icon="search", on_click=lambda: ui.navigate.to("/patient/doctors"))
            for dto in upcoming:
                row = AppointmentRow(dto, ctx.tz, show="doctor", on_cancel=on_cancel, move_to=move_url)
                with row.card:
                    button = ui.button("I'm here", icon="how_to_reg", on_click=lambda i=dto.id: check_in(i))
                    button.props("unelevated no-caps").classes("self-start").mark(f"checkin-{dto.id}")
                    button.props("title='Check in when you are at the hospital'")
                    button.visible = can_check_in(dto)
                rows[dto.id] = (row, button)
            if more_upcoming:
                ui.button("Show later appointments", icon="expand_more", on_click=show_more).props("flat no-caps").mark(
                    "more-upcoming"
                )
            for doctor_id in {dto.doctor_id for dto in upcoming} - watched:
                watched.add(doctor_id)
                ctx.live.subscribe(f"doctor:{doctor_id}", on_doctor_event)
            if waiting:
                ui.label("Waiting lists").classes("text-lg font-medium mt-4")
                for entry_id, doctor, department, first, last in waiting:
                    who = doctor or f"Any doctor in {department or 'a department'}"
                    with ui.card().classes("w-full p-3").mark(f"waitlist-{entry_id}"):
                        with ui.row().classes("w-full items-center gap-3 no-wrap"):
                            ui.icon("hourglass_top", color="secondary", size="1.5rem")
                            with ui.column().classes("gap-0 grow min-w-0"):
                                ui.label(who).classes("font-medium break-words")
                                ui.label(f"{first:%a %d %b} – {last:%a %d %b %Y}").classes("text-sm text-slate-600")
                            ui.button("Leave", on_click=lambda i=entry_id, w=who: leave(i, w)).props(
                                "flat no-caps color=negative"
                            ).mark(f"leave-waitlist-{entry_id}")
            if past:
                ui.label("Recent and cancelled").classes("text-lg font-medium mt-4")
                for dto in past:
                    AppointmentRow(dto, ctx.tz, show="doctor")

        async def show_more() -> None:
            shown["upcoming"] += PAGE_SIZE
            await redraw()

        async def on_doctor_event(event: ev.DomainEvent) -> None:
            # a doctor of an upcoming visit stopped (or resumed) taking bookings: those visits' notes change
            if isinstance(event, ev.AvailabilityChanged):
                await update_rows([i for i, (r, _) in rows.items() if r.dto.doctor_id == event.doctor_id])

        with frame(ctx, actor, "My appointments"):
            await patient_alerts(ctx, actor)
            await show()
        redraw = coalesced(show.refresh)

        async def on_event(event: ev.DomainEvent) -> None:
            if (
                isinstance(event, ev.AppointmentStatusChanged)
                and event.appointment_id in rows
                and event.new in ACTIVE_CODES
            ):
                await update_row(event.appointment_id)  # e.g. arrived: the row changes in place
                return
            await redraw()

        ctx.live.subscribe(f"patient:{patient_id}", on_event)
        on_reconnect(redraw)
        booked_id = parse_id(booked)
        if booked_id is not None:  # confirmation after the booking page handed over
            dto = await io(ctx.queries.appointment, booked_id)
            if dto is not None and dto.patient_id == patient_id:
                when = fmt_when(dto.start, ctx.tz)
                if moved:
                    notify_ok(f"Moved to {dto.doctor}, {when}")
                elif assigned:
                    notify_ok(f"Booked: {dto.doctor} will see you, {when}")
                else:
                    notify_ok(f"Booked: {dto.doctor}, {when}")
        return None

    @ui.page("/patient/doctors")
    async def find_doctor(q: str = "", department: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/doctors", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        departments = await io(ctx.queries.departments)
        names = {d.id: d.name for d in departments}
        state = {"limit": PAGE_SIZE}

        @ui.refreshable
        async def results() -> None:
            page = await io(ctx.queries.doctors, search.value or "", dept.value, True, state["limit"], 0)
            if not page.items:
                ui.label("No doctor matches your search.").classes("text-slate-500")
            with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-3"):
                if dept.value in names and page.items:
                    with ui.card().classes("p-4 gap-1 bg-sky-50").props("flat bordered").mark("any-doctor"):
                        ui.label(f"Any doctor in {names[dept.value]}").classes("text-lg font-medium")
                        ui.label("The first free time with whichever doctor is free.").classes("text-slate-600")
                        ui.button(
                            "See free times",
                            icon="groups",
                            on_click=lambda d=dept.value: ui.navigate.to(f"/patient/departments/{d}"),
                        ).props("unelevated no-caps color=secondary").classes("mt-2")
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
            await patient_alerts(ctx, actor)
            with ui.row().classes("w-full items-end gap-3"):
                search = (
                    ui.input("Name, specialty or department", value=q)
                    .props("clearable debounce=300 autofocus")
                    .classes("grow min-w-[14rem]")
                )
                options = {None: "All departments"} | names
                dept = ui.select(
                    options, value=parse_id(department) if parse_id(department) in options else None, label="Department"
                )
                dept.classes("min-w-[12rem]")
            staffed = [d for d in departments if d.bookable]  # only where somebody can be booked now
            if staffed:
                with ui.row().classes("w-full items-center gap-x-1 gap-y-0 text-sm") as any_links:
                    any_links.bind_visibility_from(dept, "value", backward=lambda v: v is None)
                    ui.label("Or the first free time with any doctor in:").classes("text-slate-600 mr-1")
                    for d in staffed:
                        ui.link(d.name, f"/patient/departments/{d.id}").classes("px-1").mark(f"department-{d.id}")
            search.on_value_change(reset_and_search)
            dept.on_value_change(reset_and_search)
            await results()
        return None

    @ui.page("/patient/doctors/{doctor_ref}")
    async def book_page(doctor_ref: str, move: str = "") -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/patient/doctors", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        patient_id = actor.patient_id
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
            await patient_alerts(ctx, actor)
            if doctor is not None:  # the doctor stops or resumes taking bookings: the page is another one then
                bookable, client = doctor.bookable, ui.context.client

                async def on_bookable(event: ev.DomainEvent) -> None:
                    if isinstance(event, ev.AvailabilityChanged):
                        fresh = await io(ctx.queries.doctor, event.doctor_id)
                        if fresh is not None and fresh.bookable != bookable and not client.is_deleted:
                            with client:
                                ui.navigate.reload()

                ctx.live.subscribe(f"doctor:{doctor.id}", on_bookable)
            if doctor is None or not doctor.bookable:
                text = "This doctor does not exist." if doctor is None else "This doctor does not take online bookings."
                ui.label(text).classes("text-slate-600").mark("not-bookable")
                ui.link("Back to the doctor list", "/patient/doctors")
                return None
            types = await io(ctx.queries.visit_types, doctor.id)

            def type_options(found: list[tuple[str, str, int]]) -> dict[str, str]:
                return {code: f"{name} · {minutes} min" for code, name, minutes in found}

            codes = [code for code, *_ in types]
            chosen = {"type": moving.visit_type if moving and moving.visit_type in codes else codes[0]}
            with ui.card().classes("w-full p-4 gap-1"):
                ui.label(doctor.name).classes("text-xl font-medium")
                ui.label(specialty_line(doctor.specialty, doctor.department)).classes("text-slate-600")
                ui.label(f"Times are {ctx.settings.timezone} time and update live.").classes("text-sm text-slate-500")
                with ui.row().classes("w-full items-end gap-3 mt-2"):
                    kind = ui.select(type_options(types), value=chosen["type"], label="Type of visit")
                    kind.classes("min-w-[14rem]").mark("visit-type")
                    kind.visible = moving is None  # a move keeps the visit type booked
                    ui.space()
                    if moving is None:
                        ui.button(
                            "Join the waiting list",
                            icon="hourglass_top",
                            on_click=lambda: waitlist_dialog(ctx, actor, doctor.name, doctor_id=doctor.id),
                        ).props("outline no-caps").mark("join-waitlist")
            if moving is not None:
                with ui.card().classes("w-full p-3 bg-sky-50").props("flat bordered"):
                    ui.label(
                        f"You are moving your appointment of {fmt_when(moving.start, ctx.tz)}. Pick the new time; "
                        "the old one is given up only when the new one is yours."
                    )

            confirm_booking = ConfirmBooking(
                "Move to this time?" if moving else "Book this time?", "Move" if moving else "Book", moving is None
            )

            async def pick(slot: Slot) -> None:
                label = kind.options.get(chosen["type"], "") if isinstance(kind.options, dict) else ""
                text = f"{doctor.name}, {fmt_when(slot.start, ctx.tz)}" + (f" · {label}" if label else "")
                await confirm_booking.run(text, lambda reason: book(slot, reason))

            async def book(slot: Slot, reason: str) -> None:
                try:
                    if moving is not None:
                        appointment = await io(ctx.services.reschedule, actor, moving.id, slot.start)
                    else:
                        appointment = await io(ctx.services.book, actor, doctor.id, slot.start, reason, chosen["type"])
                except SlotTaken as error:
                    await grid.was_taken(slot)
                    notify_error(error.message)
                    return
                except DomainError as error:
                    notify_error(error.message)
                    return
                ui.navigate.to(f"/patient?booked={appointment.id}" + ("&moved=1" if moving else ""))

            def load_slots(first: date, days: int) -> list[tuple[Slot, bool]]:
                try:
                    return ctx.services.slots(doctor.id, first, days, chosen["type"], patient_id)
                except ValidationError:  # the doctor just dropped this visit type: the page follows shortly
                    return ctx.services.slots(doctor.id, first, days, None, patient_id)

            grid = SlotGrid(
                ctx,
                load_slots,
                [f"doctor:{doctor.id}", "closures"],
                ctx.services.clock.today(),
                min(doctor.horizon_days, FIRST_GRID_DAYS),
                pick,
                reach=min(doctor.horizon_days, MAX_GRID_DAYS),  # "Later times": as far as the doctor takes bookings
                viewer_patient_id=patient_id,
                held=lambda a, b: ctx.queries.held_times([doctor.id], a, b, ctx.services.clock.now(), patient_id),
                empty_text="No bookable times in the coming weeks. Join the waiting list to be offered one.",
            )

            async def change_type() -> None:
                if kind.value and kind.value != chosen["type"]:
                    chosen["type"] = kind.value
                    await grid.load()

            kind.on_value_change(change_type)

            async def on_schedule(event: ev.DomainEvent) -> None:
                if isinstance(event, ev.AvailabilityChanged):  # the visit types may have changed too
                    fresh = await io(ctx.queries.visit_types, doctor.id)
                    if fresh:
                        options = type_options(fresh)
                        kind.set_options(options, value=kind.value if kind.value in options else fresh[0][0])

            ctx.live.subscribe(f"doctor:{doctor.id}", on_schedule)
            await grid.load()
            on_reconnect(grid.load)
        return None

    @ui.page("/patient/departments/{department_ref}")
    async def department_page(department_ref: str) -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/doctors", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        patient_id = actor.patient_id
        department_id = parse_id(department_ref)
        found = [d for d in await io(ctx.queries.departments) if d.id == department_id]
        with frame(ctx, actor, "Book with any doctor"):
            await patient_alerts(ctx, actor)
            if not found:
                ui.label("This department does not exist.").classes("text-slate-600")
                ui.link("Back to the doctor list", "/patient/doctors")
                return None
            department = found[0]
            doctors = (await io(ctx.queries.doctors, "", department.id, False, 500, 0)).items
            bookable = [d for d in doctors if d.bookable]
            with ui.card().classes("w-full p-4 gap-1"):
                ui.label(f"Any doctor in {department.name}").classes("text-xl font-medium")
                if department.description:
                    ui.label(department.description).classes("text-slate-600")
                ui.label(
                    "A first consultation with whichever doctor is free at the time you pick; you see who when "
                    f"you book. Times are {ctx.settings.timezone} time and update live."
                ).classes("text-sm text-slate-500")
                with ui.row().classes("w-full items-center gap-x-2 gap-y-1 mt-2"):
                    if bookable:
                        ui.label("Or choose:").classes("text-sm text-slate-600")
                        for d in bookable:
                            ui.link(d.name, f"/patient/doctors/{d.id}").classes("text-sm")
                    ui.space()
                    ui.button(
                        "Join the waiting list",
                        icon="hourglass_top",
                        on_click=lambda: waitlist_dialog(
                            ctx, actor, f"any doctor in {department.name}", department_id=department.id
                        ),
                    ).props("outline no-caps").mark("join-waitlist")

            confirm_booking = ConfirmBooking("Book this time?", "Book")

            async def pick(slot: Slot) -> None:
                text = f"Any doctor in {department.name}, {fmt_when(slot.start, ctx.tz)}"
                await confirm_booking.run(text, lambda reason: book(slot, reason))

            async def book(slot: Slot, reason: str) -> None:
                try:
                    appointment = await io(ctx.services.book_any, actor, department.id, slot.start, reason)
                except SlotTaken as error:
                    await grid.was_taken(slot)
                    notify_error(error.message)
                    return
                except DomainError as error:
                    notify_error(error.message)
                    return
                ui.navigate.to(f"/patient?booked={appointment.id}&assigned=1")

            grid = SlotGrid(
                ctx,
                lambda first, days: ctx.services.department_slots(department.id, first, days, patient_id),
                [*(f"doctor:{d.id}" for d in doctors), "closures"],
                ctx.services.clock.today(),
                GRID_DAYS,
                pick,
                exact=False,
                viewer_patient_id=patient_id,
                held=lambda a, b: ctx.queries.held_times(
                    [d.id for d in doctors], a, b, ctx.services.clock.now(), patient_id
                ),
                empty_text="No bookable times in the next two weeks. Join the waiting list to be offered one.",
            )
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
            await patient_alerts(ctx, actor)
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
                # its own changes, and its doctor stopping or resuming bookings (the row says what happens next)
                if getattr(event, "appointment_id", None) == appointment_id or isinstance(
                    event, ev.AvailabilityChanged
                ):
                    fresh = await io(ctx.queries.appointment, appointment_id)
                    if fresh:
                        row.update(fresh)

            ctx.live.subscribe(f"patient:{actor.patient_id}", on_event)
            ctx.live.subscribe(f"doctor:{dto.doctor_id}", on_event)
        return None

    @ui.page("/patient/history")
    async def history() -> RedirectResponse | None:
        """The patient's own record: current medications and diagnoses, visits with signed notes (imported
        history included), past prescriptions; paged on the server (records.Timeline)."""
        actor = await guard(ctx, "/patient/history", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor
        assert actor.patient_id is not None
        with frame(ctx, actor, "My history"):
            await patient_alerts(ctx, actor)
            await patient_timeline(ctx, actor, actor.patient_id)
        return None
