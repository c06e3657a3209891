"""Live events cross app instances through PostgreSQL LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from data.db import make_engine
from data.relay import decode, encode, start_relay
from domain import events as ev


def test_events_survive_the_round_trip_through_json() -> None:
    start = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
    event = ev.SlotBooked(7, 3, 11, start, start + timedelta(minutes=15))
    assert decode(encode(event, "me")) == ("me", event)
    assert decode('{"type": "Nope"}') is None  # a malformed payload is ignored, not a crash
    moved = ev.AppointmentCancelled(7, 3, 11, start, start + timedelta(minutes=15), "admin", "Moved", moved_to=8)
    assert decode(encode(moved, "me")) == ("me", moved)
    # an instance that predates a field with a default still gets through (a rolling upgrade)
    older = json.loads(encode(moved, "me"))
    del older["fields"]["moved_to"]
    assert decode(json.dumps(older)) == ("me", replace(moved, moved_to=None))


def test_no_relay_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    assert start_relay(engine, lambda _e: None, asyncio.new_event_loop()) is None
    engine.dispose()


async def test_an_event_from_one_instance_reaches_the_other(pg_url: str) -> None:
    loop = asyncio.get_running_loop()
    received_a: list[ev.DomainEvent] = []
    received_b: list[ev.DomainEvent] = []
    engine_a, engine_b = make_engine(pg_url), make_engine(pg_url)
    relay_a = start_relay(engine_a, received_a.append, loop)
    relay_b = start_relay(engine_b, received_b.append, loop)
    assert relay_a is not None and relay_b is not None
    try:
        start = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)
        event = ev.AppointmentCancelled(5, 2, 9, start, start + timedelta(minutes=15))
        for _ in range(100):  # the listeners connect in their threads; keep announcing until B hears
            await asyncio.to_thread(relay_a.notify, event)
            await asyncio.sleep(0.05)
            if received_b:
                break
        assert received_b and received_b[0] == event
        assert received_a == []  # an instance does not hear its own events back (it delivered them itself)
    finally:
        relay_a.stop()
        relay_b.stop()
        await asyncio.sleep(1.2)  # the listener threads notice the stop within their 1 s poll
        engine_a.dispose()
        engine_b.dispose()
