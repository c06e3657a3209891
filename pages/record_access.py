"""For patients: who opened or changed their medical record, and when (from the audit trail)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.frame import fmt_when, frame, guard, notify_error
from components.io import io
from components.paged import PagedTable
from data.audit_queries import RECORD_ACTIONS
from domain.errors import DomainError
from domain.model import Actor, Role
from pages.context import AppContext

COLUMNS = [("when", "When"), ("who", "Who"), ("role", "Role"), ("what", "What")]
ROLE_NAMES = {"doctor": "Doctor", "admin": "Hospital administration", "patient": "Patient", "system": "System"}


def register(ctx: AppContext) -> None:
    @ui.page("/patient/record-access")
    async def record_access() -> RedirectResponse | None:
        actor = await guard(ctx, "/patient/record-access", Role.PATIENT)
        if not isinstance(actor, Actor):
            return actor

        async def load(limit: int, offset: int) -> tuple[list[dict[str, Any]], int] | None:
            try:
                page = await io(ctx.audit_log.record_access, actor, limit, offset)
            except DomainError as error:
                notify_error(error.message)
                return None
            rows = [
                {
                    "id": e.id,
                    "when": fmt_when(e.at, ctx.tz),
                    "who": "You" if e.actor_account_id == actor.account_id else (e.actor_name or "Hospital staff"),
                    "role": ROLE_NAMES.get(e.actor_role, e.actor_role.capitalize()),
                    "what": RECORD_ACTIONS.get(e.action, e.action),
                }
                for e in page.items
            ]
            return rows, page.total

        with frame(ctx, actor, "Who opened my record"):
            ui.label(
                "Everyone who opened your medical record, wrote or changed a visit record or printed a prescription "
                f"for you, newest first. Times in {ctx.settings.timezone}. If something looks wrong, please contact "
                "the hospital."
            ).classes("text-slate-600")
            table = PagedTable(COLUMNS, load, empty="Nobody has opened your record yet.", marker="access")
            await table.reload()
        return None
