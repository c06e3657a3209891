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

#: statuses whose time the doctor has given: no one else is booked then (a visit finished early keeps its time)
HOLDS_TIME: frozenset[AppointmentStatus] = ACTIVE_STATUSES | {AppointmentStatus.FULFILLED, AppointmentStatus.NOSHOW}

TERMINAL_STATUSES: frozenset[AppointmentStatus] = frozenset(
    {
        AppointmentStatus.FULFILLED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NOSHOW,
        AppointmentStatus.ENTERED_IN_ERROR,
    }
)
#: the visit workflow (cancellation has its own rules in Appointment.cancel)
ALLOWED_TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    AppointmentStatus.PENDING: frozenset({AppointmentStatus.BOOKED, AppointmentStatus.ENTERED_IN_ERROR}),
    AppointmentStatus.BOOKED: frozenset(
        {AppointmentStatus.ARRIVED, AppointmentStatus.NOSHOW, AppointmentStatus.ENTERED_IN_ERROR}
    ),
    AppointmentStatus.ARRIVED: frozenset(
        {
            AppointmentStatus.BOOKED,  # staff undo an arrival marked by mistake
            AppointmentStatus.CHECKED_IN,
            AppointmentStatus.FULFILLED,
            AppointmentStatus.NOSHOW,
            AppointmentStatus.ENTERED_IN_ERROR,
        }
    ),
    AppointmentStatus.CHECKED_IN: frozenset({AppointmentStatus.FULFILLED, AppointmentStatus.ENTERED_IN_ERROR}),
}

ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOTTED_DATE_RE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}")
TIME_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: FHIR R4 appointment-cancellation-reason (http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason),
#: the codes a hospital uses day to day
CANCELLATION_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
#: (the labels are ours, in plain words for patients; the codes are FHIR's)
CANCELLATION_REASONS: dict[str, str] = {
    "pat": "At the patient's request",
    "pat-fb": "The patient feels better",
    "pat-lt": "The patient has no transport",
    "pat-mv": "The patient has moved away",
    "pat-ucp": "The patient changed to another doctor",
    "prov": "The doctor cannot see you then",
    "prov-pers": "The doctor is unavailable for personal reasons",
    "prov-edu": "The doctor is at a training or meeting",
    "prov-hosp": "The doctor is ill",
    "maint": "Equipment is being repaired",
    "other": "Other reason",
    "oth-err": "Booked in error",
    "oth-room": "The room is not available",
    "oth-weath": "Bad weather",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise ValidationError("Please enter a valid email address, like name@example.org.")
    return email


#: bidirectional overrides and isolates: they make a name display reversed ("RTL \u202egnp.exe")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def require_text(raw: str | None, what: str, max_len: int = 200) -> str:
    text = (raw or "").strip()
    if not any(ch.isalnum() for ch in text):  # also refuses invisible-only input like a zero-width space
        raise ValidationError(f"{what} is required.")
    if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in text):
        raise ValidationError(f"{what} contains control characters; please type it again.")
    if len(text) > max_len:
        raise ValidationError(f"{what} is too long (at most {max_len} characters).")
    return text


