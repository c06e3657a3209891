"""Admin appointment list: filter by days, department, doctor and status; paged on the server; everything that
matches exported as CSV."""

from __future__ import annotations

from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import STATUS_LABELS
from components.frame import date_input, fmt_when, frame, guard, notify_error, parse_date
from components.io import io
from components.paged import PagedTable
from data.exports import ExportTooLarge, appointments_csv
from data.stats_queries import STATUS_ORDER, AppointmentFilter
from domain.errors import DomainError
from domain.model import Actor, Role
from domain.stats import day_range, week_range
from pages.context import AppContext

COLUMNS = [
    ("when", "When"),
    ("patient", "Patient"),
    ("doctor", "Doctor"),
    ("department", "Department"),
    ("status", "Status"),
    ("note", "Reason / cancellation"),
]


def register(ctx: AppContext) -> None:
    @ui.page("/admin/appointments")
    async def appointments() -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/admin/appointments", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        week = week_range(ctx.services.clock.today())
        departments, doctors = await io(ctx.stats.filter_options, actor)
        busy = {"exporting": False}
        table: PagedTable
        export_button: ui.button

        def doctor_choices(department_id: int | None) -> dict[int, str]:
            return {i: n for i, n, d in doctors if department_id is None or d == department_id}

        def current() -> AppointmentFilter:
            period = day_range(parse_date(first_in.value, "From"), parse_date(last_in.value, "To"))
            return AppointmentFilter(period, dept_in.value or None, doctor_in.value or None, status_in.value or None)

        async def load(limit: int, offset: int) -> tuple[list[dict[str, Any]], int] | None:
            try:
                page = await io(ctx.stats.appointments, actor, current(), limit, offset)
            except DomainError as error:
                notify_error(error.message)
                return None
            rows = [
                {
                    "id": a.id,
                    "when": f"{fmt_when(a.start, ctx.tz)}–{a.end.astimezone(ctx.tz):%H:%M}",
                    "patient": a.patient,
                    "doctor": a.doctor,
                    "department": a.department,
                    "status": STATUS_LABELS.get(a.status, a.status),
                    "note": a.cancel_reason or a.reason or "—",
                }
                for a in page.items
            ]
            return rows, page.total

        async def department_changed() -> None:
            choices = doctor_choices(dept_in.value or None)
            doctor_in.options = {0: "Any doctor", **choices}
            if doctor_in.value and doctor_in.value not in choices:
                doctor_in.value = 0
            doctor_in.update()
            await table.reload()

        async def export() -> None:
            if busy["exporting"]:
                return
            try:
                f = current()
            except DomainError as error:
                notify_error(error.message)
                return
            busy["exporting"] = True
            export_button.props("loading")
            try:
                await io(ctx.services.actor_for, actor.account_id)  # still an active admin?
                data = await io(appointments_csv, ctx.stats, actor, f, ctx.tz)
            except (DomainError, ExportTooLarge) as error:
                notify_error(getattr(error, "message", None) or str(error))
                return
            finally:
                busy["exporting"] = False
                export_button.props(remove="loading")
            ui.download.content(data, f"healthsync-appointments-{f.period.first}-to-{f.period.last}.csv", "text/csv")

        with frame(ctx, actor, "Appointments"):
            with ui.card().classes("w-full p-3 gap-2"):
                with ui.row().classes("w-full items-start gap-3"):
                    first_in = date_input("From", week.first).classes("w-[9rem] sm:w-44").mark("report-from")
                    last_in = date_input("To", week.last).classes("w-[9rem] sm:w-44").mark("report-to")
                    dept_in = ui.select({0: "Any department", **dict(departments)}, value=0, label="Department")
                    dept_in.classes("w-full sm:w-52").mark("report-department")
                    doctor_in = ui.select({0: "Any doctor", **doctor_choices(None)}, value=0, label="Doctor")
                    doctor_in.classes("w-full sm:w-52").mark("report-doctor")
                    status_in = ui.select(
                        {"": "Any status", **{s: STATUS_LABELS.get(s, s) for s in STATUS_ORDER}},
                        value="",
                        label="Status",
                    ).classes("w-full sm:w-44")
                    status_in.mark("report-status")
                with ui.row().classes("w-full items-center gap-3"):
                    ui.button("Show", icon="filter_alt", on_click=lambda: table.reload()).props("unelevated").mark(
                        "report-apply"
                    )
                    export_button = ui.button("Export CSV", icon="download", on_click=export).props("outline no-caps")
                    export_button.mark("report-export")
                    ui.label("The export holds every appointment that matches, not only this page.").classes(
                        "text-xs text-slate-500"
                    )
            table = PagedTable(COLUMNS, load, empty="No appointments match.", marker="report")
            await table.reload()
        dept_in.on_value_change(department_changed)
        doctor_in.on_value_change(lambda _e: table.reload())
        status_in.on_value_change(lambda _e: table.reload())
        return None
