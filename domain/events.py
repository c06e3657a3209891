"""Domain events: recorded by services, published only after the unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DomainEvent:
    pass


@dataclass(frozen=True)
class SlotBooked(DomainEvent):
    appointment_id: int
    doctor_id: int
    patient_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class AppointmentCancelled(DomainEvent):
    appointment_id: int
    doctor_id: int
    patient_id: int
    start: datetime
    end: datetime
    by_role: str = ""  # who cancelled: patient, doctor or admin
    reason: str = ""  # what the patient is told


@dataclass(frozen=True)
class AvailabilityChanged(DomainEvent):
    doctor_id: int


@dataclass(frozen=True)
class DirectoryChanged(DomainEvent):
    """Departments or doctors were added or edited."""

    what: str
