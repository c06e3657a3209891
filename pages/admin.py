"""Admin portal: live overview, departments, doctors (onboarding by invite, deactivation, their patients'
appointments), patients (invites for imported ones, deactivation), hospital closures and the audited reset of an
appointment in a final state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi.responses import RedirectResponse
from nicegui import ui

from components.appointment_card import STATUS_COLORS, STATUS_LABELS
from components.dialogs import cancel_dialog, confirm, form_dialog
from components.frame import (
    fmt_when,
    frame,
    guard,
    notify_error,
    notify_ok,
    parse_id,
    specialty_line,
)
from components.io import io
from components.leave_editor import leave_editor
from components.live import coalesced, on_reconnect
from data.account_queries import AccountQueries, DoctorAccountDTO, PatientAccountDTO
from data.queries import AppointmentDTO, DepartmentDTO
from domain import events as ev
from domain.errors import DomainError, ValidationError
from domain.model import TERMINAL_STATUSES, Actor, AppointmentStatus, Role
from domain.services import IssuedInvite
from pages.context import AppContext

PAGE_SIZE = 25
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
    offset: int | None = None,
    back: Callable[[], Awaitable[None]] | None = None,
    hint: str = "click a row to edit",
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
    tail = f" · {hint}" if on_click is not None and rows else ""
    if offset is None:
        ui.label(f"Showing {len(rows)} of {total}{tail}").classes("text-sm text-slate-500")
        if total > len(rows):
            ui.button("Show more", on_click=more).props("flat")
        return
    # pages of a fixed size: "Previous" / "Next" (`more`), for lists of thousands
    with ui.row().classes("w-full items-center gap-2"):
        shown = f"{offset + 1}–{offset + len(rows)} of {total}" if rows else f"0 of {total}"
        ui.label(f"Showing {shown}{tail}").classes("text-sm text-slate-500 grow").mark("paging")
        if back is not None:
            ui.button("Previous", icon="chevron_left", on_click=back).props("flat no-caps").set_enabled(offset > 0)
        ui.button("Next", icon="chevron_right", on_click=more).props("flat no-caps").set_enabled(
            offset + len(rows) < total
        )


STATUS_TEXT = {
    "active": "active",
    "invited": "invited (no password yet)",
    "deactivated": "deactivated",
    "none": "no account",
}
STATUS_BADGE = {"active": "positive", "invited": "info", "deactivated": "negative", "none": "grey"}
ACCOUNT_FILTERS = {"": "Any status", "active": "Active", "invited": "Invited", "deactivated": "Deactivated"}


def invite_url(token: str) -> str:
    """The link as the admin's browser reaches HealthSync (behind a proxy: what uvicorn's headers make of it)."""
    request = ui.context.client.request
    base = str(request.base_url) if request is not None else "/"
    return f"{base.rstrip('/')}/invite/{token}"


async def show_invite(issued: IssuedInvite, url: str, tz: Any) -> None:
    """The new invite link, with a copy button. HealthSync sends no email: the admin hands the link over."""
    with ui.context.client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-3 w-full max-w-lg"):
        ui.label("Invite link created").classes("text-lg font-medium")
        ui.label(
            f"Give this link to {issued.name} ({issued.email}) yourself, in person or by the hospital's own "
            "email: HealthSync does not send emails. With it they choose their own password."
        ).classes("text-slate-700 break-words")
        ui.input("Invite link", value=url).props("readonly outlined dense").classes("w-full").mark("invite-link")
        ui.label(f"It works once, until {fmt_when(issued.expires_at, tz)}; a newer link replaces it.").classes(
            "text-sm text-slate-500"
        )
        with ui.row().classes("w-full justify-end gap-2"):

            def copy() -> None:
                ui.clipboard.write(url)
                notify_ok("Link copied.")

            ui.button("Copy link", icon="content_copy", on_click=copy).props("outline no-caps").mark("copy-invite")
            ui.button("Done", on_click=dialog.close).props("unelevated no-caps")
    dialog.open()
    await dialog
    if not dialog.is_deleted:
        dialog.delete()


async def reason_dialog(question: str, detail: str, ok: str, color: str = "primary") -> str | None:
    """A required reason (kept in the audit log); None when the admin backs out."""
    with ui.context.client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
        ui.label(question).classes("text-lg font-medium")
        ui.label(detail).classes("text-slate-600")
        reason = ui.input("Reason (required)").props("maxlength=300 counter autofocus").classes("w-full")
        reason.mark("status-reason")

        def submit() -> None:
            if not (reason.value or "").strip():
                notify_error("Please give a reason; it is kept in the audit log.")
                return
            dialog.submit(True)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Back", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(ok, on_click=submit).props(f"unelevated color={color}").mark("status-confirm")
    answer = (reason.value or "") if await dialog else None
    if not dialog.is_deleted:
        dialog.delete()
    return answer


def status_badge(status: str) -> ui.badge:
    return ui.badge(STATUS_TEXT.get(status, status), color=STATUS_BADGE.get(status, "grey")).mark("account-status")


async def staff_cancel(ctx: AppContext, actor: Actor, dto: AppointmentDTO) -> bool:
    """Cancel an appointment on the hospital's side, with a reason the patient reads (told at once)."""
    answer = await cancel_dialog(
        f"Cancel {dto.patient}'s appointment?",
        f"{fmt_when(dto.start, ctx.tz)} with {dto.doctor}. The patient is told at once, with the reason, and "
        "offered the next free times.",
        staff=True,
    )
    if answer is None:
        return False
    try:
        await io(ctx.services.cancel, actor, dto.id, answer[0], answer[1])
    except DomainError as error:
        notify_error(error.message)
        return False
    notify_ok("Appointment cancelled; the patient has been told.")
    return True


