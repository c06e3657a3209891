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
    moved_to: int | None = None  # the hospital moved it: the new appointment's id


@dataclass(frozen=True)
class AvailabilityChanged(DomainEvent):
    doctor_id: int


@dataclass(frozen=True)
class DirectoryChanged(DomainEvent):
    """Departments or doctors were added or edited."""

    what: str


@dataclass(frozen=True)
class AppointmentStatusChanged(DomainEvent):
    """A step of the visit workflow (arrived, checked-in, fulfilled, noshow, entered-in-error) or an admin reset."""

    appointment_id: int
    doctor_id: int
    patient_id: int
    start: datetime
    end: datetime
    old: str
    new: str
    by_role: str = ""


@dataclass(frozen=True)
class LeaveChanged(DomainEvent):
    """Leave of one doctor (doctor_id) or a hospital closure (doctor_id None) was added or removed."""

    doctor_id: int | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotOffered(DomainEvent):
    """A freed time is held for a patient from the waiting list until `expires`."""

    offer_id: int
    patient_id: int
    doctor_id: int
    start: datetime
    end: datetime
    expires: datetime


@dataclass(frozen=True)
class OfferEnded(DomainEvent):
    """A waiting-list hold ended (taken, declined or expired): the time is free or booked now."""

    offer_id: int
    patient_id: int
    doctor_id: int
    start: datetime
    end: datetime
    outcome: str


@dataclass(frozen=True)
class WaitlistEnded(DomainEvent):
    """The hospital ended a patient's place on a waiting list (the doctor stopped taking bookings, the
    department closed); `message` is what the patient is told."""

    entry_id: int
    patient_id: int
    message: str


@dataclass(frozen=True)
class AccountStatusChanged(DomainEvent):
    """An account was deactivated, reactivated or activated through an invite; `status` is the new one.
    Open pages of a deactivated account close themselves."""

    account_id: int
    status: str
