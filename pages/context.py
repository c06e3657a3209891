"""What every page needs, handed over by the composition root (main.py)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from components.live import LiveBridge
from data.queries import Queries
from data.security import OneTimeTokens
from data.settings import Settings
from domain.services import Services


@dataclass
class AppContext:
    settings: Settings
    services: Services
    queries: Queries
    live: LiveBridge
    login_tokens: OneTimeTokens

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz
