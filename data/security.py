"""Password hashing (argon2 through the passlib API, provided by libpass)."""

from __future__ import annotations

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
