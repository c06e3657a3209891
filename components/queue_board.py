"""The queue board: a doctor's day as a live queue, and the front desk's list of the day's arrivals.

Counters at the top (to come, waiting, in consultation, seen, no-show, cancelled), the appointments in time
order, the next patient marked (the earliest appointment among those waiting) and, where the visit workflow
recorded it, how long each patient has been waiting. Everything changes in place: `upsert` updates one card
and the counters, or inserts a new card at its place in time; nothing is rebuilt on a live event.

Status words follow FHIR's codes as the rest of the app shows them (components/appointment_card.py):
booked -> "to come", arrived (checked in at the desk or from the portal) -> "waiting", checked-in (the doctor
started the visit) -> "in consultation", fulfilled -> "seen", noshow, cancelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from nicegui import ui

from components.appointment_card import STATUS_COLORS, STATUS_LABELS, AppointmentRow, StatusHandler
from components.frame import fmt_time
from data.queries import AppointmentDTO
from domain.model import AppointmentStatus


@dataclass(frozen=True)
class Counter:
    key: str  # marker suffix: count-<key>
    label: str
    statuses: frozenset[str]
    icon: str
    color: str  # Tailwind text colour of the number


COUNTERS: tuple[Counter, ...] = (
    Counter("to-come", "To come", frozenset({"booked", "pending"}), "schedule", "text-sky-700"),
    Counter("waiting", "Waiting", frozenset({"arrived"}), "event_seat", "text-teal-700"),
    Counter("in-consultation", "In consultation", frozenset({"checked-in"}), "medical_services", "text-teal-900"),
    Counter("seen", "Seen", frozenset({"fulfilled"}), "task_alt", "text-green-700"),
    Counter("noshow", "No-show", frozenset({"noshow"}), "person_off", "text-red-700"),
    Counter("cancelled", "Cancelled", frozenset({"cancelled"}), "event_busy", "text-slate-500"),
)
#: not counted anywhere (and listed dimmed): a booking entered in error never existed for the patient
INACTIVE = frozenset({"cancelled", "noshow", "entered-in-error"})
VisitTimes = tuple[datetime | None, datetime | None]  # (arrived at, visit started at), see Queries.visit_times


def count_statuses(statuses: Iterable[str]) -> dict[str, int]:
    """How many appointments each counter holds, e.g. {"to-come": 3, "waiting": 1, ...} (every key present)."""
    per_status: dict[str, int] = {}
    for status in statuses:
        per_status[status] = per_status.get(status, 0) + 1
    return totals(per_status)


def totals(per_status: Mapping[str, int]) -> dict[str, int]:
    """Counts per FHIR status -> counts per counter."""
    return {c.key: sum(per_status.get(s, 0) for s in c.statuses) for c in COUNTERS}


def fmt_minutes(since: datetime, now: datetime) -> str:
    """'under a minute', '12 min', '1 h 05 min'."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class QueueCounters:
    """A row of counter tiles (six across on a tablet, three on a phone); `set` changes the numbers in place."""

    def __init__(self) -> None:
        self.numbers: dict[str, ui.label] = {}
        with ui.grid().classes("w-full grid-cols-3 sm:grid-cols-6 gap-2").mark("queue-counters"):
            for counter in COUNTERS:
                with ui.card().classes("p-2 gap-0 items-center text-center").props("flat bordered"):
                    number = ui.label("0").classes(f"text-2xl font-semibold tabular-nums leading-tight {counter.color}")
                    self.numbers[counter.key] = number.mark(f"count-{counter.key}")
                    with ui.row().classes("items-center gap-1 no-wrap text-xs text-slate-600"):
                        ui.icon(counter.icon, size="1rem").classes("shrink-0")
                        ui.label(counter.label).classes("leading-tight")

    def set(self, counts: Mapping[str, int]) -> None:
        for key, label in self.numbers.items():
            label.text = str(counts.get(key, 0))


