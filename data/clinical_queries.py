"""Read side of the medical record: a patient's timeline (visits with notes, diagnoses, prescriptions; imported
history included), paged on the server with a keyset cursor so years of history open as fast as a week.
Access is checked (and audited) by domain.clinical_services before a page asks here."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from data.queries import describe_dosage
from data.tables import AppointmentRow, DiagnosisRow, DoctorRow, EncounterRow, PatientRow, PrescriptionRow
from domain.clinical import ICD10CM_SYSTEM, RXNORM_SYSTEM, NoteStatus, dose_text, frequency_words
from domain.model import ensure_aware, fold_text

PAGE_SIZE = 20
SUMMARY_LIMIT = 50
#: SNOMED's semantic tag such as "(disorder)": shown to nobody, the code says it already
SEMANTIC_TAG = re.compile(r"\s*\((disorder|finding|situation|morphologic abnormality|person|procedure)\)$")
SYSTEM_LABELS = {
    ICD10CM_SYSTEM: "ICD-10-CM",
    "http://snomed.info/sct": "SNOMED",
    RXNORM_SYSTEM: "RxNorm",
}


def system_label(system: str) -> str:
    return SYSTEM_LABELS.get(system, "")


@dataclass(frozen=True)
class DiagnosisItem:
    code: str
    system: str  # short label: ICD-10-CM, SNOMED
    display: str
    clinical_status: str
    onset: datetime | None


@dataclass(frozen=True)
class PrescriptionLine:
    id: int
    visit_id: int | None
    drug: str
    code: str
    system: str  # RxNorm, or "" for an uncoded drug
    dosage: str
    status: str
    authored: datetime | None
    active: bool

    @property
    def uncoded(self) -> bool:
        return not self.code


@dataclass(frozen=True)
class TimelineVisit:
    id: int
    appointment_id: int | None
    start: datetime
    doctor: str
    doctor_id: int | None
    kind: str
    reason: str
    location: str
    imported: bool
    note_status: str  # "" (imported), draft, signed, amended
    chief_complaint: str
    findings: str
    plan: str
    signed_at: datetime | None
    diagnoses: tuple[DiagnosisItem, ...]
    prescriptions: tuple[PrescriptionLine, ...]


@dataclass(frozen=True)
class TimelinePage:
    visits: list[TimelineVisit]
    cursor: str | None  # pass as `before` for the next (older) page; None: nothing older


@dataclass(frozen=True)
class RecordSummary:
    active_prescriptions: list[PrescriptionLine]
    active_diagnoses: list[DiagnosisItem]
    visits: int


@dataclass(frozen=True)
class PrescriptionPage:
    items: list[PrescriptionLine]
    cursor: str | None


def _cursor(moment: datetime | None, row_id: int) -> str:
    stamp = ensure_aware(moment).strftime("%Y%m%d%H%M%S%f") if moment else "0"
    return f"{stamp}.{row_id}"


def parse_cursor(raw: str | None) -> tuple[datetime | None, int] | None:
    """A cursor from a URL or a button; anything malformed is no cursor (the first page)."""
    if not raw or not re.fullmatch(r"(\d{20}|0)\.\d{1,18}", raw):
        return None
    stamp, row_id = raw.split(".")
    if stamp == "0":
        return None, int(row_id)
    try:
        return datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC), int(row_id)
    except ValueError:
        return None


def _dosage(p: PrescriptionRow) -> str:
    """In words: written here from the structured fields, imported ones from FHIR's dosage."""
    if not p.frequency_code:
        return describe_dosage(p)
    parts = [f"{dose_text(p.dose or 0)} {p.dose_unit}", p.route, frequency_words(p.frequency_code)]
    if p.duration_days:
        parts.append(f"for {p.duration_days} day" + ("" if p.duration_days == 1 else "s"))
    if p.quantity:
        parts.append(f"quantity {p.quantity} {p.quantity_unit}".strip())
    parts.append(f"{p.refills or 0} refills" if p.refills != 1 else "1 refill")
    if p.as_needed:
        parts.append(f"as needed for {p.as_needed_reason}" if p.as_needed_reason else "as needed")
    if p.instructions:
        parts.append(p.instructions)
    return " · ".join(x for x in parts if x)


