"""The visit-record repository (domain.ports.ClinicalRepo) over encounter, diagnosis, prescription and
encounter_revision. Records imported from FHIR (rows with a fhir_id) are never touched by a save."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from data.tables import AppointmentRow, DiagnosisRow, EncounterRevisionRow, EncounterRow, PrescriptionRow
from domain.clinical import (
    CARE_RELATIONSHIP_STATUSES,
    FREQUENCY_BY_CODE,
    ICD10CM_SYSTEM,
    Diagnosis,
    NoteStatus,
    PrescriptionItem,
    Visit,
    VisitContent,
    VisitNote,
    VisitRevision,
)
from domain.errors import Conflict
from domain.model import ensure_aware


def content_to_json(content: VisitContent) -> dict[str, Any]:
    return {
        "note": {
            "chief_complaint": content.note.chief_complaint,
            "findings": content.note.findings,
            "plan": content.note.plan,
        },
        "diagnoses": [{"code": d.code, "display": d.display, "system": d.system} for d in content.diagnoses],
        "prescriptions": [
            {
                "drug_name": p.drug_name,
                "drug_code": p.drug_code,
                "dose": p.dose,
                "dose_unit": p.dose_unit,
                "route": p.route,
                "frequency": p.frequency,
                "duration_days": p.duration_days,
                "quantity": p.quantity,
                "quantity_unit": p.quantity_unit,
                "refills": p.refills,
                "as_needed": p.as_needed,
                "as_needed_reason": p.as_needed_reason,
                "instructions": p.instructions,
            }
            for p in content.prescriptions
        ],
    }


def content_from_json(data: dict[str, Any]) -> VisitContent:
    note = data.get("note") or {}
    return VisitContent(
        VisitNote(note.get("chief_complaint", ""), note.get("findings", ""), note.get("plan", "")),
        tuple(Diagnosis(d["code"], d["display"], d.get("system", ICD10CM_SYSTEM)) for d in data.get("diagnoses", [])),
        tuple(
            PrescriptionItem(
                drug_name=p["drug_name"],
                drug_code=p["drug_code"],
                dose=float(p["dose"]),
                dose_unit=p["dose_unit"],
                route=p["route"],
                frequency=p["frequency"],
                duration_days=int(p["duration_days"]),
                quantity=int(p["quantity"]),
                quantity_unit=p["quantity_unit"],
                refills=int(p["refills"]),
                as_needed=bool(p["as_needed"]),
                as_needed_reason=p.get("as_needed_reason", ""),
                instructions=p.get("instructions", ""),
            )
            for p in data.get("prescriptions", [])
        ),
    )


def _item(row: PrescriptionRow) -> PrescriptionItem:
    return PrescriptionItem(
        drug_name=row.drug_display,
        drug_code=row.drug_code,
        dose=float(row.dose or 0),
        dose_unit=row.dose_unit,
        route=row.route,
        frequency=row.frequency_code,
        duration_days=int(row.duration_days or 0),
        quantity=int(row.quantity or 0),
        quantity_unit=row.quantity_unit,
        refills=int(row.refills or 0),
        as_needed=row.as_needed,
        as_needed_reason=row.as_needed_reason,
        instructions=row.instructions,
    )


class ClinicalRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    def _to(self, row: EncounterRow) -> Visit:
        assert row.id is not None
        diagnoses = self.s.exec(
            select(DiagnosisRow)
            .where(DiagnosisRow.encounter_id == row.id, col(DiagnosisRow.fhir_id).is_(None))
            .order_by(col(DiagnosisRow.id))
        ).all()
        prescriptions = self.s.exec(
            select(PrescriptionRow)
            .where(PrescriptionRow.encounter_id == row.id, col(PrescriptionRow.fhir_id).is_(None))
            .order_by(col(PrescriptionRow.position), col(PrescriptionRow.id))
        ).all()
        revisions = self.s.exec(
            select(EncounterRevisionRow)
            .where(EncounterRevisionRow.encounter_id == row.id)
            .order_by(col(EncounterRevisionRow.version))
        ).all()
        content = VisitContent(
            VisitNote(row.chief_complaint, row.findings, row.plan),
            tuple(Diagnosis(d.code, d.display, d.system or ICD10CM_SYSTEM) for d in diagnoses),
            tuple(_item(p) for p in prescriptions),
        )
        return Visit(
            appointment_id=row.appointment_id,
            patient_id=row.patient_id,
            doctor_id=row.doctor_id or 0,
            start=ensure_aware(row.start_at),
            content=content,
            status=NoteStatus(row.note_status) if row.note_status in NoteStatus._value2member_map_ else NoteStatus.NONE,
            revisions=[
                VisitRevision(
                    r.version,
                    r.kind,
                    content_from_json(r.content),
                    ensure_aware(r.at),
                    r.by_account_id,
                    r.by_name,
                    r.reason,
                )
                for r in revisions
            ],
            updated_at=ensure_aware(row.updated_at) if row.updated_at else None,
            version=row.version,
            id=row.id,
        )

    def visit_for_appointment(self, appointment_id: int, for_update: bool = False) -> Visit | None:
        query = select(EncounterRow).where(EncounterRow.appointment_id == appointment_id)
        if for_update:  # Postgres: two saves of one visit queue up (SQLite serialises writers anyway)
            query = query.with_for_update().execution_options(populate_existing=True)
        row = self.s.exec(query).first()
        return self._to(row) if row else None

    def get_visit(self, visit_id: int) -> Visit | None:
        row = self.s.get(EncounterRow, visit_id)
        return self._to(row) if row else None

    def add_visit(self, visit: Visit) -> Visit:
        row = EncounterRow(
            appointment_id=visit.appointment_id,
            patient_id=visit.patient_id,
            doctor_id=visit.doctor_id,
            start_at=ensure_aware(visit.start),
            class_code="AMB",
            type_display="Visit",
            note_status=visit.status.value,
            version=visit.version,
        )
        try:
            with self.s.begin_nested():
                self.s.add(row)
                self.s.flush()
        except IntegrityError:
            raise Conflict("A record for this visit was just started elsewhere. Please reload the page.") from None
        visit.id = row.id
        return visit

    def save_visit(self, visit: Visit) -> None:
        row = self.s.get(EncounterRow, visit.id)
        assert row is not None and visit.id is not None
        if row.version != visit.version - 1:
            raise Conflict("This record was changed elsewhere in the meantime. Please reload the page.")
        note = visit.content.note
        row.chief_complaint, row.findings, row.plan = note.chief_complaint, note.findings, note.plan
        row.note_status, row.version = visit.status.value, visit.version
        row.updated_at = ensure_aware(visit.updated_at) if visit.updated_at else None
        first = visit.original
        if first is not None:
            row.signed_at, row.signed_by_id = ensure_aware(first.at), first.by_account_id
        self.s.add(row)
        # the rows written here are replaced; imported ones (with a fhir_id) stay
        self.s.exec(
            sa.delete(DiagnosisRow).where(  # type: ignore[call-overload]
                DiagnosisRow.encounter_id == visit.id, col(DiagnosisRow.fhir_id).is_(None)
            )
        )
        self.s.exec(
            sa.delete(PrescriptionRow).where(  # type: ignore[call-overload]
                PrescriptionRow.encounter_id == visit.id, col(PrescriptionRow.fhir_id).is_(None)
            )
        )
        onset = ensure_aware(visit.start)
        for d in visit.content.diagnoses:
            self.s.add(
                DiagnosisRow(
                    patient_id=visit.patient_id,
                    encounter_id=visit.id,
                    system=d.system,
                    code=d.code,
                    display=d.display,
                    clinical_status="active" if visit.signed else "",  # a draft's are not on the record yet
                    onset_at=onset,
                )
            )
        authored: datetime | None = first.at if first else visit.updated_at
        status = "active" if visit.signed else "draft"
        for position, p in enumerate(visit.content.prescriptions):
            frequency = FREQUENCY_BY_CODE.get(p.frequency)
            self.s.add(
                PrescriptionRow(
                    patient_id=visit.patient_id,
                    encounter_id=visit.id,
                    doctor_id=visit.doctor_id,
                    drug_system=p.drug_system,
                    drug_code=p.drug_code,
                    drug_display=p.drug_name,
                    dose=p.dose,
                    dose_unit=p.dose_unit,
                    route=p.route,
                    frequency=frequency.times if frequency else None,
                    period=frequency.period if frequency else None,
                    period_unit=frequency.unit if frequency else "",
                    frequency_code=p.frequency,
                    duration_days=p.duration_days,
                    quantity=p.quantity,
                    quantity_unit=p.quantity_unit,
                    refills=p.refills,
                    as_needed=p.as_needed,
                    as_needed_reason=p.as_needed_reason,
                    instructions=p.instructions,
                    status=status,
                    authored_at=ensure_aware(authored) if authored else None,
                    position=position,
                )
            )
        stored = self.s.exec(
            select(sa.func.max(EncounterRevisionRow.version)).where(EncounterRevisionRow.encounter_id == visit.id)
        ).one()
        for revision in visit.revisions:
            if revision.version > (stored or 0):
                self.s.add(
                    EncounterRevisionRow(
                        encounter_id=visit.id,
                        version=revision.version,
                        kind=revision.kind,
                        at=ensure_aware(revision.at),
                        by_account_id=revision.by_account_id,
                        by_name=revision.by_name[:200],
                        reason=revision.reason,
                        content=content_to_json(revision.content),
                    )
                )
        try:
            self.s.flush()
        except IntegrityError:
            raise Conflict("This record was changed elsewhere in the meantime. Please reload the page.") from None

    def has_relationship(self, doctor_id: int, patient_id: int) -> bool:
        """An appointment that was or is meant to take place (domain.clinical.CARE_RELATIONSHIP_STATUSES: not
        cancelled, not entered in error), or an encounter (imported ones too)."""
        appointment = self.s.exec(
            select(AppointmentRow.id)
            .where(
                AppointmentRow.doctor_id == doctor_id,
                AppointmentRow.patient_id == patient_id,
                col(AppointmentRow.status).in_(sorted(s.value for s in CARE_RELATIONSHIP_STATUSES)),
            )
            .limit(1)
        ).first()
        if appointment is not None:
            return True
        encounter = self.s.exec(
            select(EncounterRow.id)
            .where(EncounterRow.doctor_id == doctor_id, EncounterRow.patient_id == patient_id)
            .limit(1)
        ).first()
        return encounter is not None
