"""Read side of account administration: doctors and patients with their account status, searched and paged
on the server (fast with 10,000 patients: see bench/admin_accounts.py), and a doctor's upcoming appointments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func

from data.queries import AppointmentDTO, Page, Queries, every_word
from data.tables import (
    AccountRow,
    AppointmentRow,
    DepartmentRow,
    DoctorRow,
    PatientRow,
    WaitlistEntryRow,
    WorkingHoursRow,
)

_ACTIVE_APPOINTMENT = ("pending", "booked", "arrived", "checked-in")


@dataclass(frozen=True)
class DoctorAccountDTO:
    id: int
    name: str
    specialty: str
    department_id: int | None
    department: str
    email: str | None
    account_id: int | None
    status: str  # active, invited, deactivated; "none" for an imported record without account
    status_reason: str
    status_changed_at: datetime | None
    has_hours: bool

    @property
    def bookable(self) -> bool:
        return self.status == "active" and self.has_hours


@dataclass(frozen=True)
class PatientAccountDTO:
    id: int
    name: str
    email: str | None
    birth_date: date | None
    account_id: int | None
    status: str  # active, invited, deactivated, or "none"
    status_reason: str
    imported: bool


def _aware(moment: datetime | None) -> datetime | None:
    from domain.model import ensure_aware

    return ensure_aware(moment) if moment else None


class AccountQueries(Queries):
    def _words(self, query: Any, text: str, names: tuple[Any, ...], emails: tuple[Any, ...] = ()) -> Any:
        return query.where(*every_word(text, names, emails, sqlite=self._sqlite))

    # ---- doctors --------------------------------------------------------------------------
    def _doctor_accounts(self) -> sa.Select:
        has_hours = sa.exists().where(col(WorkingHoursRow.doctor_id) == DoctorRow.id)
        return (
            sa.select(DoctorRow, DepartmentRow.name, AccountRow, has_hours)  # type: ignore[call-overload]
            .join(DepartmentRow, DepartmentRow.id == DoctorRow.department_id, isouter=True)
            .join(AccountRow, AccountRow.id == DoctorRow.account_id, isouter=True)
        )

    @staticmethod
    def _doctor(row: DoctorRow, dept: str | None, account: AccountRow | None, has_hours: bool) -> DoctorAccountDTO:
        return DoctorAccountDTO(
            id=row.id or 0,
            name=row.name,
            specialty=row.specialty,
            department_id=row.department_id,
            department=dept or "",
            email=row.email,
            account_id=row.account_id,
            status=account.status if account else "none",
            status_reason=account.status_reason if account else "",
            status_changed_at=_aware(account.status_changed_at) if account else None,
            has_hours=bool(has_hours),
        )

    def doctor_accounts(
        self, search: str = "", status: str | None = None, limit: int = 25, offset: int = 0
    ) -> Page[DoctorAccountDTO]:
        q = self._words(
            self._doctor_accounts(),
            search,
            (DoctorRow.name, DoctorRow.specialty, DepartmentRow.name),
            (DoctorRow.email,),
        )
        if status == "none":
            q = q.where(col(DoctorRow.account_id).is_(None))
        elif status:
            q = q.where(col(AccountRow.status) == status)
        with self._session() as s:
            total = s.exec(sa.select(func.count()).select_from(q.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(q.order_by(DoctorRow.name, DoctorRow.id).limit(limit).offset(offset)).all()  # type: ignore[call-overload]
            return Page([self._doctor(*r) for r in rows], int(total))

    def doctor_account(self, doctor_id: int) -> DoctorAccountDTO | None:
        with self._session() as s:
            row = s.exec(self._doctor_accounts().where(col(DoctorRow.id) == doctor_id)).first()  # type: ignore[call-overload]
            return self._doctor(*row) if row else None

    def doctor_upcoming(self, doctor_id: int, now: datetime, limit: int = 200) -> list[AppointmentDTO]:
        """The doctor's active appointments that have not started yet, soonest first."""
        with self._session() as s:
            rows = s.exec(  # type: ignore[call-overload]
                self._appointments(
                    col(AppointmentRow.doctor_id) == doctor_id,
                    col(AppointmentRow.start_at) > now,
                    col(AppointmentRow.status).in_(_ACTIVE_APPOINTMENT),
                ).limit(limit)
            ).all()
            return [self._appt_dto(*r) for r in rows]

    # ---- patients -------------------------------------------------------------------------
    def _patient_accounts(self) -> sa.Select:
        return sa.select(PatientRow, AccountRow).join(  # type: ignore[call-overload]
            AccountRow, col(AccountRow.id) == PatientRow.account_id, isouter=True
        )

    @staticmethod
    def _patient(row: PatientRow, account: AccountRow | None) -> PatientAccountDTO:
        return PatientAccountDTO(
            id=row.id or 0,
            name=row.name,
            email=row.email or (account.email if account else None),
            birth_date=row.birth_date,
            account_id=row.account_id,
            status=account.status if account else "none",
            status_reason=account.status_reason if account else "",
            imported=row.fhir_id is not None,
        )

    def patient_accounts(
        self, search: str = "", status: str | None = None, limit: int = 25, offset: int = 0
    ) -> Page[PatientAccountDTO]:
        q = self._words(self._patient_accounts(), search, (PatientRow.name,), (PatientRow.email,))
        if status == "none":
            q = q.where(col(PatientRow.account_id).is_(None))
        elif status:
            q = q.where(col(AccountRow.status) == status)
        with self._session() as s:
            total = s.exec(sa.select(func.count()).select_from(q.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(q.order_by(PatientRow.name, PatientRow.id).limit(limit).offset(offset)).all()  # type: ignore[call-overload]
            return Page([self._patient(*r) for r in rows], int(total))

    def patient_account(self, patient_id: int) -> PatientAccountDTO | None:
        with self._session() as s:
            row = s.exec(self._patient_accounts().where(col(PatientRow.id) == patient_id)).first()  # type: ignore[call-overload]
            return self._patient(*row) if row else None

    # ---- departments ----------------------------------------------------------------------
    def waiting_for_department(self, department_id: int) -> int:
        """Patients still waiting for a time with any doctor of the department."""
        with self._session() as s:
            return int(
                s.exec(  # type: ignore[call-overload]
                    sa.select(func.count()).where(
                        col(WaitlistEntryRow.department_id) == department_id, col(WaitlistEntryRow.status) == "waiting"
                    )
                ).one()[0]
            )
