"""A doctor's free slots for some days, kept live: one button per slot, changed in place on events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

from nicegui import ui

from components.frame import fmt_time
from components.io import io
from domain import events as ev
from domain.model import Slot
from pages.context import AppContext


def slot_marker(start: datetime) -> str:
    return "slot-" + start.strftime("%Y%m%dT%H%MZ")


class SlotGrid:
    """Subscribes to ``doctor:<id>``; a booking elsewhere disables that button, a cancellation frees it."""

    def __init__(
        self,
        ctx: AppContext,
        doctor_id: int,
        first_day: date,
        days: int,
        on_pick: Callable[[Slot], Awaitable[None]],
    ) -> None:
        self.ctx, self.doctor_id, self.first_day, self.days, self.on_pick = ctx, doctor_id, first_day, days, on_pick
        self.buttons: dict[datetime, ui.button] = {}
        self.tooltips: dict[datetime, ui.tooltip] = {}
        self.slots: dict[datetime, Slot] = {}
        self.day_counts: dict[date, ui.label] = {}
        self.container = ui.column().classes("w-full gap-3")
        ctx.live.subscribe(f"doctor:{doctor_id}", self._on_event)

    async def load(self) -> None:
        """(Re)read the grid from the database; also used after a reconnect."""
        rows = await io(self.ctx.services.slots, self.doctor_id, self.first_day, self.days)
        self.buttons.clear()
        self.tooltips.clear()
        self.slots.clear()
        self.day_counts.clear()
        self.container.clear()
        tz = self.ctx.tz
        by_day: dict[date, list[tuple[Slot, bool]]] = {}
        for slot, free in rows:
            by_day.setdefault(slot.start.astimezone(tz).date(), []).append((slot, free))
        with self.container:
            if not by_day:
                ui.label("No bookable times in this period.").classes("text-slate-500")
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
                            with button:
                                self.tooltips[slot.start] = ui.tooltip()
                            self.buttons[slot.start] = button
                            self._paint(slot.start, free)
        self._count()

    def _paint(self, start: datetime, free: bool) -> None:
        button = self.buttons.get(start)
        if button is None:
            return
        button.enabled = free
        if free:
            button.props("color=primary outline", remove="text-color")
            button.classes(remove="line-through")
        else:  # readable, clearly not clickable: dark text on light grey, struck through
            button.props("color=grey-4 text-color=grey-9", remove="outline")
            button.classes("line-through")
        self.tooltips[start].text = "Free" if free else "Taken"
        button.props(f'aria-label="{fmt_time(start, self.ctx.tz)} {"free" if free else "taken"}"')

    def _count(self) -> None:
        counts: dict[date, int] = dict.fromkeys(self.day_counts, 0)
        for start, button in self.buttons.items():
            if button.enabled:
                day = start.astimezone(self.ctx.tz).date()
                counts[day] = counts.get(day, 0) + 1
        for day, label in self.day_counts.items():
            n = counts.get(day, 0)
            label.text = f"{n} free" if n else "fully booked"

    def is_free(self, start: datetime) -> bool:
        button = self.buttons.get(start)
        return bool(button and button.enabled)

    async def _pick(self, slot: Slot) -> None:
        if self.is_free(slot.start):
            await self.on_pick(slot)

    def mark(self, start: datetime, free: bool) -> None:
        self._paint(start, free)
        self._count()

    async def _on_event(self, event: ev.DomainEvent) -> None:
        if isinstance(event, ev.SlotBooked):
            self._mark_range(event.start, event.end, free=False)
        elif isinstance(event, ev.AppointmentCancelled):
            # another appointment may still cover the slot (e.g. after a slot-length change): ask, don't guess
            await self._reread_day(event.start.astimezone(self.ctx.tz).date())
        elif isinstance(event, ev.AvailabilityChanged):
            await self.load()

    async def _reread_day(self, day: date) -> None:
        for slot, free in await io(self.ctx.services.slots, self.doctor_id, day, 1):
            self._paint(slot.start, free)
        self._count()

    def _mark_range(self, start: datetime, end: datetime, free: bool) -> None:
        for slot_start, slot in self.slots.items():
            if slot_start < end and start < slot.end:
                self._paint(slot_start, free)
        self._count()
