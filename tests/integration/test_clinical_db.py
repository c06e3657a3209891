"""Visit records on a real database (SQLite always, Postgres when configured): one unit of work per save,
signed versions kept, the access rule as SQL, the timeline's pages and active/past prescriptions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data import clinical_queries
from data.catalog import Catalogue
from data.clinical_queries import ClinicalQueries
from data.uow import SqlUnitOfWorkFactory
from domain.clinical import PrescriptionInput, Visit
from domain.clinical_services import ClinicalServices, VisitForm
from domain.errors import Conflict, NotAllowed, ValidationError
from domain.model import Account, Actor, Appointment, AppointmentStatus, Doctor, Patient, Role
from tests.fakes import BERLIN, FixedClock

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
CATALOGUE = Catalogue()  # loaded once for the module's tests

RX = PrescriptionInput(
    drug_name="",
    drug_code="308182",  # Amoxicillin 250 MG Oral Capsule (from the Synthea bundles)
    dose="500",
    dose_unit="mg",
    route="oral",
    frequency="3/d",
    duration_days=7,
    quantity=21,
    quantity_unit="capsule(s)",
)
FORM = VisitForm("Sore throat", "Red tonsils, no fever", "Amoxicillin for a week", ["J02.9"], [RX])


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def clinical(engine: Engine, clock: FixedClock) -> ClinicalServices:
    return ClinicalServices(SqlUnitOfWorkFactory(engine), clock, BERLIN, CATALOGUE)


@pytest.fixture
def world(engine: Engine):
    uow_factory = SqlUnitOfWorkFactory(engine)
    with uow_factory() as uow:
        doctors = []
        for name in ("Weber", "Lind"):
            account = uow.accounts.add(Account(f"{name.lower()}@h.test", Role.DOCTOR, f"Dr {name}", "hash"))
            doctor = uow.doctors.add(Doctor(account.id, f"Dr {name}", "GP", None, account.email))
            doctors.append(Actor(account.id or 0, Role.DOCTOR, doctor_id=doctor.id, name=f"Dr {name}"))
        account = uow.accounts.add(Account("zoe@mail.test", Role.PATIENT, "Zoë Müller", "hash"))
        patient = uow.patients.add(Patient(account.id, "Zoë Müller", date(1990, 2, 3), account.email))
        anna = Actor(account.id or 0, Role.PATIENT, patient_id=patient.id)
        admin_account = uow.accounts.add(Account("admin@h.test", Role.ADMIN, "Admin", "hash"))
        appointments = []
        for days in (0, 1):
            start = NOW + timedelta(days=days, hours=1)
            appointments.append(
                uow.appointments.add(  # the patient has come (a signature records a visit that took place)
                    Appointment(
                        doctors[0].doctor_id or 0,
                        patient.id or 0,
                        start,
                        start + timedelta(minutes=15),
                        AppointmentStatus.ARRIVED,
                    )
                )
            )
        uow.commit()
    return {
        "weber": doctors[0],
        "lind": doctors[1],
        "patient": anna,
        "patient_id": patient.id,
        "admin": Actor(admin_account.id or 0, Role.ADMIN),
        "appointments": [a.id for a in appointments],
    }


def count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def test_save_sign_amend_store_every_version_and_audit_it(clinical, engine, world) -> None:
    appointment = world["appointments"][0]
    draft = clinical.save_draft(world["weber"], appointment, FORM, 0)
    assert count(engine, "SELECT COUNT(*) FROM prescription WHERE status = 'draft'") == 1
    signed = clinical.sign(world["weber"], appointment, FORM, draft.version)
    changed = replace(FORM, prescriptions=[replace(RX, dose="250", instructions="After meals")])
    amended = clinical.amend(world["weber"], appointment, changed, "Dose halved: kidney function", signed.version)

    with SqlUnitOfWorkFactory(engine)(readonly=True) as uow:
        stored = uow.clinical.visit_for_appointment(appointment)
    assert stored is not None and stored.status.value == "amended"
    assert [r.version for r in stored.revisions] == [1, 2]
    assert stored.revisions[0].content.prescriptions[0].dose == 500  # the signed original, unchanged
    assert stored.content.prescriptions[0].dose == 250
    assert stored.revisions[1].reason == "Dose halved: kidney function"
    assert stored.content.prescriptions[0].drug_name == "Amoxicillin 250 MG Oral Capsule"
    assert stored.content.diagnoses[0].display == "Acute pharyngitis, unspecified"
    # the current prescriptions replace the old ones: one row, active
    assert count(engine, "SELECT COUNT(*) FROM prescription WHERE encounter_id = :e", e=amended.id) == 1
    assert count(engine, "SELECT COUNT(*) FROM prescription WHERE status = 'active' AND dose = 250") == 1
    actions = [
        r[0]
        for r in engine.connect()
        .execute(
            sa.text("SELECT action FROM audit_event WHERE patient_id = :p ORDER BY id"), {"p": world["patient_id"]}
        )
        .all()
    ]
    assert actions == ["visit.save", "visit.sign", "visit.amend"]


def test_a_bad_item_stores_nothing_at_all(clinical, engine, world) -> None:
    bad = replace(FORM, prescriptions=[RX, replace(RX, refills=20)])
    with pytest.raises(ValidationError, match="Prescription 2 .*refills must be between 0 and 12"):
        clinical.save_draft(world["weber"], world["appointments"][0], bad, 0)
    for table in ("encounter", "diagnosis", "prescription", "encounter_revision", "audit_event"):
        assert count(engine, f"SELECT COUNT(*) FROM {table}") == 0, table


def test_one_record_per_appointment_is_enforced_by_the_database(clinical, engine, world) -> None:
    appointment = world["appointments"][0]
    clinical.save_draft(world["weber"], appointment, FORM, 0)
    with SqlUnitOfWorkFactory(engine)() as uow:
        with pytest.raises(Conflict, match="just started elsewhere"):
            uow.clinical.add_visit(Visit(appointment, world["patient_id"], world["weber"].doctor_id or 0, NOW))
    assert count(engine, "SELECT COUNT(*) FROM encounter") == 1


def test_a_refusal_is_committed_and_admins_read_nothing(clinical, engine, world) -> None:
    with pytest.raises(NotAllowed):
        clinical.open_record(world["lind"], world["patient_id"])
    with pytest.raises(NotAllowed):
        clinical.open_record(world["admin"], world["patient_id"])
    assert (
        count(
            engine,
            "SELECT COUNT(*) FROM audit_event WHERE action = 'record.refused' AND patient_id = :p",
            p=world["patient_id"],
        )
        == 2
    )
    clinical.open_record(world["weber"], world["patient_id"])
    assert count(engine, "SELECT COUNT(*) FROM audit_event WHERE action = 'record.view'") == 1


def test_a_cancelled_or_erroneous_booking_gives_no_relationship_a_visit_that_took_place_does(
    clinical, engine, world
) -> None:
    lind = world["lind"]
    doctor_id = lind.doctor_id or 0

    def book(days: int, status: AppointmentStatus) -> None:
        with SqlUnitOfWorkFactory(engine)() as uow:
            start = NOW - timedelta(days=days)
            uow.appointments.add(
                Appointment(doctor_id, world["patient_id"], start, start + timedelta(minutes=15), status)
            )
            uow.commit()

    def related() -> bool:
        with SqlUnitOfWorkFactory(engine)(readonly=True) as uow:
            return uow.clinical.has_relationship(doctor_id, world["patient_id"])

    for days, status in enumerate(
        (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR, AppointmentStatus.WAITLIST), start=10
    ):
        book(days, status)
        assert not related(), status
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.open_record(lind, world["patient_id"])
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.save_draft(lind, world["appointments"][0], FORM, 0)
    refused = "SELECT COUNT(*) FROM audit_event WHERE action = 'record.refused' AND actor_account_id = :a"
    assert count(engine, refused, a=lind.account_id) == 2
    book(5, AppointmentStatus.FULFILLED)
    assert related()
    assert clinical.open_record(lind, world["patient_id"]).name == "Zoë Müller"
    # the patient's other doctor may read but never write Weber's visit; the refusal is on record
    with pytest.raises(NotAllowed, match="Only the visit's own doctor"):
        clinical.sign(lind, world["appointments"][0], FORM, 0)
    assert count(engine, refused, a=lind.account_id) == 3
    assert count(engine, "SELECT COUNT(*) FROM encounter") == 0


@pytest.mark.parametrize(
    "status",
    [
        AppointmentStatus.PENDING,
        AppointmentStatus.BOOKED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.NOSHOW,
    ],
)
def test_every_status_of_a_visit_meant_to_take_place_gives_a_relationship(engine, world, status) -> None:
    doctor_id = world["lind"].doctor_id or 0
    with SqlUnitOfWorkFactory(engine)() as uow:
        start = NOW + timedelta(days=6)
        uow.appointments.add(Appointment(doctor_id, world["patient_id"], start, start + timedelta(minutes=15), status))
        uow.commit()
        assert uow.clinical.has_relationship(doctor_id, world["patient_id"])


def test_timeline_pages_hide_drafts_from_the_patient_and_split_active_and_past(clinical, engine, clock, world) -> None:
    first, second = world["appointments"]
    clinical.sign(world["weber"], first, FORM, 0)
    clinical.save_draft(world["weber"], second, replace(FORM, chief_complaint="Draft words"), 0)
    queries = ClinicalQueries(engine)

    mine = queries.timeline(world["patient_id"], NOW, include_drafts=False)
    assert [v.appointment_id for v in mine.visits] == [second, first]  # newest first
    assert mine.visits[0].chief_complaint == "" and mine.visits[0].prescriptions == ()  # the draft's content
    assert mine.visits[1].chief_complaint == "Sore throat" and mine.visits[1].note_status == "signed"
    assert mine.visits[1].diagnoses[0].system == "ICD-10-CM" and mine.visits[1].diagnoses[0].code == "J02.9"
    doctors = queries.timeline(world["patient_id"], NOW, include_drafts=True)
    assert doctors.visits[0].chief_complaint == "Draft words"

    one = queries.timeline(world["patient_id"], NOW, limit=1)
    assert len(one.visits) == 1 and one.cursor is not None
    older = queries.timeline(world["patient_id"], NOW, before=one.cursor, limit=1)
    assert [v.appointment_id for v in older.visits] == [first] and older.cursor is None

    summary = queries.summary(world["patient_id"], NOW)
    assert [p.drug for p in summary.active_prescriptions] == ["Amoxicillin 250 MG Oral Capsule"]
    assert [d.code for d in summary.active_diagnoses] == ["J02.9"]  # the draft's diagnosis is not on record
    assert queries.past_prescriptions(world["patient_id"], NOW).items == []
    later = NOW + timedelta(days=8)  # the 7-day course is over
    assert queries.summary(world["patient_id"], later).active_prescriptions == []
    (past,) = queries.past_prescriptions(world["patient_id"], later).items
    assert past.drug == "Amoxicillin 250 MG Oral Capsule" and not past.active
    assert "three times a day" in past.dosage and "for 7 days" in past.dosage


def test_a_malformed_cursor_reads_the_first_page(clinical, engine, world) -> None:
    clinical.sign(world["weber"], world["appointments"][0], FORM, 0)
    queries = ClinicalQueries(engine)
    for cursor in ("", "x", "1.2.3", "99999999999999999999.1", "'; DROP TABLE encounter; --"):
        assert len(queries.timeline(world["patient_id"], NOW, before=cursor).visits) == 1


def test_my_patients_tells_the_last_visit_from_the_next_one(engine, world) -> None:
    weber = world["weber"].doctor_id or 0
    with SqlUnitOfWorkFactory(engine)() as uow:  # besides the two to come (in an hour and tomorrow)
        start = NOW - timedelta(days=20)
        uow.appointments.add(
            Appointment(weber, world["patient_id"], start, start + timedelta(minutes=15), AppointmentStatus.FULFILLED)
        )
        uow.commit()
    (mine,) = ClinicalQueries(engine).my_patients(weber, now=NOW).items
    assert mine.visits == 3
    assert mine.last_visit == NOW - timedelta(days=20)
    assert mine.next_visit == NOW + timedelta(hours=1)  # the first to come, not the latest
    (ahead,) = ClinicalQueries(engine).my_patients(weber, now=NOW - timedelta(days=30)).items
    assert ahead.last_visit is None and ahead.next_visit == NOW - timedelta(days=20)


def test_diagnosis_usage_counts_the_hospitals_icd_codes_and_is_cached(clinical, engine, world) -> None:
    clinical_queries._USAGE.clear()  # another test may have read a database at the same address
    first, second = world["appointments"]
    queries = ClinicalQueries(engine)
    assert queries.diagnosis_usage() == {}
    clinical.sign(world["weber"], first, FORM, 0)
    assert queries.diagnosis_usage() == {}  # cached for a while: searching does not count on every keystroke
    clinical_queries._USAGE.clear()
    clinical.sign(world["weber"], second, replace(FORM, diagnosis_codes=["J02.9", "E11.9"]), 0)
    with engine.begin() as conn:  # a SNOMED code from an import is not an ICD-10-CM use
        conn.execute(sa.text("UPDATE diagnosis SET system = 'http://snomed.info/sct' WHERE code = 'E11.9'"))
    assert ClinicalQueries(engine).diagnosis_usage() == {"J02.9": 2}