def pager(
    state: dict[str, int], redraw: Callable[[], Awaitable[None]]
) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """Next page, previous page, and back to the first page (the search changed) of a server-paged list."""

    async def next_page() -> None:
        state["offset"] += PAGE_SIZE
        await redraw()

    async def previous_page() -> None:
        state["offset"] = max(0, state["offset"] - PAGE_SIZE)
        await redraw()

    async def first_page() -> None:
        state["offset"] = 0
        await redraw()

    return next_page, previous_page, first_page


def register(ctx: AppContext) -> None:
    accounts = AccountQueries(ctx.queries.engine)

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

        async def delete(dept: DepartmentDTO) -> None:
            if not dept.doctors:  # (with doctors the service refuses and says how many)
                waiting = await io(accounts.waiting_for_department, dept.id)
                told = (
                    f" {waiting} patient{' is' if waiting == 1 else 's are'} waiting for a time in it; "
                    "they are taken off that waiting list."
                    if waiting
                    else ""
                )
                if not await confirm(
                    f"Delete “{dept.name}”?", f"This cannot be undone.{told}", ok="Delete", cancel="Keep it"
                ):
                    return
            try:
                await io(ctx.services.delete_department, actor, dept.id)
            except DomainError as error:
                notify_error(error.message)
                return
            notify_ok(f"Department “{dept.name}” deleted.")
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
                            ui.label(dept.name).classes("font-medium").style("overflow-wrap: anywhere")
                            ui.label(dept.description or "—").classes("text-sm text-slate-600").style(
                                "overflow-wrap: anywhere"
                            )
                        ui.badge(f"{dept.doctors} doctor{'' if dept.doctors == 1 else 's'}", color="secondary").props(
                            "outline"
                        )
                        ui.button(icon="edit", on_click=lambda d=dept: edit(d)).props("flat round aria-label=Edit")
                        ui.button(icon="delete", on_click=lambda d=dept: delete(d)).props(
                            "flat round color=negative aria-label=Delete"
                        ).mark(f"delete-department-{dept.id}").tooltip("Delete this department")

        with frame(ctx, actor, "Departments"):
            ui.button("New department", icon="add", on_click=lambda: edit(None)).props("unelevated")
            await listing()
        redraw = coalesced(listing.refresh)
        ctx.live.subscribe("directory", lambda _event: redraw())
        return None

    async def change_status(actor: Actor, account_id: int, name: str, status: str) -> bool:
        """Deactivate or reactivate with a reason; True when it changed."""
        if status == "deactivated":
            reason = await reason_dialog(
                f"Reactivate {name}?",
                "They can sign in again (or use an invite link if they never set a password).",
                "Reactivate",
            )
            command: Callable[..., object] = ctx.services.reactivate_account
        else:
            reason = await reason_dialog(
                f"Deactivate {name}?",
                "They cannot sign in any more and their open pages close within seconds. A doctor is no longer "
                "bookable; their booked appointments stay for you to move or cancel.",
                "Deactivate",
                "negative",
            )
            command = ctx.services.deactivate_account
        if reason is None:
            return False
        try:
            await io(command, actor, account_id, reason)
        except DomainError as error:
            notify_error(error.message)
            return False
        notify_ok("Account reactivated." if status == "deactivated" else "Account deactivated.")
        return True

    async def new_invite(actor: Actor, account_id: int) -> None:
        url_for = invite_url  # read the request while the page's context is current
        try:
            issued = await io(ctx.services.create_invite, actor, account_id)
        except DomainError as error:
            notify_error(error.message)
            return
        await show_invite(issued, url_for(issued.token), ctx.tz)

    @ui.page("/admin/doctors")
    async def doctors(q: str = "", status: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/doctors", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        state = {"offset": 0}
        base = invite_url("")[: -len("/invite/")]

        async def onboard() -> None:
            depts = await io(ctx.queries.departments)
            if not depts:
                notify_error("Create a department first.")
                return
            issued: dict[str, IssuedInvite] = {}

            def fields() -> Callable[[], Awaitable[object]]:
                name = ui.input("Full name").classes("w-full")
                email = ui.input("Email").props("type=email").classes("w-full")
                specialty = ui.input("Specialty").classes("w-full")
                dept = (
                    ui.select({d.id: d.name for d in depts}, value=None, label="Department")
                    .classes("w-full")
                    .mark("doctor-department")
                )
                ui.label("HealthSync creates an invite link; the doctor chooses their own password with it.").classes(
                    "text-sm text-slate-500"
                )

                async def run() -> None:
                    _doctor, issued["invite"] = await io(
                        ctx.services.onboard_doctor, actor, name.value, email.value, specialty.value, dept.value
                    )

                return run

            if await form_dialog("Onboard a doctor", fields, "Doctor added.", ok="Create invite"):
                await redraw()
                invite = issued["invite"]
                await show_invite(invite, f"{base}/invite/{invite.token}", ctx.tz)

        @ui.refreshable
        async def listing() -> None:
            page = await io(
                accounts.doctor_accounts, search.value or "", filter_in.value or None, PAGE_SIZE, state["offset"]
            )
            rows = [
                {
                    "id": d.id,
                    "name": d.name,
                    "specialty": d.specialty,
                    "department": d.department or "—",
                    "email": d.email or "—",
                    "account": STATUS_TEXT.get(d.status, d.status),
                    "bookable": "yes"
                    if d.bookable
                    else "no (no hours set)"
                    if d.status == "active"
                    else "no (imported record)"
                    if d.status == "none"
                    else f"no ({d.status})",
                }
                for d in page.items
            ]
            columns = [("name", "Name"), ("specialty", "Specialty"), ("department", "Department"), ("email", "Email")]
            columns += [("account", "Account"), ("bookable", "Online booking")]
            record_list(
                columns,
                rows,
                page.total,
                next_page,
                on_click=lambda row: ui.navigate.to(f"/admin/doctors/{row['id']}"),
                offset=state["offset"],
                back=previous_page,
                hint="click a row to open",
            )

        next_page, previous_page, search_changed = pager(state, lambda: redraw())  # redraw: defined below

        with frame(ctx, actor, "Doctors"):
            with ui.row().classes("w-full items-end gap-3"):
                search = ui.input("Search name, specialty, department, email", value=q)
                search.props("clearable debounce=300").classes("grow min-w-[12rem]")
                filter_in = ui.select(ACCOUNT_FILTERS, value=status if status in ACCOUNT_FILTERS else "")
                filter_in.props("dense options-dense").classes("w-40").mark("status-filter")
                ui.button("Onboard a doctor", icon="person_add", on_click=onboard).props("unelevated")
            await listing()
        redraw = coalesced(listing.refresh)
        search.on_value_change(search_changed)
        filter_in.on_value_change(search_changed)
        ctx.live.subscribe("directory", lambda _event: redraw())
        ctx.live.subscribe("accounts", lambda _event: redraw())
        on_reconnect(redraw)
        return None

    @ui.page("/admin/doctors/{doctor_id}")
    async def doctor_page(doctor_id: str) -> RedirectResponse | None:  # noqa: C901
        actor = await guard(ctx, f"/admin/doctors/{doctor_id}", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        wanted = parse_id(doctor_id)
        found = await io(accounts.doctor_account, wanted) if wanted is not None else None
        with frame(ctx, actor, "Doctor"):
            if found is None:
                ui.label("This doctor does not exist.").classes("text-slate-600").mark("not-found")
                return None
            doc: DoctorAccountDTO = found
            state = {"doc": doc}
            busy: set[int] = set()
            rows: dict[int, ui.element] = {}

            def show(current: DoctorAccountDTO) -> None:
                state["doc"] = current
                title.text = current.name
                detail.text = " · ".join(
                    x for x in (specialty_line(current.specialty, current.department or ""), current.email or "") if x
                )
                badge.text = STATUS_TEXT.get(current.status, current.status)
                badge.props(f"color={STATUS_BADGE.get(current.status, 'grey')}")
                reason.text = f"Reason: {current.status_reason}" if current.status_reason else ""
                reason.visible = bool(current.status_reason) and current.status == "deactivated"
                booking.text = (
                    "Patients can book online."
                    if current.bookable
                    else "Not bookable: no weekly hours yet."
                    if current.status == "active"
                    else "Not bookable while the account is not active."
                )
                toggle.text = "Reactivate" if current.status == "deactivated" else "Deactivate"
                toggle.props(f"color={'primary' if current.status == 'deactivated' else 'negative'}")
                toggle.visible = current.account_id is not None
                invite_button.visible = current.status == "invited"

            async def reload() -> None:
                fresh = await io(accounts.doctor_account, doc.id)
                if fresh is not None:
                    show(fresh)
                await load_appointments()

            async def toggle_status() -> None:
                current = state["doc"]
                if current.account_id is not None and await change_status(
                    actor, current.account_id, current.name, current.status
                ):
                    await reload()

            async def edit() -> None:
                current = state["doc"]
                depts = await io(ctx.queries.departments)

                def fields() -> Callable[[], Awaitable[object]]:
                    name = ui.input("Full name", value=current.name).classes("w-full")
                    specialty = ui.input("Specialty", value=current.specialty).classes("w-full")
                    dept = ui.select(
                        {d.id: d.name for d in depts}, value=current.department_id, label="Department"
                    ).classes("w-full")
                    return lambda: io(
                        ctx.services.update_doctor, actor, current.id, name.value, specialty.value, dept.value
                    )

                if await form_dialog("Edit doctor", fields, "Doctor saved."):
                    await reload()

            async def load_appointments() -> None:
                items = await io(accounts.doctor_upcoming, doc.id, ctx.services.clock.now())
                rows.clear()
                list_box.clear()
                with list_box:
                    for dto in items:
                        with ui.card().classes("w-full p-3").mark(f"upcoming-{dto.id}") as card:
                            with ui.row().classes("w-full items-center gap-3"):
                                with ui.column().classes("gap-0 grow min-w-0"):
                                    ui.label(fmt_when(dto.start, ctx.tz)).classes("font-medium tabular-nums")
                                    ui.label(" · ".join(x for x in (dto.patient, dto.reason) if x)).classes(
                                        "text-sm text-slate-600 break-words"
                                    )
                                ui.button("Move", icon="swap_horiz", on_click=lambda d=dto: move(d)).props(
                                    "outline no-caps"
                                ).mark(f"move-{dto.id}")
                                ui.button("Cancel", icon="event_busy", on_click=lambda d=dto: cancel(d)).props(
                                    "flat no-caps color=negative"
                                ).mark(f"cancel-{dto.id}")
                        rows[dto.id] = card
                count()

            def count() -> None:
                deactivated = state["doc"].status == "deactivated"
                n = len(rows)
                heading.text = f"{n} upcoming appointment{'' if n == 1 else 's'}" + (
                    ": move or cancel each; the patients are told at once." if deactivated and n else ""
                )
                heading.classes(replace="font-medium " + ("text-negative" if deactivated and n else "text-slate-700"))

            def drop(appointment_id: int) -> None:
                card = rows.pop(appointment_id, None)
                if card is not None and not card.is_deleted:
                    card.delete()
                count()

            async def cancel(dto: AppointmentDTO) -> None:
                if dto.id in busy:
                    return
                busy.add(dto.id)
                try:
                    if await staff_cancel(ctx, actor, dto):
                        drop(dto.id)
                finally:
                    busy.discard(dto.id)

            async def move(dto: AppointmentDTO) -> None:
                if dto.id in busy:  # a double tap opens one dialog
                    return
                busy.add(dto.id)
                try:
                    await move_one(dto)
                finally:
                    busy.discard(dto.id)

            async def move_one(dto: AppointmentDTO) -> None:
                try:
                    options = await io(ctx.services.move_options, actor, dto.id)
                except DomainError as error:
                    notify_error(error.message)
                    return
                if not options:
                    notify_error("No other doctor of the department has a free time for this patient; cancel instead.")
                    return
                with ui.context.client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
                    ui.label(f"Move {dto.patient}'s appointment").classes("text-lg font-medium")
                    ui.label(f"Now: {fmt_when(dto.start, ctx.tz)}. The patient is told at once.").classes(
                        "text-slate-600"
                    )
                    with ui.column().classes("w-full gap-2"):
                        for other, slot in options:
                            same = " (same time)" if slot.start == dto.start else ""
                            ui.button(
                                f"{other.name} · {fmt_when(slot.start, ctx.tz)}{same}",
                                on_click=lambda o=other.id, t=slot.start: dialog.submit((o, t)),
                            ).props("outline no-caps align=left").classes("w-full").mark(f"move-to-{other.id}")
                    with ui.row().classes("w-full justify-end"):
                        ui.button("Back", on_click=lambda: dialog.submit(None)).props("flat")
                choice = await dialog
                if not dialog.is_deleted:
                    dialog.delete()
                if not choice:
                    return
                try:
                    moved = await io(ctx.services.admin_move, actor, dto.id, choice[0], choice[1])
                except DomainError as error:
                    notify_error(error.message)
                    return
                notify_ok(f"Moved to {fmt_when(moved.start, ctx.tz)}; the patient has been told.")
                drop(dto.id)

            async def on_event(event: ev.DomainEvent) -> None:
                if isinstance(event, ev.AppointmentCancelled | ev.AppointmentStatusChanged):
                    if event.appointment_id in rows and not (
                        isinstance(event, ev.AppointmentStatusChanged) and event.new in ("arrived", "checked-in")
                    ):
                        drop(event.appointment_id)
                elif isinstance(event, ev.SlotBooked) and event.appointment_id not in rows:
                    await load_appointments()

            async def on_account(event: ev.DomainEvent) -> None:
                if isinstance(event, ev.AccountStatusChanged) and event.account_id == state["doc"].account_id:
                    await reload()

            with ui.card().classes("w-full max-w-3xl p-4 gap-2").mark(f"doctor-{doc.id}"):
                with ui.row().classes("w-full items-center gap-3"):
                    title = ui.label().classes("text-lg font-semibold break-words")
                    badge = status_badge(doc.status)
                detail = ui.label().classes("text-slate-600 break-words")
                reason = ui.label().classes("text-sm text-slate-600 break-words").mark("status-reason-shown")
                booking = ui.label().classes("text-sm text-slate-600")
                with ui.row().classes("gap-2"):
                    ui.button("Edit", icon="edit", on_click=edit).props("outline no-caps")
                    toggle = ui.button(on_click=toggle_status).props("unelevated no-caps").mark("toggle-status")
                    invite_button = (
                        ui.button(
                            "New invite link",
                            icon="link",
                            on_click=lambda: new_invite(actor, state["doc"].account_id or 0),
                        )
                        .props("outline no-caps")
                        .mark("new-invite")
                    )
            heading = ui.label().classes("font-medium").mark("upcoming-heading")
            list_box = ui.column().classes("w-full max-w-3xl gap-2")
            show(doc)
            await load_appointments()
        ctx.live.subscribe(f"doctor:{doc.id}", on_event)
        ctx.live.subscribe("accounts", on_account)
        on_reconnect(reload)
        return None

    @ui.page("/admin/patients")
    async def patients(q: str = "", status: str = "") -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/patients", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        state = {"offset": 0}

        @ui.refreshable
        async def listing() -> None:
            page = await io(
                accounts.patient_accounts, search.value or "", filter_in.value or None, PAGE_SIZE, state["offset"]
            )
            rows = [
                {
                    "id": p.id,
                    "name": p.name,
                    "birth": p.birth_date.isoformat() if p.birth_date else "—",
                    "email": p.email or "—",
                    "account": STATUS_TEXT.get(p.status, p.status),
                    "source": "imported" if p.imported else "registered",
                }
                for p in page.items
            ]
            columns = [("name", "Name"), ("birth", "Born"), ("email", "Email"), ("account", "Account")]
            columns.append(("source", "Source"))
            record_list(
                columns,
                rows,
                page.total,
                next_page,
                on_click=lambda row: ui.navigate.to(f"/admin/patients/{row['id']}"),
                offset=state["offset"],
                back=previous_page,
                hint="click a row to open",
            )

        next_page, previous_page, search_changed = pager(state, lambda: redraw())  # redraw: defined below

        with frame(ctx, actor, "Patients"):
            with ui.row().classes("w-full items-end gap-3"):
                search = ui.input("Search name or email", value=q).props("clearable debounce=300")
                search.classes("grow min-w-[12rem]")
                filter_in = ui.select(
                    {**ACCOUNT_FILTERS, "none": "No account"}, value=status if status in ACCOUNT_FILTERS else ""
                )
                filter_in.props("dense options-dense").classes("w-40").mark("status-filter")
            await listing()
        redraw = coalesced(listing.refresh)
        search.on_value_change(search_changed)
        filter_in.on_value_change(search_changed)
        ctx.live.subscribe("accounts", lambda _event: redraw())
        on_reconnect(redraw)
        return None

    @ui.page("/admin/patients/{patient_id}")
    async def patient_page(patient_id: str) -> RedirectResponse | None:
        actor = await guard(ctx, f"/admin/patients/{patient_id}", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        wanted = parse_id(patient_id)
        found = await io(accounts.patient_account, wanted) if wanted is not None else None
        with frame(ctx, actor, "Patient"):
            if found is None:
                ui.label("This patient does not exist.").classes("text-slate-600").mark("not-found")
                return None
            pat: PatientAccountDTO = found
            state = {"pat": pat}
            base = invite_url("")[: -len("/invite/")]

            def show(current: PatientAccountDTO) -> None:
                state["pat"] = current
                title.text = current.name
                born = f"born {current.birth_date.isoformat()}" if current.birth_date else ""
                detail.text = " · ".join(
                    x for x in (born, current.email or "", "imported" if current.imported else "registered") if x
                )
                badge.text = STATUS_TEXT.get(current.status, current.status)
                badge.props(f"color={STATUS_BADGE.get(current.status, 'grey')}")
                reason.text = f"Reason: {current.status_reason}" if current.status_reason else ""
                reason.visible = bool(current.status_reason) and current.status == "deactivated"
                toggle.text = "Reactivate" if current.status == "deactivated" else "Deactivate"
                toggle.props(f"color={'primary' if current.status == 'deactivated' else 'negative'}")
                toggle.visible = current.account_id is not None
                invite_card.visible = current.status in ("none", "invited")
                if not email_in.value:
                    email_in.value = current.email or ""

            async def reload() -> None:
                fresh = await io(accounts.patient_account, pat.id)
                if fresh is not None:
                    show(fresh)

            async def toggle_status() -> None:
                current = state["pat"]
                if current.account_id is not None and await change_status(
                    actor, current.account_id, current.name, current.status
                ):
                    await reload()

            async def invite() -> None:
                try:
                    issued = await io(ctx.services.invite_patient, actor, pat.id, email_in.value or "")
                except DomainError as error:
                    notify_error(error.message)
                    return
                await reload()
                await show_invite(issued, f"{base}/invite/{issued.token}", ctx.tz)

            async def on_account(event: ev.DomainEvent) -> None:
                if isinstance(event, ev.AccountStatusChanged) and event.account_id == state["pat"].account_id:
                    await reload()

            with ui.card().classes("w-full max-w-3xl p-4 gap-2").mark(f"patient-{pat.id}"):
                with ui.row().classes("w-full items-center gap-3"):
                    title = ui.label().classes("text-lg font-semibold break-words")
                    badge = status_badge(pat.status)
                detail = ui.label().classes("text-slate-600 break-words")
                reason = ui.label().classes("text-sm text-slate-600 break-words").mark("status-reason-shown")
                toggle = ui.button(on_click=toggle_status).props("unelevated no-caps").mark("toggle-status")
            with ui.card().classes("w-full max-w-3xl p-4 gap-2") as invite_card:
                ui.label("Invite to sign in").classes("font-medium")
                ui.label(
                    "Confirm the patient's email address and create an invite link: with it they choose a "
                    "password and see their own record. Hand the link over yourself; HealthSync sends no email."
                ).classes("text-sm text-slate-600")
                with ui.row().classes("w-full items-end gap-3"):
                    email_in = ui.input("Email").props("type=email maxlength=254").classes("grow").mark("invite-email")
                    ui.button("Create invite link", icon="link", on_click=invite).props("unelevated no-caps").mark(
                        "create-invite"
                    )
            upcoming_heading = ui.label().classes("font-medium text-slate-700").mark("upcoming-heading")
            upcoming_box = ui.column().classes("w-full max-w-3xl gap-2")

            async def load_upcoming() -> None:
                items = [
                    a
                    for a in await io(ctx.queries.patient_appointments, pat.id, ctx.services.clock.now(), True, 100)
                    if a.status in ("booked", "pending", "arrived")
                ]
                upcoming_box.clear()
                n = len(items)
                deactivated = state["pat"].status == "deactivated"
                upcoming_heading.text = f"{n} upcoming appointment{'' if n == 1 else 's'}" + (
                    ": the account is deactivated — cancel those the patient will not come to."
                    if deactivated and n
                    else ""
                )
                with upcoming_box:
                    for dto in items:
                        with ui.card().classes("w-full p-3").mark(f"upcoming-{dto.id}"):
                            with ui.row().classes("w-full items-center gap-3"):
                                with ui.column().classes("gap-0 grow min-w-0"):
                                    ui.label(fmt_when(dto.start, ctx.tz)).classes("font-medium tabular-nums")
                                    ui.label(
                                        " · ".join(x for x in (dto.doctor, dto.department, dto.reason) if x)
                                    ).classes("text-sm text-slate-600 break-words")
                                ui.link("Open", f"/admin/appointments/{dto.id}").classes("text-sm")
                                if dto.status in ("booked", "pending"):

                                    async def cancel_one(d: AppointmentDTO = dto) -> None:
                                        if await staff_cancel(ctx, actor, d):
                                            await load_upcoming()

                                    ui.button("Cancel", icon="event_busy", on_click=cancel_one).props(
                                        "flat no-caps color=negative"
                                    ).mark(f"cancel-{dto.id}")

            async def on_appointment(event: ev.DomainEvent) -> None:
                await load_upcoming()

            show(pat)
            await load_upcoming()
        ctx.live.subscribe("accounts", on_account)
        ctx.live.subscribe(f"patient:{pat.id}", on_appointment)
        on_reconnect(reload)
        return None

    @ui.page("/admin/closures")
    async def closures() -> RedirectResponse | None:
        actor = await guard(ctx, "/admin/closures", Role.ADMIN)
        if not isinstance(actor, Actor):
            return actor
        with frame(ctx, actor, "Hospital closures"):
            ui.label(
                "Whole days the hospital is closed (holidays, building work): nobody can book them, and every "
                "appointment booked then is cancelled."
            ).classes("text-slate-600")
            await leave_editor(ctx, actor, None)
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
