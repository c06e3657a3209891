"""Bookable times for some days, kept live: one button per start, changed in place on events.

The grid does not know where its times come from: a `loader(first_day, days)` returns `(Slot, free)` pairs (one
doctor's times for a visit type, or "any doctor in this department"), and `topics` say which live topics can
change them. Events are applied in place: a booking on a one-doctor grid takes exactly the starts whose visit
overlaps it; anything else (cancellations, status changes, holds, leave, closures; a booking on an any-doctor
grid) re-reads only the affected days, with one query per batch of events; a schedule change reloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime, time, timedelta

from nicegui import ui

from components.frame import fmt_time, notify_error
from components.io import io
from domain import events as ev
from domain.errors import DomainError
from domain.model import HOLDS_TIME, Slot
from pages.context import AppContext

#: blocking (runs in a worker thread): the times of `days` local days from `first_day`, each with `free`
SlotLoader = Callable[[date, int], list[tuple[Slot, bool]]]
#: blocking: other patients' open waiting-list holds overlapping [start, end) as (offer id, start, end)
HoldLoader = Callable[[datetime, datetime], list[tuple[int, datetime, datetime]]]
_HOLDS = {s.value for s in HOLDS_TIME}  # a change among these leaves the time taken
FREE, TAKEN, HELD, GONE = "free", "taken", "held", "gone"
LATER_DAYS = 14  # how many more days "Later times" shows
TOOLTIPS = {FREE: "Free", TAKEN: "Taken", HELD: "Held for a patient from the waiting list", GONE: "No longer bookable"}


def slot_marker(start: datetime) -> str:
    return "slot-" + start.strftime("%Y%m%dT%H%MZ")


class SlotGrid:
    """`exact`: the grid shows one doctor, so a booking elsewhere disables exactly the starts its time
    overlaps without asking the database. `viewer_patient_id`: holds offered to this patient stay free for
    them (the loader already treats them so) and are not labelled "Held". `held`: reads the holds already
    open when the grid (re)loads, so those times say "Held" rather than "Taken"; later ones arrive as events."""

    def __init__(
        self,
        ctx: AppContext,
        loader: SlotLoader,
        topics: Iterable[str],
        first_day: date,
        days: int,
        on_pick: Callable[[Slot], Awaitable[None]],
        *,
        exact: bool = True,
        viewer_patient_id: int | None = None,
        held: HoldLoader | None = None,
        empty_text: str = "No bookable times in this period.",
        reach: int | None = None,
    ) -> None:
        self.ctx, self.loader, self.first_day, self.days, self.on_pick = ctx, loader, first_day, days, on_pick
        self.exact, self.viewer, self.held, self.empty_text = exact, viewer_patient_id, held, empty_text
        # `days` are shown first; "Later times" adds more, up to `reach` days (drawing a whole booking horizon
        # of buttons at once holds the server for a second: every open page waits)
        self.reach = max(days, reach or days)
        self.last_day = first_day + timedelta(days=days - 1)
        self.buttons: dict[datetime, ui.button] = {}
        self.slots: dict[datetime, Slot] = {}
        self.state: dict[datetime, str] = {}
        self.day_counts: dict[date, ui.label] = {}
        self.holds: dict[int, tuple[datetime, datetime]] = {}  # others' waiting-list holds seen live
        self._full = False  # a reload is due
        self._dirty: set[date] = set()  # days to re-read
        self._busy = False
        self.container = ui.column().classes("w-full gap-3")
        for topic in topics:
            ctx.live.subscribe(topic, self._on_event)

    # ---- reading ------------------------------------------------------------------------------
    async def load(self) -> None:
        """(Re)read and redraw the whole grid: on page build, after a reconnect, a schedule change or a
        different visit type. Events arriving meanwhile are applied afterwards."""
        self._full = True
        await self._work()

    async def reread(self, start: datetime, end: datetime) -> None:
        """Re-read the days touched by [start, end) and repaint them in place."""
        self._touch(start, end)
        await self._work()

    async def _work(self) -> None:
        if self._busy:
            return  # the running loop picks the request up
        self._busy = True
        try:
            while self._full or self._dirty:
                if self._full:
                    self._full = False
                    self._dirty.clear()
                    if self.held is not None:
                        tz = self.ctx.tz
                        span = (
                            datetime.combine(self.first_day, time(0), tzinfo=tz),
                            datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=tz),
                        )
                        self.holds = {i: (s, e) for i, s, e in await io(self.held, *span)}
                    self._build(await io(self.loader, self.first_day, self.days))
                else:
                    days = sorted(self._dirty)
                    self._dirty.clear()
                    rows = await io(self.loader, days[0], (days[-1] - days[0]).days + 1)
                    self._apply(days[0], days[-1], rows)
        except DomainError as error:  # e.g. the doctor was removed meanwhile
            notify_error(error.message)
        finally:
            self._busy = False

    def _touch(self, start: datetime, end: datetime) -> None:
        tz = self.ctx.tz
        first = max(start.astimezone(tz).date(), self.first_day)
        last_moment = end - timedelta(microseconds=1) if end > start else start
        last = min(last_moment.astimezone(tz).date(), self.last_day)
        day = first
        while day <= last:
            self._dirty.add(day)
            day += timedelta(days=1)

    # ---- drawing ------------------------------------------------------------------------------
    def _build(self, rows: list[tuple[Slot, bool]]) -> None:
        self.buttons.clear()
        self.slots.clear()
        self.state.clear()
        self.day_counts.clear()
        self.container.clear()
        tz = self.ctx.tz
        by_day: dict[date, list[tuple[Slot, bool]]] = {}
        for slot, free in rows:
            by_day.setdefault(slot.start.astimezone(tz).date(), []).append((slot, free))
        with self.container:
            if not by_day and self.days >= self.reach:
                ui.label(self.empty_text).classes("text-slate-500").mark("no-times")
            elif not by_day:
                ui.label("No bookable times in these days.").classes("text-slate-500").mark("no-times")
            for day, day_slots in by_day.items():
                with ui.card().classes("w-full p-3 gap-2"):
                    with ui.row().classes("items-baseline gap-2"):
                        ui.label(day.strftime("%A %d %B")).classes("font-medium")
                        self.day_counts[day] = ui.label().classes("text-sm text-slate-500")
                    # as many equal columns as fit: full rows on a phone as on a tablet
                    grid = ui.element("div").classes("grid gap-2 w-full")
                    grid.style("grid-template-columns: repeat(auto-fill, minmax(4.5rem, 1fr))")
                    with grid:
                        for slot, free in day_slots:
                            self.slots[slot.start] = slot
                            button = ui.button(fmt_time(slot.start, tz), on_click=lambda s=slot: self._pick(s))
                            button.mark(slot_marker(slot.start)).props("no-caps unelevated")
                            self.buttons[slot.start] = button
                            self._paint(slot.start, self._state_of(slot, free))
            if self.days < self.reach:
                until = self.first_day + timedelta(days=min(self.reach, self.days + LATER_DAYS) - 1)
                ui.button(
                    f"Later times, until {until.strftime('%a %d %b')}", icon="expand_more", on_click=self.later
                ).props("flat no-caps").mark("later-times")
        self._count()

    async def later(self) -> None:
        """Show more days (up to `reach`), drawn afresh."""
        self.days = min(self.reach, self.days + LATER_DAYS)
        self.last_day = self.first_day + timedelta(days=self.days - 1)
        await self.load()

    def _apply(self, first: date, last: date, rows: list[tuple[Slot, bool]]) -> None:
        fresh = {slot.start: (slot, free) for slot, free in rows}
        tz = self.ctx.tz
        for start in self.buttons:
            if not first <= start.astimezone(tz).date() <= last:
                continue
            if start in fresh:
                slot, free = fresh[start]
                self.slots[start] = slot
                self._paint(start, self._state_of(slot, free))
            else:  # no longer offered at all (e.g. now inside the doctor's minimum notice)
                self._paint(start, GONE)
        self._count()

    def _state_of(self, slot: Slot, free: bool) -> str:
        if free:
            return FREE
        held = any(s < slot.end and slot.start < e for s, e in self.holds.values())
        return HELD if held else TAKEN

    def _paint(self, start: datetime, state: str) -> None:
        button = self.buttons.get(start)
        if button is None or self.state.get(start) == state:
            return
        self.state[start] = state
        free = state == FREE
        button.enabled = free
        if free:
            button.props("color=primary outline", remove="text-color")
            button.classes(remove="line-through italic")
        elif state == HELD:  # not struck through: it may come back in a few minutes
            button.props("color=amber-2 text-color=grey-9", remove="outline")
            button.classes("italic", remove="line-through")
        else:  # readable, clearly not clickable: dark text on light grey, struck through
            button.props("color=grey-4 text-color=grey-9", remove="outline")
            button.classes("line-through", remove="italic")
        # the browser's own tooltip: one element per time instead of two
        button.props(f'title="{TOOLTIPS[state]}" aria-label="{fmt_time(start, self.ctx.tz)} {TOOLTIPS[state].lower()}"')

    def _count(self) -> None:
        counts: dict[date, int] = dict.fromkeys(self.day_counts, 0)
        for start, state in self.state.items():
            if state == FREE:
                day = start.astimezone(self.ctx.tz).date()
                counts[day] = counts.get(day, 0) + 1
        for day, label in self.day_counts.items():
            n = counts.get(day, 0)
            label.text = f"{n} free" if n else "fully booked"

    def is_free(self, start: datetime) -> bool:
        return self.state.get(start) == FREE

    async def _pick(self, slot: Slot) -> None:
        if self.is_free(slot.start):
            await self.on_pick(self.slots.get(slot.start, slot))

    async def was_taken(self, slot: Slot) -> None:
        """The service refused this time as taken: show it so at once (a one-doctor grid knows which starts
        that covers; an any-doctor grid asks again)."""
        if self.exact:
            self._mark_taken(slot.start, slot.end)
        else:
            await self.reread(slot.start, slot.end)

    # ---- live events --------------------------------------------------------------------------
    async def _on_event(self, event: ev.DomainEvent) -> None:
        if isinstance(event, ev.AvailabilityChanged):
            await self.load()
            return
        if isinstance(event, ev.SlotBooked):
            if self.exact:
                self._mark_taken(event.start, event.end)
                if not self._busy:
                    return  # nothing else can have changed: no query
        elif isinstance(event, ev.SlotOffered):
            if event.patient_id != self.viewer:
                self.holds[event.offer_id] = (event.start, event.end)
        elif isinstance(event, ev.OfferEnded):
            self.holds.pop(event.offer_id, None)
        elif isinstance(event, ev.AppointmentStatusChanged):
            if (event.old in _HOLDS) == (event.new in _HOLDS):
                return  # e.g. booked -> arrived: the time stays taken
        elif not isinstance(event, ev.AppointmentCancelled | ev.LeaveChanged):
            return
        # a re-read started before this event may return older data: read the day (again) after it
        await self.reread(event.start, event.end)

    def _mark_taken(self, start: datetime, end: datetime) -> None:
        """Every start whose visit [start, start + its length) overlaps [start, end) is taken now."""
        for slot_start, slot in self.slots.items():
            if slot_start < end and start < slot.end and self.state.get(slot_start) == FREE:
                self._paint(slot_start, TAKEN)
        self._count()
