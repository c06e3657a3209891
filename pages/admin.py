"""Admin portal: live overview, departments, onboarding doctors, patient list, hospital closures and the
audited reset of an appointment in a final state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import STATUS_COLORS, STATUS_LABELS
from components.dialogs import confirm, form_dialog
from components.frame import (
    date_input,
    fmt_leave,
    fmt_when,
    frame,
    guard,
    notify_error,
    notify_ok,
    parse_date,
    parse_id,
)
from components.io import hashing, io
from components.live import coalesced, on_reconnect
from data.queries import AppointmentDTO, DepartmentDTO, DoctorDTO, LeaveDTO
from domain import events as ev
from domain.errors import DomainError, ValidationError
from domain.model import TERMINAL_STATUSES, Actor, Appointment, AppointmentStatus, Role
from pages.context import AppContext

PAGE_SIZE = 25
MAX_LISTED = 50  # cancelled appointments listed one by one after a closure; the rest are counted
RESET_TARGETS = {
    AppointmentStatus.BOOKED.value: "booked (the visit is still to come)",
    AppointmentStatus.ARRIVED.value: "arrived (the patient is here)",
    AppointmentStatus.FULFILLED.value: "fulfilled (the visit took place)",
}


def record_list(
    columns: list[tuple[str, str]],
    rows: Sequence[Mapping[str, Any]],
    total: int,
    more: Callable[[], Awaitable[None]],
    on_click: Callable[[Any], object] | None = None,
) -> None:
    """A server-paged list: a table on tablets and desktops, the same rows as cards on phones (Quasar's
    `xs`/`gt-xs`), "Showing n of total" and a "Show more" button."""
    spec = [{"name": f, "label": label, "field": f, "align": "left"} for f, label in columns]
    table = (
        ui.table(columns=spec, rows=[dict(r) for r in rows], row_key="id")
        .classes("w-full gt-xs")
        .props("flat bordered")
    )
    with ui.column().classes("xs w-full gap-2"):
        for row in rows:
            card = ui.card().classes("w-full p-3 gap-0")
            if on_click is not None:
                card.classes("cursor-pointer").on("click", lambda _e, r=row: on_click(r))
            with card:
                ui.label(str(row[columns[0][0]])).classes("font-medium")
                for field, label in columns[1:]:
                    with ui.row().classes("gap-2 text-sm no-wrap"):
                        ui.label(label).classes("text-slate-500 w-28 shrink-0")
                        ui.label(str(row[field])).classes("break-words min-w-0")
    if on_click is not None:
        table.on("row-click", lambda e: on_click(e.args[1]))
    hint = " · click a row to edit" if on_click is not None else ""
    ui.label(f"Showing {len(rows)} of {total}{hint}").classes("text-sm text-slate-500")
    if total > len(rows):
        ui.button("Show more", on_click=more).props("flat")


def register(ctx: AppContext) -> None:
    @ui.page("/admin")
    async def overview() -> RedirectResponse | None:
        actor = await guard(ctx, "/admin", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        labels: dict[str, ui.label] = {}

        async def load() -> None:
            stats = await io(ctx.queries.stats, ctx.services.clock.now(), ctx.tz)
            for key, label in labels.items():
                label.text = str(getattr(stats, key))

        with frame(ctx, actor, "Overview"):
            with ui.grid().classes("w-full grid-cols-2 md:grid-cols-5 gap-3"):
                for key, text, icon in (
                    ("today", "Appointments today", "today"),
                    ("upcoming", "Upcoming appointments", "event"),
                    ("patients", "Patients", "groups"),
                    ("doctors", "Doctors", "medical_services"),
                    ("departments", "Departments", "domain"),
                ):
                    with ui.card().classes("p-4 gap-1"):
                        with ui.row().classes("items-center gap-2 text-slate-500 no-wrap"):
                            ui.icon(icon).classes("shrink-0")
                            ui.label(text).classes("text-sm leading-tight")
                        labels[key] = ui.label("…").classes("text-3xl font-semibold").mark(f"stat-{key}")
            await load()
        ctx.live.subscribe("stats", lambda _event: load())
        on_reconnect(load)
        return None

    @ui.page("/admin/departments")
    async def departments() -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/departments", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor

        async def edit(dept: DepartmentDTO | None) -> None:
            def fields() -> Callable[[], Awaitable[object]]:
                name = ui.input("Name", value=dept.name if dept else "").props("maxlength=100").classes("w-full")
                description = ui.textarea("Description", value=dept.description if dept else "")
                description.props("maxlength=1000 counter").classes("w-full")
                return lambda: io(
                    ctx.services.save_department, actor, name.value, description.value, dept.id if dept else None
                )

            if await form_dialog("New department" if dept is None else "Edit department", fields, "Department saved."):
                await redraw()

        @ui.refreshable
        async def listing() -> None:
            items = await io(ctx.queries.departments)
            if not items:
                ui.label("No departments yet.").classes("text-slate-500")
            for dept in items:
                with ui.card().classes("w-full p-3").mark(f"department-{dept.id}"):
                    with ui.row().classes("w-full items-center gap-3 no-wrap"):
                        with ui.column().classes("gap-0 grow min-w-0"):
                            ui.label(dept.name).classes("font-medium break-words")
                            ui.label(dept.description or "—").classes("text-sm text-slate-600")
                        ui.badge(f"{dept.doctors} doctor{'' if dept.doctors == 1 else 's'}", color="secondary").props(
                            "outline"
                        )
                        ui.button(icon="edit", on_click=lambda d=dept: edit(d)).props("flat round aria-label=Edit")

        with frame(ctx, actor, "Departments"):
            ui.button("New department", icon="add", on_click=lambda: edit(None)).props("unelevated")
            await listing()
        redraw = coalesced(listing.refresh)
        ctx.live.subscribe("directory", lambda _event: redraw())
        return None

    @ui.page("/admin/doctors")
    async def doctors(q: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/doctors", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        state = {"limit": PAGE_SIZE}

        async def edit(doc: DoctorDTO | None) -> None:
            depts = await io(ctx.queries.departments)
            if not depts:
                notify_error("Create a department first.")
                return

            def fields() -> Callable[[], Awaitable[object]]:
                name = ui.input("Full name", value=doc.name if doc else "").classes("w-full")
                email = ui.input("Email", value=(doc.email or "") if doc else "").props("type=email").classes("w-full")
                email.set_enabled(doc is None)
                specialty = ui.input("Specialty", value=doc.specialty if doc else "").classes("w-full")
                dept = ui.select(
                    {d.id: d.name for d in depts}, value=doc.department_id if doc else None, label="Department"
                ).classes("w-full")
                if doc is not None:
                    return lambda: io(
                        ctx.services.update_doctor, actor, doc.id, name.value, specialty.value, dept.value
                    )
                password = ui.input("Initial password (at least 8 characters)", password=True).classes("w-full")
                return lambda: hashing(
                    ctx.services.onboard_doctor,
                    actor,
                    name.value,
                    email.value,
                    specialty.value,
                    dept.value,
                    password.value,
                )

            if await form_dialog("Onboard a doctor" if doc is None else "Edit doctor", fields, "Doctor saved."):
                await redraw()

        @ui.refreshable
        async def listing() -> None:
            page = await io(ctx.queries.doctors, search.value or "", None, False, state["limit"], 0)
            by_id = {d.id: d for d in page.items}
            rows = [
                {
                    "id": d.id,
                    "name": d.name,
                    "specialty": d.specialty,
                    "department": d.department,
                    "email": d.email or "—",
                    "bookable": "yes"
                    if d.bookable
                    else "no (no hours set)"
                    if d.has_account
                    else "no (imported record)",
                }
                for d in page.items
            ]
            columns = [("name", "Name"), ("specialty", "Specialty"), ("department", "Department"), ("email", "Email")]
            columns.append(("bookable", "Online booking"))
            record_list(columns, rows, page.total, more, on_click=lambda row: edit(by_id[row["id"]]))

        async def more() -> None:
            state["limit"] += PAGE_SIZE
            await redraw()

        with frame(ctx, actor, "Doctors"):
            with ui.row().classes("w-full items-end gap-3"):
                search = ui.input("Search name, specialty, department", value=q).props("clearable debounce=300")
                search.classes("grow")
                ui.button("Onboard a doctor", icon="person_add", on_click=lambda: edit(None)).props("unelevated")
            await listing()
        redraw = coalesced(listing.refresh)
        search.on_value_change(redraw)
        ctx.live.subscribe("directory", lambda _event: redraw())
        return None

    @ui.page("/admin/patients")
    async def patients(q: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/patients", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        state = {"limit": PAGE_SIZE}

        @ui.refreshable
        async def listing() -> None:
            page = await io(ctx.queries.patients, search.value or "", state["limit"], 0)
            rows = [
                {
                    "id": p.id,
                    "name": p.name,
                    "birth": p.birth_date.isoformat() if p.birth_date else "—",
                    "email": p.email or "—",
                    "account": p.account_status,
                    "source": "imported" if p.imported else "registered",
                }
                for p in page.items
            ]
            columns = [("name", "Name"), ("birth", "Born"), ("email", "Email"), ("account", "Account")]
            columns.append(("source", "Source"))
            record_list(columns, rows, page.total, more)

        async def more() -> None:
            state["limit"] += PAGE_SIZE
            await redraw()

        with frame(ctx, actor, "Patients"):
            search = ui.input("Search name or email", value=q).props("clearable debounce=300").classes("w-full")
            await listing()
        redraw = coalesced(listing.refresh)
        search.on_value_change(redraw)
        return None

    @ui.page("/admin/closures")
    async def closures() -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/admin/closures", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        today = ctx.services.clock.today()
        busy = {"saving": False}

        async def show_list() -> None:
            items: list[LeaveDTO] = await io(ctx.queries.leaves, None, ctx.services.clock.now())
            list_box.clear()
            with list_box:
                if not items:
                    ui.label("No closures ahead.").classes("text-slate-500")
                for closure in items:
                    with ui.card().classes("w-full p-3").mark(f"closure-{closure.id}"):
                        with ui.row().classes("w-full items-center gap-3 no-wrap"):
                            ui.icon("domain_disabled", size="1.5rem").classes("shrink-0 text-slate-500")
                            with ui.column().classes("gap-0 grow min-w-0"):
                                ui.label(fmt_leave(closure.start, closure.end, ctx.tz)).classes(
                                    "font-medium break-words"
                                )
                                ui.label(closure.reason or "No reason given").classes(
                                    "text-sm text-slate-600 break-words"
                                )
                            ui.button(icon="delete", on_click=lambda c=closure: remove(c)).props(
                                "flat round color=negative aria-label='Remove closure'"
                            ).mark(f"remove-closure-{closure.id}").tooltip("Remove this closure")

        async def remove(closure: LeaveDTO) -> None:
            if not await confirm(
                "Remove this closure?",
                f"{fmt_leave(closure.start, closure.end, ctx.tz)}. Its times become bookable again; "
                "appointments it cancelled stay cancelled.",
                ok="Remove",
                cancel="Keep it",
            ):
                return
            try:
                await io(ctx.services.remove_leave, actor, closure.id)
            except DomainError as error:
                notify_error(error.message)
                return
            notify_ok("Closure removed.")
            await redraw()

        async def show_result(text: str, cancelled: list[Appointment]) -> None:
            listed = [a.id for a in cancelled[:MAX_LISTED] if a.id is not None]
            dtos = await io(ctx.queries.appointments, listed)
            n = len(cancelled)
            result_box.clear()
            result_box.visible = True
            with result_box:
                ui.label(f"Closure added: {text}").classes("font-medium")
                told = "the patient was" if n == 1 else "the patients were"
                ui.label(
                    f"{n} appointment{'' if n == 1 else 's'} cancelled"
                    + (f"; {told} told at once and offered other times." if n else ".")
                ).classes("text-slate-700").mark("closure-cancelled")
                for dto in dtos:
                    with ui.link(target=f"/admin/appointments/{dto.id}").classes("no-underline text-inherit"):
                        with ui.row().classes("items-baseline gap-2").mark(f"affected-{dto.id}"):
                            ui.label(dto.patient).classes("font-medium text-primary")
                            ui.label(f"{dto.doctor} · {fmt_when(dto.start, ctx.tz)}").classes("text-sm text-slate-600")
                if n > len(dtos):
                    ui.label(f"… and {n - len(dtos)} more.").classes("text-slate-600")

        async def add() -> None:
            if busy["saving"]:
                return
            try:
                first = parse_date(first_in.value, "First day")
                last = parse_date(last_in.value, "Last day")
                if last < first:
                    raise ValidationError("The last day of the closure must not be before the first.")
            except DomainError as error:
                notify_error(error.message)
                return
            if not await confirm(
                "Close the hospital on these days?",
                "Every appointment booked then is cancelled and the patients are told at once.",
                ok="Yes, close",
                cancel="Back",
            ):
                return
            busy["saving"] = True
            try:
                closure, cancelled = await io(
                    ctx.services.add_leave, actor, None, first, last, "full", reason_in.value or ""
                )
            except DomainError as error:
                notify_error(error.message)
                return
            finally:
                busy["saving"] = False
            reason_in.value = ""
            notify_ok("Closure added.")
            await show_result(fmt_leave(closure.start, closure.end, ctx.tz), cancelled)
            await redraw()

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.LeaveChanged):
                await redraw()

        with frame(ctx, actor, "Hospital closures"):
            ui.label(
                "Whole days the hospital is closed (holidays, building work): nobody can book them, and every "
                "appointment booked then is cancelled."
            ).classes("text-slate-600")
            with ui.card().classes("w-full p-4 gap-3"):
                with ui.row().classes("w-full items-start gap-3 sm:gap-4"):
                    first_in = date_input("First day", today).classes("w-[8.5rem] sm:w-44").mark("closure-first")
                    last_in = date_input("Last day", today).classes("w-[8.5rem] sm:w-44").mark("closure-last")
                reason_in = ui.input("Reason (shown to the patients)").props("maxlength=300 counter")
                reason_in.classes("w-full").mark("closure-reason")
                ui.button("Add closure", icon="add", on_click=add).props("unelevated").mark("add-closure")
            result_box = ui.card().classes("w-full p-4 gap-1 bg-amber-50").props("flat bordered")
            result_box.mark("closure-result")
            result_box.visible = False
            ui.label("Upcoming closures").classes("text-lg font-medium")
            list_box = ui.column().classes("w-full gap-2")
            redraw = coalesced(show_list)
            await show_list()
        ctx.live.subscribe("closures", on_event)
        on_reconnect(redraw)
        return None

    @ui.page("/admin/appointments/{appointment_id}")
    async def appointment_page(appointment_id: str) -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, f"/admin/appointments/{appointment_id}", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        wanted = parse_id(appointment_id)
        found = await io(ctx.queries.appointment, wanted) if wanted is not None else None
        with frame(ctx, actor, "Appointment"):
            if found is None:
                ui.label("This appointment does not exist.").classes("text-slate-600").mark("not-found")
                return None
            dto: AppointmentDTO = found
            type_names = {code: name for code, name, _ in await io(ctx.queries.visit_types, dto.doctor_id)}
            fields: dict[str, ui.label] = {}
            busy = {"saving": False}

            def show(current: AppointmentDTO) -> None:
                fields["when"].text = f"{fmt_when(current.start, ctx.tz)}–{current.end.astimezone(ctx.tz):%H:%M}"
                fields["patient"].text = current.patient
                fields["doctor"].text = " · ".join(x for x in (current.doctor, current.department) if x)
                fields["reason"].text = current.reason or "—"
                fields["visit"].text = type_names.get(current.visit_type, current.visit_type) or "—"
                fields["cancel"].text = current.cancel_reason or "—"
                badge.text = STATUS_LABELS.get(current.status, current.status)
                badge.props(f"color={STATUS_COLORS.get(current.status, 'grey')}")
                final = current.status in {s.value for s in TERMINAL_STATUSES}
                reset_card.visible = final
                not_final.visible = not final
                not_final.text = f"This appointment is {current.status}: only a final state needs a reset."

            async def reset() -> None:
                if busy["saving"]:
                    return
                chosen = target.value  # read before waiting: a live update may redraw the form meanwhile
                try:
                    if not chosen:
                        raise ValidationError("Please choose the status to reset to.")
                    busy["saving"] = True
                    try:
                        await io(ctx.services.admin_reset, actor, dto.id, AppointmentStatus(chosen), note.value or "")
                    finally:
                        busy["saving"] = False
                except DomainError as error:
                    notify_error(error.message)
                    return
                notify_ok(f"Reset to {chosen}; the change is in the audit log.")
                target.value, note.value = None, ""
                await refresh()

            async def refresh() -> None:
                fresh = await io(ctx.queries.appointment, dto.id)
                if fresh is not None:
                    show(fresh)

            async def on_event(event: ev.DomainEvent) -> None:
                if (
                    isinstance(event, ev.AppointmentCancelled | ev.AppointmentStatusChanged)
                    and event.appointment_id == dto.id
                ):
                    await refresh()

            with ui.card().classes("w-full max-w-2xl p-4 gap-2").mark(f"appointment-{dto.id}"):
                with ui.row().classes("w-full items-center gap-3"):
                    fields["when"] = ui.label().classes("text-lg font-semibold tabular-nums")
                    badge = ui.badge().mark("status")
                for key, label in (
                    ("patient", "Patient"),
                    ("doctor", "Doctor"),
                    ("reason", "Reason"),
                    ("visit", "Visit type"),
                    ("cancel", "Cancellation"),
                ):
                    with ui.row().classes("w-full gap-2 no-wrap"):
                        ui.label(label).classes("text-slate-500 w-28 shrink-0")
                        fields[key] = ui.label().classes("break-words min-w-0")
            not_final = ui.label().classes("text-slate-600")
            with ui.card().classes("w-full max-w-2xl p-4 gap-3") as reset_card:
                ui.label("Reset a final state").classes("text-lg font-medium")
                ui.label(
                    "For mistakes only, such as a no-show for a patient who came. A reset to booked or arrived "
                    "needs the time to be free still. Who reset it, when and why is kept in the audit log."
                ).classes("text-sm text-slate-600")
                target = ui.select(RESET_TARGETS, label="Reset to", value=None).classes("w-full").mark("reset-to")
                note = ui.input("Reason (required)").props("maxlength=500 counter").classes("w-full")
                note.mark("reset-reason")
                ui.button("Reset", icon="restart_alt", on_click=reset).props("unelevated color=warning").mark(
                    "reset-button"
                )
            show(dto)
        ctx.live.subscribe(f"doctor:{dto.doctor_id}", on_event)
        on_reconnect(refresh)
        return None
