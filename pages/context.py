"""What every page needs, handed over by the composition root (main.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from components.live import LiveBridge
from data.audit_queries import AuditQueries
from data.catalog import CATALOGUE, Catalogue
from data.clinical_queries import ClinicalQueries
from data.queries import Queries
from data.security import OneTimeTokens
from data.settings import Settings
from data.stats_queries import StatsQueries
from domain.clinical_services import ClinicalServices
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

    @cached_property
    def stats(self) -> StatsQueries:
        """The admin board's aggregates and the appointment report (same engine as `queries`)."""
        return StatsQueries(self.queries.engine, self.settings.tz)

    @cached_property
    def audit_log(self) -> AuditQueries:
        """The audit trail, read only (admins' viewer, a patient's "who opened my record")."""
        return AuditQueries(self.queries.engine)

    @cached_property
    def catalogue(self) -> Catalogue:
        """ICD-10-CM and the drug list (one per process, loaded on first use)."""
        return CATALOGUE

    @cached_property
    def clinical(self) -> ClinicalServices:
        """Visit records: same unit of work and clock as `services`."""
        return ClinicalServices(self.services.uow, self.services.clock, self.settings.tz, self.catalogue)

    @cached_property
    def records(self) -> ClinicalQueries:
        """The medical record's read side (timeline), asked only after `clinical` allowed the reader."""
        return ClinicalQueries(self.queries.engine)
