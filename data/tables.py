"""SQLModel tables. Kept in their own module so they are defined exactly once per process."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

ACTIVE_STATUS_SQL = "status IN ('pending', 'booked', 'arrived', 'checked-in')"


def _ts(nullable: bool = False, index: bool = False) -> sa.Column:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)


class AccountRow(SQLModel, table=True):
    __tablename__ = "account"
    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=254, unique=True)
    role: str = Field(max_length=16)
    display_name: str = Field(max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    status: str = Field(default="active", max_length=16)
    status_reason: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    status_changed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_at: datetime = Field(sa_column=_ts(index=True))


class InviteRow(SQLModel, table=True):
    """An invite to set a password (a new doctor, an imported patient). The link carries a signed nonce; using it
    once sets used_at, so a second use is refused. Expiry is checked both in the signature and here."""

    __tablename__ = "invite"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    nonce: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=_ts())
    expires_at: datetime = Field(sa_column=_ts())
    used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_by_id: int | None = Field(default=None, foreign_key="account.id")


class DepartmentRow(SQLModel, table=True):
    __tablename__ = "department"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    description: str = Field(default="", max_length=1000)


class DoctorRow(SQLModel, table=True):
    __tablename__ = "doctor"
    __table_args__ = (sa.UniqueConstraint("source", "npi", name="uq_doctor_source_npi"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", unique=True)
    name: str = Field(max_length=200, index=True)
    specialty: str = Field(max_length=100, index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    email: str | None = Field(default=None, max_length=254)
    slot_minutes: int = 15
    visit_types: list[dict[str, Any]] | None = Field(default=None, sa_column=sa.Column(sa.JSON, nullable=True))
    min_notice_hours: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    horizon_days: int = Field(default=28, sa_column_kwargs={"server_default": "28"})
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)
    npi: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=64)


class ScheduleTemplateRow(SQLModel, table=True):
    """A doctor's weekly template from a date on; older ones are kept (what was offered when)."""

    __tablename__ = "schedule_template"
    __table_args__ = (sa.UniqueConstraint("doctor_id", "effective_from", name="uq_template_doctor_from"),)
    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(foreign_key="doctor.id", index=True)
    effective_from: date
    slot_minutes: int


class WorkingHoursRow(SQLModel, table=True):
    __tablename__ = "working_hours"
    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(foreign_key="doctor.id", index=True)
    template_id: int | None = Field(default=None, foreign_key="schedule_template.id", index=True)
    weekday: int
    start_time: time
    end_time: time


class PatientRow(SQLModel, table=True):
    __tablename__ = "patient"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", unique=True)
    name: str = Field(max_length=200, index=True)
    birth_date: date | None = None
    email: str | None = Field(default=None, max_length=254)
    gender: str | None = Field(default=None, max_length=20)
    phone: str | None = Field(default=None, max_length=40)
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)
    deceased_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class AppointmentRow(SQLModel, table=True):
    __tablename__ = "appointment"
    __table_args__ = (
        sa.Index(
            "uq_appointment_active_slot",
            "doctor_id",
            "start_at",
            unique=True,
            sqlite_where=sa.text(ACTIVE_STATUS_SQL),
            postgresql_where=sa.text(ACTIVE_STATUS_SQL),
        ),
        sa.Index("ix_appointment_doctor_start", "doctor_id", "start_at"),
        sa.Index("ix_appointment_patient_start", "patient_id", "start_at"),
        sa.Index("ix_appointment_start", "start_at"),
        sa.Index("ix_appointment_rescheduled_from", "rescheduled_from_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int = Field(foreign_key="doctor.id")
    patient_id: int = Field(foreign_key="patient.id")
    start_at: datetime = Field(sa_column=_ts())
    end_at: datetime = Field(sa_column=_ts())
    status: str = Field(max_length=20)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_column=_ts())
    cancelled_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    cancel_reason: str = Field(default="", max_length=500)
    cancel_code: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    cancelled_by_id: int | None = Field(default=None, foreign_key="account.id")
    rescheduled_from_id: int | None = Field(default=None, foreign_key="appointment.id")
    visit_type: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)


class EncounterRow(SQLModel, table=True):
    """A visit's medical record."""

    __tablename__ = "encounter"
    __table_args__ = (
        sa.Index("uq_encounter_appointment", "appointment_id", unique=True),  # one record per appointment
        sa.Index("ix_encounter_patient_start", "patient_id", "start_at", "id"),  # the timeline's pages
    )
    id: int | None = Field(default=None, primary_key=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    doctor_id: int | None = Field(default=None, foreign_key="doctor.id", index=True)
    start_at: datetime = Field(sa_column=_ts())
    end_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    class_code: str = Field(default="", max_length=20)
    type_code: str = Field(default="", max_length=40)
    type_display: str = Field(default="", max_length=300)
    reason: str = Field(default="", max_length=300)
    location: str = Field(default="", max_length=300)
    notes: str = Field(default="")
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)
    # a visit written here (domain/clinical.py): "" for imported records, else draft, signed or amended
    note_status: str = Field(default="", max_length=16, sa_column_kwargs={"server_default": ""})
    chief_complaint: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    findings: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    plan: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    updated_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    signed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    signed_by_id: int | None = Field(default=None, foreign_key="account.id")