def free_text(raw: str | None, max_len: int) -> str:
    """An optional note as typed, without control characters (a NUL byte, say, which PostgreSQL refuses)
    except line breaks and tabs, trimmed and cut to `max_len`."""
    text = "".join(ch for ch in (raw or "") if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = "".join(ch for ch in text if ch not in BIDI_CONTROLS)
    return text.strip()[:max_len]


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
    status_reason: str = ""  # why it was deactivated or reactivated (admins see it)
    status_changed_at: datetime | None = None

    def can_log_in(self) -> bool:
        return self.status == AccountStatus.ACTIVE and bool(self.password_hash)

    # (status changes: see "Account administration" at the end of this module)
    def deactivate(self, reason: str, now: datetime) -> None:
        if self.status == AccountStatus.DEACTIVATED:
            raise ValidationError("This account is already deactivated.")
        self.status = AccountStatus.DEACTIVATED
        self.status_reason = require_text(reason, "A reason for the deactivation", 300)
        self.status_changed_at = now

    def reactivate(self, reason: str, now: datetime) -> None:
        """Back to where it was: active, or invited when no password was ever set."""
        if self.status != AccountStatus.DEACTIVATED:
            raise ValidationError("This account is not deactivated.")
        self.status = AccountStatus.ACTIVE if self.password_hash else AccountStatus.INVITED
        self.status_reason = require_text(reason, "A reason for the reactivation", 300)
        self.status_changed_at = now

    def accept_invite(self, password_hash: str, now: datetime) -> None:
        if self.status == AccountStatus.DEACTIVATED:
            raise NotAllowed("This account has been deactivated. Please contact the hospital.")
        if self.status != AccountStatus.INVITED:
            raise ValidationError("This account is already set up. Please sign in with your password.")
        self.password_hash = password_hash
        self.status = AccountStatus.ACTIVE
        self.status_changed_at = now


@dataclass
class Department:
    name: str
    description: str = ""
    id: int | None = None


@dataclass(frozen=True)
class VisitType:
    """What a patient books: its own length, independent of the grid (a 30-minute visit on a 15-minute grid
    takes two grid slots)."""

    code: str
    name: str
    minutes: int

    def __post_init__(self) -> None:
        if not 5 <= self.minutes <= 480:
            raise ValidationError(f"“{self.name}” must last between 5 and 480 minutes.")


DEFAULT_VISIT_TYPES: tuple[VisitType, ...] = (
    VisitType("consultation", "Consultation", 15),
    VisitType("follow-up", "Follow-up", 30),
    VisitType("procedure", "Procedure", 60),
)
DEFAULT_MIN_NOTICE_HOURS = 1
DEFAULT_HORIZON_DAYS = 28
MAX_HORIZON_DAYS = 366


@dataclass
class Doctor:
    account_id: int | None
    name: str
    specialty: str
    department_id: int | None
    email: str | None = None
    slot_minutes: int = 15  # the grid of the template in force today (kept for display)
    id: int | None = None
    visit_types: tuple[VisitType, ...] = ()  # none set: one visit is one slot of the grid
    min_notice_hours: int = DEFAULT_MIN_NOTICE_HOURS
    horizon_days: int = DEFAULT_HORIZON_DAYS

    def offered_types(self) -> tuple[VisitType, ...]:
        return self.visit_types or (VisitType("consultation", "Consultation", self.slot_minutes),)

    def visit_type(self, code: str | None) -> VisitType:
        """The visit type with this code; no code: the first (shortest) one."""
        if not code:
            return self.offered_types()[0]
        for vt in self.offered_types():
            if vt.code == code:
                return vt
        raise ValidationError("Please choose one of the doctor's visit types.")


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
class WeeklyTemplate:
    """A doctor's week from `effective_from` on (until a later template takes over): working ranges per
    weekday (several a day leave breaks) and the slot grid."""

    effective_from: date
    hours: tuple[WorkingHours, ...]
    slot_minutes: int

    def ranges_on(self, weekday: int) -> list[WorkingHours]:
        return sorted((h for h in self.hours if h.weekday == weekday), key=lambda h: h.start)


def template_on(templates: list[WeeklyTemplate], day: date) -> WeeklyTemplate | None:
    """The template in force on a local day: the latest that took effect on or before it."""
    best = None
    for t in templates:
        if t.effective_from <= day and (best is None or t.effective_from > best.effective_from):
            best = t
    return best


@dataclass(frozen=True)
class Leave:
    """Time a doctor is away (doctor_id set) or the whole hospital is closed (doctor_id None), in UTC."""

    doctor_id: int | None
    start: datetime
    end: datetime
    reason: str = ""
    id: int | None = None
    created_by: int | None = None

    def covers(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Slot:
    """A bookable interval of one doctor, in UTC."""

    doctor_id: int
    start: datetime
    end: datetime


#: how early a patient can check themselves in ("I'm here"); the front desk can mark arrival any time that day
SELF_CHECK_IN_OPENS = timedelta(minutes=60)


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
    visit_type: str = ""  # VisitType.code

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
        if self.status == AppointmentStatus.CANCELLED:
            raise ValidationError("This appointment was already cancelled or moved to another time.")
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
        self.cancel_reason = free_text(note, 500)
        self.cancelled_by = actor.account_id

    def move_to(
        self, new: AppointmentStatus, actor: Actor, now: datetime, local_today: date, local_day: date
    ) -> AppointmentStatus:
        """One step of the visit workflow (not cancellation, see cancel()); returns the old status.

        booked -> arrived (front desk or the patient checking in on the day) -> checked-in (the doctor starts
        the visit) -> fulfilled (the doctor finishes it); booked/arrived -> noshow once the start has passed;
        pending -> booked (staff confirm); any open state -> entered-in-error (staff). Terminal states stay
        terminal (see admin_reset). `local_today` and `local_day` (of the start) are in the hospital's zone."""
        old = self.status
        if old in TERMINAL_STATUSES:
            raise ValidationError(f"This appointment is {old.value}; that is final.")
        if new not in ALLOWED_TRANSITIONS.get(old, frozenset()):
            raise ValidationError(f"An appointment that is {old.value} cannot become {new.value}.")
        staff = actor.role == Role.ADMIN or (actor.role == Role.DOCTOR and actor.doctor_id == self.doctor_id)
        if actor.role == Role.DOCTOR and not staff:
            raise NotAllowed("You can only change appointments in your own schedule.")
        if actor.role == Role.PATIENT:
            if actor.patient_id != self.patient_id or new != AppointmentStatus.ARRIVED:
                raise NotAllowed("You can only check yourself in.")
            if local_today != local_day:
                raise ValidationError("You can check in on the day of your appointment.")
            if now < self.start - SELF_CHECK_IN_OPENS:
                opens = int(SELF_CHECK_IN_OPENS.total_seconds() // 60)
                raise ValidationError(
                    f"Check-in opens {opens} minutes before your appointment. Please check in when you are here."
                )
            if now >= self.end:
                raise ValidationError("This appointment is over; please speak to the front desk.")
        if new == AppointmentStatus.NOSHOW and now < self.start:
            raise ValidationError("A patient can only be marked as not attending once the start time has passed.")
        if new in (AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN, AppointmentStatus.FULFILLED) and (
            local_today < local_day
        ):
            raise ValidationError("This appointment is on a later day.")
        self.status = new
        return old

    def admin_reset(self, actor: Actor, to: AppointmentStatus, reason: str) -> AppointmentStatus:
        """The one way out of a terminal state: an admin, with a reason (the caller writes the audit event)."""
        if actor.role != Role.ADMIN:
            raise NotAllowed("Only an administrator can reset an appointment.")
        if self.status not in TERMINAL_STATUSES:
            raise ValidationError(f"This appointment is {self.status.value}; only final states need a reset.")
        if to not in (AppointmentStatus.BOOKED, AppointmentStatus.ARRIVED, AppointmentStatus.FULFILLED):
            raise ValidationError("An appointment can be reset to booked, arrived or fulfilled.")
        if to == self.status:
            raise ValidationError(f"This appointment is already {to.value}.")
        require_text(reason, "A reason for the reset", 500)
        old = self.status
        self.status = to
        if old == AppointmentStatus.CANCELLED:
            self.cancelled_at, self.cancel_code, self.cancel_reason, self.cancelled_by = None, "", "", None
        return old

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


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which record, when. Append-only."""

    at: datetime
    actor_account_id: int | None  # None: the system (e.g. the noshow job)
    actor_role: str
    action: str  # e.g. "appointment.reset", "leave.add"
    entity: str  # e.g. "appointment"
    entity_id: int | None
    patient_id: int | None = None
    detail: str = ""


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"  # took an offered time
    LEFT = "left"  # the patient left the list


class OfferStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the doctor stopped taking bookings while the time was held


@dataclass
class WaitlistEntry:
    """A patient waiting for a time with one doctor, or with any doctor of a department, within local days."""

    patient_id: int
    doctor_id: int | None
    department_id: int | None
    first_day: date
    last_day: date
    created_at: datetime
    status: WaitlistStatus = WaitlistStatus.WAITING
    note: str = ""
    id: int | None = None

    def wants(self, doctor_id: int, department_id: int | None, day: date) -> bool:
        if self.status != WaitlistStatus.WAITING or not self.first_day <= day <= self.last_day:
            return False
        if self.doctor_id is not None:
            return self.doctor_id == doctor_id
        return self.department_id is not None and self.department_id == department_id


@dataclass
class WaitlistOffer:
    """A freed time held for one waiting patient until `expires`."""

    entry_id: int
    patient_id: int
    doctor_id: int
    start: datetime
    end: datetime
    visit_type: str
    expires: datetime
    status: OfferStatus = OfferStatus.OPEN
    id: int | None = None

    def is_open(self, now: datetime) -> bool:
        return self.status == OfferStatus.OPEN and now < self.expires


# ---- Account administration: invites ------------------------------------------------------------------
DEFAULT_INVITE_HOURS = 72


@dataclass
class Invite:
    """An invite to set a password (a new doctor, an imported patient). The link carries the signed nonce;
    a newer invite for the same account revokes the older ones; using one sets `used_at`."""

    account_id: int
    nonce: str
    created_at: datetime
    expires_at: datetime
    created_by: int | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    id: int | None = None

    def is_open(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and now < self.expires_at

    def check_usable(self, now: datetime) -> None:
        if self.used_at is not None:
            raise ValidationError(
                "This invite link has already been used. Sign in with the password you chose, or ask the "
                "hospital for a new link."
            )
        if self.revoked_at is not None:
            raise ValidationError(
                "This invite link was replaced by a newer one. Please use the latest link the hospital gave you."
            )
        if now >= self.expires_at:
            raise ValidationError("This invite link has expired. Please ask the hospital for a new one.")
