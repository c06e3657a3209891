"""Dialogs attached to the page itself, so a live redraw of the list that opened one cannot delete it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.frame import notify_error, notify_ok
from domain.errors import DomainError
from domain.model import CANCELLATION_REASONS


async def confirm(question: str, detail: str = "", ok: str = "Yes", cancel: str = "No") -> bool:
    with ui.context.client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-3 max-w-md"):
        ui.label(question).classes("text-lg font-medium")
        if detail:
            ui.label(detail).classes("text-slate-600")
        with ui.row().classes("w-full justify-end gap-2"):
            ui.button(cancel, on_click=lambda: dialog.submit(False)).props("flat")
            ui.button(ok, on_click=lambda: dialog.submit(True)).props("color=primary")
    result = await dialog
    if not dialog.is_deleted:
        dialog.delete()
    return bool(result)


async def form_dialog(
    title: str,
    fields: Callable[[], Callable[[], Awaitable[object]]],
    saved: str,
    ok: str = "Save",
    ok_marker: str | None = None,
) -> bool:
    """`fields()` lays out the inputs and returns the command to run on "Save". A domain error keeps the
    dialog open with its message (nothing typed is lost); success closes it and says `saved`."""
    client = ui.context.client
    with client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-2 w-full max-w-md"):
        ui.label(title).classes("text-lg font-medium")
        command = fields()
        busy = {"saving": False}

        async def save() -> None:
            if busy["saving"]:
                return  # a double click saves once
            busy["saving"] = True
            try:
                await command()
            except DomainError as error:
                notify_error(error.message, client)
                return
            finally:
                busy["saving"] = False
            dialog.submit(True)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
            button = ui.button(ok, on_click=save)
            if ok_marker:
                button.mark(ok_marker)
    done = bool(await dialog)
    if done:
        notify_ok(saved, client)
    if not dialog.is_deleted:
        dialog.delete()
    return done


async def cancel_dialog(question: str, detail: str, staff: bool) -> tuple[str, str] | None:
    """Ask for a FHIR cancellation reason (required for staff, optional for patients) and a note.
    Returns (code, note), or None when the user keeps the appointment."""
    codes = {c: label for c, label in CANCELLATION_REASONS.items() if staff or c.startswith("pat")}
    with ui.context.client.content, ui.dialog() as dialog, ui.card().classes("p-5 gap-3 w-full max-w-md"):
        ui.label(question).classes("text-lg font-medium")
        if detail:
            ui.label(detail).classes("text-slate-600")
        reason = ui.select(codes, label="Reason" + ("" if staff else " (optional)"), value=None).classes("w-full")
        note = ui.input("Note for the patient" if staff else "Anything we should know? (optional)")
        note.props("maxlength=500").classes("w-full")

        def confirm_cancel() -> None:
            if staff and not reason.value:  # keep the dialog and what was typed; the service would refuse too
                notify_error("Please choose a reason for the cancellation; the patient will see it.")
                return
            dialog.submit(True)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Keep it", on_click=lambda: dialog.submit(False)).props("flat")
            ui.button("Cancel appointment", on_click=confirm_cancel).props("color=negative")
    result = await dialog
    answer = (reason.value or "", note.value or "") if result else None
    if not dialog.is_deleted:
        dialog.delete()
    return answer
