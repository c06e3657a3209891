"""Repositories and the unit of work over SQLModel. Rows are mapped to domain objects and back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from data.clinical_repo import ClinicalRepo
from data.tables import (
    AccountRow,
    AppointmentRow,
    AuditEventRow,
    DepartmentRow,
    DoctorRow,
    InviteRow,
    LeaveRow,
    PatientRow,
    ScheduleTemplateRow,
    WaitlistEntryRow,
    WaitlistOfferRow,
    WorkingHoursRow,
)
from domain import ports
from domain.bus import MessageBus
from domain.errors import Conflict, SlotTaken
from domain.events import DomainEvent
from domain.model import (
    ACTIVE_STATUSES,
    HOLDS_TIME,
    Account,
    AccountStatus,
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
    ensure_aware,
    fold_text,
    utcnow,
)
from domain.ports import UnitOfWork

_ACTIVE = [s.value for s in ACTIVE_STATUSES]
_HOLDS_TIME = [s.value for s in HOLDS_TIME]


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
            status_reason=row.status_reason,
            status_changed_at=_maybe_aware(row.status_changed_at),
        )

    def get(self, account_id: int) -> Account | None:
        # always read from the database: a status re-checked after taking a lock must not come from the
        # session's cache of an earlier read
        row = self.s.get(AccountRow, account_id, populate_existing=True)
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
            status_reason=account.status_reason,
            status_changed_at=_maybe_utc(account.status_changed_at),
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
        row.status_reason, row.status_changed_at = account.status_reason, _maybe_utc(account.status_changed_at)
        try:
            with self.s.begin_nested():
                self._flush(row)
        except IntegrityError:
            raise Conflict("Another account already uses this email address.") from None


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

    def remove(self, department_id: int) -> None:
        self.s.exec(sa.delete(DepartmentRow).where(DepartmentRow.id == department_id))  # type: ignore[call-overload]
        self.s.flush()


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
            visit_types=tuple(VisitType(t["code"], t["name"], int(t["minutes"])) for t in row.visit_types)
            if row.visit_types
            else (),
            min_notice_hours=row.min_notice_hours,
            horizon_days=row.horizon_days,
        )

    @staticmethod
    def _types(doctor: Doctor) -> list[dict[str, Any]]:
        return [{"code": t.code, "name": t.name, "minutes": t.minutes} for t in doctor.visit_types]

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
            visit_types=self._types(doctor),
            min_notice_hours=doctor.min_notice_hours,
            horizon_days=doctor.horizon_days,
        )
        self._flush(row)
        doctor.id = row.id
        return doctor

    def save(self, doctor: Doctor) -> None:
        row = self.s.get(DoctorRow, doctor.id)
        assert row is not None
        row.name, row.specialty, row.department_id = doctor.name, doctor.specialty, doctor.department_id
        row.email, row.slot_minutes = doctor.email, doctor.slot_minutes
        row.visit_types = self._types(doctor)
        row.min_notice_hours, row.horizon_days = doctor.min_notice_hours, doctor.horizon_days
        self._flush(row)

    def in_department(self, department_id: int) -> list[Doctor]:
        """The department's doctors who can be booked: with a sign-in account that is active."""
        rows = self.s.exec(
            select(DoctorRow)
            .join(AccountRow, AccountRow.id == DoctorRow.account_id)
            .where(DoctorRow.department_id == department_id, AccountRow.status == AccountStatus.ACTIVE.value)
            .order_by(DoctorRow.id)
        ).all()
        return [self._to(r) for r in rows]

    def count_in_department(self, department_id: int) -> int:
        query = sa.select(sa.func.count()).select_from(DoctorRow).where(DoctorRow.department_id == department_id)
        return int(self.s.exec(query).one()[0])  # type: ignore[call-overload]

    def templates(self, doctor_id: int) -> list[WeeklyTemplate]:
        templates = self.s.exec(
            select(ScheduleTemplateRow)
            .where(ScheduleTemplateRow.doctor_id == doctor_id)
            .order_by(ScheduleTemplateRow.effective_from)
        ).all()
        hours = self.s.exec(
            select(WorkingHoursRow)
            .where(WorkingHoursRow.doctor_id == doctor_id)
            .order_by(WorkingHoursRow.weekday, WorkingHoursRow.start_time)
        ).all()
        by_template: dict[int | None, list[WorkingHours]] = {}
        for h in hours:
            by_template.setdefault(h.template_id, []).append(WorkingHours(h.weekday, h.start_time, h.end_time))
        return [WeeklyTemplate(t.effective_from, tuple(by_template.get(t.id, [])), t.slot_minutes) for t in templates]

    def save_template(self, doctor_id: int, template: WeeklyTemplate) -> None:
        later = self.s.exec(
            select(ScheduleTemplateRow.id).where(
                ScheduleTemplateRow.doctor_id == doctor_id,
                ScheduleTemplateRow.effective_from >= template.effective_from,
            )
        ).all()
        if later:
            self.s.exec(sa.delete(WorkingHoursRow).where(WorkingHoursRow.template_id.in_(later)))
            self.s.exec(sa.delete(ScheduleTemplateRow).where(ScheduleTemplateRow.id.in_(later)))
        row = ScheduleTemplateRow(
            doctor_id=doctor_id, effective_from=template.effective_from, slot_minutes=template.slot_minutes
        )
        self._flush(row)
        for h in template.hours:
            self.s.add(
                WorkingHoursRow(
                    doctor_id=doctor_id, template_id=row.id, weekday=h.weekday, start_time=h.start, end_time=h.end
                )
            )
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

    def save(self, patient: Patient) -> None:
        row = self.s.get(PatientRow, patient.id)
        assert row is not None
        row.account_id, row.name, row.email = patient.account_id, patient.name, patient.email
        row.birth_date, row.gender, row.phone = patient.birth_date, patient.gender, patient.phone
        self._flush(row)


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
            visit_type=row.visit_type,
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
            visit_type=appointment.visit_type,
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

    def _active(
        self, column: Any, key: int, start: datetime, end: datetime, statuses: list[str] = _ACTIVE
    ) -> list[Appointment]:
        rows = self.s.exec(
            select(AppointmentRow).where(
                column == key,
                AppointmentRow.status.in_(statuses),  # type: ignore[attr-defined]
                AppointmentRow.start_at < _utc(end),  # type: ignore[operator]
                AppointmentRow.end_at > _utc(start),  # type: ignore[operator]
            )
        ).all()
        return [self._to(r) for r in rows]

    def active_for_patient(self, patient_id: int, start: datetime, end: datetime) -> list[Appointment]:
        return self._active(AppointmentRow.patient_id, patient_id, start, end)

    def active_for_doctor(
        self, doctor_id: int, start: datetime, end: datetime, seen: bool = False
    ) -> list[Appointment]:
        return self._active(AppointmentRow.doctor_id, doctor_id, start, end, _HOLDS_TIME if seen else _ACTIVE)

    def active_between(self, start: datetime, end: datetime) -> list[Appointment]:
        return self._active(sa.literal(1), 1, start, end)

    def booked_ending_before(self, moment: datetime, limit: int) -> list[Appointment]:
        rows = self.s.exec(
            select(AppointmentRow)
            .where(AppointmentRow.status == AppointmentStatus.BOOKED.value, AppointmentRow.end_at < _utc(moment))
            .order_by(AppointmentRow.end_at)
            .limit(limit)
        ).all()
        return [self._to(r) for r in rows]

    def count_active_on(self, doctor_id: int, start: datetime, end: datetime) -> int:
        return len(self._active(AppointmentRow.doctor_id, doctor_id, start, end))


