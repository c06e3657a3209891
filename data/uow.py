"""Repositories and the unit of work over SQLModel. Rows are mapped to domain objects and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from data.tables import (
    AccountRow,
    AppointmentRow,
    DepartmentRow,
    DoctorRow,
    PatientRow,
    WorkingHoursRow,
)
from domain import ports
from domain.bus import MessageBus
from domain.errors import Conflict, SlotTaken
from domain.events import DomainEvent
from domain.model import (
    ACTIVE_STATUSES,
    Account,
    AccountStatus,
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    Patient,
    Role,
    WorkingHours,
    ensure_aware,
    fold_text,
    utcnow,
)
from domain.ports import UnitOfWork

_ACTIVE = [s.value for s in ACTIVE_STATUSES]


def _maybe_aware(moment: datetime | None) -> datetime | None:
    return ensure_aware(moment) if moment else None


# SQLite stores a datetime's wall time and drops its offset: write (and compare) UTC only, or 09:00+02:00
# would come back as 09:00 UTC.
_utc = ensure_aware
_maybe_utc = _maybe_aware


class _Repo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _flush(self, row: Any) -> None:
        self.s.add(row)
        self.s.flush()


class AccountRepo(_Repo):
    @staticmethod
    def _to(row: AccountRow) -> Account:
        return Account(
            id=row.id,
            email=row.email,
            role=Role(row.role),
            display_name=row.display_name,
            password_hash=row.password_hash,
            status=AccountStatus(row.status),
        )

    def get(self, account_id: int) -> Account | None:
        row = self.s.get(AccountRow, account_id)
        return self._to(row) if row else None

    def by_email(self, email: str) -> Account | None:
        row = self.s.exec(select(AccountRow).where(AccountRow.email == email)).first()
        return self._to(row) if row else None

    def add(self, account: Account) -> Account:
        row = AccountRow(
            email=account.email,
            role=account.role.value,
            display_name=account.display_name,
            password_hash=account.password_hash,
            status=account.status.value,
            created_at=utcnow(),
        )
        try:
            self._flush(row)
        except IntegrityError:
            raise Conflict("An account with this email already exists.") from None
        account.id = row.id
        return account

    def save(self, account: Account) -> None:
        row = self.s.get(AccountRow, account.id)
        assert row is not None
        row.email, row.display_name = account.email, account.display_name
        row.password_hash, row.status = account.password_hash, account.status.value
        self._flush(row)


class DepartmentRepo(_Repo):
    @staticmethod
    def _to(row: DepartmentRow) -> Department:
        return Department(id=row.id, name=row.name, description=row.description)

    def get(self, department_id: int) -> Department | None:
        row = self.s.get(DepartmentRow, department_id)
        return self._to(row) if row else None

    def by_name(self, name: str) -> Department | None:
        """Names match case- and accent-insensitively ('Ärzte' = 'ÄRZTE' = 'arzte'); departments are few."""
        wanted = fold_text(name)
        for row in self.s.exec(select(DepartmentRow)).all():
            if fold_text(row.name) == wanted:
                return self._to(row)
        return None

    def add(self, department: Department) -> Department:
        row = DepartmentRow(name=department.name, description=department.description)
        try:
            self._flush(row)
        except IntegrityError:
            raise Conflict(f"A department called “{department.name}” already exists.") from None
        department.id = row.id
        return department

    def save(self, department: Department) -> None:
        row = self.s.get(DepartmentRow, department.id)
        assert row is not None
        row.name, row.description = department.name, department.description
        try:
            self._flush(row)
        except IntegrityError:
            raise Conflict(f"A department called “{department.name}” already exists.") from None


class DoctorRepo(_Repo):
    @staticmethod
    def _to(row: DoctorRow) -> Doctor:
        return Doctor(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            specialty=row.specialty,
            department_id=row.department_id,
            email=row.email,
            slot_minutes=row.slot_minutes,
        )

    def get(self, doctor_id: int) -> Doctor | None:
        row = self.s.get(DoctorRow, doctor_id)
        return self._to(row) if row else None

    def by_account(self, account_id: int) -> Doctor | None:
        row = self.s.exec(select(DoctorRow).where(DoctorRow.account_id == account_id)).first()
        return self._to(row) if row else None

    def add(self, doctor: Doctor) -> Doctor:
        row = DoctorRow(
            account_id=doctor.account_id,
            name=doctor.name,
            specialty=doctor.specialty,
            department_id=doctor.department_id,
            email=doctor.email,
            slot_minutes=doctor.slot_minutes,
        )
        self._flush(row)
        doctor.id = row.id
        return doctor

    def save(self, doctor: Doctor) -> None:
        row = self.s.get(DoctorRow, doctor.id)
        assert row is not None
        row.name, row.specialty, row.department_id = doctor.name, doctor.specialty, doctor.department_id
        row.email, row.slot_minutes = doctor.email, doctor.slot_minutes
        self._flush(row)

    def hours(self, doctor_id: int) -> list[WorkingHours]:
        rows = self.s.exec(
            select(WorkingHoursRow)
            .where(WorkingHoursRow.doctor_id == doctor_id)
            .order_by(WorkingHoursRow.weekday, WorkingHoursRow.start_time)  # type: ignore[arg-type]
        ).all()
        return [WorkingHours(r.weekday, r.start_time, r.end_time) for r in rows]

    def set_hours(self, doctor_id: int, hours: list[WorkingHours]) -> None:
        self.s.exec(sa.delete(WorkingHoursRow).where(WorkingHoursRow.doctor_id == doctor_id))  # type: ignore[call-overload,arg-type]
        for h in hours:
            self.s.add(WorkingHoursRow(doctor_id=doctor_id, weekday=h.weekday, start_time=h.start, end_time=h.end))
        self.s.flush()


class PatientRepo(_Repo):
    @staticmethod
    def _to(row: PatientRow) -> Patient:
        return Patient(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            birth_date=row.birth_date,
            email=row.email,
            gender=row.gender,
            phone=row.phone,
        )

    def get(self, patient_id: int) -> Patient | None:
        row = self.s.get(PatientRow, patient_id)
        return self._to(row) if row else None

    def by_account(self, account_id: int) -> Patient | None:
        row = self.s.exec(select(PatientRow).where(PatientRow.account_id == account_id)).first()
        return self._to(row) if row else None

    def add(self, patient: Patient) -> Patient:
        row = PatientRow(
            account_id=patient.account_id,
            name=patient.name,
            birth_date=patient.birth_date,
            email=patient.email,
            gender=patient.gender,
            phone=patient.phone,
        )
        self._flush(row)
        patient.id = row.id
        return patient


class AppointmentRepo(_Repo):
    @staticmethod
    def _to(row: AppointmentRow) -> Appointment:
        return Appointment(
            id=row.id,
            doctor_id=row.doctor_id,
            patient_id=row.patient_id,
            start=ensure_aware(row.start_at),
            end=ensure_aware(row.end_at),
            status=AppointmentStatus(row.status),
            reason=row.reason,
            created_at=ensure_aware(row.created_at),
            cancelled_at=_maybe_aware(row.cancelled_at),
            cancel_reason=row.cancel_reason,
            cancel_code=row.cancel_code,
            cancelled_by=row.cancelled_by_id,
            rescheduled_from=row.rescheduled_from_id,
        )

    def get(self, appointment_id: int, for_update: bool = False) -> Appointment | None:
        if for_update:  # Postgres: a row lock, so a concurrent change waits and then sees this one's result
            query = select(AppointmentRow).where(AppointmentRow.id == appointment_id).with_for_update()
            row = self.s.exec(query.execution_options(populate_existing=True)).first()
        else:
            row = self.s.get(AppointmentRow, appointment_id)
        return self._to(row) if row else None

    def add(self, appointment: Appointment) -> Appointment:
        row = AppointmentRow(
            doctor_id=appointment.doctor_id,
            patient_id=appointment.patient_id,
            start_at=_utc(appointment.start),
            end_at=_utc(appointment.end),
            status=appointment.status.value,
            reason=appointment.reason,
            created_at=_utc(appointment.created_at),
            rescheduled_from_id=appointment.rescheduled_from,
        )
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise SlotTaken() from None
        appointment.id = row.id
        return appointment

    def save(self, appointment: Appointment) -> None:
        row = self.s.get(AppointmentRow, appointment.id)
        assert row is not None
        row.status = appointment.status.value
        row.start_at, row.end_at = _utc(appointment.start), _utc(appointment.end)
        row.cancelled_at, row.cancel_reason = _maybe_utc(appointment.cancelled_at), appointment.cancel_reason
        row.cancel_code, row.cancelled_by_id = appointment.cancel_code, appointment.cancelled_by
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise SlotTaken() from None

    def _active(self, column: Any, key: int, start: datetime, end: datetime) -> list[Appointment]:
        rows = self.s.exec(
            select(AppointmentRow).where(
                column == key,
                AppointmentRow.status.in_(_ACTIVE),  # type: ignore[attr-defined]
                AppointmentRow.start_at < _utc(end),  # type: ignore[operator]
                AppointmentRow.end_at > _utc(start),  # type: ignore[operator]
            )
        ).all()
        return [self._to(r) for r in rows]

    def active_for_patient(self, patient_id: int, start: datetime, end: datetime) -> list[Appointment]:
        return self._active(AppointmentRow.patient_id, patient_id, start, end)

    def active_for_doctor(self, doctor_id: int, start: datetime, end: datetime) -> list[Appointment]:
        return self._active(AppointmentRow.doctor_id, doctor_id, start, end)


class SqlUnitOfWork:
    def __init__(self, engine: Engine, bus: MessageBus | None = None) -> None:
        self._engine = engine
        self._bus = bus
        self._events: list[DomainEvent] = []

    accounts: ports.AccountRepo
    departments: ports.DepartmentRepo
    doctors: ports.DoctorRepo
    patients: ports.PatientRepo
    appointments: ports.AppointmentRepo

    def __enter__(self) -> Self:
        self.session = Session(self._engine, expire_on_commit=False)
        self.accounts = AccountRepo(self.session)
        self.departments = DepartmentRepo(self.session)
        self.doctors = DoctorRepo(self.session)
        self.patients = PatientRepo(self.session)
        self.appointments = AppointmentRepo(self.session)
        self._events = []
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.rollback()  # no-op after a commit; discards anything uncommitted
        self.session.close()
        self._events = []

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def commit(self) -> None:
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()
            self._events = []
            raise Conflict("This clashes with a change somebody else just made. Please try again.") from None
        published, self._events = self._events, []
        if self._bus is not None:
            self._bus.publish(published)

    def lock_for_booking(self, doctor_id: int, patient_id: int) -> None:
        if self._engine.dialect.name == "postgresql":
            # doctor first, then patient: one order for everybody, so no deadlocks
            self.session.exec(sa.select(sa.func.pg_advisory_xact_lock(1, doctor_id)))  # type: ignore[call-overload]
            self.session.exec(sa.select(sa.func.pg_advisory_xact_lock(2, patient_id)))  # type: ignore[call-overload]
        # SQLite: the transaction began with BEGIN IMMEDIATE and already serialises writers.


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine, bus: MessageBus | None = None) -> None:
        self.engine = engine
        self.bus = bus
        self._readonly_engine = engine.execution_options(readonly=True)

    def __call__(self, readonly: bool = False) -> UnitOfWork:
        if readonly:
            return SqlUnitOfWork(self._readonly_engine, None)
        return SqlUnitOfWork(self.engine, self.bus)
