"""Cross-instance relay of committed domain events through PostgreSQL LISTEN/NOTIFY.

Each app instance publishes its events with NOTIFY (after commit, payload = the event as JSON plus the
instance id) and listens on the same channel in a background thread; events from other instances are
handed to the live bridge of this one. On SQLite (one instance) there is nothing to relay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from domain import events as ev

log = logging.getLogger(__name__)
CHANNEL = "healthsync_events"
_EVENT_TYPES: dict[str, type[ev.DomainEvent]] = {
    cls.__name__: cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, ev.DomainEvent) and cls is not ev.DomainEvent
}


def encode(event: ev.DomainEvent, origin: str) -> str:
    fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in dataclasses.asdict(event).items()}
    return json.dumps({"origin": origin, "type": type(event).__name__, "fields": fields})


def decode(payload: str) -> tuple[str, ev.DomainEvent] | None:
    try:
        data = json.loads(payload)
        cls = _EVENT_TYPES[data["type"]]
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data["fields"] and f.default is not dataclasses.MISSING:
                continue  # sent by an instance that predates the field
            value = data["fields"][f.name]
            if f.type in ("datetime", datetime) and isinstance(value, str):
                value = datetime.fromisoformat(value)
            kwargs[f.name] = value
        return str(data["origin"]), cls(**kwargs)
    except (KeyError, TypeError, ValueError):
        log.warning("ignoring malformed relay payload: %.200s", payload)
        return None


class PgRelay:
    def __init__(self, conninfo: str, deliver: Callable[[ev.DomainEvent], None], loop: asyncio.AbstractEventLoop):
        self.conninfo, self.deliver, self.loop = conninfo, deliver, loop
        self.origin = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="pg-relay", daemon=True)
        self._send_lock = threading.Lock()
        self._send_conn: Any = None

    def start(self) -> PgRelay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._send_lock:
            if self._send_conn is not None:
                self._send_conn.close()
                self._send_conn = None

    def notify(self, event: ev.DomainEvent) -> None:
        import psycopg

        payload = encode(event, self.origin)
        with self._send_lock:
            for _attempt in range(2):
                try:
                    if self._send_conn is None or self._send_conn.closed:
                        self._send_conn = psycopg.connect(self.conninfo, autocommit=True)
                    self._send_conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                    return
                except psycopg.Error:
                    log.warning("relay NOTIFY failed; reconnecting", exc_info=True)
                    self._send_conn = None

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            decoded = decode(note.payload)
                            if decoded and decoded[0] != self.origin:
                                self.loop.call_soon_threadsafe(self.deliver, decoded[1])
            except psycopg.Error:
                log.warning("relay LISTEN connection lost; retrying", exc_info=True)
                self._stop.wait(2.0)


def start_relay(
    engine: Engine, deliver: Callable[[ev.DomainEvent], None], loop: asyncio.AbstractEventLoop
) -> PgRelay | None:
    if engine.dialect.name != "postgresql":
        return None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PgRelay(conninfo, deliver, loop).start()