class QueueCard:
    """One appointment of the doctor's queue: the appointment row with its workflow buttons, plus "Open visit",
    the patient's name linking their record, the time waited and the "next patient" mark."""

    def __init__(
        self,
        dto: AppointmentDTO,
        times: VisitTimes,
        tz: ZoneInfo,
        now: Callable[[], datetime],
        is_today: Callable[[], bool],
        on_cancel: Callable[[AppointmentDTO], Awaitable[None]] | None,
        on_status: StatusHandler,
        visit_url: Callable[[AppointmentDTO], str],
        patient_url: Callable[[AppointmentDTO], str],
    ) -> None:
        self.tz, self.now, self.is_today = tz, now, is_today
        self.row = AppointmentRow(
            dto, tz, show="patient", on_cancel=on_cancel, on_status=on_status, now=now, who_link=patient_url
        )
        self.card = self.row.card
        with self.row.actions:
            ui.space()
            # a label, not a badge: the card's one badge is its status
            self.next_badge = ui.label("Next patient").mark(f"next-{dto.id}")
            self.next_badge.classes("text-xs font-medium text-teal-800 border border-teal-600 rounded px-2 py-0.5")
            self.waited = ui.label().classes("text-sm text-slate-600 tabular-nums").mark(f"waited-{dto.id}")
            self.open_button = ui.button("Open visit", icon="assignment").mark(f"open-visit-{dto.id}")
            self.open_button.props(f"href={visit_url(dto)} no-caps dense padding='4px 12px'")
        self.is_next = False
        self.next_badge.visible = False
        self.open_button.props("outline")
        self.update(dto, times)

    @property
    def dto(self) -> AppointmentDTO:
        return self.row.dto

    def update(self, dto: AppointmentDTO, times: VisitTimes | None = None) -> None:
        if times is not None:
            self.times = times
        self.row.update(dto)
        # a visit can be opened unless it never took place
        self.open_button.visible = dto.status not in INACTIVE
        self.tick()

    def set_next(self, is_next: bool) -> None:
        """Mark (or unmark) the card as the next patient; only a card whose mark changes is sent again."""
        if is_next == self.is_next:
            return
        self.is_next = is_next
        self.next_badge.visible = is_next
        self.row.actions.visible = self.row.actions.visible or is_next
        self.card.classes(remove="border-l-4 border-teal-600 bg-teal-50")
        if is_next:
            self.card.classes("border-l-4 border-teal-600 bg-teal-50")
        self.open_button.props(remove="outline unelevated").props("unelevated" if is_next else "outline")

    def tick(self) -> None:
        """The time waited (today) or the arrival time (another day), from the recorded workflow steps only."""
        arrived, started = self.times
        status, now = self.dto.status, self.now()
        if status == "arrived" and arrived is not None:
            since = fmt_time(arrived, self.tz)
            if self.is_today():
                self.waited.text = f"Waiting {fmt_minutes(arrived, now)} (since {since})"
            else:
                self.waited.text = f"Arrived {since}"
        elif status == "checked-in" and started is not None:
            self.waited.text = f"In consultation since {fmt_time(started, self.tz)}"
        elif status == "fulfilled" and arrived is not None and started is not None:
            self.waited.text = f"Waited {fmt_minutes(arrived, started)}"
        else:
            self.waited.text = ""
        self.waited.visible = bool(self.waited.text)
        # the row of buttons takes room only when it holds something (a no-show's card stays one line)
        self.row.actions.visible = bool(
            self.row.allowed_steps() or self.open_button.visible or self.waited.visible or self.is_next
        )