class LeaveRepo(_Repo):
    @staticmethod
    def _to(row: LeaveRow) -> Leave:
        return Leave(
            row.doctor_id, ensure_aware(row.start_at), ensure_aware(row.end_at), row.reason, row.id, row.created_by_id
        )

    def add(self, leave: Leave) -> Leave:
        row = LeaveRow(
            doctor_id=leave.doctor_id,
            start_at=_utc(leave.start),
            end_at=_utc(leave.end),
            reason=leave.reason,
            created_by_id=leave.created_by,
            created_at=utcnow(),
        )
        self._flush(row)
        return self._to(row)

    def get(self, leave_id: int) -> Leave | None:
        row = self.s.get(LeaveRow, leave_id)
        return self._to(row) if row else None

    def remove(self, leave_id: int) -> None:
        self.s.exec(sa.delete(LeaveRow).where(LeaveRow.id == leave_id))
        self.s.flush()

    def overlapping(self, doctor_id: int | None, start: datetime, end: datetime) -> list[Leave]:
        who = LeaveRow.doctor_id.is_(None)
        if doctor_id is not None:
            who = sa.or_(who, LeaveRow.doctor_id == doctor_id)
        rows = self.s.exec(
            select(LeaveRow).where(who, LeaveRow.start_at < _utc(end), LeaveRow.end_at > _utc(start))
        ).all()
        return [self._to(r) for r in rows]


