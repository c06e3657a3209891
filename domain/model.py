"""Entities and value objects of the hospital, in FHIR's words. Standard library only."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from domain.errors import NotAllowed, ValidationError


class Role(StrEnum):
    ADMIN = "admin"
    DOCTOR = "doctor"
    PATIENT = "patient"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    INVITED = "invited"  # exists (e.g. imported) but has no password yet: cannot log in
    DEACTIVATED = "deactivated"


class AppointmentStatus(StrEnum):
    """FHIR R4 Appointment.status codes."""

    PENDING = "pending"
    BOOKED = "booked"
    ARRIVED = "arrived"
    CHECKED_IN = "checked-in"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    ENTERED_IN_ERROR = "entered-in-error"
    WAITLIST = "waitlist"


#: statuses that hold a slot; the database refuses two of these for one doctor and start
ACTIVE_STATUSES: frozenset[AppointmentStatus] = frozenset(
    {
        AppointmentStatus.PENDING,
        AppointmentStatus.BOOKED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CHECKED_IN,
    }
)

ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOTTED_DATE_RE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}")
TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: FHIR R4 appointment-cancellation-reason (http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason),
#: the codes a hospital uses day to day
CANCELLATION_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
CANCELLATION_REASONS: dict[str, str] = {
    "pat": "Patient",
    "pat-fb": "Patient: Feeling Better",
    "pat-lt": "Patient: Lack of Transportation",
    "pat-mv": "Patient: Moved",
    "pat-ucp": "Patient: Unhappy/Changed Provider",
    "prov": "Provider",
    "prov-pers": "Provider: Personal",
    "prov-edu": "Provider: Edu/Meeting",
    "prov-hosp": "Provider: Hospitalized",
    "maint": "Equipment Maintenance/Repair",
    "other": "Other",
    "oth-err": "Other: Error",
    "oth-room": "Other: Room/Resource Maintenance",
    "oth-weath": "Other: Weather",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("Please enter a valid email address, like name@example.org.")
    return email


def require_text(raw: str | None, what: str, max_len: int = 200) -> str:
    text = (raw or "").strip()
    if not any(ch.isalnum() for ch in text):  # also refuses invisible-only input like a zero-width space
        raise ValidationError(f"{what} is required.")
    if len(text) > max_len:
        raise ValidationError(f"{what} is too long (at most {max_len} characters).")
    return text


def fold_text(text: str | None) -> str:
    """For matching, not display: case- and accent-insensitive ('Fernández' ~ 'fernandez', 'ÄRZTE' ~ 'ärzte')."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def utcnow() -> datetime:
    return datetime.now(UTC)


def ensure_aware(moment: datetime) -> datetime:
    """Aware UTC. Datetimes from SQLite come back naive (they are stored as UTC); Postgres returns them in the
    session's time zone, which need not be UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Actor:
    """Who is acting: captured when a page is built, checked by every command."""

    account_id: int
    role: Role
    patient_id: int | None = None
    doctor_id: int | None = None
    name: str = ""

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise NotAllowed("You are not allowed to do this.")


@dataclass
class Account:
    email: str | None
    role: Role
    display_name: str
    password_hash: str | None = None
    status: AccountStatus = AccountStatus.ACTIVE
    id: int | None = None

    def can_log_in(self) -> bool:
        return self.status == AccountStatus.ACTIVE and bool(self.password_hash)


@dataclass
class Department:
    name: str
    description: str = ""
    id: int | None = None


@dataclass
class Doctor:
    account_id: int | None
    name: str
    specialty: str
    department_id: int | None
    email: str | None = None
    slot_minutes: int = 15
    id: int | None = None


@dataclass
class Patient:
    account_id: int | None
    name: str
    birth_date: date | None
    email: str | None = None
    gender: str | None = None
    phone: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class WorkingHours:
    """One working range on one weekday (0 = Monday), in the hospital's local time."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValidationError("Weekday must be Monday to Sunday.")
        if self.end <= self.start:
            raise ValidationError("Working hours must end after they start.")


@dataclass(frozen=True)
class Slot:
    """A bookable interval of one doctor, in UTC."""

    doctor_id: int
    start: datetime
    end: datetime


@dataclass
class Appointment:
    doctor_id: int
    patient_id: int
    start: datetime
    end: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    reason: str = ""
    id: int | None = None
    created_at: datetime = field(default_factory=utcnow)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""  # free text
    cancel_code: str = ""  # FHIR appointment-cancellation-reason
    cancelled_by: int | None = None  # account id
    rescheduled_from: int | None = None  # the appointment this one replaced

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end

    def cancel(
        self, actor: Actor, now: datetime, code: str = "", note: str = "", cutoff: timedelta = timedelta(0)
    ) -> None:
        """Patients cancel their own appointments until `cutoff` before the start (the reason code is
        optional for them, 'pat' by default); doctors (their own schedule) and admins any time, with a reason."""
        if actor.role == Role.PATIENT and actor.patient_id != self.patient_id:
            raise NotAllowed("You can only cancel your own appointments.")
        if actor.role == Role.DOCTOR and actor.doctor_id != self.doctor_id:
            raise NotAllowed("You can only cancel appointments in your own schedule.")
        if self.status not in (AppointmentStatus.PENDING, AppointmentStatus.BOOKED):
            raise ValidationError(f"This appointment is {self.status.value} and can no longer be cancelled.")
        code = (code or "").strip()
        if code and code not in CANCELLATION_REASONS:
            raise ValidationError("Please choose a reason from the list.")
        if actor.role == Role.PATIENT:
            if self.start <= now:
                raise ValidationError("This appointment has already started and can no longer be cancelled.")
            if self.start - now < cutoff:
                hours = cutoff.total_seconds() / 3600
                raise ValidationError(
                    f"Appointments can be cancelled online until {hours:g} hours before they start. "
                    "Please call the hospital."
                )
            if code and not code.startswith("pat"):
                raise ValidationError("Please choose one of the reasons for patients.")
            code = code or "pat"
        elif not code:
            raise ValidationError("Please choose a reason for the cancellation; the patient will see it.")
        self.status = AppointmentStatus.CANCELLED
        self.cancelled_at = now
        self.cancel_code = code
        self.cancel_reason = (note or "").strip()[:500]
        self.cancelled_by = actor.account_id

    @property
    def cancellation_text(self) -> str:
        label = CANCELLATION_REASONS.get(self.cancel_code, "")
        return " — ".join(x for x in (label, self.cancel_reason) if x)


def parse_clock_time(raw: str | None, what: str) -> time:
    """'08:30' -> 08:30. Only hours and minutes, 24-hour clock."""
    match = TIME_RE.fullmatch((raw or "").strip())
    if match is None:
        raise ValidationError(f"{what} must be a time like 08:30 (24-hour clock).")
    return time(int(match.group(1)), int(match.group(2)))


def parse_birth_date(raw: str | None, today: date) -> date:
    text = (raw or "").strip()
    if not text:
        raise ValidationError("Date of birth is required.")
    born = None
    for pattern, fmt in ((ISO_DATE_RE, "%Y-%m-%d"), (DOTTED_DATE_RE, "%d.%m.%Y")):
        if pattern.fullmatch(text):
            try:
                born = datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValidationError("Date of birth is not a real date (check day and month).") from None
    if born is None:
        raise ValidationError("Date of birth must be a date like 1980-04-23 or 23.04.1980.")
    if born > today:
        raise ValidationError("Date of birth cannot be in the future.")
    if born < today - timedelta(days=130 * 366):
        raise ValidationError("Date of birth is too far in the past.")
    return born