class QueueBoard:
    """The doctor's day: counters, the next patient, the cards in time order. Build it inside a page, `load`
    the day (also after a reconnect), then `upsert` what a live event changed."""

    def __init__(
        self,
        tz: ZoneInfo,
        now: Callable[[], datetime],
        is_today: Callable[[], bool],
        on_cancel: Callable[[AppointmentDTO], Awaitable[None]] | None,
        on_status: StatusHandler,
        visit_url: Callable[[AppointmentDTO], str],
        patient_url: Callable[[AppointmentDTO], str],
        empty_text: str = "No appointments on this day.",
    ) -> None:
        self.tz, self.now, self.is_today = tz, now, is_today
        self.on_cancel, self.on_status = on_cancel, on_status
        self.visit_url, self.patient_url = visit_url, patient_url
        self.cards: dict[int, QueueCard] = {}
        self.counters = QueueCounters()
        with ui.row().classes("w-full items-start gap-2 text-base no-wrap").mark("next-patient") as self.next_box:
            ui.icon("arrow_forward", color="teal").classes("shrink-0")
            self.next_label = ui.label().classes("font-medium min-w-0").style("overflow-wrap: anywhere")
        self.empty = ui.label(empty_text).classes("text-slate-500")
        self.listing = ui.column().classes("w-full gap-2")

    def load(self, items: list[AppointmentDTO], times: Mapping[int, VisitTimes]) -> None:
        """(Re)draw the whole day: the first load and after a reconnect, never on a live event."""
        self.cards.clear()
        self.listing.clear()
        with self.listing:
            for dto in sorted(items, key=lambda d: (d.start, d.id)):
                self.cards[dto.id] = self._card(dto, times.get(dto.id, (None, None)))
        self._changed()

    def upsert(self, dto: AppointmentDTO, times: VisitTimes) -> bool:
        """Update the appointment's card in place, or insert a new one at its place in time; True if new."""
        card = self.cards.get(dto.id)
        if card is not None:
            card.update(dto, times)
            self._changed()
            return False
        with self.listing:
            card = self._card(dto, times)
        self.cards[dto.id] = card
        ordered = sorted(self.cards.values(), key=lambda c: (c.dto.start, c.dto.id))
        card.card.move(target_index=ordered.index(card))
        self._changed()
        return True

    def tick(self) -> None:
        """Once a minute: minutes waited, and the steps that open once a start has passed (no-show)."""
        for card in self.cards.values():
            card.update(card.dto)
        self._changed()

    def active(self) -> int:
        return sum(1 for c in self.cards.values() if c.dto.status not in INACTIVE)

    def counts(self) -> dict[str, int]:
        return count_statuses(c.dto.status for c in self.cards.values())

    def next_card(self) -> QueueCard | None:
        waiting = [c for c in self.cards.values() if c.dto.status == "arrived"]
        return min(waiting, key=lambda c: (c.dto.start, c.dto.id)) if waiting else None

    def _card(self, dto: AppointmentDTO, times: VisitTimes) -> QueueCard:
        return QueueCard(
            dto,
            times,
            self.tz,
            self.now,
            self.is_today,
            self.on_cancel,
            self.on_status,
            self.visit_url,
            self.patient_url,
        )

    def _changed(self) -> None:
        self.counters.set(self.counts())
        self.empty.visible = not self.cards
        following = self.next_card()
        for card in self.cards.values():
            card.set_next(card is following)
        consulting = [c for c in self.cards.values() if c.dto.status == "checked-in"]
        parts = []
        if consulting:
            parts.append("In consultation: " + ", ".join(c.dto.patient for c in consulting))
        if following is not None:
            text = f"Next: {following.dto.patient}, {fmt_time(following.dto.start, self.tz)}"
            arrived = following.times[0]
            if arrived is not None and self.is_today():
                text += f", waiting {fmt_minutes(arrived, self.now())}"
            parts.append(text)
        elif self.is_today() and self.cards:
            parts.append("Nobody is waiting.")
        self.next_label.text = " · ".join(parts)
        self.next_box.visible = bool(parts)


