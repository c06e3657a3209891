"""Appointment rows for the doctor's day and the patient's lists, updated in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from nicegui import ui

from components.frame import fmt_day, fmt_time
from data.queries import AppointmentDTO

STATUS_COLORS = {
    "booked": "primary",
    "pending": "orange",
    "arrived": "teal",
    "checked-in": "teal",
    "fulfilled": "positive",
    "cancelled": "grey",
    "noshow": "negative",
    "entered-in-error": "grey",
    "waitlist": "purple",
}


class AppointmentRow:
    """One appointment as a row; `update` changes labels in place."""

    def __init__(
        self,
        dto: AppointmentDTO,
        tz: ZoneInfo,
        show: str,
        on_cancel: Callable[[AppointmentDTO], Awaitable[None]] | None = None,
        move_to: Callable[[AppointmentDTO], str] | None = None,
    ) -> None:
        self.tz, self.show, self.on_cancel, self.move_to = tz, show, on_cancel, move_to
        with ui.card().classes("w-full p-3").mark(f"appointment-{dto.id}") as self.card:
            with ui.row().classes("w-full items-center gap-x-3 gap-y-1 no-wrap"):
                with ui.column().classes("gap-0 shrink-0"):
                    self.time = ui.label().classes("text-base sm:text-lg font-semibold tabular-nums whitespace-nowrap")
                    self.day = ui.label().classes("text-xs text-slate-500 whitespace-nowrap")
                    self.badge = ui.badge().classes("self-start mt-1")
                with ui.column().classes("gap-0 grow min-w-0"):
                    self.who = ui.label().classes("font-medium break-words")
                    self.detail = ui.label().classes("text-sm text-slate-600 break-words")
                self.move_button = ui.button(icon="edit_calendar", on_click=self._move).props(
                    "flat round color=primary aria-label='Move to another time'"
                )
                self.move_button.mark(f"move-{dto.id}")
                self.move_button.tooltip("Move to another time")
                self.cancel_button = ui.button(icon="event_busy", on_click=self._cancel).props(
                    "flat round color=negative aria-label=Cancel"
                )
                self.cancel_button.mark(f"cancel-{dto.id}")
                self.cancel_button.tooltip("Cancel this appointment")
        self.update(dto)

    def update(self, dto: AppointmentDTO) -> None:
        self.dto = dto
        self.time.text = f"{fmt_time(dto.start, self.tz)}–{fmt_time(dto.end, self.tz)}"
        self.day.text = fmt_day(dto.start, self.tz)
        if self.show == "patient":
            self.who.text = dto.patient
            self.detail.text = dto.reason or "No reason given"
        else:
            self.who.text = dto.doctor
            self.detail.text = " · ".join(x for x in (dto.department, dto.reason) if x) or " "
        self.badge.text = dto.status
        self.badge.props(f"color={STATUS_COLORS.get(dto.status, 'grey')}")
        self.card.classes(remove="opacity-60")
        if dto.status in ("cancelled", "noshow", "entered-in-error"):
            self.card.classes("opacity-60")
        changeable = dto.status in ("booked", "pending")
        self.cancel_button.visible = self.on_cancel is not None and changeable
        self.move_button.visible = self.move_to is not None and changeable

    def _move(self) -> None:
        if self.move_to is not None:
            ui.navigate.to(self.move_to(self.dto))

    async def _cancel(self) -> None:
        if self.on_cancel is not None:
            await self.on_cancel(self.dto)
