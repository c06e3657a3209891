"""Hand-written fakes of the domain ports (domain/ports.py) for service-level tests.

FakeStore holds the committed state. Each FakeUnitOfWork works on a private copy of it: repositories hand
out copies (a change is stored only through save()), commit() replaces the store's state and then publishes the
recorded events on the store's MessageBus; leaving without commit() discards everything, like a rollback.
Writing units of work are serialised (one at a time, like SQLite's BEGIN IMMEDIATE), so services can be called
from several threads at once without one commit silently overwriting another; read-only ones run beside them.
Like the real partial unique index, the appointment repository refuses a second active appointment for the
same doctor and start with SlotTaken.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from data.security import InviteTokens
from domain import ports
from domain.bus import MessageBus
from domain.clinical import CARE_RELATIONSHIP_STATUSES, Visit
from domain.errors import Conflict, SlotTaken
from domain.events import DomainEvent
from domain.model import (
    HOLDS_TIME,
    Account,
    AccountStatus,
    Actor,
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Department,
    Doctor,
    Invite,
    Leave,
    OfferStatus,
    Patient,
    Role,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    WeeklyTemplate,
    WorkingHours,
)
from domain.services import Services

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Tables:
    accounts: dict[int, Account] = field(default_factory=dict)
    departments: dict[int, Department] = field(default_factory=dict)
    doctors: dict[int, Doctor] = field(default_factory=dict)
    patients: dict[int, Patient] = field(default_factory=dict)
    appointments: dict[int, Appointment] = field(default_factory=dict)
    templates: dict[int, list[WeeklyTemplate]] = field(default_factory=dict)
    leaves: dict[int, Leave] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    waitlist: dict[int, WaitlistEntry] = field(default_factory=dict)
    offers: dict[int, WaitlistOffer] = field(default_factory=dict)
    invites: dict[int, Invite] = field(default_factory=dict)
    visits: dict[int, Visit] = field(default_factory=dict)
    imported_encounters: list[tuple[int, int]] = field(default_factory=list)  # (doctor, patient)
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class FakeAccountRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get(self, account_id: int) -> Account | None:
        return copy.deepcopy(self.t.accounts.get(account_id))

    def by_email(self, email: str) -> Account | None:
        found = next((a for a in self.t.accounts.values() if a.email == email), None)
        return copy.deepcopy(found)

    def add(self, account: Account) -> Account:
        if account.email is not None and self.by_email(account.email) is not None:
            raise Conflict("An account with this email already exists.")
        account.id = self.t.next_id()
        self.t.accounts[account.id] = copy.deepcopy(account)
        return account

    def save(self, account: Account) -> None:
        assert account.id in self.t.accounts
        self.t.accounts[account.id] = copy.deepcopy(account)


class FakeDepartmentRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get(self, department_id: int) -> Department | None:
        return copy.deepcopy(self.t.departments.get(department_id))

    def by_name(self, name: str) -> Department | None:
        found = next((d for d in self.t.departments.values() if d.name.lower() == name.lower()), None)
        return copy.deepcopy(found)

    def add(self, department: Department) -> Department:
        department.id = self.t.next_id()
        self.t.departments[department.id] = copy.deepcopy(department)
        return department

    def save(self, department: Department) -> None:
        assert department.id in self.t.departments
        self.t.departments[department.id] = copy.deepcopy(department)

    def remove(self, department_id: int) -> None:
        if any(d.department_id == department_id for d in self.t.doctors.values()):
            raise Conflict("the database refuses: doctors still point at this department")  # the foreign key
        self.t.departments.pop(department_id, None)


class FakeDoctorRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get(self, doctor_id: int) -> Doctor | None:
        return copy.deepcopy(self.t.doctors.get(doctor_id))

    def by_account(self, account_id: int) -> Doctor | None:
        return copy.deepcopy(next((d for d in self.t.doctors.values() if d.account_id == account_id), None))

    def add(self, doctor: Doctor) -> Doctor:
        doctor.id = self.t.next_id()
        self.t.doctors[doctor.id] = copy.deepcopy(doctor)
        return doctor

    def save(self, doctor: Doctor) -> None:
        assert doctor.id in self.t.doctors
        self.t.doctors[doctor.id] = copy.deepcopy(doctor)

    def in_department(self, department_id: int) -> list[Doctor]:
        """Like the real one: only doctors with an active sign-in account (bookable)."""
        return [
            copy.deepcopy(d)
            for d in self.t.doctors.values()
            if d.department_id == department_id
            and d.account_id is not None
            and (account := self.t.accounts.get(d.account_id)) is not None
            and account.status == AccountStatus.ACTIVE
        ]

    def count_in_department(self, department_id: int) -> int:
        return sum(1 for d in self.t.doctors.values() if d.department_id == department_id)

    def templates(self, doctor_id: int) -> list[WeeklyTemplate]:
        return sorted(self.t.templates.get(doctor_id, []), key=lambda t: t.effective_from)

    def save_template(self, doctor_id: int, template: WeeklyTemplate) -> None:
        kept = [t for t in self.t.templates.get(doctor_id, []) if t.effective_from < template.effective_from]
        self.t.templates[doctor_id] = [*kept, template]


class FakePatientRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def get(self, patient_id: int) -> Patient | None:
        return copy.deepcopy(self.t.patients.get(patient_id))

    def by_account(self, account_id: int) -> Patient | None:
        return copy.deepcopy(next((p for p in self.t.patients.values() if p.account_id == account_id), None))

    def add(self, patient: Patient) -> Patient:
        patient.id = self.t.next_id()
        self.t.patients[patient.id] = copy.deepcopy(patient)
        return patient

    def save(self, patient: Patient) -> None:
        assert patient.id in self.t.patients
        self.t.patients[patient.id] = copy.deepcopy(patient)


class FakeAppointmentRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def _check_slot_free(self, appointment: Appointment) -> None:
        """What the partial unique index on (doctor_id, start_at) for active statuses does."""
        if not appointment.is_active:
            return
        for other in self.t.appointments.values():
            if (
                other.id != appointment.id
                and other.is_active
                and other.doctor_id == appointment.doctor_id
                and other.start == appointment.start
            ):
                raise SlotTaken()

    def get(self, appointment_id: int, for_update: bool = False) -> Appointment | None:
        return copy.deepcopy(self.t.appointments.get(appointment_id))

    def add(self, appointment: Appointment) -> Appointment:
        self._check_slot_free(appointment)
        appointment.id = self.t.next_id()
        self.t.appointments[appointment.id] = copy.deepcopy(appointment)
        return appointment

    def save(self, appointment: Appointment) -> None:
        assert appointment.id in self.t.appointments
        self._check_slot_free(appointment)
        self.t.appointments[appointment.id] = copy.deepcopy(appointment)

    def active_for_patient(self, patient_id: int, start: datetime, end: datetime) -> list[Appointment]:
        return [
            copy.deepcopy(a)
            for a in self.t.appointments.values()
            if a.patient_id == patient_id and a.is_active and a.overlaps(start, end)
        ]

    def active_for_doctor(
        self, doctor_id: int, start: datetime, end: datetime, seen: bool = False
    ) -> list[Appointment]:
        return [
            copy.deepcopy(a)
            for a in self.t.appointments.values()
            if a.doctor_id == doctor_id and (a.status in HOLDS_TIME if seen else a.is_active) and a.overlaps(start, end)
        ]

    def active_between(self, start: datetime, end: datetime) -> list[Appointment]:
        return [copy.deepcopy(a) for a in self.t.appointments.values() if a.is_active and a.overlaps(start, end)]

    def booked_ending_before(self, moment: datetime, limit: int) -> list[Appointment]:
        due = [a for a in self.t.appointments.values() if a.status == AppointmentStatus.BOOKED and a.end < moment]
        return [copy.deepcopy(a) for a in sorted(due, key=lambda a: a.end)[:limit]]

    def count_active_on(self, doctor_id: int, start: datetime, end: datetime) -> int:
        return len(self.active_for_doctor(doctor_id, start, end))


class FakeLeaveRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, leave: Leave) -> Leave:
        stored = Leave(leave.doctor_id, leave.start, leave.end, leave.reason, self.t.next_id(), leave.created_by)
        assert stored.id is not None
        self.t.leaves[stored.id] = stored
        return stored

    def get(self, leave_id: int) -> Leave | None:
        return self.t.leaves.get(leave_id)

    def remove(self, leave_id: int) -> None:
        self.t.leaves.pop(leave_id, None)

    def overlapping(self, doctor_id: int | None, start: datetime, end: datetime) -> list[Leave]:
        return [
            leave
            for leave in self.t.leaves.values()
            if (leave.doctor_id is None or leave.doctor_id == doctor_id) and leave.covers(start, end)
        ]


class FakeAuditRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, event: AuditEvent) -> None:
        self.t.audit.append(event)


class FakeWaitlistRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, entry: WaitlistEntry) -> WaitlistEntry:
        entry.id = self.t.next_id()
        self.t.waitlist[entry.id] = copy.deepcopy(entry)
        return entry

    def get(self, entry_id: int) -> WaitlistEntry | None:
        return copy.deepcopy(self.t.waitlist.get(entry_id))

    def save(self, entry: WaitlistEntry) -> None:
        assert entry.id in self.t.waitlist
        self.t.waitlist[entry.id] = copy.deepcopy(entry)

    def waiting_for(self, patient_id: int) -> list[WaitlistEntry]:
        return [
            copy.deepcopy(e)
            for e in self.t.waitlist.values()
            if e.patient_id == patient_id and e.status == WaitlistStatus.WAITING
        ]

    def candidates(self, doctor_id: int, department_id: int | None, day: date) -> list[WaitlistEntry]:
        found = [e for e in self.t.waitlist.values() if e.wants(doctor_id, department_id, day)]
        return [copy.deepcopy(e) for e in sorted(found, key=lambda e: (e.created_at, e.id or 0))]

    def add_offer(self, offer: WaitlistOffer) -> WaitlistOffer:
        offer.id = self.t.next_id()
        self.t.offers[offer.id] = copy.deepcopy(offer)
        return offer

    def get_offer(self, offer_id: int) -> WaitlistOffer | None:
        return copy.deepcopy(self.t.offers.get(offer_id))

    def save_offer(self, offer: WaitlistOffer) -> None:
        assert offer.id in self.t.offers
        self.t.offers[offer.id] = copy.deepcopy(offer)

    def open_offers(self, doctor_id: int, start: datetime, end: datetime, now: datetime) -> list[WaitlistOffer]:
        return [
            copy.deepcopy(o)
            for o in self.t.offers.values()
            if o.doctor_id == doctor_id and o.is_open(now) and o.start < end and start < o.end
        ]

    def offers_of(self, doctor_id: int, start: datetime) -> list[WaitlistOffer]:
        return [copy.deepcopy(o) for o in self.t.offers.values() if o.doctor_id == doctor_id and o.start == start]

    def expired_offers(self, now: datetime) -> list[WaitlistOffer]:
        return [copy.deepcopy(o) for o in self.t.offers.values() if o.status == OfferStatus.OPEN and o.expires <= now]

    def open_offers_of(self, doctor_id: int, now: datetime) -> list[WaitlistOffer]:
        return [copy.deepcopy(o) for o in self.t.offers.values() if o.doctor_id == doctor_id and o.is_open(now)]

    def close_for_doctor(self, doctor_id: int) -> list[WaitlistEntry]:
        ended = []
        for entry in self.t.waitlist.values():
            if entry.doctor_id == doctor_id and entry.status == WaitlistStatus.WAITING:
                entry.status = WaitlistStatus.LEFT
                ended.append(copy.deepcopy(entry))
        return ended

    def close_for_department(self, department_id: int) -> list[WaitlistEntry]:
        ended = []
        for entry in self.t.waitlist.values():
            if entry.department_id == department_id:
                if entry.status == WaitlistStatus.WAITING:
                    entry.status = WaitlistStatus.LEFT
                    ended.append(copy.deepcopy(entry))
                entry.department_id = None
        return ended


class FakeInviteRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def add(self, invite: Invite) -> Invite:
        if any(i.nonce == invite.nonce for i in self.t.invites.values()):
            raise Conflict("duplicate nonce")  # the unique constraint
        invite.id = self.t.next_id()
        self.t.invites[invite.id] = copy.deepcopy(invite)
        return invite

    def by_nonce(self, nonce: str, for_update: bool = False) -> Invite | None:
        return copy.deepcopy(next((i for i in self.t.invites.values() if i.nonce == nonce), None))

    def open_for(self, account_id: int, now: datetime) -> list[Invite]:
        return [copy.deepcopy(i) for i in self.t.invites.values() if i.account_id == account_id and i.is_open(now)]

    def save(self, invite: Invite) -> None:
        assert invite.id in self.t.invites
        self.t.invites[invite.id] = copy.deepcopy(invite)


class FakeClinicalRepo:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def visit_for_appointment(self, appointment_id: int, for_update: bool = False) -> Visit | None:
        found = next((v for v in self.t.visits.values() if v.appointment_id == appointment_id), None)
        return copy.deepcopy(found)

    def get_visit(self, visit_id: int) -> Visit | None:
        return copy.deepcopy(self.t.visits.get(visit_id))

    def add_visit(self, visit: Visit) -> Visit:
        if any(v.appointment_id == visit.appointment_id for v in self.t.visits.values()):
            raise Conflict("A record for this visit was just started elsewhere. Please reload the page.")
        visit.id = self.t.next_id()
        self.t.visits[visit.id] = copy.deepcopy(visit)
        return visit

    def save_visit(self, visit: Visit) -> None:
        assert visit.id in self.t.visits
        if self.t.visits[visit.id].version != visit.version - 1:
            raise Conflict("This record was changed elsewhere in the meantime. Please reload the page.")
        self.t.visits[visit.id] = copy.deepcopy(visit)

    def has_relationship(self, doctor_id: int, patient_id: int) -> bool:
        """As data.clinical_repo: an appointment not cancelled nor entered in error, or an encounter."""
        return (
            (doctor_id, patient_id) in self.t.imported_encounters
            or any(v.doctor_id == doctor_id and v.patient_id == patient_id for v in self.t.visits.values())
            or any(
                a.doctor_id == doctor_id and a.patient_id == patient_id and a.status in CARE_RELATIONSHIP_STATUSES
                for a in self.t.appointments.values()
            )
        )


class FakeStore:
    """The committed state, the bus, and knobs for tests."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.bus = MessageBus()
        self.published: list[DomainEvent] = []
        self.bus.subscribe(self.published.append)
        self.commits = 0
        self.fail_next_commit: Exception | None = None
        self.booking_locks: list[tuple[list[int], int | None]] = []
        self.write_lock = threading.RLock()  # one writing unit of work at a time

    # ---- seeding (committed directly) -----------------------------------------------------
    def add_account(
        self,
        email: str | None,
        role: Role,
        password_hash: str | None = None,
        status: AccountStatus = AccountStatus.ACTIVE,
        name: str = "Someone",
    ) -> Account:
        account = Account(email=email, role=role, display_name=name, password_hash=password_hash, status=status)
        return FakeAccountRepo(self.tables).add(account)

    def add_doctor(
        self,
        name: str,
        hours: list[WorkingHours],
        slot_minutes: int = 30,
        department_id: int | None = None,
        visit_types: tuple[VisitType, ...] | None = None,
        min_notice_hours: int = 0,
    ) -> tuple[Doctor, Actor]:
        """A doctor whose template (in force since 2000) has these hours; by default one visit type as long
        as the grid, and no minimum notice."""
        account = self.add_account(f"{name.lower().replace(' ', '.')}@hospital.test", Role.DOCTOR, "x", name=name)
        types = visit_types or (VisitType("consultation", "Consultation", slot_minutes),)
        doctor = FakeDoctorRepo(self.tables).add(
            Doctor(
                account.id,
                name,
                "General medicine",
                department_id,
                account.email,
                slot_minutes,
                visit_types=types,
                min_notice_hours=min_notice_hours,
            )
        )
        assert account.id is not None and doctor.id is not None
        self.tables.templates[doctor.id] = [WeeklyTemplate(date(2000, 1, 1), tuple(hours), slot_minutes)]
        return doctor, Actor(account.id, Role.DOCTOR, doctor_id=doctor.id)

    def add_department(self, name: str) -> Department:
        return FakeDepartmentRepo(self.tables).add(Department(name))

    def add_patient(self, name: str) -> tuple[Patient, Actor]:
        account = self.add_account(f"{name.lower().replace(' ', '.')}@mail.test", Role.PATIENT, "x", name=name)
        patient = FakePatientRepo(self.tables).add(Patient(account.id, name, date(1980, 4, 23), account.email))
        assert account.id is not None and patient.id is not None
        return patient, Actor(account.id, Role.PATIENT, patient_id=patient.id)

    def add_admin(self) -> Actor:
        account = self.add_account("admin@hospital.test", Role.ADMIN, "x", name="Admin")
        assert account.id is not None
        return Actor(account.id, Role.ADMIN)

    # ---- reading the committed state -------------------------------------------------------
    def appointments(self) -> list[Appointment]:
        return list(self.tables.appointments.values())

    def active_appointments(self) -> list[Appointment]:
        return [a for a in self.tables.appointments.values() if a.is_active]