class ArrivalRow:
    """One appointment at the front desk: time, patient, doctor and department, status and "Mark arrived"
    (only while it is booked for today; the service decides). `update` changes it in place."""

    def __init__(
        self,
        dto: AppointmentDTO,
        tz: ZoneInfo,
        now: Callable[[], datetime],
        on_step: Callable[[AppointmentDTO, AppointmentStatus], Awaitable[None]],
    ) -> None:
        self.tz, self.now, self.on_step = tz, now, on_step
        with ui.card().classes("w-full p-3").mark(f"arrival-{dto.id}") as self.card:
            with ui.row().classes("w-full items-center gap-x-3 gap-y-2"):
                self.time = ui.label().classes("text-lg font-semibold tabular-nums whitespace-nowrap w-28 shrink-0")
                with ui.column().classes("gap-0 grow min-w-[12rem] basis-0"):
                    self.patient = ui.label().classes("font-medium").style("overflow-wrap: anywhere")
                    self.doctor = ui.label().classes("text-sm text-slate-600").style("overflow-wrap: anywhere")
                with ui.row().classes("items-center gap-2 no-wrap ml-auto"):
                    self.badge = ui.badge().classes("shrink-0")
                    self.button = ui.button(
                        "Mark arrived", icon="how_to_reg", on_click=lambda: self._step(AppointmentStatus.ARRIVED)
                    )
                    self.button.props("unelevated no-caps").mark(f"mark-arrived-{dto.id}")
                    self.undo = ui.button("Undo", icon="undo", on_click=lambda: self._step(AppointmentStatus.BOOKED))
                    self.undo.props("flat no-caps").mark(f"undo-arrived-{dto.id}").props("title='Marked by mistake'")
        self.update(dto)

    def update(self, dto: AppointmentDTO) -> None:
        self.dto = dto
        self.time.text = f"{fmt_time(dto.start, self.tz)}–{fmt_time(dto.end, self.tz)}"
        self.patient.text = dto.patient
        self.doctor.text = " · ".join(x for x in (dto.doctor, dto.department) if x)
        self.badge.text = STATUS_LABELS.get(dto.status, dto.status)
        self.badge.props(f"color={STATUS_COLORS.get(dto.status, 'grey')}")
        self.card.classes(remove="opacity-60")
        if dto.status in INACTIVE:
            self.card.classes("opacity-60")
        now = self.now()
        today = dto.start.astimezone(self.tz).date() == now.astimezone(self.tz).date()
        self.button.visible = dto.status == "booked" and today
        self.undo.visible = dto.status == "arrived" and today

    async def _step(self, status: AppointmentStatus) -> None:
        await self.on_step(self.dto, status)  # the page sends one command per double tap


class WeekEntry:
    """One appointment in a day column of the week: time, status and patient, linking the visit (or, for one
    that never took place, the day)."""

    def __init__(self, dto: AppointmentDTO, tz: ZoneInfo, url: Callable[[AppointmentDTO], str]) -> None:
        self.tz, self.url = tz, url
        self.link = ui.link(target=url(dto)).classes(
            "block w-full no-underline text-inherit rounded px-1 py-1 hover:bg-slate-100"
        )
        self.link.mark(f"week-appointment-{dto.id}")
        with self.link, ui.column().classes("gap-0 w-full min-w-0"):
            with ui.row().classes("w-full items-center gap-x-1 gap-y-0"):
                self.time = ui.label().classes("text-sm font-semibold tabular-nums text-slate-800")
                self.badge = ui.badge().classes("text-[11px]")
            self.who = ui.label().classes("text-sm text-slate-700 leading-snug").style("overflow-wrap: anywhere")
        self.update(dto)

    def update(self, dto: AppointmentDTO) -> None:
        self.dto = dto
        self.time.text = fmt_time(dto.start, self.tz)
        self.badge.text = STATUS_LABELS.get(dto.status, dto.status)
        self.badge.props(f"color={STATUS_COLORS.get(dto.status, 'grey')}")
        self.who.text = dto.patient
        self.link.props(f"href={self.url(dto)}")
        self.link.classes(remove="opacity-60 line-through")
        if dto.status in INACTIVE:
            self.link.classes("opacity-60 line-through")


