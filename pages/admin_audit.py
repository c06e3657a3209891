"""Audit trail viewer for admins: who did what to which record, when; filtered and paged on the server.
Read only: there is nothing here (or anywhere) to change or delete an entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import date_input, fmt_when, frame, guard, notify_error, parse_date
from components.io import io
from components.paged import PagedTable
from data.audit_queries import AuditEntryDTO, AuditFilter
from domain.errors import DomainError
from domain.model import Actor, Role
from domain.stats import day_range
from pages.context import AppContext

COLUMNS = [
    ("when", "When"),
    ("who", "Who"),
    ("what", "What"),
    ("patient", "Patient"),
    ("detail", "Detail"),
]


def who(entry: AuditEntryDTO) -> str:
    role = entry.actor_role.capitalize()
    if entry.actor_account_id is None:
        return "System"
    return f"{entry.actor_name or f'Account {entry.actor_account_id}'} ({role})"


def register(ctx: AppContext) -> None:
    @ui.page("/admin/audit")
    async def audit() -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/audit", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        today = ctx.services.clock.today()
        actions = await io(ctx.audit_log.actions, actor)
        table: PagedTable

        def current_filter() -> AuditFilter:
            first = parse_date(first_in.value, "From") if (first_in.value or "").strip() else None
            last = parse_date(last_in.value, "To") if (last_in.value or "").strip() else None
            start = end = None
            if first is not None and last is not None:
                start, end = day_range(first, last).bounds(ctx.tz)
            elif first is not None:
                start = day_range(first, first).bounds(ctx.tz)[0]
            elif last is not None:
                end = day_range(last, last).bounds(ctx.tz)[1]
            return AuditFilter(
                actor=(who_in.value or "").strip()[:100],
                patient=(patient_in.value or "").strip()[:100],
                action=action_in.value or "",
                start=start,
                end=end,
            )

        async def load(limit: int, offset: int) -> tuple[list[dict[str, Any]], int] | None:
            try:
                f = current_filter()
                page = await io(ctx.audit_log.search, actor, f, limit, offset)
            except DomainError as error:
                notify_error(error.message)
                return None
            rows = [
                {
                    "id": e.id,
                    "when": fmt_when(e.at, ctx.tz),
                    "who": who(e),
                    "what": f"{e.action} · {e.entity}" + (f" #{e.entity_id}" if e.entity_id is not None else ""),
                    "patient": e.patient_name or ("—" if e.patient_id is None else f"Patient {e.patient_id}"),
                    "detail": e.detail or "—",
                }
                for e in page.items
            ]
            return rows, page.total

        with frame(ctx, actor, "Audit trail"):
            ui.label(
                f"Every change to appointments, schedules and accounts, and every opening of a medical record. "
                f"Entries cannot be changed or deleted. Times in {ctx.settings.timezone}."
            ).classes("text-slate-600")
            with ui.card().classes("w-full p-3 gap-2"):
                with ui.row().classes("w-full items-start gap-3"):
                    who_in = ui.input("Who (name or email)").props("clearable debounce=400 maxlength=100")
                    who_in.classes("w-full sm:w-56").mark("audit-who")
                    patient_in = ui.input("Patient (name)").props("clearable debounce=400 maxlength=100")
                    patient_in.classes("w-full sm:w-56").mark("audit-patient")
                    action_in = ui.select({"": "Any action", **{a: a for a in actions}}, value="", label="Action")
                    action_in.classes("w-full sm:w-56").mark("audit-action")
                with ui.row().classes("w-full items-start gap-3"):
                    first_in = date_input("From", today - timedelta(days=30)).classes("w-[9rem] sm:w-44")
                    first_in.mark("audit-from")
                    last_in = date_input("To", today).classes("w-[9rem] sm:w-44").mark("audit-to")
                    ui.button("Show", icon="filter_alt", on_click=lambda: table.reload()).props("unelevated").classes(
                        "mt-2"
                    ).mark("audit-apply")
            table = PagedTable(COLUMNS, load, empty="No entries match.", marker="audit")
            await table.reload()
        for field in (who_in, patient_in, action_in):
            field.on_value_change(lambda _e: table.reload())
        return None
