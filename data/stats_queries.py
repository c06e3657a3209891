"""Read side of the admin board and the appointment reports: aggregate queries (GROUP BY / COUNT in SQL;
appointment rows are never loaded to be counted) and a server-paged, chunk-iterated appointment list.

Only the doctors' weekly templates and leave are read into Python, to generate the offered grid with the same
rules bookings are checked against (domain.schedule.generate_grid)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.queries import AppointmentDTO, Page
from data.tables import (
    AccountRow,
    AppointmentRow,
    DepartmentRow,
    DoctorRow,
    LeaveRow,
    PatientRow,
    ScheduleTemplateRow,
    WorkingHoursRow,
)
from domain.model import (
    CANCELLATION_REASONS,
    AccountStatus,
    Actor,
    AppointmentStatus,
    Leave,
    Role,
    WeeklyTemplate,
    WorkingHours,
    ensure_aware,
)
from domain.stats import USES_TIME, DayRange, Rates, offered_minutes, rates, utilisation

NO_DEPARTMENT = "No department"
_USES_TIME = sorted(s.value for s in USES_TIME)
APPT: sa.Table = AppointmentRow.__table__  # type: ignore[attr-defined]
DOC: sa.Table = DoctorRow.__table__  # type: ignore[attr-defined]
DEPT: sa.Table = DepartmentRow.__table__  # type: ignore[attr-defined]
PAT: sa.Table = PatientRow.__table__  # type: ignore[attr-defined]
ACCT: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
A, D, DEP, P, ACC = APPT.c, DOC.c, DEPT.c, PAT.c, ACCT.c


@dataclass(frozen=True)
class DepartmentFigures:
    department_id: int | None
    name: str
    by_status: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class DoctorFigures:
    doctor_id: int
    name: str
    department: str
    offered_minutes: int
    booked_minutes: int
    appointments: int  # that take up time (see domain.stats.USES_TIME)

    @property
    def utilisation(self) -> float | None:
        return utilisation(self.booked_minutes, self.offered_minutes)


@dataclass(frozen=True)
class BoardFigures:
    period: DayRange
    by_status: dict[str, int]
    today_by_status: dict[str, int]
    departments: list[DepartmentFigures]
    doctors: list[DoctorFigures]
    registrations_by_day: list[int]  # new patient accounts per local day of the period
    rates: Rates = field(default_factory=lambda: Rates(0, 0, 0, 0))

    @property
    def total(self) -> int:
        return self.rates.total

    @property
    def new_patients(self) -> int:
        return sum(self.registrations_by_day)

    @property
    def offered_minutes(self) -> int:
        return sum(d.offered_minutes for d in self.doctors)

    @property
    def booked_minutes(self) -> int:
        return sum(d.booked_minutes for d in self.doctors)

    @property
    def utilisation(self) -> float | None:
        return utilisation(self.booked_minutes, self.offered_minutes)


@dataclass(frozen=True)
class AppointmentFilter:
    period: DayRange
    department_id: int | None = None
    doctor_id: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class ExportRow:
    id: int
    start: datetime
    end: datetime
    status: str
    doctor: str
    department: str
    patient: str
    visit_type: str
    reason: str
    cancellation: str
    created_at: datetime


def _admin(actor: Actor) -> None:
    actor.require(Role.ADMIN)


class StatsQueries:
    """Every method takes the acting user and refuses anyone but an admin (pages check too)."""

    def __init__(self, engine: Engine, tz: ZoneInfo) -> None:
        self.engine = engine.execution_options(readonly=True)
        self.tz = tz

    # ---- helpers --------------------------------------------------------------------------
    def _minutes(self) -> Any:
        """Length of an appointment in minutes, in SQL."""
        if self.engine.dialect.name == "postgresql":
            return sa.extract("epoch", A.end_at - A.start_at) / 60.0
        return (sa.func.julianday(A.end_at) - sa.func.julianday(A.start_at)) * 1440.0

    @staticmethod
    def _in(column: Any, start: datetime, end: datetime) -> Any:
        return sa.and_(column >= start, column < end)

    @staticmethod
    def _not_moved() -> Any:
        """A visit moved to another time is one appointment, not a cancellation plus a booking: the row left
        behind by the move (some appointment was rescheduled from it) is not counted."""
        successor = APPT.alias("successor")
        return ~sa.exists().where(successor.c.rescheduled_from_id == A.id)

    def _by_status(self, conn: sa.Connection, start: datetime, end: datetime) -> dict[str, int]:
        rows = conn.execute(
            sa.select(A.status, sa.func.count())
            .where(self._in(A.start_at, start, end), self._not_moved())
            .group_by(A.status)
        ).all()
        return {status: int(n) for status, n in rows}

    def _day_bucket(self, column: Any, period: DayRange) -> Any:
        """0-based index of the local day a UTC moment falls on (exact on DST days and odd offsets)."""
        starts = period.day_starts(self.tz)[1:-1]
        if not starts:
            return sa.literal(0)
        return sa.case(*((column < boundary, i) for i, boundary in enumerate(starts)), else_=len(starts))

    # ---- the board ------------------------------------------------------------------------
    def board(self, actor: Actor, period: DayRange, today: date) -> BoardFigures:
        _admin(actor)
        start, end = period.bounds(self.tz)
        today_start, today_end = DayRange(today, today).bounds(self.tz)
        with self.engine.connect() as conn:
            by_status = self._by_status(conn, start, end)
            today_by_status = self._by_status(conn, today_start, today_end)
            departments = self._departments(conn, start, end)
            doctors = self._doctors(conn, period, start, end)
            registrations = self._registrations(conn, period, start, end)
        return BoardFigures(
            period=period,
            by_status=by_status,
            today_by_status=today_by_status,
            departments=departments,
            doctors=doctors,
            registrations_by_day=registrations,
            rates=rates(by_status),
        )

    def _departments(self, conn: sa.Connection, start: datetime, end: datetime) -> list[DepartmentFigures]:
        rows = conn.execute(
            sa.select(D.department_id, DEP.name, A.status, sa.func.count())
            .select_from(APPT.join(DOC, D.id == A.doctor_id))
            .outerjoin(DEPT, DEP.id == D.department_id)
            .where(self._in(A.start_at, start, end), self._not_moved())
            .group_by(D.department_id, DEP.name, A.status)
        ).all()
        found: dict[int | None, tuple[str, dict[str, int]]] = {}
        for department_id, name, status, n in rows:
            found.setdefault(department_id, (name or NO_DEPARTMENT, {}))[1][status] = int(n)
        # every department is listed, also those without appointments in the range
        for department_id, name in conn.execute(sa.select(DEP.id, DEP.name)).all():
            found.setdefault(department_id, (name, {}))
        figures = [DepartmentFigures(i, name, counts) for i, (name, counts) in found.items()]
        return sorted(figures, key=lambda f: (f.department_id is None, f.name.casefold()))

    def _doctors(self, conn: sa.Connection, period: DayRange, start: datetime, end: datetime) -> list[DoctorFigures]:
        booked = {
            doctor_id: (int(n), round(float(minutes or 0)))
            for doctor_id, n, minutes in conn.execute(
                sa.select(A.doctor_id, sa.func.count(), sa.func.sum(self._minutes()))
                .where(self._in(A.start_at, start, end), A.status.in_(_USES_TIME))
                .group_by(A.doctor_id)
            ).all()
        }
        # who offers time: doctors with an active sign-in account (others take no bookings)
        takes_bookings = {
            doctor_id
            for (doctor_id,) in conn.execute(
                sa.select(D.id)
                .select_from(DOC.join(ACCT, ACC.id == D.account_id))
                .where(ACC.status == AccountStatus.ACTIVE.value)
            ).all()
        }
        templates = self._templates(conn, takes_bookings, period.last)
        leaves = self._leaves(conn, start, end)
        wanted = sorted(set(booked) | {d for d in takes_bookings if templates.get(d)})
        if not wanted:
            return []
        names = {
            doctor_id: (name, dept or NO_DEPARTMENT)
            for doctor_id, name, dept in conn.execute(
                sa.select(D.id, D.name, DEP.name)
                .select_from(DOC.outerjoin(DEPT, DEP.id == D.department_id))
                .where(D.id.in_(wanted))
            ).all()
        }
        figures = []
        for doctor_id in wanted:
            n, minutes = booked.get(doctor_id, (0, 0))
            offered = (
                offered_minutes(doctor_id, templates.get(doctor_id, []), leaves, period, self.tz)
                if doctor_id in takes_bookings
                else 0
            )
            name, dept = names.get(doctor_id, (f"Doctor {doctor_id}", NO_DEPARTMENT))
            figures.append(DoctorFigures(doctor_id, name, dept, offered, minutes, n))
        return sorted(figures, key=lambda f: (-(f.utilisation or 0.0), f.name.casefold(), f.doctor_id))

    @staticmethod
    def _templates(conn: sa.Connection, doctor_ids: set[int], last_day: date) -> dict[int, list[WeeklyTemplate]]:
        """Every template of these doctors that took effect by `last_day`, oldest first, in two queries."""
        if not doctor_ids:
            return {}
        t = ScheduleTemplateRow.__table__.c  # type: ignore[attr-defined]
        h = WorkingHoursRow.__table__.c  # type: ignore[attr-defined]
        ids = sorted(doctor_ids)
        template_rows = conn.execute(
            sa.select(t.id, t.doctor_id, t.effective_from, t.slot_minutes)
            .where(t.doctor_id.in_(ids), t.effective_from <= last_day)
            .order_by(t.doctor_id, t.effective_from)
        ).all()
        hours: dict[int, list[WorkingHours]] = {}
        for template_id, weekday, start_time, end_time in conn.execute(
            sa.select(h.template_id, h.weekday, h.start_time, h.end_time)
            .where(h.doctor_id.in_(ids), h.template_id.is_not(None))
            .order_by(h.template_id, h.weekday, h.start_time)
        ).all():
            hours.setdefault(template_id, []).append(WorkingHours(weekday, start_time, end_time))
        out: dict[int, list[WeeklyTemplate]] = {}
        for template_id, doctor_id, effective_from, slot_minutes in template_rows:
            out.setdefault(doctor_id, []).append(
                WeeklyTemplate(effective_from, tuple(hours.get(template_id, [])), slot_minutes)
            )
        return out

    @staticmethod
    def _leaves(conn: sa.Connection, start: datetime, end: datetime) -> list[Leave]:
        c = LeaveRow.__table__.c  # type: ignore[attr-defined]
        rows = conn.execute(
            sa.select(c.doctor_id, c.start_at, c.end_at).where(c.start_at < end, c.end_at > start)
        ).all()
        return [Leave(doctor_id, ensure_aware(s), ensure_aware(e)) for doctor_id, s, e in rows]

    def _registrations(self, conn: sa.Connection, period: DayRange, start: datetime, end: datetime) -> list[int]:
        bucket = self._day_bucket(ACC.created_at, period).label("day")
        counts = [0] * period.days
        for day, n in conn.execute(
            sa.select(bucket, sa.func.count())
            .where(ACC.role == Role.PATIENT.value, self._in(ACC.created_at, start, end))
            .group_by(bucket)
        ).all():
            counts[int(day)] += int(n)
        return counts

    # ---- the appointment report -----------------------------------------------------------
    def _filtered(self, f: AppointmentFilter) -> list[Any]:
        start, end = f.period.bounds(self.tz)
        where: list[Any] = [self._in(A.start_at, start, end)]
        if f.doctor_id is not None:
            where.append(A.doctor_id == f.doctor_id)
        if f.department_id is not None:
            where.append(D.department_id == f.department_id)
        if f.status:
            where.append(A.status == f.status)
        return where

    def _report_select(self, f: AppointmentFilter) -> sa.Select:
        return (
            sa.select(
                A.id,
                A.doctor_id,
                D.name,
                DEP.name,
                A.patient_id,
                P.name,
                A.start_at,
                A.end_at,
                A.status,
                A.reason,
                A.visit_type,
                A.cancel_code,
                A.cancel_reason,
                A.created_at,
            )
            .select_from(
                APPT.join(DOC, D.id == A.doctor_id)
                .outerjoin(DEPT, DEP.id == D.department_id)
                .join(PAT, P.id == A.patient_id)
            )
            .where(*self._filtered(f))
        )

    @staticmethod
    def _cancellation(code: str, note: str) -> str:
        return " — ".join(x for x in (CANCELLATION_REASONS.get(code or "", ""), note) if x)

    def appointments(
        self, actor: Actor, f: AppointmentFilter, limit: int = 25, offset: int = 0
    ) -> Page[AppointmentDTO]:
        """One page of the filtered appointments, newest start first, and how many match."""
        _admin(actor)
        q = self._report_select(f)
        count = sa.select(sa.func.count()).select_from(APPT.join(DOC, D.id == A.doctor_id)).where(*self._filtered(f))
        with self.engine.connect() as conn:
            total = int(conn.execute(count).scalar_one())
            rows = conn.execute(q.order_by(A.start_at.desc(), A.id.desc()).limit(limit).offset(offset)).all()
        return Page(
            [
                AppointmentDTO(
                    id=r[0],
                    doctor_id=r[1],
                    doctor=r[2],
                    department=r[3] or NO_DEPARTMENT,
                    patient_id=r[4],
                    patient=r[5],
                    start=ensure_aware(r[6]),
                    end=ensure_aware(r[7]),
                    status=r[8],
                    reason=r[9],
                    visit_type=r[10],
                    cancel_reason=self._cancellation(r[11], r[12]),
                )
                for r in rows
            ],
            total,
        )

    def iter_appointments(self, actor: Actor, f: AppointmentFilter, chunk: int = 2000) -> Iterator[ExportRow]:
        """Every matching appointment, oldest first, read in chunks of `chunk` rows (keyset paging on
        (start, id)), so an export of 100,000 rows never holds them all as rows at once."""
        _admin(actor)
        base = self._report_select(f).order_by(A.start_at, A.id)
        after: tuple[datetime, int] | None = None
        while True:
            q = base
            if after is not None:
                q = q.where(sa.or_(A.start_at > after[0], sa.and_(A.start_at == after[0], A.id > after[1])))
            with self.engine.connect() as conn:
                rows = conn.execute(q.limit(chunk)).all()
            for r in rows:
                yield ExportRow(
                    id=r[0],
                    start=ensure_aware(r[6]),
                    end=ensure_aware(r[7]),
                    status=r[8],
                    doctor=r[2],
                    department=r[3] or NO_DEPARTMENT,
                    patient=r[5],
                    visit_type=r[10],
                    reason=r[9],
                    cancellation=self._cancellation(r[11], r[12]),
                    created_at=ensure_aware(r[13]),
                )
            if len(rows) < chunk:
                return
            after = (rows[-1][6], rows[-1][0])

    def filter_options(self, actor: Actor) -> tuple[list[tuple[int, str]], list[tuple[int, str, int | None]]]:
        """Departments (id, name) and doctors (id, name, department id) for the filters, by name."""
        _admin(actor)
        with self.engine.connect() as conn:
            departments = [(i, n) for i, n in conn.execute(sa.select(DEP.id, DEP.name).order_by(DEP.name)).all()]
            doctors = [
                (i, n, d)
                for i, n, d in conn.execute(sa.select(D.id, D.name, D.department_id).order_by(D.name, D.id)).all()
            ]
        return departments, doctors


STATUS_ORDER: tuple[str, ...] = tuple(s.value for s in AppointmentStatus)