class WeekBoard:
    """Seven day columns (Monday to Sunday in the hospital's zone): side by side from 1024 px, four across on
    a portrait tablet, stacked on a phone. Counters for the week on top; `upsert` changes one entry in place or
    inserts it in its day at its time."""

    def __init__(
        self,
        days: list[date],
        today: date,
        tz: ZoneInfo,
        day_url: Callable[[date], str],
        entry_url: Callable[[AppointmentDTO], str],
    ) -> None:
        self.days, self.tz, self.entry_url = days, tz, entry_url
        self.entries: dict[int, WeekEntry] = {}
        self.columns: dict[date, ui.column] = {}
        self.day_counts: dict[date, ui.label] = {}
        self.empties: dict[date, ui.label] = {}
        self.away: dict[date, ui.label] = {}
        self.counters = QueueCounters()
        with ui.element("div").classes("w-full grid grid-cols-1 sm:grid-cols-2 md:grid-cols-4 lg:grid-cols-7 gap-2"):
            for day in days:
                card = ui.card().classes("p-2 gap-1 min-w-0").props("flat bordered").mark(f"day-{day.isoformat()}")
                if day == today:
                    card.style("border: 2px solid #0f766e")  # today (a Quasar card's own border wins over Tailwind)
                with card:
                    with ui.row().classes("w-full items-baseline justify-between gap-1 no-wrap"):
                        ui.link(day.strftime("%a %d %b"), day_url(day)).classes(
                            "font-semibold text-slate-800 no-underline hover:underline whitespace-nowrap"
                        ).mark(f"day-link-{day.isoformat()}")
                        self.day_counts[day] = ui.label().classes("text-xs text-slate-500 whitespace-nowrap")
                        self.day_counts[day].mark(f"day-count-{day.isoformat()}")
                    self.away[day] = ui.label().classes("text-xs text-amber-800 bg-amber-50 rounded px-1 w-full")
                    self.away[day].style("overflow-wrap: anywhere").mark(f"day-away-{day.isoformat()}")
                    self.empties[day] = ui.label("No appointments").classes("text-sm text-slate-400")
                    self.columns[day] = ui.column().classes("w-full gap-0")
        for day in days:
            self.set_away(day, "")

    def _day(self, dto: AppointmentDTO) -> date:
        return dto.start.astimezone(self.tz).date()

    def load(self, items: list[AppointmentDTO]) -> None:
        self.entries.clear()
        for column in self.columns.values():
            column.clear()
        for dto in sorted(items, key=lambda d: (d.start, d.id)):
            if self._day(dto) in self.columns:
                with self.columns[self._day(dto)]:
                    self.entries[dto.id] = WeekEntry(dto, self.tz, self.entry_url)
        self._changed()

    def upsert(self, dto: AppointmentDTO) -> WeekEntry | None:
        """Returns the entry if it is new (for a brief highlight), else None."""
        entry = self.entries.get(dto.id)
        if entry is not None:
            entry.update(dto)
            self._changed()
            return None
        day = self._day(dto)
        if day not in self.columns:
            return None
        with self.columns[day]:
            entry = WeekEntry(dto, self.tz, self.entry_url)
        self.entries[dto.id] = entry
        same_day = sorted(
            (e for e in self.entries.values() if self._day(e.dto) == day), key=lambda e: (e.dto.start, e.dto.id)
        )
        entry.link.move(target_index=same_day.index(entry))
        self._changed()
        return entry

    def set_away(self, day: date, text: str) -> None:
        self.away[day].text = text
        self.away[day].visible = bool(text)

    def counts(self) -> dict[str, int]:
        return count_statuses(e.dto.status for e in self.entries.values())

    def _changed(self) -> None:
        self.counters.set(self.counts())
        for day in self.days:
            here = [e for e in self.entries.values() if self._day(e.dto) == day]
            active = sum(1 for e in here if e.dto.status not in INACTIVE)
            self.day_counts[day].text = f"{active} visit{'s' if active != 1 else ''}" if active else ""
            self.empties[day].visible = not here
