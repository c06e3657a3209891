"""Read side: small frozen DTOs for pages, paged on the server. No writes here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, or_, select

from data.tables import (
    AccountRow,
    AppointmentRow,
    DepartmentRow,
    DiagnosisRow,
    DoctorRow,
    EncounterRow,
    LeaveRow,
    PatientRow,
    PrescriptionRow,
    WorkingHoursRow,
)
from data.uow import DoctorRepo
from domain.model import (
    ACTIVE_STATUSES,
    CANCELLATION_REASONS,
    AccountStatus,
    WeeklyTemplate,
    ensure_aware,
    fold_text,
)

_ACTIVE = [s.value for s in ACTIVE_STATUSES]
T = TypeVar("T")


def _like(text: str, accent_insensitive: bool = True) -> str:
    folded = fold_text(text) if accent_insensitive else text.lower()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fold_column(column: Any, sqlite: bool) -> Any:
    """Case- (and on SQLite accent-) insensitive form of a column, matching `fold_text` of the search."""
    return func.hs_fold(column) if sqlite else func.lower(column)


def every_word(text: str, names: Sequence[Any], emails: Sequence[Any] = (), *, sqlite: bool) -> list[Any]:
    """One condition per word typed (at most 8), in any order: the word is in one of `names` (case- and, on
    SQLite, accent-insensitive) or of `emails` (case-insensitive; plain lower() is cheaper than the fold). A word
    with an @ is looked for in the emails only, when there are any."""
    conditions = []
    for raw in (text or "").lower().split()[:8]:
        word = raw.strip(".,;")
        if not word:
            continue
        plain = _like(word, accent_insensitive=False)
        matches = [func.lower(c).like(plain, escape="\\") for c in emails]
        if "@" not in word or not emails:
            like = _like(word, sqlite)
            matches += [fold_column(c, sqlite).like(like, escape="\\") for c in names]
        conditions.append(or_(*matches))
    return conditions


@dataclass(frozen=True)
class DepartmentDTO:
    id: int
    name: str
    description: str
    doctors: int
    bookable: int = 0  # doctors a patient can book now (active account, working hours)


@dataclass(frozen=True)
class DoctorDTO:
    id: int
    name: str
    specialty: str
    department_id: int | None
    department: str
    email: str | None
    slot_minutes: int
    bookable: bool  # has an active account and working hours
    has_account: bool
    min_notice_hours: int = 1
    horizon_days: int = 28


@dataclass(frozen=True)
class LeaveDTO:
    id: int
    doctor_id: int | None  # None: the whole hospital is closed
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class PatientDTO:
    id: int
    name: str
    email: str | None
    birth_date: date | None
    account_status: str
    imported: bool


@dataclass(frozen=True)
class AppointmentDTO:
    id: int
    doctor_id: int
    doctor: str
    department: str
    patient_id: int
    patient: str
    start: datetime
    end: datetime
    status: str
    reason: str
    visit_type: str = ""  # VisitType.code
    cancel_reason: str = ""  # the reason's label and the note, e.g. "Provider — Dr. X is away"
    doctor_available: bool = True  # False while the doctor's account is deactivated


@dataclass(frozen=True)
class DiagnosisDTO:
    code: str
    display: str
    clinical_status: str
    onset: datetime | None


@dataclass(frozen=True)
class PrescriptionDTO:
    drug: str
    code: str
    dosage: str
    status: str
    authored: datetime | None


@dataclass(frozen=True)
class VisitDTO:
    id: int
    start: datetime
    doctor: str
    kind: str
    reason: str
    location: str
    diagnoses: tuple[DiagnosisDTO, ...]
    prescriptions: tuple[PrescriptionDTO, ...]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int


@dataclass(frozen=True)
class Stats:
    departments: int
    doctors: int
    patients: int
    upcoming: int
    today: int


def describe_dosage(p: PrescriptionRow) -> str:
    parts: list[str] = []
    if p.dose is not None:
        dose = f"{p.dose:g}"
        parts.append(f"{dose} {p.dose_unit}".strip())
    if p.frequency and p.period and p.period_unit:
        unit = {"h": "hour", "d": "day", "wk": "week", "mo": "month", "min": "minute", "s": "second", "a": "year"}.get(
            p.period_unit, p.period_unit
        )
        per = f"{unit}" if p.period == 1 else f"{p.period:g} {unit}s"
        parts.append(f"{p.frequency}× per {per}")
    if p.route:
        parts.append(p.route)
    if p.as_needed:
        parts.append("as needed")
    if p.instructions:
        parts.append(p.instructions)
    return " · ".join(parts)


class Queries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(readonly=True)

    def _session(self) -> Session:
        return Session(self.engine)

    @property
    def _sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _fold(self, column: Any) -> Any:
        return fold_column(column, self._sqlite)

    # ---- directory -------------------------------------------------------------------------
    def departments(self) -> list[DepartmentDTO]:
        with self._session() as s:
            has_hours = sa.exists().where(WorkingHoursRow.doctor_id == DoctorRow.id)
            active = sa.exists().where(AccountRow.id == DoctorRow.account_id, AccountRow.status == "active")
            counts = (
                select(
                    DoctorRow.department_id,
                    func.count().label("n"),
                    func.sum(sa.case((sa.and_(has_hours, active), 1), else_=0)).label("bookable"),
                )
                .group_by(DoctorRow.department_id)  # type: ignore[arg-type]
                .subquery()
            )
            rows = s.exec(
                select(DepartmentRow, counts.c.n, counts.c.bookable)
                .join(counts, counts.c.department_id == DepartmentRow.id, isouter=True)
                .order_by(DepartmentRow.name)
            ).all()
            return [DepartmentDTO(d.id or 0, d.name, d.description, n or 0, int(b or 0)) for d, n, b in rows]

    def _doctor_query(self) -> sa.Select:
        has_hours = sa.exists().where(WorkingHoursRow.doctor_id == DoctorRow.id)
        active = sa.exists().where(AccountRow.id == DoctorRow.account_id, AccountRow.status == "active")
        return sa.select(DoctorRow, DepartmentRow.name, sa.and_(has_hours, active)).join(  # type: ignore[call-overload]
            DepartmentRow, DepartmentRow.id == DoctorRow.department_id, isouter=True
        )

    @staticmethod
    def _doctor_dto(row: DoctorRow, dept: str | None, has_hours: bool) -> DoctorDTO:
        return DoctorDTO(
            id=row.id or 0,
            name=row.name,
            specialty=row.specialty,
            department_id=row.department_id,
            department=dept or "",
            email=row.email,
            slot_minutes=row.slot_minutes,
            bookable=bool(has_hours) and row.account_id is not None,
            has_account=row.account_id is not None,
            min_notice_hours=row.min_notice_hours,
            horizon_days=row.horizon_days,
        )

    def doctors(
        self,
        search: str = "",
        department_id: int | None = None,
        bookable_only: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> Page[DoctorDTO]:
        q = self._doctor_query()
        # every word must match somewhere, in any order: "Dr. Okafor" and "okafor amara" both find Dr. Amara Okafor;
        # the department's description too ("skin" finds Dermatology)
        names = (DoctorRow.name, DoctorRow.specialty, DepartmentRow.name, DepartmentRow.description)
        q = q.where(*every_word(search, names, sqlite=self._sqlite))
        if department_id is not None:
            q = q.where(DoctorRow.department_id == department_id)
        if bookable_only:
            q = q.where(col(DoctorRow.account_id).is_not(None)).where(
                sa.exists().where(WorkingHoursRow.doctor_id == DoctorRow.id),
                sa.exists().where(AccountRow.id == DoctorRow.account_id, AccountRow.status == "active"),
            )
        with self._session() as s:
            total = s.exec(sa.select(func.count()).select_from(q.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(q.order_by(DoctorRow.name, DoctorRow.id).limit(limit).offset(offset)).all()  # type: ignore[call-overload]
            return Page([self._doctor_dto(*r) for r in rows], int(total))

    def doctor(self, doctor_id: int) -> DoctorDTO | None:
        with self._session() as s:
            row = s.exec(self._doctor_query().where(DoctorRow.id == doctor_id)).first()  # type: ignore[call-overload]
            return self._doctor_dto(*row) if row else None

    def templates(self, doctor_id: int) -> list[WeeklyTemplate]:
        """The doctor's weekly templates, oldest first."""
        with self._session() as s:
            return DoctorRepo(s).templates(doctor_id)

    def leaves(self, doctor_id: int | None, since: datetime, limit: int = 50) -> list[LeaveDTO]:
        """Leave of a doctor (with the hospital's closures), or closures only (doctor_id None), not yet over."""
        with self._session() as s:
            who: Any = col(LeaveRow.doctor_id).is_(None)
            if doctor_id is not None:
                who = or_(who, LeaveRow.doctor_id == doctor_id)
            rows = s.exec(
                select(LeaveRow).where(who, LeaveRow.end_at > since).order_by(LeaveRow.start_at).limit(limit)
            ).all()
            return [
                LeaveDTO(r.id or 0, r.doctor_id, ensure_aware(r.start_at), ensure_aware(r.end_at), r.reason)
                for r in rows
            ]

    def patients(self, search: str = "", limit: int = 20, offset: int = 0) -> Page[PatientDTO]:
        q = sa.select(PatientRow, AccountRow.status).join(
            AccountRow, AccountRow.id == PatientRow.account_id, isouter=True
        )
        text = search.strip().lower()
        if text:
            like = _like(text, self.engine.dialect.name == "sqlite")
            q = q.where(
                or_(
                    self._fold(PatientRow.name).like(like, escape="\\"),
                    self._fold(PatientRow.email).like(like, escape="\\"),
                )
            )
        with self._session() as s:
            total = s.exec(sa.select(func.count()).select_from(q.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(q.order_by(PatientRow.name, PatientRow.id).limit(limit).offset(offset)).all()  # type: ignore[call-overload]
            return Page(
                [
                    PatientDTO(p.id or 0, p.name, p.email, p.birth_date, status or "none", p.fhir_id is not None)
                    for p, status in rows
                ],
                int(total),
            )

    # ---- appointments ---------------------------------------------------------------------
    def _appointments(self, *where: sa.ColumnElement[bool], order_desc: bool = False) -> sa.Select:
        order = col(AppointmentRow.start_at).desc() if order_desc else col(AppointmentRow.start_at)
        doctor_account = sa.orm.aliased(AccountRow, name="doctor_account")
        return (
            sa.select(AppointmentRow, DoctorRow.name, DepartmentRow.name, PatientRow.name, doctor_account.status)
            .join(DoctorRow, DoctorRow.id == AppointmentRow.doctor_id)
            .join(DepartmentRow, DepartmentRow.id == DoctorRow.department_id, isouter=True)
            .join(PatientRow, PatientRow.id == AppointmentRow.patient_id)
            .join(doctor_account, doctor_account.id == DoctorRow.account_id, isouter=True)
            .where(*where)
            .order_by(order, AppointmentRow.id)
        )

    @staticmethod
    def _appt_dto(
        a: AppointmentRow, doctor: str, dept: str | None, patient: str, doctor_status: str | None = None
    ) -> AppointmentDTO:
        return AppointmentDTO(
            id=a.id or 0,
            doctor_id=a.doctor_id,
            doctor=doctor,
            department=dept or "",
            patient_id=a.patient_id,
            patient=patient,
            start=ensure_aware(a.start_at),
            end=ensure_aware(a.end_at),
            status=a.status,
            reason=a.reason,
            visit_type=a.visit_type,
            cancel_reason=" — ".join(x for x in (CANCELLATION_REASONS.get(a.cancel_code, ""), a.cancel_reason) if x),
            doctor_available=doctor_status != AccountStatus.DEACTIVATED.value,
        )

    def doctor_day(self, doctor_id: int, day: date, tz: ZoneInfo) -> list[AppointmentDTO]:
        start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        with self._session() as s:
            rows = s.exec(  # type: ignore[call-overload]
                self._appointments(
                    AppointmentRow.doctor_id == doctor_id,
                    col(AppointmentRow.start_at) >= start,
                    col(AppointmentRow.start_at) < end,
                )
            ).all()
            return [self._appt_dto(*r) for r in rows]

    def patient_appointments(
        self, patient_id: int, now: datetime, upcoming: bool, limit: int = 50
    ) -> list[AppointmentDTO]:
        if upcoming:
            cond = [col(AppointmentRow.end_at) > now, col(AppointmentRow.status).in_(_ACTIVE)]
        else:
            cond = [
                or_(col(AppointmentRow.end_at) <= now, col(AppointmentRow.status).not_in(_ACTIVE)),
            ]
        with self._session() as s:
            rows = s.exec(  # type: ignore[call-overload]
                self._appointments(AppointmentRow.patient_id == patient_id, *cond, order_desc=not upcoming).limit(limit)
            ).all()
            return [self._appt_dto(*r) for r in rows]

    def appointment(self, appointment_id: int) -> AppointmentDTO | None:
        with self._session() as s:
            row = s.exec(self._appointments(AppointmentRow.id == appointment_id)).first()  # type: ignore[call-overload]
            return self._appt_dto(*row) if row else None

    def appointments(self, ids: list[int]) -> list[AppointmentDTO]:
        """Several appointments in one query, in the order asked (ids that do not exist are left out)."""
        if not ids:
            return []
        with self._session() as s:
            rows = s.exec(self._appointments(col(AppointmentRow.id).in_(ids))).all()  # type: ignore[call-overload]
            by_id = {dto.id: dto for dto in (self._appt_dto(*row) for row in rows)}
            return [by_id[i] for i in ids if i in by_id]

    # ---- medical history ------------------------------------------------------------------
    def patient_history(self, patient_id: int, limit: int = 20, offset: int = 0) -> Page[VisitDTO]:
        with self._session() as s:
            total = s.exec(select(func.count()).where(EncounterRow.patient_id == patient_id)).one()
            rows = s.exec(
                sa.select(EncounterRow, DoctorRow.name)  # type: ignore[call-overload]
                .join(DoctorRow, DoctorRow.id == EncounterRow.doctor_id, isouter=True)
                .where(EncounterRow.patient_id == patient_id)
                .order_by(col(EncounterRow.start_at).desc(), col(EncounterRow.id).desc())
                .limit(limit)
                .offset(offset)
            ).all()
            ids = [e.id for e, _ in rows]
            diagnoses: dict[int, list[DiagnosisDTO]] = {}
            prescriptions: dict[int, list[PrescriptionDTO]] = {}
            if ids:
                for d in s.exec(
                    select(DiagnosisRow).where(col(DiagnosisRow.encounter_id).in_(ids)).order_by(DiagnosisRow.id)  # type: ignore[arg-type]
                ).all():
                    onset = ensure_aware(d.onset_at) if d.onset_at else None
                    diagnoses.setdefault(d.encounter_id or 0, []).append(
                        DiagnosisDTO(d.code, d.display, d.clinical_status, onset)
                    )
                for p in s.exec(
                    select(PrescriptionRow)
                    .where(col(PrescriptionRow.encounter_id).in_(ids))
                    .order_by(PrescriptionRow.id)  # type: ignore[arg-type]
                ).all():
                    authored = ensure_aware(p.authored_at) if p.authored_at else None
                    prescriptions.setdefault(p.encounter_id or 0, []).append(
                        PrescriptionDTO(
                            p.drug_display or p.drug_code, p.drug_code, describe_dosage(p), p.status, authored
                        )
                    )
            visits = [
                VisitDTO(
                    id=e.id or 0,
                    start=ensure_aware(e.start_at),
                    doctor=doctor or "",
                    kind=e.type_display or e.class_code,
                    reason=e.reason,
                    location=e.location,
                    diagnoses=tuple(diagnoses.get(e.id or 0, [])),
                    prescriptions=tuple(prescriptions.get(e.id or 0, [])),
                )
                for e, doctor in rows
            ]
            return Page(visits, int(total))

    # ---- admin ----------------------------------------------------------------------------
    def stats(self, now: datetime, tz: ZoneInfo) -> Stats:
        local_day = now.astimezone(tz).date()
        day_start = datetime.combine(local_day, time(0), tzinfo=tz).astimezone(UTC)
        day_end = datetime.combine(local_day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        active = col(AppointmentRow.status).in_(_ACTIVE)
        with self._session() as s:

            def count(q: sa.Select) -> int:
                return int(s.exec(q).one()[0])  # type: ignore[call-overload]

            return Stats(
                departments=count(sa.select(func.count()).select_from(DepartmentRow)),
                doctors=count(sa.select(func.count()).select_from(DoctorRow)),
                patients=count(sa.select(func.count()).select_from(PatientRow)),
                upcoming=count(sa.select(func.count()).where(active, col(AppointmentRow.start_at) >= now)),
                today=count(
                    sa.select(func.count()).where(
                        active, col(AppointmentRow.start_at) >= day_start, col(AppointmentRow.start_at) < day_end
                    )
                ),
            )

    def is_empty(self) -> bool:
        with self._session() as s:
            return s.exec(sa.select(func.count()).select_from(AccountRow)).one()[0] == 0  # type: ignore[call-overload]

    # ---- patient scheduling: visit types, waiting lists, held times -------------------------
    def patient_scheduling(
        self, patient_id: int, now: datetime
    ) -> tuple[
        list[tuple[int, str | None, str | None, date, date]],
        list[tuple[int, int, datetime, datetime, datetime]],
    ]:
        """A patient's open waiting lists, oldest first: (entry id, doctor name or None, department name or
        None, first day, last day); and the times held for them now: (offer id, doctor id, start, end, expires)."""
        from data.tables import WaitlistEntryRow, WaitlistOfferRow

        with self._session() as s:
            entries = s.exec(
                sa.select(WaitlistEntryRow, DoctorRow.name, DepartmentRow.name)
                .join(DoctorRow, DoctorRow.id == WaitlistEntryRow.doctor_id, isouter=True)
                .join(DepartmentRow, DepartmentRow.id == WaitlistEntryRow.department_id, isouter=True)
                .where(WaitlistEntryRow.patient_id == patient_id, WaitlistEntryRow.status == "waiting")
                .order_by(WaitlistEntryRow.created_at, WaitlistEntryRow.id)
            ).all()
            offers = s.exec(
                select(WaitlistOfferRow)
                .where(
                    WaitlistOfferRow.patient_id == patient_id,
                    WaitlistOfferRow.status == "open",
                    col(WaitlistOfferRow.expires_at) > now,
                )
                .order_by(WaitlistOfferRow.start_at)
            ).all()
            return (
                [(e.id or 0, doctor, dept, e.first_day, e.last_day) for e, doctor, dept in entries],
                [
                    (
                        o.id or 0,
                        o.doctor_id,
                        ensure_aware(o.start_at),
                        ensure_aware(o.end_at),
                        ensure_aware(o.expires_at),
                    )
                    for o in offers
                ],
            )

    def visit_types(self, doctor_id: int) -> list[tuple[str, str, int]]:
        """What a patient can book with the doctor: (code, name, minutes), shortest first; [] for no doctor."""
        with self._session() as s:
            doctor = DoctorRepo(s).get(doctor_id)
            return [(t.code, t.name, t.minutes) for t in doctor.offered_types()] if doctor else []

    def held_times(
        self, doctor_ids: list[int], start: datetime, end: datetime, now: datetime, except_patient: int | None
    ) -> list[tuple[int, datetime, datetime]]:
        """Open waiting-list holds of these doctors overlapping [start, end), except those for `except_patient`:
        (offer id, start, end). Slot grids label those times "Held"."""
        from data.tables import WaitlistOfferRow

        if not doctor_ids:
            return []
        with self._session() as s:
            q = select(WaitlistOfferRow).where(
                col(WaitlistOfferRow.doctor_id).in_(doctor_ids),
                WaitlistOfferRow.status == "open",
                col(WaitlistOfferRow.expires_at) > now,
                col(WaitlistOfferRow.start_at) < end,
                col(WaitlistOfferRow.end_at) > start,
            )
            if except_patient is not None:
                q = q.where(WaitlistOfferRow.patient_id != except_patient)
            return [(o.id or 0, ensure_aware(o.start_at), ensure_aware(o.end_at)) for o in s.exec(q).all()]

    # ---- the doctor's queue, week and the front desk (#4) ------------------------------------
    def doctor_week(self, doctor_id: int, monday: date, tz: ZoneInfo) -> list[AppointmentDTO]:
        """The doctor's appointments from `monday` 00:00 to the next Monday 00:00 in the hospital's zone,
        in time order (every status: the week view shows cancellations too)."""
        start = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz).astimezone(UTC)
        with self._session() as s:
            rows = s.exec(  # type: ignore[call-overload]
                self._appointments(
                    AppointmentRow.doctor_id == doctor_id,
                    col(AppointmentRow.start_at) >= start,
                    col(AppointmentRow.start_at) < end,
                )
            ).all()
            return [self._appt_dto(*r) for r in rows]

    def visit_times(self, ids: list[int], since: datetime) -> dict[int, tuple[datetime | None, datetime | None]]:
        """When each appointment's patient arrived and when the visit started, as the audit trail of the visit
        workflow recorded it ("booked -> arrived", "arrived -> checked-in"); None where no step was recorded
        (e.g. an appointment reset by an admin, or imported). The latest step wins. `since`: the start of the
        appointments' first local day; those steps cannot be taken before it (Appointment.move_to), and the
        bound keeps the read on the audit trail's time index."""
        from data.tables import AuditEventRow

        if not ids:
            return {}
        found: dict[int, tuple[datetime | None, datetime | None]] = {}
        with self._session() as s:
            rows = s.exec(
                select(AuditEventRow.entity_id, AuditEventRow.at, AuditEventRow.detail)
                .where(
                    AuditEventRow.action == "appointment.status",
                    AuditEventRow.entity == "appointment",
                    col(AuditEventRow.entity_id).in_(ids),
                    col(AuditEventRow.at) >= since,
                )
                .order_by(AuditEventRow.at, AuditEventRow.id)  # type: ignore[arg-type]
            ).all()
            for entity_id, at, detail in rows:
                if entity_id is None:
                    continue
                arrived, started = found.get(entity_id, (None, None))
                if detail.endswith("-> arrived"):
                    arrived = ensure_aware(at)
                elif detail.endswith("-> checked-in"):
                    started = ensure_aware(at)
                found[entity_id] = (arrived, started)
        return found

    def _arrivals_where(
        self, day: date, tz: ZoneInfo, search: str, department_id: int | None, doctor_id: int | None
    ) -> list[Any]:
        start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        where: list[Any] = [col(AppointmentRow.start_at) >= start, col(AppointmentRow.start_at) < end]
        if doctor_id is not None:
            where.append(AppointmentRow.doctor_id == doctor_id)
        if department_id is not None:
            where.append(DoctorRow.department_id == department_id)
        where += every_word(search, (PatientRow.name,), sqlite=self._sqlite)  # every word, in any order
        return where

    def arrivals(
        self,
        day: date,
        tz: ZoneInfo,
        search: str = "",
        department_id: int | None = None,
        doctor_id: int | None = None,
        statuses: tuple[str, ...] = (),
        limit: int = 25,
        offset: int = 0,
    ) -> Page[AppointmentDTO]:
        """A day's appointments across all doctors for the front desk, in time order (then doctor), filtered by
        department, doctor, words of the patient's name and status, paged."""
        where = self._arrivals_where(day, tz, search, department_id, doctor_id)
        if statuses:
            where.append(col(AppointmentRow.status).in_(list(statuses)))
        q = (
            self._appointments(*where)
            .order_by(None)
            .order_by(AppointmentRow.start_at, DoctorRow.name, AppointmentRow.id)
        )
        with self._session() as s:
            total = s.exec(sa.select(func.count()).select_from(q.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(q.limit(limit).offset(offset)).all()  # type: ignore[call-overload]
            return Page([self._appt_dto(*r) for r in rows], int(total))

    def arrival_counts(
        self, day: date, tz: ZoneInfo, search: str = "", department_id: int | None = None, doctor_id: int | None = None
    ) -> dict[str, int]:
        """How many of the day's appointments (with the same filters, any status) have each status."""
        where = self._arrivals_where(day, tz, search, department_id, doctor_id)
        q = (
            sa.select(AppointmentRow.status, func.count())
            .select_from(AppointmentRow)
            .join(DoctorRow, DoctorRow.id == AppointmentRow.doctor_id)
            .join(PatientRow, PatientRow.id == AppointmentRow.patient_id)
            .where(*where)
            .group_by(AppointmentRow.status)
        )
        with self._session() as s:
            return {status: int(n) for status, n in s.exec(q).all()}  # type: ignore[call-overload]
