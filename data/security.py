"""Password hashing (argon2 through the passlib API, provided by libpass)."""

from __future__ import annotations

import secrets
import threading
import time

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from passlib.context import CryptContext


class Argon2Hasher:
    def __init__(self, fast_for_tests: bool = False) -> None:
        params = {"argon2__memory_cost": 1024, "argon2__time_cost": 1} if fast_for_tests else {}
        self._ctx = CryptContext(schemes=["argon2"], deprecated="auto", **params)

    def hash(self, password: str) -> str:
        return self._ctx.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return self._ctx.verify(password, hashed)
        except (ValueError, TypeError):
            return False


class OneTimeTokens:
    """Signed, expiring, single-use tokens (itsdangerous), one salt per purpose, bound to a browser session.

    Used to finish a sign-in over plain HTTP, so the session id can be rotated (no session fixation).
    `secret` should be random per process (the default): these tokens live for seconds on the instance that
    issued them (sticky sessions), and a configured or public secret must never let anyone mint a sign-in.
    The binding (the issuing browser's session id) stops a token being used in another browser. Spent
    nonces are remembered in memory until they expire."""

    def __init__(self, purpose: str, max_age: int, secret: str | None = None) -> None:
        self._serializer = URLSafeTimedSerializer(secret or secrets.token_urlsafe(32), salt=f"healthsync-{purpose}")
        self.max_age = max_age
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, value: int, binding: str) -> str:
        return self._serializer.dumps({"v": value, "n": secrets.token_urlsafe(16), "b": binding})

    def _load(self, token: str, binding: str) -> dict | None:
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("v"), int) or data.get("b") != binding:
            return None
        with self._lock:
            if data.get("n") in self._spent:
                return None
        return data

    def peek(self, token: str, binding: str) -> int | None:
        """The value, if the token is valid, unspent and bound to `binding` (does not spend it)."""
        data = self._load(token, binding)
        return int(data["v"]) if data else None

    def spend(self, token: str, binding: str) -> int | None:
        data = self._load(token, binding)
        if data is None:
            return None
        now = time.monotonic()
        with self._lock:
            if data["n"] in self._spent:
                return None
            self._spent = {n: t for n, t in self._spent.items() if t > now}
            self._spent[data["n"]] = now + self.max_age + 1
        return int(data["v"])
