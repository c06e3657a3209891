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
    """Signed, expiring, single-use tokens (itsdangerous), one salt per purpose.

    Used to finish a sign-in over plain HTTP, so the session id can be rotated (no session fixation).
    Spent nonces are remembered in memory until they expire; this instance is the one that issued them
    (sticky sessions), so that is enough."""

    def __init__(self, secret: str, purpose: str, max_age: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=f"healthsync-{purpose}")
        self.max_age = max_age
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, value: int) -> str:
        return self._serializer.dumps({"v": value, "n": secrets.token_urlsafe(16)})

    def peek(self, token: str) -> int | None:
        """The value, if the token is valid and unspent (does not spend it)."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("v"), int):
            return None
        with self._lock:
            if data.get("n") in self._spent:
                return None
        return int(data["v"])

    def spend(self, token: str) -> int | None:
        value = self.peek(token)
        if value is None:
            return None
        nonce = self._serializer.loads(token, max_age=self.max_age)["n"]
        now = time.monotonic()
        with self._lock:
            if nonce in self._spent:
                return None
            self._spent = {n: t for n, t in self._spent.items() if t > now}
            self._spent[nonce] = now + self.max_age + 1
        return value
