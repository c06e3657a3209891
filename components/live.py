"""The live bridge: committed domain events -> NiceGUI `Event`s on targeted topics.

Services run in worker threads (run.io_bound); the bridge hops onto the event loop before emitting.
Topics: ``doctor:<id>`` (slot grids and the doctor's day), ``patient:<id>`` (the patient's own lists),
``directory`` (departments/doctors changed), ``stats`` (admin board), ``account:<id>`` (that account's own
open pages: they close when it is deactivated), ``accounts`` (admin account lists). A topic only carries ids and times;
each subscriber re-reads what it may see.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import Event

from domain import events as ev

log = logging.getLogger(__name__)


def topics_for(event: ev.DomainEvent) -> list[str]:
    if isinstance(event, ev.SlotBooked | ev.AppointmentCancelled | ev.AppointmentStatusChanged):
        return [f"doctor:{event.doctor_id}", f"patient:{event.patient_id}", "stats"]
    if isinstance(event, ev.SlotOffered | ev.OfferEnded):
        return [f"doctor:{event.doctor_id}", f"patient:{event.patient_id}"]
    if isinstance(event, ev.WaitlistEnded):
        return [f"patient:{event.patient_id}"]
    if isinstance(event, ev.AvailabilityChanged):
        return [f"doctor:{event.doctor_id}"]
    if isinstance(event, ev.LeaveChanged):  # a closure concerns every doctor's grid
        return [f"doctor:{event.doctor_id}"] if event.doctor_id is not None else ["closures"]
    if isinstance(event, ev.DirectoryChanged):
        return ["directory", "stats"]
    if isinstance(event, ev.AccountStatusChanged):  # the account's own open pages, and the admins' account lists
        return [f"account:{event.account_id}", "accounts"]
    return []


def on_reconnect(callback: Callable[[], Any]) -> None:
    """Run `callback` whenever the current page's websocket reconnects (not on the first connect):
    a view that may have missed events re-reads its state instead of staying silently stale."""
    from nicegui import ui

    seen = {"connected": False}

    async def handler() -> None:
        if seen["connected"]:
            result = callback()
            if asyncio.iscoroutine(result):
                await result
        seen["connected"] = True

    ui.context.client.on_connect(handler)


def coalesced(refresh: Callable[[], Any]) -> Callable[[], Awaitable[None]]:
    """Run an async refresh one at a time; calls arriving meanwhile fold into one more run.
    (Two overlapping rebuilds of one refreshable would interleave and draw its rows twice.)"""
    state = {"running": False, "again": False}

    async def run() -> None:
        if state["running"]:
            state["again"] = True
            return
        state["running"] = True
        try:
            while True:
                state["again"] = False
                result = refresh()
                if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                    await result
                if not state["again"]:
                    break
        finally:
            state["running"] = False

    return run


class LiveBridge:
    def __init__(self) -> None:
        self._topics: dict[str, Event[Any]] = {}
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.relays: list[Callable[[ev.DomainEvent], None]] = []  # e.g. the Postgres NOTIFY relay

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def topic(self, name: str) -> Event[Any]:
        with self._lock:
            event = self._topics.get(name)
            if event is None:
                event = self._topics[name] = Event()
            return event

    def subscribe(self, name: str, callback: Callable[[ev.DomainEvent], Any]) -> None:
        """Subscribe from inside a page: unsubscribed automatically when the page goes away."""
        self.topic(name).subscribe(callback)

    def publish(self, event: ev.DomainEvent) -> None:
        """Bus handler: called after commit, from any thread."""
        self.deliver(event)
        for relay in self.relays:
            relay(event)

    def deliver(self, event: ev.DomainEvent) -> None:
        """Emit on this instance's open views (also used for events relayed from other instances)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._emit(event)
        else:
            loop.call_soon_threadsafe(self._emit, event)

    def _emit(self, event: ev.DomainEvent) -> None:
        for name in topics_for(event):
            topic = self._topics.get(name)
            if topic is not None:
                topic.emit(event)