class AuditRepo(_Repo):
    """Append-only on purpose: no get-for-change, no save, no delete."""

    def add(self, event: AuditEvent) -> None:
        self.s.add(
            AuditEventRow(
                at=_utc(event.at),
                actor_account_id=event.actor_account_id,
                actor_role=event.actor_role,
                action=event.action,
                entity=event.entity,
                entity_id=event.entity_id,
                patient_id=event.patient_id,
                detail=event.detail[:2000],
            )
        )
        self.s.flush()


class WaitlistRepo(_Repo):
    @staticmethod
    def _entry(row: WaitlistEntryRow) -> WaitlistEntry:
        return WaitlistEntry(
            row.patient_id,
            row.doctor_id,
            row.department_id,
            row.first_day,
            row.last_day,
            ensure_aware(row.created_at),
            WaitlistStatus(row.status),
            row.note,
            row.id,
        )

    @staticmethod
    def _offer(row: WaitlistOfferRow) -> WaitlistOffer:
        return WaitlistOffer(
            row.entry_id,
            row.patient_id,
            row.doctor_id,
            ensure_aware(row.start_at),
            ensure_aware(row.end_at),
            row.visit_type,
            ensure_aware(row.expires_at),
            OfferStatus(row.status),
            row.id,
        )

    def add(self, entry: WaitlistEntry) -> WaitlistEntry:
        row = WaitlistEntryRow(
            patient_id=entry.patient_id,
            doctor_id=entry.doctor_id,
            department_id=entry.department_id,
            first_day=entry.first_day,
            last_day=entry.last_day,
            status=entry.status.value,
            note=entry.note,
            created_at=_utc(entry.created_at),
        )
        self._flush(row)
        entry.id = row.id
        return entry

    def get(self, entry_id: int) -> WaitlistEntry | None:
        row = self.s.get(WaitlistEntryRow, entry_id)
        return self._entry(row) if row else None

    def save(self, entry: WaitlistEntry) -> None:
        row = self.s.get(WaitlistEntryRow, entry.id)
        assert row is not None
        row.status, row.first_day, row.last_day = entry.status.value, entry.first_day, entry.last_day
        self._flush(row)

    def waiting_for(self, patient_id: int) -> list[WaitlistEntry]:
        rows = self.s.exec(
            select(WaitlistEntryRow)
            .where(WaitlistEntryRow.patient_id == patient_id, WaitlistEntryRow.status == WaitlistStatus.WAITING.value)
            .order_by(WaitlistEntryRow.first_day)
        ).all()
        return [self._entry(r) for r in rows]

    def candidates(self, doctor_id: int, department_id: int | None, day: date) -> list[WaitlistEntry]:
        which: Any = WaitlistEntryRow.doctor_id == doctor_id
        if department_id is not None:
            which = sa.or_(which, WaitlistEntryRow.department_id == department_id)
        rows = self.s.exec(
            select(WaitlistEntryRow)
            .where(
                which,
                WaitlistEntryRow.status == WaitlistStatus.WAITING.value,
                WaitlistEntryRow.first_day <= day,
                WaitlistEntryRow.last_day >= day,
            )
            .order_by(WaitlistEntryRow.created_at, WaitlistEntryRow.id)
            .limit(200)
        ).all()
        return [self._entry(r) for r in rows]

    def add_offer(self, offer: WaitlistOffer) -> WaitlistOffer:
        row = WaitlistOfferRow(
            entry_id=offer.entry_id,
            patient_id=offer.patient_id,
            doctor_id=offer.doctor_id,
            start_at=_utc(offer.start),
            end_at=_utc(offer.end),
            visit_type=offer.visit_type,
            expires_at=_utc(offer.expires),
            status=offer.status.value,
        )
        self._flush(row)
        offer.id = row.id
        return offer

    def get_offer(self, offer_id: int) -> WaitlistOffer | None:
        row = self.s.get(WaitlistOfferRow, offer_id)
        return self._offer(row) if row else None

    def save_offer(self, offer: WaitlistOffer) -> None:
        row = self.s.get(WaitlistOfferRow, offer.id)
        assert row is not None
        row.status = offer.status.value
        self._flush(row)

    def open_offers(self, doctor_id: int, start: datetime, end: datetime, now: datetime) -> list[WaitlistOffer]:
        rows = self.s.exec(
            select(WaitlistOfferRow).where(
                WaitlistOfferRow.doctor_id == doctor_id,
                WaitlistOfferRow.status == OfferStatus.OPEN.value,
                WaitlistOfferRow.expires_at > _utc(now),
                WaitlistOfferRow.start_at < _utc(end),
                WaitlistOfferRow.end_at > _utc(start),
            )
        ).all()
        return [self._offer(r) for r in rows]

    def offers_of(self, doctor_id: int, start: datetime) -> list[WaitlistOffer]:
        rows = self.s.exec(
            select(WaitlistOfferRow).where(
                WaitlistOfferRow.doctor_id == doctor_id, WaitlistOfferRow.start_at == _utc(start)
            )
        ).all()
        return [self._offer(r) for r in rows]

    def expired_offers(self, now: datetime) -> list[WaitlistOffer]:
        rows = self.s.exec(
            select(WaitlistOfferRow)
            .where(WaitlistOfferRow.status == OfferStatus.OPEN.value, WaitlistOfferRow.expires_at <= _utc(now))
            .limit(500)
        ).all()
        return [self._offer(r) for r in rows]

    def open_offers_of(self, doctor_id: int, now: datetime) -> list[WaitlistOffer]:
        rows = self.s.exec(
            select(WaitlistOfferRow).where(
                WaitlistOfferRow.doctor_id == doctor_id,
                WaitlistOfferRow.status == OfferStatus.OPEN.value,
                WaitlistOfferRow.expires_at > _utc(now),
            )
        ).all()
        return [self._offer(r) for r in rows]

    def _close(self, which: Any) -> list[WaitlistEntry]:
        rows = self.s.exec(
            select(WaitlistEntryRow).where(which, WaitlistEntryRow.status == WaitlistStatus.WAITING.value)
        ).all()
        for row in rows:
            row.status = WaitlistStatus.LEFT.value
            self.s.add(row)
        self.s.flush()
        return [self._entry(r) for r in rows]

    def close_for_doctor(self, doctor_id: int) -> list[WaitlistEntry]:
        return self._close(WaitlistEntryRow.doctor_id == doctor_id)

    def close_for_department(self, department_id: int) -> list[WaitlistEntry]:
        entries = WaitlistEntryRow.department_id == department_id
        ended = self._close(entries)
        self.s.exec(sa.update(WaitlistEntryRow).where(entries).values(department_id=None))  # type: ignore[call-overload]
        self.s.flush()
        return ended


