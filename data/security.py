"""Password hashing (argon2 through the passlib API, provided by libpass), sign-in and invite tokens."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from passlib.context import CryptContext

from data.settings import Settings
from domain.errors import ValidationError


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


class InviteTokens:
    """Invite links: an invite's random nonce, signed (itsdangerous, salt "healthsync-invite") with a key from
    the settings, so links survive a restart and work on every instance. Expiry is checked here (`max_age`,
    against `now`, injectable for tests) and again against the invite row; single use, revocation and the
    account's state are the database's (see Services.accept_invite). The payload is signed, not encrypted:
    it holds the nonce only."""

    SALT = "healthsync-invite"

    def __init__(self, secret: str, max_age: timedelta, now: Callable[[], datetime] | None = None) -> None:
        if not secret:
            raise ValueError("InviteTokens needs a secret from the settings")
        clock = now or (lambda: datetime.now(UTC))

        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializer = URLSafeTimedSerializer(secret, salt=self.SALT, signer=_Signer)
        self.max_age = max_age

    @classmethod
    def from_settings(cls, settings: Settings, now: Callable[[], datetime] | None = None) -> InviteTokens:
        return cls(settings.invite_key(), timedelta(hours=settings.invite_hours), now)

    def issue(self, nonce: str) -> str:
        return self._serializer.dumps({"n": nonce})

    def read(self, token: str) -> str:
        try:
            data = self._serializer.loads(token or "", max_age=int(self.max_age.total_seconds()))
        except SignatureExpired:
            raise ValidationError("This invite link has expired. Please ask the hospital for a new one.") from None
        except BadSignature:
            raise ValidationError(
                "This invite link is not valid. Please check that you copied all of it, or ask the hospital for "
                "a new one."
            ) from None
        nonce = data.get("n") if isinstance(data, dict) else None
        if not isinstance(nonce, str) or not nonce:
            raise ValidationError("This invite link is not valid. Please ask the hospital for a new one.")
        return nonce
