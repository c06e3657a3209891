"""Admin portal (first cut): live overview, departments, onboarding doctors, patient list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.dialogs import form_dialog
from components.frame import frame, guard, notify_error
from components.io import hashing, io
from components.live import coalesced, on_reconnect
from data.queries import DepartmentDTO, DoctorDTO
from domain.model import Actor, Role
from pages.context import AppContext

PAGE_SIZE = 25


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