class FakeUnitOfWork:
    accounts: ports.AccountRepo
    departments: ports.DepartmentRepo
    doctors: ports.DoctorRepo
    patients: ports.PatientRepo
    appointments: ports.AppointmentRepo
    leaves: ports.LeaveRepo
    audit: ports.AuditRepo
    waitlist: ports.WaitlistRepo
    invites: ports.InviteRepo
    clinical: ports.ClinicalRepo

    def __init__(self, store: FakeStore, readonly: bool = False) -> None:
        self.store = store
        self.readonly = readonly
        self._events: list[DomainEvent] = []

    def _open(self, tables: Tables) -> None:
        self._work = tables
        self.accounts = FakeAccountRepo(tables)
        self.departments = FakeDepartmentRepo(tables)
        self.doctors = FakeDoctorRepo(tables)
        self.patients = FakePatientRepo(tables)
        self.appointments = FakeAppointmentRepo(tables)
        self.leaves = FakeLeaveRepo(tables)
        self.audit = FakeAuditRepo(tables)
        self.waitlist = FakeWaitlistRepo(tables)
        self.invites = FakeInviteRepo(tables)
        self.clinical = FakeClinicalRepo(tables)

    def __enter__(self) -> Self:
        if not self.readonly:
            self.store.write_lock.acquire()
        try:
            self._open(copy.deepcopy(self.store.tables))
        except BaseException:
            if not self.readonly:
                self.store.write_lock.release()
            raise
        self._events = []
        return self

    def __exit__(self, *exc: object) -> None:
        self._events = []  # uncommitted work is simply dropped
        if not self.readonly:
            self.store.write_lock.release()

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def commit(self) -> None:
        failure, self.store.fail_next_commit = self.store.fail_next_commit, None
        if failure is not None:
            self._events = []
            raise failure
        self.store.tables = copy.deepcopy(self._work)
        self.store.commits += 1
        published, self._events = self._events, []
        self.store.bus.publish(published)

    def lock_hospital(self) -> None:
        self.store.booking_locks.append(([], None))

    def lock_for_booking(self, doctor_ids: list[int], patient_id: int | None) -> None:
        self.store.booking_locks.append((sorted(doctor_ids), patient_id))