@dataclass(frozen=True)
class MyPatient:
    id: int
    name: str
    birth_date: date | None
    last_visit: datetime | None  # the latest appointment that has begun
    visits: int
    next_visit: datetime | None = None  # the first one still to come


@dataclass(frozen=True)
class MyPatientsPage:
    items: list[MyPatient]
    total: int


def _fold_like(text: str) -> str:
    folded = fold_text(text)
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


#: diagnosis_usage's cache: database url -> (when read, counts)
USAGE_TTL = 300.0
_USAGE: dict[str, tuple[float, dict[str, int]]] = {}
_USAGE_LOCK = threading.Lock()


class _DoctorPatients:
    engine: Engine

    def my_patients(
        self,
        doctor_id: int,
        search: str = "",
        limit: int = PAGE_SIZE,
        offset: int = 0,
        now: datetime | None = None,
    ) -> MyPatientsPage:
        """The patients the doctor has or had appointments with (not entered in error), latest first, each with
        their last appointment that has begun and their next one to come (`now`: the current time)."""
        limit, offset = max(1, min(limit, 100)), max(0, offset)
        moment = ensure_aware(now or datetime.now(UTC))
        start = col(AppointmentRow.start_at)
        latest = sa.func.max(start).label("latest")
        last = sa.func.max(sa.case((start <= moment, start))).label("last")
        upcoming = sa.func.min(sa.case((start > moment, start))).label("upcoming")
        visits = sa.func.count(AppointmentRow.id).label("visits")
        query = (
            sa.select(PatientRow.id, PatientRow.name, PatientRow.birth_date, last, visits, upcoming, latest)
            .join(AppointmentRow, AppointmentRow.patient_id == PatientRow.id)
            .where(AppointmentRow.doctor_id == doctor_id, AppointmentRow.status != "entered-in-error")
            .group_by(PatientRow.id, PatientRow.name, PatientRow.birth_date)
        )
        words = [w for w in fold_text(search[:100]).split() if w]
        name = (
            sa.func.hs_fold(PatientRow.name) if self.engine.dialect.name == "sqlite" else sa.func.lower(PatientRow.name)
        )
        for word in words:
            query = query.where(name.like(_fold_like(word), escape="\\"))
        with Session(self.engine) as s:
            total = s.exec(sa.select(sa.func.count()).select_from(query.subquery())).one()[0]  # type: ignore[call-overload]
            rows = s.exec(query.order_by(sa.desc("latest"), PatientRow.id).limit(limit).offset(offset)).all()  # type: ignore[call-overload]
        return MyPatientsPage(
            [
                MyPatient(
                    r[0],
                    r[1],
                    r[2],
                    ensure_aware(r[3]) if r[3] else None,
                    int(r[4]),
                    ensure_aware(r[5]) if r[5] else None,
                )
                for r in rows
            ],
            int(total),
        )

    def diagnosis_usage(self) -> dict[str, int]:
        """How often each ICD-10-CM code is recorded in this hospital (ranks the diagnosis search). One grouped
        count, cached per database for USAGE_TTL seconds: searching stays as fast as without it."""
        key = str(self.engine.url)
        with _USAGE_LOCK:
            cached = _USAGE.get(key)
            if cached is not None and time.monotonic() - cached[0] < USAGE_TTL:
                return cached[1]
        with Session(self.engine) as s:
            rows = s.exec(
                sa.select(DiagnosisRow.code, sa.func.count())  # type: ignore[call-overload]
                .where(DiagnosisRow.system == ICD10CM_SYSTEM, DiagnosisRow.code != "")
                .group_by(DiagnosisRow.code)
            ).all()
        counts = {str(code): int(n) for code, n in rows}
        with _USAGE_LOCK:
            _USAGE[key] = (time.monotonic(), counts)
        return counts


