"""Use cases of the medical record: open a patient's record, write, sign and amend a visit, print its
prescription. Every call checks who acts and their relationship to the patient, and is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from domain.clinical import (
    NoteStatus,
    PrescriptionInput,
    PrescriptionSheet,
    Visit,
    VisitContent,
    counted,
    diagnosis_code,
    validate_content,
    visit_words,
)
from domain.errors import NotAllowed, NotFound, ValidationError
from domain.model import Actor, Appointment, AppointmentStatus, AuditEvent, Patient, Role
from domain.ports import Clock, CodeCatalogue, UnitOfWork, UnitOfWorkFactory
from domain.services import Services

#: appointments for which no new record is started (an existing one can still be amended)
NO_RECORD_STATUSES = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR})
STARTED_STATUSES = frozenset({AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN, AppointmentStatus.FULFILLED})
REFUSED = "You have no care relationship with this patient, so their record stays closed. This attempt was logged."
EARLIER_RECORD = "This visit was recorded before (imported or from earlier records); it is kept as it was."
ADMIN_REFUSED = "Administrators do not read clinical records. This attempt was logged."
NOT_THE_WRITER = "Only the visit's own doctor may write its record. This attempt was logged."


@dataclass(frozen=True)
class VisitForm:
    """What the visit form sends: unvalidated."""

    chief_complaint: str = ""
    findings: str = ""
    plan: str = ""
    diagnosis_codes: list[str] = field(default_factory=list)
    prescriptions: list[PrescriptionInput] = field(default_factory=list)


@dataclass(frozen=True)
class VisitView:
    """An opened visit: the record (not stored yet when `visit.id` is None) and who it is about."""

    visit: Visit
    appointment: Appointment
    patient: Patient
    doctor_name: str
    can_write: bool


@dataclass
class ClinicalServices:
    uow: UnitOfWorkFactory
    clock: Clock
    tz: ZoneInfo
    catalogue: CodeCatalogue

    # ---- who may read what ----------------------------------------------------------------------------------
    def _audit(
        self, uow: UnitOfWork, actor: Actor, action: str, entity: str, entity_id: int | None, patient_id: int, detail=""
    ) -> None:
        uow.audit.add(
            AuditEvent(
                self.clock.now(),
                actor.account_id,
                actor.role.value,
                action,
                entity,
                entity_id,
                patient_id=patient_id,
                detail=detail,
            )
        )

    def _refuse(self, uow: UnitOfWork, actor: Actor, patient_id: int, what: str, message: str = REFUSED) -> NotAllowed:
        """Write `record.refused` and commit it: the refusal stays on record although the call then fails."""
        self._audit(uow, actor, "record.refused", "patient", patient_id, patient_id, what)
        uow.commit()
        return NotAllowed(message)

    def _check_reader(self, uow: UnitOfWork, actor: Actor, patient_id: int, what: str) -> None:
        Services._still_active(uow, actor)
        if actor.role == Role.ADMIN:
            raise self._refuse(uow, actor, patient_id, what, ADMIN_REFUSED)
        if actor.role == Role.PATIENT:
            if actor.patient_id != patient_id:
                raise self._refuse(uow, actor, patient_id, what, "You can only see your own record.")
            return
        if actor.role != Role.DOCTOR or actor.doctor_id is None:
            raise self._refuse(uow, actor, patient_id, what)
        if not uow.clinical.has_relationship(actor.doctor_id, patient_id):
            raise self._refuse(uow, actor, patient_id, what)

    def open_record(self, actor: Actor, patient_id: int, what: str = "timeline") -> Patient:
        """Open a patient's record (the timeline): the patient themself, or a doctor with a care relationship
        (an appointment not cancelled nor entered in error, or an encounter). Writes `record.view`; any other
        attempt writes `record.refused`."""
        with self.uow() as uow:
            self._check_reader(uow, actor, patient_id, what)
            patient = uow.patients.get(patient_id)
            if patient is None:
                raise NotFound("This patient does not exist.")
            self._audit(uow, actor, "record.view", "patient", patient_id, patient_id, what)
            uow.commit()
            return patient

    # ---- the visit ------------------------------------------------------------------------------------------
    def _appointment(self, uow: UnitOfWork, appointment_id: int) -> Appointment:
        appointment = uow.appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("This appointment does not exist.")
        return appointment

    def open_visit(self, actor: Actor, appointment_id: int) -> VisitView:
        """The visit's own doctor opens it to write (a new draft when nothing is written yet); another doctor
        of the patient, or the patient, reads what is stored."""
        with self.uow() as uow:
            Services._still_active(uow, actor)
            appointment = self._appointment(uow, appointment_id)
            assert appointment.id is not None
            words = visit_words(appointment.id, None)
            self._check_reader(uow, actor, appointment.patient_id, words)
            own = actor.role == Role.DOCTOR and actor.doctor_id == appointment.doctor_id
            visit = uow.clinical.visit_for_appointment(appointment.id)
            if visit is None:
                if not own:
                    raise NotFound("Nothing has been written for this visit yet.")
                visit = Visit(appointment.id, appointment.patient_id, appointment.doctor_id, appointment.start)
            if actor.role == Role.PATIENT and not visit.signed:
                raise NotFound("This visit's record is not signed yet.")
            patient = uow.patients.get(appointment.patient_id)
            doctor = uow.doctors.get(appointment.doctor_id)
            assert patient is not None
            self._audit(uow, actor, "record.view", "encounter", visit.id, appointment.patient_id, words)
            uow.commit()
            writable = own and visit.status != NoteStatus.NONE
            return VisitView(visit, appointment, patient, doctor.name if doctor else "", writable)

    def _write(
        self, actor: Actor, appointment_id: int, form: VisitForm, expected_version: int, action: str, reason: str = ""
    ) -> Visit:
        actor.require(Role.DOCTOR, Role.ADMIN, Role.PATIENT)
        now = self.clock.now()
        with self.uow() as uow:
            Services._still_active(uow, actor)
            appointment = self._appointment(uow, appointment_id)
            assert appointment.id is not None
            if actor.role != Role.DOCTOR or actor.doctor_id != appointment.doctor_id:
                # every refused write is on record, whoever tried (committed before the call fails)
                verb = {"visit.sign": "sign", "visit.amend": "amend"}.get(action, "write")
                message = NOT_THE_WRITER
                if actor.role == Role.ADMIN:
                    message = ADMIN_REFUSED
                elif actor.role == Role.DOCTOR and (
                    actor.doctor_id is None
                    or not uow.clinical.has_relationship(actor.doctor_id, appointment.patient_id)
                ):
                    message = REFUSED
                what = f"{verb} {visit_words(appointment.id, None)}"
                raise self._refuse(uow, actor, appointment.patient_id, what, message)
            content = self._validate(form)
            visit = uow.clinical.visit_for_appointment(appointment.id, for_update=True)
            if visit is None:
                if appointment.status in NO_RECORD_STATUSES:
                    status = appointment.status.value.replace("-", " ")
                    raise ValidationError(f"This appointment is {status}: no record is written for it.")
                visit = uow.clinical.add_visit(
                    Visit(appointment.id, appointment.patient_id, appointment.doctor_id, appointment.start)
                )
            if visit.status == NoteStatus.NONE:
                raise ValidationError(EARLIER_RECORD)
            if action != "visit.save":  # a draft may be written ahead; a signature records a visit that took place
                if appointment.status in NO_RECORD_STATUSES:
                    status = appointment.status.value.replace("-", " ")
                    raise ValidationError(f"This appointment is {status}: its record cannot be signed.")
                if appointment.status not in STARTED_STATUSES and appointment.start > now:
                    raise ValidationError(
                        "This visit has not started yet: it can be signed once the patient has arrived or its time "
                        "has come. You can save it as a draft now."
                    )
            if visit.version != expected_version:
                raise ValidationError(
                    "This record was changed in another window since you opened it. Reload the page to see the "
                    "latest version; your text is still in the form."
                )
            name = actor.name or "the doctor"
            counts = f"{counted(len(content.diagnoses), 'diagnosis', 'diagnoses')}, "
            counts += counted(len(content.prescriptions), "prescription")
            detail = f"{visit_words(appointment.id, visit.id)}: {counts}"
            if action == "visit.save":
                visit.save_draft(actor.doctor_id, content, now)
            elif action == "visit.sign":
                visit.sign(actor.doctor_id, content, now, actor.account_id, name)
            else:
                revision = visit.amend(actor.doctor_id, content, reason, now, actor.account_id, name)
                detail = (
                    f"{visit_words(appointment.id, visit.id)}, version {revision.version}: {revision.reason}; {counts}"
                )
            uow.clinical.save_visit(visit)
            self._audit(uow, actor, action, "encounter", visit.id, visit.patient_id, detail)
            uow.commit()
            return visit

    def _validate(self, form: VisitForm) -> VisitContent:
        # only what looks like codes is looked up; validate_content refuses anything else, naming the field
        raw_codes = form.diagnosis_codes if isinstance(form.diagnosis_codes, (list, tuple)) else []
        raw_items = form.prescriptions if isinstance(form.prescriptions, (list, tuple)) else []
        codes = [diagnosis_code(c, i) for i, c in enumerate(raw_codes, start=1) if isinstance(c, str)]
        drugs = [
            p.drug_code.strip()
            for p in raw_items
            if isinstance(p, PrescriptionInput) and isinstance(p.drug_code, str) and p.drug_code.strip()
        ]
        return validate_content(
            form.chief_complaint,
            form.findings,
            form.plan,
            form.diagnosis_codes,
            form.prescriptions,
            self.catalogue.diagnosis_names(codes),
            self.catalogue.drug_names(drugs),
        )

    def save_draft(self, actor: Actor, appointment_id: int, form: VisitForm, expected_version: int) -> Visit:
        """Store the draft (note, diagnoses, prescriptions in one unit of work; a bad item stores nothing)."""
        return self._write(actor, appointment_id, form, expected_version, "visit.save")

    def sign(self, actor: Actor, appointment_id: int, form: VisitForm, expected_version: int) -> Visit:
        """Store and sign: from now on the record changes only by amendment. The visit must have begun (the patient
        arrived, or its time came); it need not be over."""
        return self._write(actor, appointment_id, form, expected_version, "visit.sign")

    def amend(self, actor: Actor, appointment_id: int, form: VisitForm, reason: str, expected_version: int) -> Visit:
        """Change a signed record: a new version with a reason; the signed original stays as it was."""
        return self._write(actor, appointment_id, form, expected_version, "visit.amend", reason)

    # ---- printing -------------------------------------------------------------------------------------------
    def prescription_sheet(self, actor: Actor, visit_id: int) -> PrescriptionSheet:
        """The current prescriptions of a signed visit, for print: the visit's doctor or its patient.
        Writes `prescription.print`."""
        with self.uow() as uow:
            Services._still_active(uow, actor)
            visit = uow.clinical.get_visit(visit_id)
            if visit is None:
                raise NotFound("This visit does not exist.")
            assert visit.id is not None
            own_doctor = actor.role == Role.DOCTOR and actor.doctor_id == visit.doctor_id
            own_patient = actor.role == Role.PATIENT and actor.patient_id == visit.patient_id
            if not (own_doctor or own_patient):
                message = (
                    ADMIN_REFUSED
                    if actor.role == Role.ADMIN
                    else "Only the visit's doctor or its patient can print it."
                )
                what = f"print prescription, {visit_words(visit.appointment_id, visit.id)}"
                raise self._refuse(uow, actor, visit.patient_id, what, message)
            if visit.status not in (NoteStatus.SIGNED, NoteStatus.AMENDED) or not visit.revisions:
                raise ValidationError("The prescription can be printed once the visit is signed.")
            if not visit.content.prescriptions:
                raise ValidationError("This visit has no prescriptions to print.")
            patient = uow.patients.get(visit.patient_id)
            doctor = uow.doctors.get(visit.doctor_id)
            assert patient is not None and doctor is not None
            latest = visit.revisions[-1]
            self._audit(
                uow,
                actor,
                "prescription.print",
                "encounter",
                visit.id,
                visit.patient_id,
                f"{visit_words(visit.appointment_id, visit.id)}, version {latest.version}, "
                + counted(len(visit.content.prescriptions), "item"),
            )
            uow.commit()
            return PrescriptionSheet(
                visit_id=visit.id,
                doctor=doctor.name,
                doctor_specialty=doctor.specialty,
                patient=patient.name,
                patient_birth_date=patient.birth_date,
                issued=latest.at.astimezone(self.tz).date(),
                items=visit.content.prescriptions,
                version=latest.version,
                signed_at=latest.at,
                appointment_id=visit.appointment_id,
            )
