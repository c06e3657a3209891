"""Appointment rows for the doctor's day and the patient's lists, updated in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from components.frame import fmt_day, fmt_time
from data.queries import AppointmentDTO
from domain.model import ALLOWED_TRANSITIONS, AppointmentStatus

#: what a status is called on screen (FHIR's "checked-in" is the visit in progress)
STATUS_LABELS = {"checked-in": "in consultation", "noshow": "no-show", "entered-in-error": "entered in error"}
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

#: the visit workflow's buttons: (target status, label, icon, marker prefix, colour)
STATUS_ACTIONS = (
    (AppointmentStatus.ARRIVED, "Arrived", "how_to_reg", "arrive", "primary"),
    (AppointmentStatus.CHECKED_IN, "Start visit", "play_arrow", "start", "primary"),
    (AppointmentStatus.FULFILLED, "Finish", "task_alt", "finish", "positive"),
    (AppointmentStatus.NOSHOW, "No-show", "person_off", "noshow", "negative"),
)
StatusHandler = Callable[[AppointmentDTO, AppointmentStatus], Awaitable[None]]


def _now() -> datetime:
    return datetime.now(UTC)


class AppointmentRow:
    """One appointment as a row; `update` changes labels in place.

    `on_status`: staff views get the visit workflow's buttons (Arrived, Start visit, Finish, No-show), each
    shown only while the domain allows that step (the service checks again); `now` is the clock for
    "on this day" and "the start has passed"; `who_link` turns the name into a link to that address."""

    def __init__(
        self,
        dto: AppointmentDTO,
        tz: ZoneInfo,
        show: str,
        on_cancel: Callable[[AppointmentDTO], Awaitable[None]] | None = None,
        move_to: Callable[[AppointmentDTO], str] | None = None,
        on_status: StatusHandler | None = None,
        now: Callable[[], datetime] = _now,
        who_link: Callable[[AppointmentDTO], str] | None = None,
    ) -> None:
        self.tz, self.show, self.on_cancel, self.move_to = tz, show, on_cancel, move_to
        self.on_status, self.now = on_status, now
        self.status_buttons: dict[AppointmentStatus, ui.button] = {}
        self._busy = False
        with ui.card().classes("w-full p-3").mark(f"appointment-{dto.id}") as self.card:
            with ui.row().classes("w-full items-center gap-x-3 gap-y-1 no-wrap"):
                with ui.column().classes("gap-0 shrink-0"):
                    self.time = ui.label().classes("text-base sm:text-lg font-semibold tabular-nums whitespace-nowrap")
                    self.day = ui.label().classes("text-xs text-slate-500 whitespace-nowrap")
                    self.badge = ui.badge().classes("self-start mt-1")
                with ui.column().classes("gap-0 grow min-w-0"):
                    # overflow-wrap:anywhere also breaks one long unbroken word (a pasted reference, say)
                    # `who_link`: the name opens that page (the doctor's queue links the patient's record)
                    self.who: ui.label | ui.link = (
                        ui.link(target=who_link(dto)).classes("text-primary") if who_link else ui.label()
                    )
                    self.who.classes("font-medium").style("overflow-wrap: anywhere")
                    self.detail = ui.label().classes("text-sm text-slate-600").style("overflow-wrap: anywhere")
                self.move_button = ui.button(icon="edit_calendar", on_click=self._move).props(
                    "flat round color=primary aria-label='Move to another time'"
                )
                self.move_button.mark(f"move-{dto.id}")
                self.move_button.props("title='Move to another time'")  # a browser tooltip: no extra element
                self.cancel_button = ui.button(icon="event_busy", on_click=self._cancel).props(
                    "flat round color=negative aria-label=Cancel"
                )
                self.cancel_button.mark(f"cancel-{dto.id}")
                self.cancel_button.props("title='Cancel this appointment'")
            if on_status is not None:
                with ui.row().classes("w-full gap-2 items-center") as self.actions:
                    for status, text, icon, prefix, color in STATUS_ACTIONS:
                        button = ui.button(text, icon=icon, on_click=lambda s=status: self._status(s))
                        button.props(f"no-caps dense unelevated color={color} padding='4px 12px'")
                        if status == AppointmentStatus.NOSHOW:
                            button.props(remove="unelevated").props("outline")
                        self.status_buttons[status] = button.mark(f"{prefix}-{dto.id}")
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
        if dto.status == "cancelled" and dto.cancel_reason:  # why, for whoever was not online when it happened
            self.detail.text = f"{self.detail.text.strip()} · {dto.cancel_reason}".strip(" ·")
        unavailable = not dto.doctor_available and dto.status in ("booked", "pending")
        if unavailable and self.show == "doctor":  # the patient's own list: say what happens next
            self.detail.text = (
                f"{self.detail.text.strip()} · {dto.doctor} is not available at the moment: the hospital will move "
                "or cancel this visit and let you know"
            ).strip(" ·")
        self.badge.text = STATUS_LABELS.get(dto.status, dto.status)
        self.badge.props(f"color={STATUS_COLORS.get(dto.status, 'grey')}")
        self.card.classes(remove="opacity-60")
        if dto.status in ("cancelled", "noshow", "entered-in-error"):
            self.card.classes("opacity-60")
        changeable = dto.status in ("booked", "pending")
        self.cancel_button.visible = self.on_cancel is not None and changeable
        self.move_button.visible = self.move_to is not None and changeable and not unavailable
        if self.on_status is not None:
            allowed = self.allowed_steps()
            for status, button in self.status_buttons.items():
                button.visible = status in allowed
            self.actions.visible = bool(allowed)

    def allowed_steps(self) -> set[AppointmentStatus]:
        """The workflow steps open now: arrived / started / finished from the day of the visit on, a no-show
        once the start has passed (mirrors Appointment.move_to, which decides)."""
        try:
            current = AppointmentStatus(self.dto.status)
        except ValueError:
            return set()
        now = self.now()
        steps = set(ALLOWED_TRANSITIONS.get(current, frozenset())) & {s for s, *_ in STATUS_ACTIONS}
        if now.astimezone(self.tz).date() < self.dto.start.astimezone(self.tz).date():
            steps -= {AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN, AppointmentStatus.FULFILLED}
        if now < self.dto.start:
            steps.discard(AppointmentStatus.NOSHOW)
        return steps

    async def _status(self, status: AppointmentStatus) -> None:
        if self.on_status is None or self._busy:
            return  # a double tap takes one step
        self._busy = True
        try:
            await self.on_status(self.dto, status)
        finally:
            self._busy = False

    def _move(self) -> None:
        if self.move_to is not None:
            ui.navigate.to(self.move_to(self.dto))

    async def _cancel(self) -> None:
        if self.on_cancel is not None:
            await self.on_cancel(self.dto)
