"""Dialogs attached to the page itself, so a live redraw of the list that opened one cannot delete it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from components.frame import notify_error, notify_ok
from domain.errors import DomainError


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


async def form_dialog(title: str, fields: Callable[[], Callable[[], Awaitable[object]]], saved: str) -> bool:
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
            ui.button("Save", on_click=save)
    done = bool(await dialog)
    if done:
        notify_ok(saved, client)
    if not dialog.is_deleted:
        dialog.delete()
    return done