class FakeUnitOfWorkFactory:
    def __init__(self, store: FakeStore) -> None:
        self.store = store

    def __call__(self, readonly: bool = False) -> ports.UnitOfWork:
        return FakeUnitOfWork(self.store, readonly)


class FakeHasher:
    """Deterministic and fast; never stores the password itself."""

    def __init__(self) -> None:
        self.verified = 0

    def hash(self, password: str) -> str:
        return "fake$" + "".join(reversed(password)) + "$"

    def verify(self, password: str, hashed: str) -> bool:
        self.verified += 1
        return hashed == self.hash(password)


class FixedClock:
    def __init__(self, now: datetime, tz: ZoneInfo = BERLIN) -> None:
        assert now.tzinfo is not None, "use aware UTC datetimes"
        self._now = now
        self.tz = tz

    def now(self) -> datetime:
        return self._now

    def today(self) -> date:
        return self._now.astimezone(self.tz).date()

    def set(self, now: datetime) -> None:
        self._now = now


INVITE_SECRET = "test-invite-secret-0123456789"  # noqa: S105 - tests only


def make_services(store: FakeStore, clock: FixedClock, hasher: FakeHasher | None = None) -> Services:
    """Invite links are signed for real (data/security.py), on the test's clock, valid 72 hours."""
    return Services(
        uow=FakeUnitOfWorkFactory(store),
        hasher=hasher or FakeHasher(),
        clock=clock,
        tz=clock.tz,
        invite_tokens=InviteTokens(INVITE_SECRET, timedelta(hours=72), now=clock.now),
        invite_ttl=timedelta(hours=72),
    )


def weekdays(start: time, end: time, days: range = range(5)) -> list[WorkingHours]:
    """The same working range on each of the given weekdays (default Monday to Friday)."""
    return [WorkingHours(day, start, end) for day in days]


# the fakes satisfy the ports (checked by mypy)
_hasher_check: ports.PasswordHasher = FakeHasher()
_clock_check: ports.Clock = FixedClock(datetime(2026, 1, 1, tzinfo=BERLIN))
_uow_check: ports.UnitOfWork = FakeUnitOfWork(FakeStore())
_factory_check: ports.UnitOfWorkFactory = FakeUnitOfWorkFactory(FakeStore())