class ClinicalQueries(_DoctorPatients):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(readonly=True)

    def _session(self) -> Session:
        return Session(self.engine)

    # a prescription is active while its status is active and its duration (if any) has not run out
    def _runs_until_after(self, now: datetime) -> Any:
        days = col(PrescriptionRow.duration_days)
        authored = col(PrescriptionRow.authored_at)
        if self.engine.dialect.name == "postgresql":
            return authored + sa.func.make_interval(0, 0, 0, days) >= now
        stamp = ensure_aware(now).strftime("%Y-%m-%d %H:%M:%S")
        return sa.func.julianday(authored) + days >= sa.func.julianday(stamp)

    def _active(self, now: datetime) -> Any:
        return sa.and_(
            PrescriptionRow.status == "active",
            sa.or_(
                col(PrescriptionRow.duration_days).is_(None),
                col(PrescriptionRow.authored_at).is_(None),
                self._runs_until_after(now),
            ),
        )

    def _line(self, p: PrescriptionRow, active: bool) -> PrescriptionLine:
        return PrescriptionLine(
            id=p.id or 0,
            visit_id=p.encounter_id,
            drug=p.drug_display or p.drug_code or "Unnamed drug",
            code=p.drug_code,
            system=system_label(p.drug_system) if p.drug_code else "",
            dosage=_dosage(p),
            status=p.status,
            authored=ensure_aware(p.authored_at) if p.authored_at else None,
            active=active,
        )

    @staticmethod
    def _diagnosis(d: DiagnosisRow) -> DiagnosisItem:
        return DiagnosisItem(
            d.code,
            system_label(d.system),
            SEMANTIC_TAG.sub("", d.display) or d.code,
            d.clinical_status,
            ensure_aware(d.onset_at) if d.onset_at else None,
        )

    def timeline(
        self,
        patient_id: int,
        now: datetime,
        before: str | None = None,
        limit: int = PAGE_SIZE,
        include_drafts: bool = False,
    ) -> TimelinePage:
        """Visits newest first, `limit` at a time. `include_drafts`: a doctor's view (drafts labelled); the
        patient sees a draft visit without its unsigned content."""
        limit = max(1, min(limit, 100))
        cursor = parse_cursor(before)
        start_col, id_col = col(EncounterRow.start_at), col(EncounterRow.id)
        query = (
            sa.select(EncounterRow, DoctorRow.name)  # type: ignore[call-overload]
            .join(DoctorRow, DoctorRow.id == EncounterRow.doctor_id, isouter=True)
            .where(EncounterRow.patient_id == patient_id)
        )
        if cursor is not None:
            moment, row_id = cursor
            if moment is not None:
                query = query.where(sa.or_(start_col < moment, sa.and_(start_col == moment, id_col < row_id)))
        query = query.order_by(start_col.desc(), id_col.desc()).limit(limit + 1)
        with self._session() as s:
            rows = list(s.exec(query).all())
            more = len(rows) > limit
            rows = rows[:limit]
            hidden = {e.id for e, _ in rows if e.note_status == NoteStatus.DRAFT.value and not include_drafts}
            ids = [e.id for e, _ in rows if e.id not in hidden]
            diagnoses: dict[int, list[DiagnosisItem]] = {}
            prescriptions: dict[int, list[PrescriptionLine]] = {}
            if ids:
                for d in s.exec(
                    select(DiagnosisRow).where(col(DiagnosisRow.encounter_id).in_(ids)).order_by(col(DiagnosisRow.id))
                ).all():
                    diagnoses.setdefault(d.encounter_id or 0, []).append(self._diagnosis(d))
                active_ids = set(
                    s.exec(
                        select(PrescriptionRow.id).where(col(PrescriptionRow.encounter_id).in_(ids), self._active(now))
                    ).all()
                )
                for p in s.exec(
                    select(PrescriptionRow)
                    .where(col(PrescriptionRow.encounter_id).in_(ids))
                    .order_by(col(PrescriptionRow.position), col(PrescriptionRow.id))
                ).all():
                    prescriptions.setdefault(p.encounter_id or 0, []).append(self._line(p, p.id in active_ids))
        visits = []
        for e, doctor in rows:
            shown = e.id not in hidden
            visits.append(
                TimelineVisit(
                    id=e.id or 0,
                    appointment_id=e.appointment_id,
                    start=ensure_aware(e.start_at),
                    doctor=doctor or "",
                    doctor_id=e.doctor_id,
                    kind=e.type_display or e.class_code or "Visit",
                    reason=e.reason,
                    location=e.location,
                    imported=e.fhir_id is not None,
                    note_status=e.note_status,
                    chief_complaint=e.chief_complaint if shown else "",
                    findings=e.findings if shown else "",
                    plan=e.plan if shown else "",
                    signed_at=ensure_aware(e.signed_at) if e.signed_at else None,
                    diagnoses=tuple(diagnoses.get(e.id or 0, [])),
                    prescriptions=tuple(prescriptions.get(e.id or 0, [])),
                )
            )
        last = rows[-1][0] if rows else None
        return TimelinePage(visits, _cursor(last.start_at, last.id or 0) if more and last is not None else None)

    def summary(self, patient_id: int, now: datetime, limit: int = SUMMARY_LIMIT) -> RecordSummary:
        """What is going on now: active prescriptions and active diagnoses (newest first, capped), and how many
        visits there are."""
        with self._session() as s:
            active = s.exec(
                select(PrescriptionRow)
                .where(PrescriptionRow.patient_id == patient_id, self._active(now))
                .order_by(col(PrescriptionRow.authored_at).desc(), col(PrescriptionRow.id).desc())
                .limit(limit)
            ).all()
            diagnoses = s.exec(
                select(DiagnosisRow)
                .where(DiagnosisRow.patient_id == patient_id, DiagnosisRow.clinical_status == "active")
                .order_by(col(DiagnosisRow.onset_at).desc(), col(DiagnosisRow.id).desc())
                .limit(limit)
            ).all()
            visits = s.exec(
                sa.select(sa.func.count()).select_from(EncounterRow).where(EncounterRow.patient_id == patient_id)
            ).one()[0]
        seen: set[tuple[str, str]] = set()
        unique = []
        for d in diagnoses:  # the same condition recorded at several visits is listed once
            if (d.system, d.code or d.display) not in seen:
                seen.add((d.system, d.code or d.display))
                unique.append(self._diagnosis(d))
        return RecordSummary([self._line(p, True) for p in active], unique, int(visits))

    def past_prescriptions(
        self, patient_id: int, now: datetime, before: str | None = None, limit: int = PAGE_SIZE
    ) -> PrescriptionPage:
        """Prescriptions no longer active (stopped, completed, or their duration ran out), newest first."""
        limit = max(1, min(limit, 100))
        cursor = parse_cursor(before)
        authored, id_col = col(PrescriptionRow.authored_at), col(PrescriptionRow.id)
        query = select(PrescriptionRow).where(
            PrescriptionRow.patient_id == patient_id,
            PrescriptionRow.status != "draft",
            sa.not_(self._active(now)),
        )
        if cursor is not None:
            moment, row_id = cursor
            if moment is None:
                query = query.where(authored.is_(None), id_col < row_id)
            else:
                query = query.where(
                    sa.or_(authored < moment, authored.is_(None), sa.and_(authored == moment, id_col < row_id))
                )
        query = query.order_by(authored.desc().nulls_last(), id_col.desc()).limit(limit + 1)
        with self._session() as s:
            rows = list(s.exec(query).all())
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._line(p, False) for p in rows]
        last = rows[-1] if rows else None
        return PrescriptionPage(items, _cursor(last.authored_at, last.id or 0) if more and last is not None else None)
