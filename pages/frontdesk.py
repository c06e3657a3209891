"""Front desk (admin role): today's appointments across all doctors, filtered by department, doctor, status and
the patient's name, paged on the server, with "Mark arrived" for booked ones. Live: bookings, cancellations,
arrivals (at the desk or from the patient portal) and the doctors' steps change the list in place.

There is no separate front-desk role: arrival is marked by an admin here, by the doctor on the day view, or by
the patient's "I'm here" on the portal (pages/patient.py)."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import fmt_day, frame, guard, notify_error, notify_ok, parse_id
from components.io import io
from components.live import on_reconnect
from components.queue_board import COUNTERS, ArrivalRow, QueueCounters, totals
from data.queries import AppointmentDTO, DoctorDTO
from domain import events as ev
from domain.errors import DomainError
from domain.model import Actor, AppointmentStatus, Role
from pages.context import AppContext

PAGE_SIZE = 25
ALL = 0  # the "all departments / all doctors" choice of a filter
STATUS_FILTERS: dict[str, str] = {"all": "All statuses"} | {c.key: c.label for c in COUNTERS}


def register(ctx: AppContext) -> None:  # noqa: C901 - one closure per page
    @ui.page("/admin/arrivals")
    async def arrivals(q: str = "", department: str = "", doctor: str = "") -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/admin/arrivals", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        today = ctx.services.clock.today()
        state = {"limit": PAGE_SIZE, "total": 0, "loading": 0}
        rows: dict[int, ArrivalRow] = {}
        departments = await io(ctx.queries.departments)
        doctors: list[DoctorDTO] = (await io(ctx.queries.doctors, "", None, False, 1000, 0)).items

        def doctor_options(department_id: int) -> dict[int, str]:
            chosen = [d for d in doctors if department_id == ALL or d.department_id == department_id]
            return {ALL: "All doctors"} | {d.id: d.name for d in chosen}

        def filters() -> tuple[str, int | None, int | None, tuple[str, ...]]:
            key = status_in.value or "all"
            statuses = next((tuple(sorted(c.statuses)) for c in COUNTERS if c.key == key), ())
            return (
                (search.value or "").strip()[:200],
                department_in.value or None,
                doctor_in.value or None,
                statuses,
            )

        async def read_page() -> tuple[list[AppointmentDTO], int, dict[str, int]]:
            text, department_id, doctor_id, statuses = filters()
            page = await io(
                ctx.queries.arrivals, today, ctx.tz, text, department_id, doctor_id, statuses, state["limit"], 0
            )
            counts = await io(ctx.queries.arrival_counts, today, ctx.tz, text, department_id, doctor_id)
            return page.items, page.total, counts

        def show_totals(total: int, counts: dict[str, int]) -> None:
            state["total"] = total
            counters.set(totals(counts))
            shown.text = f"Showing {len(rows)} of {total}"
            more.visible = total > len(rows)
            empty.visible = not rows

        def make_row(dto: AppointmentDTO) -> ArrivalRow:
            return ArrivalRow(dto, ctx.tz, ctx.services.clock.now, on_step)

        async def load() -> None:
            """Draw the list for the filters (a filter change, "Show more", a reconnect; never a live event)."""
            state["loading"] = asked = state["loading"] + 1
            items, total, counts = await read_page()
            if state["loading"] != asked:
                return  # the filters changed again meanwhile: the newer answer draws
            rows.clear()
            listing.clear()
            with listing:
                for dto in items:
                    rows[dto.id] = make_row(dto)
            show_totals(total, counts)

        async def refresh_one(appointment_id: int) -> None:
            """One appointment changed: its row in place; a new one shown in its place if the page holds it."""
            dto = await io(ctx.queries.appointment, appointment_id)
            if dto is None or dto.start.astimezone(ctx.tz).date() != today:
                return
            items, total, counts = await read_page()
            row = rows.get(dto.id)
            if row is not None:
                row.update(dto)
            else:
                if dto.id in {d.id for d in items}:
                    with listing:
                        row = rows[dto.id] = make_row(dto)
                    placed = sorted(rows.values(), key=lambda r: (r.dto.start, r.dto.doctor, r.dto.id))
                    row.card.move(target_index=placed.index(row))
                    row.card.classes("ring-2 ring-amber-400")
                    ui.timer(4, lambda c=row.card: c.classes(remove="ring-2 ring-amber-400"), once=True)
            show_totals(total, counts)

        pending: set[int] = set()  # a double tap sends one command; the re-read after it is not guarded

        async def on_step(dto: AppointmentDTO, status: AppointmentStatus) -> None:
            client = ui.context.client
            if dto.id in pending:
                return
            pending.add(dto.id)
            try:
                await io(ctx.services.set_status, actor, dto.id, status)
            except DomainError as error:
                notify_error(error.message, client)
                return
            finally:
                pending.discard(dto.id)
            if status == AppointmentStatus.ARRIVED:
                notify_ok(f"{dto.patient} has arrived; {dto.doctor} sees it at once.", client)
            else:
                notify_ok(f"{dto.patient} is no longer marked as arrived.", client)
            await refresh_one(dto.id)

        async def on_directory() -> None:
            """A department or doctor was added or renamed: the filters offer them at once."""
            nonlocal departments, doctors
            departments = await io(ctx.queries.departments)
            doctors = (await io(ctx.queries.doctors, "", None, False, 1000, 0)).items
            department_in.set_options(
                {ALL: "All departments"} | {d.id: d.name for d in departments},
                value=department_in.value if department_in.value in {d.id for d in departments} else ALL,
            )
            options = doctor_options(department_in.value or ALL)
            doctor_in.set_options(options, value=doctor_in.value if doctor_in.value in options else ALL)

        async def on_event(event: ev.DomainEvent) -> None:
            if isinstance(event, ev.DirectoryChanged):
                await on_directory()
                return
            if not isinstance(event, ev.SlotBooked | ev.AppointmentCancelled | ev.AppointmentStatusChanged):
                return
            if event.start.astimezone(ctx.tz).date() == today:
                await refresh_one(event.appointment_id)

        async def on_department() -> None:
            options = doctor_options(department_in.value or ALL)
            doctor_in.set_options(options, value=doctor_in.value if doctor_in.value in options else ALL)
            await restart()

        async def restart() -> None:
            state["limit"] = PAGE_SIZE
            await load()

        async def show_more() -> None:
            state["limit"] += PAGE_SIZE
            await load()

        chosen_department = parse_id(department) or ALL
        if chosen_department not in {d.id for d in departments}:
            chosen_department = ALL
        chosen_doctor = parse_id(doctor) or ALL
        with frame(ctx, actor, "Arrivals"):
            with ui.row().classes("w-full items-baseline gap-2"):
                ui.label(f"Today, {fmt_day(ctx.services.clock.now(), ctx.tz)}").classes("text-lg font-medium")
                ui.label(ctx.settings.timezone).classes("text-xs text-slate-500")
                ui.space()
                with ui.row().classes("items-center gap-1 text-sm text-slate-500"):
                    ui.icon("sensors", color="positive")
                    ui.label("Live")
            ui.label(
                "Mark patients as arrived when they come to the desk; patients can also check in from the portal. "
                "The doctor's queue shows them as waiting at once."
            ).classes("text-slate-600")
            with ui.grid().classes("w-full grid-cols-1 sm:grid-cols-2 md:grid-cols-4 gap-2 items-start"):
                search = ui.input("Search patient name", value=q[:200]).props("clearable debounce=300 maxlength=200")
                search.classes("w-full").mark("arrivals-search")
                department_in = ui.select(
                    {ALL: "All departments"} | {d.id: d.name for d in departments},
                    value=chosen_department,
                    label="Department",
                ).classes("w-full")
                department_in.mark("arrivals-department")
                options = doctor_options(chosen_department)
                doctor_in = ui.select(
                    options, value=chosen_doctor if chosen_doctor in options else ALL, label="Doctor"
                ).classes("w-full")
                doctor_in.mark("arrivals-doctor")
                status_in = ui.select(STATUS_FILTERS, value="all", label="Status").classes("w-full")
                status_in.mark("arrivals-status")
            counters = QueueCounters()
            empty = ui.label("No appointments today match.").classes("text-slate-500")
            listing = ui.column().classes("w-full gap-2")
            with ui.row().classes("w-full items-center gap-2"):
                shown = ui.label().classes("text-sm text-slate-500").mark("arrivals-shown")
                more = ui.button("Show more", on_click=show_more).props("flat no-caps").mark("arrivals-more")
            await load()
        search.on_value_change(restart)
        department_in.on_value_change(on_department)
        doctor_in.on_value_change(restart)
        status_in.on_value_change(restart)
        ctx.live.subscribe("stats", on_event)  # every booking, cancellation and step; admins may see them all
        on_reconnect(load)
        return None
