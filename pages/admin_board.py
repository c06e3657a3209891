"""Admin statistics board: appointments by status (today and the chosen range), by department, utilisation per
doctor, cancellation and no-show rates, new registrations; live as bookings happen, exportable as CSV."""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.charts import (
    bar_height,
    chart,
    department_options,
    registrations_options,
    set_options,
    status_options,
    throttled,
    utilisation_options,
)
from components.frame import date_input, frame, guard, notify_error, parse_date
from components.io import io
from components.live import on_reconnect
from data.exports import board_csv
from data.stats_queries import BoardFigures
from domain.errors import DomainError
from domain.model import Actor, Role
from domain.stats import DayRange, day_range, month_range, percent, today_range, week_range
from pages.context import AppContext

PRESETS = {"today": "Today", "week": "This week", "month": "This month", "custom": "Chosen days"}
#: figures nobody announces (new registrations) are re-read this often as well
SLOW_REFRESH_SECONDS = 60


def register(ctx: AppContext) -> None:
    @ui.page("/admin/board")
    async def board(first: str = "", last: str = "") -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, "/admin/board", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        today = ctx.services.clock.today()
        state: dict[str, object] = {"period": week_range(today), "preset": "week", "figures": None}
        if first or last:  # a bookmarked range: /admin/board?first=2026-05-01&last=2026-05-31
            try:
                state["period"] = day_range(parse_date(first, "From"), parse_date(last or first, "To"))
                state["preset"] = "custom"
            except DomainError as error:
                notify_error(error.message)
        kpis: dict[str, ui.label] = {}
        hints: dict[str, ui.label] = {}

        def period() -> DayRange:
            value = state["period"]
            assert isinstance(value, DayRange)
            return value

        def show(figures: BoardFigures) -> None:
            state["figures"] = figures
            name = PRESETS[str(state["preset"])] if state["preset"] != "custom" else "Chosen days"
            range_label.text = figures.period.label()
            updated.text = f"Updated {datetime.now(ctx.tz):%H:%M:%S}"
            kpis["total"].text = str(figures.total)
            hints["total"].text = f"{figures.by_status.get('cancelled', 0)} cancelled"
            kpis["today"].text = str(sum(figures.today_by_status.values()))
            hints["today"].text = f"{figures.today_by_status.get('booked', 0)} booked"
            kpis["cancel"].text = percent(figures.rates.cancellation)
            hints["cancel"].text = f"{figures.rates.cancelled} of {figures.rates.total}"
            kpis["noshow"].text = percent(figures.rates.noshow_rate)
            hints["noshow"].text = f"{figures.rates.noshow} of {figures.rates.due} due"
            kpis["util"].text = percent(figures.utilisation)
            hours = figures.booked_minutes / 60, figures.offered_minutes / 60
            hints["util"].text = f"{hours[0]:.1f} h of {hours[1]:.1f} h offered"
            kpis["new"].text = str(figures.new_patients)
            hints["new"].text = "patient accounts"
            set_options(status_chart, status_options(figures.by_status, figures.today_by_status, name))
            set_options(dept_chart, department_options(figures.departments), bar_height(len(figures.departments)))
            set_options(util_chart, utilisation_options(figures.doctors), bar_height(len(figures.doctors)))
            set_options(reg_chart, registrations_options(figures.period, figures.registrations_by_day))
            no_doctors.visible = not figures.doctors
            util_chart.visible = bool(figures.doctors)

        async def load() -> None:
            try:
                figures = await io(ctx.stats.board, actor, period(), ctx.services.clock.today())
            except DomainError as error:
                notify_error(error.message)
                return
            show(figures)

        async def choose(preset: str) -> None:
            now_day = ctx.services.clock.today()
            if preset == "custom":
                custom_row.visible = True
                return
            custom_row.visible = False
            chosen = {"today": today_range, "week": week_range, "month": month_range}[preset](now_day)
            state["preset"], state["period"] = preset, chosen
            first_in.value, last_in.value = chosen.first.isoformat(), chosen.last.isoformat()
            await refresh()

        async def apply_custom() -> None:
            try:
                chosen = day_range(parse_date(first_in.value, "From"), parse_date(last_in.value, "To"))
            except DomainError as error:
                notify_error(error.message)
                return
            state["preset"], state["period"] = "custom", chosen
            await refresh()

        async def export() -> None:
            try:
                await io(ctx.services.actor_for, actor.account_id)  # still an active admin?
                figures = await io(ctx.stats.board, actor, period(), ctx.services.clock.today())
            except DomainError as error:
                notify_error(error.message)
                return
            show(figures)
            p = figures.period
            ui.download.content(
                board_csv(figures, ctx.settings.timezone), f"healthsync-board-{p.first}-to-{p.last}.csv", "text/csv"
            )

        def kpi(key: str, title: str, icon: str) -> None:
            with ui.card().classes("p-3 gap-0 min-w-0"):
                with ui.row().classes("items-center gap-2 text-slate-500 no-wrap"):
                    ui.icon(icon).classes("shrink-0")
                    ui.label(title).classes("text-sm leading-tight")
                kpis[key] = ui.label("…").classes("text-2xl sm:text-3xl font-semibold tabular-nums").mark(f"kpi-{key}")
                hints[key] = ui.label("").classes("text-xs text-slate-500 truncate").mark(f"kpi-{key}-hint")

        def panel(title: str, note: str = "") -> ui.card:
            card = ui.card().classes("w-full p-3 gap-1 min-w-0")
            with card:
                ui.label(title).classes("text-base font-medium")
                if note:
                    ui.label(note).classes("text-xs text-slate-500")
            return card

        with frame(ctx, actor, "Statistics board"):
            with ui.row().classes("w-full items-center gap-3"):
                toggle = ui.toggle(PRESETS, value=str(state["preset"])).props("no-caps unelevated toggle-color=primary")
                toggle.mark("board-preset").on_value_change(lambda e: choose(e.value))
                ui.space()
                ui.button("Export CSV", icon="download", on_click=export).props("outline no-caps").mark("board-export")
            with ui.row().classes("w-full items-start gap-3") as custom_row:
                first_in = date_input("From", period().first).classes("w-[9rem] sm:w-44").mark("board-from")
                last_in = date_input("To", period().last).classes("w-[9rem] sm:w-44").mark("board-to")
                ui.button("Show", icon="check", on_click=apply_custom).props("unelevated").classes("mt-2").mark(
                    "board-apply"
                )
            custom_row.visible = state["preset"] == "custom"
            with ui.row().classes("w-full items-baseline gap-3"):
                range_label = ui.label().classes("text-lg font-medium").mark("board-range")
                updated = ui.label().classes("text-xs text-slate-500").mark("board-updated")
                ui.label("Live: changes as patients book and cancel.").classes("text-xs text-slate-500 gt-xs")
            with ui.grid().classes("w-full grid-cols-2 md:grid-cols-3 lg:grid-cols-6 gap-3"):
                kpi("total", "Appointments", "event")
                kpi("today", "Today", "today")
                kpi("cancel", "Cancellation rate", "event_busy")
                kpi("noshow", "No-show rate", "person_off")
                kpi("util", "Utilisation", "speed")
                kpi("new", "New patients", "person_add")
            with ui.grid().classes("w-full grid-cols-1 md:grid-cols-2 gap-3"):
                with panel("Appointments by status", "Today and the chosen days, by the day of the appointment"):
                    status_chart = chart({}, 260).mark("chart-status")
                with panel("By department"):
                    dept_chart = chart({}, 260).mark("chart-departments")
            with panel(
                "Utilisation per doctor",
                "Booked minutes of the minutes offered: the doctor's weekly hours, without leave and closures",
            ):
                util_chart = chart({}, 240).mark("chart-utilisation")
                no_doctors = ui.label("No doctor offered times on these days.").classes("text-slate-500")
            with panel("New patient accounts per day"):
                reg_chart = chart({}, 220).mark("chart-registrations")
            await load()
        refresh = throttled(load)
        ctx.live.subscribe("stats", lambda _event: refresh())
        on_reconnect(load)
        ui.timer(SLOW_REFRESH_SECONDS, refresh)
        return None
