"""Settings from the environment (prefix HEALTHSYNC_) or a .env file."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "healthsync-development-only-secret"  # noqa: S105 - refused in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEALTHSYNC_", env_file=".env", extra="ignore")

    mode: Literal["development", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / 'var' / 'healthsync.db'}"
    host: str = "127.0.0.1"
    port: int = 8080
    storage_secret: str = ""
    timezone: str = "Europe/Berlin"
    reconnect_timeout: float = 30.0
    cancel_cutoff_hours: float = Field(default=2.0, ge=0, le=24 * 14)
    secure_cookies: bool = False
    noshow_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    offer_hold_minutes: int = Field(default=5, ge=1, le=120)
    hospital_name: str = Field(default="HealthSync General Hospital", min_length=1, max_length=120)  # on prints
    # invite links (new doctors, imported patients): signed with invite_secret, or a key derived from the
    # storage secret when it is not set; valid for invite_hours
    invite_secret: str = ""
    invite_hours: int = Field(default=72, ge=1, le=24 * 30)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"HEALTHSYNC_TIMEZONE={value!r} is not a known IANA time zone") from None
        return value

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        if not self.storage_secret:
            if self.host not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError(
                    "HEALTHSYNC_STORAGE_SECRET must be set when serving beyond this machine "
                    f"(HEALTHSYNC_HOST={self.host}): the development secret is public."
                )
            if self.mode == "production":
                raise ValueError(
                    "HEALTHSYNC_STORAGE_SECRET must be set in production mode: it signs every browser session. "
                    "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                )
            self.storage_secret = DEV_SECRET
        elif self.mode == "production" and (self.storage_secret == DEV_SECRET or len(self.storage_secret) < 16):
            raise ValueError(
                "HEALTHSYNC_STORAGE_SECRET is too weak for production (use at least 16 random characters)."
            )
        if self.mode == "production" and self.invite_secret and len(self.invite_secret) < 16:
            raise ValueError("HEALTHSYNC_INVITE_SECRET is too weak for production (use at least 16 random characters).")
        return self

    def invite_key(self) -> str:
        """The key that signs invite links: configured, or derived from the storage secret (never the storage
        secret itself, and never random per process: links must survive a restart)."""
        if self.invite_secret:
            return self.invite_secret
        return hmac.new(self.storage_secret.encode(), b"healthsync-invite-key", hashlib.sha256).hexdigest()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