class EncounterRevisionRow(SQLModel, table=True):
    """A signed version of a visit record (1: as signed; then one per amendment), never changed afterwards.
    `content` holds the note, diagnoses and prescriptions of that version as JSON."""

    __tablename__ = "encounter_revision"
    __table_args__ = (sa.UniqueConstraint("encounter_id", "version", name="uq_encounter_revision_version"),)
    id: int | None = Field(default=None, primary_key=True)
    encounter_id: int = Field(foreign_key="encounter.id", index=True)
    version: int
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_column=_ts())
    by_account_id: int = Field(foreign_key="account.id")
    by_name: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=300)
    content: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))


class DiagnosisRow(SQLModel, table=True):
    __tablename__ = "diagnosis"
    __table_args__ = (sa.Index("ix_diagnosis_patient_onset", "patient_id", "onset_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    encounter_id: int | None = Field(default=None, foreign_key="encounter.id", index=True)
    system: str = Field(default="", max_length=200)
    code: str = Field(default="", max_length=40)
    display: str = Field(default="", max_length=300)
    clinical_status: str = Field(default="", max_length=20)
    onset_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    abated_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)


class PrescriptionRow(SQLModel, table=True):
    __tablename__ = "prescription"
    __table_args__ = (sa.Index("ix_prescription_patient_authored", "patient_id", "authored_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    encounter_id: int | None = Field(default=None, foreign_key="encounter.id", index=True)
    doctor_id: int | None = Field(default=None, foreign_key="doctor.id")
    drug_system: str = Field(default="", max_length=200)
    drug_code: str = Field(default="", max_length=40)
    drug_display: str = Field(default="", max_length=300)
    dose: float | None = None
    dose_unit: str = Field(default="", max_length=40)
    route: str = Field(default="", max_length=80)
    frequency: int | None = None
    period: float | None = None
    period_unit: str = Field(default="", max_length=10)
    duration_days: int | None = None
    refills: int | None = None
    as_needed: bool = False
    instructions: str = Field(default="", max_length=1000)
    status: str = Field(default="", max_length=20)
    authored_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    fhir_id: str | None = Field(default=None, max_length=64, unique=True)
    # written here: the structured fields FHIR's import does not fill
    frequency_code: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    quantity: int | None = None
    quantity_unit: str = Field(default="", max_length=40, sa_column_kwargs={"server_default": ""})
    as_needed_reason: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LeaveRow(SQLModel, table=True):
    """A doctor's leave (doctor_id set) or a whole-hospital closure (doctor_id NULL)."""

    __tablename__ = "leave"
    __table_args__ = (sa.Index("ix_leave_doctor_start", "doctor_id", "start_at"),)
    id: int | None = Field(default=None, primary_key=True)
    doctor_id: int | None = Field(default=None, foreign_key="doctor.id")
    start_at: datetime = Field(sa_column=_ts())
    end_at: datetime = Field(sa_column=_ts())
    reason: str = Field(default="", max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(sa_column=_ts())


class AuditEventRow(SQLModel, table=True):
    """Append-only (the database refuses UPDATE and DELETE, see migration 0004)."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(index=True))
    actor_account_id: int | None = Field(default=None, index=True)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=60, index=True)
    entity: str = Field(max_length=40)
    entity_id: int | None = None
    patient_id: int | None = Field(default=None, index=True)
    detail: str = Field(default="", max_length=2000)


class WaitlistEntryRow(SQLModel, table=True):
    __tablename__ = "waitlist_entry"
    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", index=True)
    doctor_id: int | None = Field(default=None, foreign_key="doctor.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    first_day: date
    last_day: date
    status: str = Field(default="waiting", max_length=16, index=True)
    note: str = Field(default="", max_length=300)
    created_at: datetime = Field(sa_column=_ts())


class WaitlistOfferRow(SQLModel, table=True):
    __tablename__ = "waitlist_offer"
    __table_args__ = (sa.Index("ix_offer_doctor_start", "doctor_id", "start_at"),)
    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="waitlist_entry.id", index=True)
    patient_id: int = Field(foreign_key="patient.id")
    doctor_id: int = Field(foreign_key="doctor.id")
    start_at: datetime = Field(sa_column=_ts())
    end_at: datetime = Field(sa_column=_ts())
    visit_type: str = Field(default="", max_length=40)
    expires_at: datetime = Field(sa_column=_ts(index=True))
    status: str = Field(default="open", max_length=16, index=True)
