"""A tiny in-process message bus. Publishing happens after commit (see the unit of work)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from domain.events import DomainEvent

log = logging.getLogger(__name__)
Handler = Callable[[DomainEvent], None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def clear(self) -> None:
        self._handlers.clear()

    def publish(self, events: list[DomainEvent]) -> None:
        for event in events:
            for handler in list(self._handlers):
                try:
                    handler(event)
                except Exception:  # a broken subscriber must not undo a committed change
                    log.exception("event handler failed for %r", event)