class InviteRepo(_Repo):
    @staticmethod
    def _to(row: InviteRow) -> Invite:
        return Invite(
            account_id=row.account_id,
            nonce=row.nonce,
            created_at=ensure_aware(row.created_at),
            expires_at=ensure_aware(row.expires_at),
            created_by=row.created_by_id,
            used_at=_maybe_aware(row.used_at),
            revoked_at=_maybe_aware(row.revoked_at),
            id=row.id,
        )

    def add(self, invite: Invite) -> Invite:
        row = InviteRow(
            account_id=invite.account_id,
            nonce=invite.nonce,
            created_at=_utc(invite.created_at),
            expires_at=_utc(invite.expires_at),
            created_by_id=invite.created_by,
        )
        self._flush(row)
        invite.id = row.id
        return invite

    def by_nonce(self, nonce: str, for_update: bool = False) -> Invite | None:
        query = select(InviteRow).where(InviteRow.nonce == nonce)
        if for_update:  # Postgres: two uses of one link in flight: the second waits, then sees it used
            query = query.with_for_update().execution_options(populate_existing=True)
        row = self.s.exec(query).first()
        return self._to(row) if row else None

    def open_for(self, account_id: int, now: datetime) -> list[Invite]:
        rows = self.s.exec(
            select(InviteRow).where(
                InviteRow.account_id == account_id,
                col(InviteRow.used_at).is_(None),
                col(InviteRow.revoked_at).is_(None),
                InviteRow.expires_at > _utc(now),
            )
        ).all()
        return [self._to(r) for r in rows]

    def save(self, invite: Invite) -> None:
        row = self.s.get(InviteRow, invite.id)
        assert row is not None
        row.used_at, row.revoked_at = _maybe_utc(invite.used_at), _maybe_utc(invite.revoked_at)
        self._flush(row)


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
    leaves: ports.LeaveRepo
    audit: ports.AuditRepo
    waitlist: ports.WaitlistRepo
    invites: ports.InviteRepo
    clinical: ports.ClinicalRepo

    def __enter__(self) -> Self:
        self.session = Session(self._engine, expire_on_commit=False)
        self.accounts = AccountRepo(self.session)
        self.departments = DepartmentRepo(self.session)
        self.doctors = DoctorRepo(self.session)
        self.patients = PatientRepo(self.session)
        self.appointments = AppointmentRepo(self.session)
        self.leaves = LeaveRepo(self.session)
        self.audit = AuditRepo(self.session)
        self.waitlist = WaitlistRepo(self.session)
        self.invites = InviteRepo(self.session)
        self.clinical = ClinicalRepo(self.session)
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

    def lock_hospital(self) -> None:
        if self._engine.dialect.name == "postgresql":
            self.session.exec(sa.select(sa.func.pg_advisory_xact_lock(3, 0)))  # type: ignore[call-overload]

    def lock_for_booking(self, doctor_ids: list[int], patient_id: int | None) -> None:
        if self._engine.dialect.name == "postgresql":
            # the hospital first (shared: bookings do not wait for each other, only for a closure), then the
            # doctors by id, then the patient: one order for everybody, so no deadlocks
            self.session.exec(sa.select(sa.func.pg_advisory_xact_lock_shared(3, 0)))  # type: ignore[call-overload]
            for doctor_id in sorted(set(doctor_ids)):
                self.session.exec(sa.select(sa.func.pg_advisory_xact_lock(1, doctor_id)))  # type: ignore[call-overload]
            if patient_id is not None:
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
