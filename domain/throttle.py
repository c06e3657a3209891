"""Sign-in throttling: after repeated failures for one email, further attempts wait a little."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from domain.errors import NotAllowed


class LoginThrottle:
    def __init__(
        self,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=5),
    ) -> None:
        self.max_failures, self.window, self.lockout = max_failures, window, lockout
        self._failures: dict[str, list[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: datetime, what: str = "for this account") -> None:
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window]
            self._failures[key] = recent
            if len(recent) >= self.max_failures and now - recent[-1] < self.lockout:
                wait = self.lockout - (now - recent[-1])
                minutes = max(1, round(wait.total_seconds() / 60))
                raise NotAllowed(
                    f"Too many failed sign-ins {what}. Please wait {minutes} minute"
                    f"{'s' if minutes != 1 else ''} and try again."
                )

    def failed(self, key: str, now: datetime) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(now)
            if len(self._failures) > 10_000:  # bound memory: forget the stalest keys
                for stale in sorted(self._failures, key=lambda k: self._failures[k][-1])[:1_000]:
                    del self._failures[stale]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
