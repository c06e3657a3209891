"""Visit records with fakes of the ports: writing, validating, signing, amending, printing, and who may read."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from domain.clinical import FormProblems, NoteStatus, PrescriptionInput, PrescriptionSheet, Visit, visit_words
from domain.clinical_services import ClinicalServices, VisitForm
from domain.errors import NotAllowed, NotFound, ValidationError
from domain.model import AccountStatus, Actor, Appointment, AppointmentStatus
from tests.fakes import (
    BERLIN,
    FakeAppointmentRepo,
    FakeHasher,
    FakeStore,
    FakeUnitOfWorkFactory,
    FixedClock,
    make_services,
    weekdays,
)

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


class FakeCatalogue:
    diagnoses = {"E11.9": "Type 2 diabetes mellitus without complications", "J45.909": "Unspecified asthma"}
    drugs = {"308182": "Amoxicillin 250 MG Oral Capsule", "310965": "Ibuprofen 200 MG Oral Tablet"}

    def diagnosis_names(self, codes: Iterable[str]) -> dict[str, str]:
        return {c: self.diagnoses[c] for c in codes if c in self.diagnoses}

    def drug_names(self, codes: Iterable[str]) -> dict[str, str]:
        return {c: self.drugs[c] for c in codes if c in self.drugs}


AMOXICILLIN = PrescriptionInput(
    drug_name="amoxicillin",
    drug_code="308182",
    dose="500",
    dose_unit="mg",
    route="oral",
    frequency="3/d",
    duration_days=7,
    quantity=21,
    quantity_unit="capsule(s)",
    refills=0,
    instructions="Take with food.",
)
IBUPROFEN = PrescriptionInput(
    drug_name="Ibuprofen",
    drug_code="310965",
    dose=400,
    dose_unit="mg",
    route="oral",
    frequency="1/8h",
    duration_days=5,
    quantity=15,
    quantity_unit="tablet(s)",
    as_needed=True,
    as_needed_reason="pain",
)
FORM = VisitForm(
    chief_complaint="Cough for two weeks",
    findings="Crackles right lower lobe",
    plan="Antibiotics, review in one week",
    diagnosis_codes=["e11.9"],
    prescriptions=[AMOXICILLIN, IBUPROFEN],
)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clinical(store: FakeStore) -> ClinicalServices:
    return ClinicalServices(FakeUnitOfWorkFactory(store), FixedClock(NOW), BERLIN, FakeCatalogue())


@pytest.fixture
def world(store: FakeStore):
    """Dr Weber has an appointment with Anna, who has arrived; Dr Lind has none with her; Ben is another patient."""
    weber, weber_actor = store.add_doctor("Dr Weber", weekdays(time(9), time(12)))
    lind, lind_actor = store.add_doctor("Dr Lind", weekdays(time(9), time(12)))
    anna, anna_actor = store.add_patient("Anna Schmidt")
    ben, ben_actor = store.add_patient("Ben Okafor")
    assert weber.id and anna.id
    start = NOW + timedelta(hours=1)
    appointment = FakeAppointmentRepo(store.tables).add(
        Appointment(weber.id, anna.id, start, start + timedelta(minutes=30), AppointmentStatus.ARRIVED)
    )
    assert appointment.id
    return {
        "weber": replace(weber_actor, name="Dr Weber"),
        "lind": replace(lind_actor, name="Dr Lind"),
        "anna": anna_actor,
        "ben": ben_actor,
        "anna_id": anna.id,
        "appointment": appointment.id,
        "admin": store.add_admin(),
    }


def audit(store: FakeStore, action: str) -> list:
    return [e for e in store.tables.audit if e.action == action]


# ---- validation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dose": "0"}, "Prescription 2 (Ibuprofen 200 MG Oral Tablet): dose must be greater than 0."),
        ({"dose": "-1"}, "dose must be greater than 0"),
        ({"dose": "lots"}, "dose must be a plain number"),
        ({"dose": ""}, "dose is required"),
        ({"duration_days": 0}, "duration (days) must be between 1 and 365"),
        ({"duration_days": 400}, "duration (days) must be between 1 and 365"),
        ({"duration_days": 2.5}, "duration (days) must be a whole number"),
        ({"refills": 13}, "refills must be between 0 and 12"),
        ({"quantity": 0}, "quantity must be between 1"),
        ({"as_needed_reason": "  "}, "as needed — please give the reason"),
        ({"route": "by telepathy"}, "please choose the route"),
        ({"frequency": ""}, "please choose how often"),
        ({"dose_unit": ""}, "please choose the dose unit"),
        ({"drug_code": "999999"}, "“999999” is not a drug of the catalogue"),
        ({"drug_code": "", "drug_name": "  "}, "Prescription 2: the drug is required"),
    ],
)
def test_a_bad_prescription_item_is_refused_naming_item_and_field_and_nothing_is_stored(
    clinical, store, world, change, message
) -> None:
    form = replace(FORM, prescriptions=[AMOXICILLIN, replace(IBUPROFEN, **change)])
    with pytest.raises(ValidationError) as refused:
        clinical.save_draft(world["weber"], world["appointment"], form, 0)
    assert message in refused.value.message
    assert store.tables.visits == {}  # the good note and the good first item were not stored either
    assert audit(store, "visit.save") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dose": 10**400}, "dose is implausibly large (at most 100000 mg)"),
        ({"dose": "9" * 400}, "dose must be a plain number"),
        ({"dose": 1e300}, "dose is implausibly large"),
        ({"dose": float("nan")}, "dose must be a number"),
        ({"dose": [400]}, "dose must be a number"),
        ({"dose": {"value": 400}}, "dose must be a number"),
        ({"dose": True}, "dose must be a number"),
        ({"dose": "1_000"}, "dose must be a plain number (digits with at most one decimal point or comma"),
        ({"dose": "1,000.5"}, "dose must be a plain number"),
        ({"dose": "4e2"}, "dose must be a plain number"),
        ({"dose": "٤٠٠"}, "dose must be a plain number"),  # Arabic-Indic digits
        ({"dose": "４００"}, "dose must be a plain number"),  # full-width digits
        ({"dose": "0.0001"}, "dose is too small (at least 0.001 mg)"),
        ({"dose": "0.0015"}, "dose can have at most 3 decimals"),
        ({"dose": "150", "dose_unit": "tablet(s)"}, "dose is implausibly large (at most 100 tablet(s))"),
        ({"duration_days": 10**400}, "duration (days) must be between 1 and 365"),
        ({"duration_days": [7]}, "duration (days) must be a number"),
        ({"quantity": {"n": 3}}, "quantity must be a number"),
        ({"quantity": "1_5"}, "quantity must be a plain number"),
        ({"refills": True}, "refills must be a number"),
        ({"refills": -(10**400)}, "refills must be between 0 and 12"),
        ({"dose_unit": ["mg"]}, "please choose the dose unit"),
        ({"frequency": ["3/d"]}, "please choose how often"),
        ({"route": {"oral": 1}}, "please choose the route"),
        ({"quantity_unit": 3}, "please choose the unit of the quantity"),
        ({"as_needed": "false"}, "“only as needed” must be ticked or not"),
        ({"as_needed_reason": "pain " * 70}, "as-needed reason is too long (at most 300 characters)"),
        ({"instructions": "x" * 1001}, "instructions is too long (1001 characters; at most 1000)"),
        ({"drug_code": 310965}, "Prescription 2: the drug code must be text"),
        ({"drug_name": ["Ibuprofen"], "drug_code": ""}, "Prescription 2: drug must be text"),
    ],
)
def test_a_number_or_choice_of_the_wrong_kind_or_size_is_refused_with_a_message(
    clinical, store, world, change, message
) -> None:
    form = replace(FORM, prescriptions=[AMOXICILLIN, replace(IBUPROFEN, **change)])
    with pytest.raises(ValidationError) as refused:
        clinical.save_draft(world["weber"], world["appointment"], form, 0)
    assert message in refused.value.message
    assert store.tables.visits == {}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (replace(FORM, diagnosis_codes=[1190]), "Diagnosis 1: the code must be text"),  # type: ignore[list-item]
        (replace(FORM, diagnosis_codes=["E11.9", None]), "Diagnosis 2: “” is not a billable"),  # type: ignore[list-item]
        (replace(FORM, chief_complaint=12), "Chief complaint must be text"),  # type: ignore[arg-type]
        (replace(FORM, plan="x" * 10_001), "Plan is too long (10001 characters; at most 10000)"),
        (replace(FORM, prescriptions=[{"drug_name": "x"}]), "Prescription 1 is not a prescription"),  # type: ignore[list-item]
        (replace(FORM, diagnosis_codes="E11.9"), "must be lists"),  # type: ignore[arg-type]
    ],
)
def test_a_form_with_the_wrong_kind_of_field_is_refused_not_a_traceback(clinical, store, world, form, message) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        clinical.save_draft(world["weber"], world["appointment"], form, 0)
    assert store.tables.visits == {}


def test_every_problem_of_the_form_is_reported_at_once_naming_item_and_field_and_nothing_is_stored(
    clinical, store, world
) -> None:
    """The trial's form: dose 0, no unit, duration 9999 (and more wrong elsewhere): all of it in one answer."""
    bad = replace(IBUPROFEN, dose="0", dose_unit="", duration_days=9999, refills=20, quantity=2.5)
    form = replace(FORM, plan="x" * 10_001, diagnosis_codes=["E11.9", "E11"], prescriptions=[AMOXICILLIN, bad])
    with pytest.raises(FormProblems) as refused:
        clinical.save_draft(world["weber"], world["appointment"], form, 0)
    found = [(p.item, p.field) for p in refused.value.problems]
    assert found == [
        ("Note", "plan"),
        ("Diagnosis 2", "code"),
        ("Prescription 2", "dose_unit"),
        ("Prescription 2", "dose"),
        ("Prescription 2", "duration_days"),
        ("Prescription 2", "quantity"),
        ("Prescription 2", "refills"),
    ]
    assert all(p.position == 2 for p in refused.value.problems[1:])
    message = refused.value.message
    assert message.startswith("7 problems, nothing was saved:")
    for words in (
        "Plan is too long",
        "Diagnosis 2: “E11” is not a billable ICD-10-CM code",
        "Prescription 2 (Ibuprofen 200 MG Oral Tablet): please choose the dose unit.",
        "Prescription 2 (Ibuprofen 200 MG Oral Tablet): dose must be greater than 0.",
        "duration (days) must be between 1 and 365",
        "quantity must be a whole number",
        "refills must be between 0 and 12",
    ):
        assert words in message
    assert store.tables.visits == {} and audit(store, "visit.save") == []


def test_a_dose_without_a_unit_is_still_checked_except_against_the_units_maximum(clinical, world) -> None:
    form = replace(FORM, prescriptions=[replace(IBUPROFEN, dose="0.0015", dose_unit="")])
    with pytest.raises(FormProblems) as refused:
        clinical.save_draft(world["weber"], world["appointment"], form, 0)
    assert [p.field for p in refused.value.problems] == ["dose_unit", "dose"]
    assert "dose can have at most 3 decimals" in refused.value.message
    huge = replace(FORM, prescriptions=[replace(IBUPROFEN, dose="999999999", dose_unit="")])
    with pytest.raises(FormProblems) as refused:
        clinical.save_draft(world["weber"], world["appointment"], huge, 0)
    assert [p.field for p in refused.value.problems] == ["dose_unit"]  # the maximum depends on the unit


def test_plain_decimals_with_a_point_or_a_comma_are_taken_and_printed_as_typed(clinical, world) -> None:
    items = [
        replace(AMOXICILLIN, dose="2,5", dose_unit="mL"),
        replace(AMOXICILLIN, dose=" 0.1250 ", dose_unit="mg"),
        replace(IBUPROFEN, drug_code="", drug_name="Benzylpenicillin", dose=2_400_000, dose_unit="IU"),
        replace(IBUPROFEN, dose="0.001", dose_unit="mg", duration_days="7", quantity=" 15 ", refills="2"),
    ]
    visit = clinical.save_draft(world["weber"], world["appointment"], replace(FORM, prescriptions=items), 0)
    doses = [dict(item.lines())["Dose"] for item in visit.content.prescriptions]
    assert doses == ["2.5 mL", "0.125 mg", "2400000 IU", "0.001 mg"]
    last = visit.content.prescriptions[-1]
    assert (last.duration_days, last.quantity, last.refills) == (7, 15, 2)


def test_an_amendment_reason_over_its_length_is_refused_not_cut(clinical, store, world) -> None:
    signed = clinical.sign(world["weber"], world["appointment"], FORM, 0)
    changed = replace(FORM, plan="Antibiotics; chest X-ray")
    with pytest.raises(ValidationError, match=r"Amendment reason is too long \(301 characters; at most 300\)"):
        clinical.amend(world["weber"], world["appointment"], changed, "r" * 301, signed.version)
    with pytest.raises(ValidationError, match="Amendment reason must be text"):
        clinical.amend(world["weber"], world["appointment"], changed, ["typo"], signed.version)  # type: ignore[arg-type]
    assert audit(store, "visit.amend") == []


def test_an_unknown_or_non_billable_diagnosis_code_is_refused(clinical, store, world) -> None:
    with pytest.raises(ValidationError, match="Diagnosis 2: “E11” is not a billable ICD-10-CM code"):
        clinical.save_draft(world["weber"], world["appointment"], replace(FORM, diagnosis_codes=["E11.9", "E11"]), 0)
    with pytest.raises(ValidationError, match="listed twice"):
        clinical.save_draft(world["weber"], world["appointment"], replace(FORM, diagnosis_codes=["E11.9"] * 2), 0)
    assert store.tables.visits == {}


def test_a_drug_outside_the_catalogue_is_stored_as_uncoded_free_text(clinical, store, world) -> None:
    free = replace(AMOXICILLIN, drug_code="", drug_name="Grandma's cough syrup")
    visit = clinical.save_draft(world["weber"], world["appointment"], replace(FORM, prescriptions=[free]), 0)
    item = visit.content.prescriptions[0]
    assert item.uncoded and item.drug_name == "Grandma's cough syrup"
    assert ("Drug", "Grandma's cough syrup (uncoded)") in item.lines()


def test_a_coded_drug_takes_the_catalogue_name_and_the_items_read_in_full_words(clinical, world) -> None:
    visit = clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    amox, ibu = visit.content.prescriptions
    assert amox.drug_name == "Amoxicillin 250 MG Oral Capsule"
    assert dict(amox.lines())["Frequency"] == "three times a day"
    assert dict(amox.lines())["Duration"] == "7 days"
    assert dict(ibu.lines())["As needed"] == "only when needed: pain"
    assert visit.content.diagnoses[0].display == "Type 2 diabetes mellitus without complications"


# ---- draft, sign, amend ------------------------------------------------------------------------------------------


def test_draft_then_sign_keeps_the_signed_version_and_audits_it(clinical, store, world) -> None:
    draft = clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    assert draft.status == NoteStatus.DRAFT and draft.version == 1 and draft.revisions == []
    signed = clinical.sign(world["weber"], world["appointment"], FORM, 1)
    assert signed.status == NoteStatus.SIGNED
    assert signed.original is not None and signed.original.at == NOW and signed.original.by_name == "Dr Weber"
    (event,) = audit(store, "visit.sign")
    assert event.patient_id == world["anna_id"] and event.entity_id == signed.id
    with pytest.raises(ValidationError, match="signed already"):
        clinical.sign(world["weber"], world["appointment"], FORM, signed.version)
    with pytest.raises(ValidationError, match="amendment with a reason"):
        clinical.save_draft(world["weber"], world["appointment"], FORM, signed.version)


def test_an_amendment_needs_a_reason_and_leaves_the_signed_original_as_it_was(clinical, store, world) -> None:
    signed = clinical.sign(world["weber"], world["appointment"], FORM, 0)
    changed = replace(FORM, plan="Antibiotics; chest X-ray if not better in 3 days")
    with pytest.raises(ValidationError, match="Amendment reason is required"):
        clinical.amend(world["weber"], world["appointment"], changed, "   ", signed.version)
    with pytest.raises(ValidationError, match="changes nothing"):
        clinical.amend(world["weber"], world["appointment"], FORM, "typo", signed.version)
    amended = clinical.amend(world["weber"], world["appointment"], changed, "X-ray added", signed.version)
    assert amended.status == NoteStatus.AMENDED
    assert [r.version for r in amended.revisions] == [1, 2]
    original, amendment = amended.revisions
    assert original.content.note.plan == "Antibiotics, review in one week"
    assert amendment.content.note.plan.startswith("Antibiotics; chest X-ray")
    assert amendment.reason == "X-ray added" and amendment.kind == "amendment"
    (event,) = audit(store, "visit.amend")
    assert event.patient_id == world["anna_id"] and "X-ray added" in event.detail


def test_signing_an_empty_record_is_refused(clinical, world) -> None:
    with pytest.raises(ValidationError, match="nothing to sign"):
        clinical.sign(world["weber"], world["appointment"], VisitForm(), 0)


def test_a_save_from_a_stale_window_is_refused(clinical, store, world) -> None:
    clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    with pytest.raises(ValidationError, match="changed in another window"):
        clinical.save_draft(world["weber"], world["appointment"], replace(FORM, plan="other"), 0)
    assert store.tables.visits[next(iter(store.tables.visits))].content.note.plan == FORM.plan


def test_a_record_can_be_written_before_the_appointment_is_over_but_not_for_a_cancelled_one(
    clinical, store, world
) -> None:
    assert clinical.save_draft(world["weber"], world["appointment"], FORM, 0).id is not None  # still "booked"
    appointment = store.tables.appointments[world["appointment"]]
    other = FakeAppointmentRepo(store.tables).add(
        replace(appointment, id=None, start=appointment.start + timedelta(days=1), status=AppointmentStatus.CANCELLED)
    )
    assert other.id is not None
    with pytest.raises(ValidationError, match="cancelled: no record is written"):
        clinical.save_draft(world["weber"], other.id, FORM, 0)


# ---- who may read and write ----------------------------------------------------------------------------------------


def test_only_the_visits_own_doctor_may_write_it_and_every_refused_write_is_on_record(clinical, store, world) -> None:
    store.tables.imported_encounters.append((world["lind"].doctor_id, world["anna_id"]))  # Lind knows Anna
    with pytest.raises(NotAllowed, match="Only the visit's own doctor may write its record"):
        clinical.save_draft(world["lind"], world["appointment"], FORM, 0)
    with pytest.raises(NotAllowed, match="Only the visit's own doctor may write its record"):
        clinical.sign(world["lind"], world["appointment"], FORM, 0)
    with pytest.raises(NotAllowed, match="Administrators do not read"):
        clinical.save_draft(world["admin"], world["appointment"], FORM, 0)
    with pytest.raises(NotAllowed, match="Only the visit's own doctor may write its record"):
        clinical.save_draft(world["anna"], world["appointment"], FORM, 0)
    with pytest.raises(NotAllowed, match="Only the visit's own doctor may write its record"):
        clinical.amend(world["anna"], world["appointment"], FORM, "my own words", 0)
    assert store.tables.visits == {}
    refused = audit(store, "record.refused")  # committed although every call raised
    assert [(e.actor_role, e.detail) for e in refused] == [
        ("doctor", f"write visit of appointment {world['appointment']}"),
        ("doctor", f"sign visit of appointment {world['appointment']}"),
        ("admin", f"write visit of appointment {world['appointment']}"),
        ("patient", f"write visit of appointment {world['appointment']}"),
        ("patient", f"amend visit of appointment {world['appointment']}"),
    ]
    assert {e.patient_id for e in refused} == {world["anna_id"]}
    assert audit(store, "visit.save") == audit(store, "visit.sign") == audit(store, "visit.amend") == []


def test_a_doctor_without_a_relationship_is_refused_and_the_refusal_is_on_record(clinical, store, world) -> None:
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.open_record(world["lind"], world["anna_id"])
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.open_visit(world["lind"], world["appointment"])
    refused = audit(store, "record.refused")
    assert len(refused) == 2  # committed although the calls raised
    assert {e.patient_id for e in refused} == {world["anna_id"]}
    assert {e.actor_account_id for e in refused} == {world["lind"].account_id}
    assert audit(store, "record.view") == []


@pytest.mark.parametrize(
    "status", [AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR, AppointmentStatus.WAITLIST]
)
def test_a_cancelled_or_erroneous_booking_gives_no_relationship_and_the_attempt_is_audited(
    clinical, store, world, status
) -> None:
    lind = world["lind"]
    start = NOW - timedelta(days=3)
    FakeAppointmentRepo(store.tables).add(
        Appointment(lind.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), status)
    )
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.open_record(lind, world["anna_id"])
    with pytest.raises(NotAllowed, match="no care relationship"):
        clinical.open_visit(lind, world["appointment"])
    refused = audit(store, "record.refused")
    assert [(e.actor_account_id, e.patient_id) for e in refused] == [(lind.account_id, world["anna_id"])] * 2
    assert audit(store, "record.view") == []


@pytest.mark.parametrize(
    "status",
    [
        AppointmentStatus.PENDING,
        AppointmentStatus.BOOKED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.FULFILLED,
        AppointmentStatus.NOSHOW,
    ],
)
def test_a_visit_that_took_or_is_to_take_place_opens_the_record_to_its_doctor(clinical, store, world, status) -> None:
    lind = world["lind"]
    start = NOW - timedelta(days=3)
    FakeAppointmentRepo(store.tables).add(
        Appointment(lind.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), status)
    )
    assert clinical.open_record(lind, world["anna_id"]).name == "Anna Schmidt"
    (view,) = audit(store, "record.view")
    assert view.patient_id == world["anna_id"] and view.actor_account_id == lind.account_id
    assert audit(store, "record.refused") == []


def test_an_imported_encounter_opens_the_record_although_the_booking_was_cancelled(clinical, store, world) -> None:
    lind = world["lind"]
    start = NOW - timedelta(days=30)
    FakeAppointmentRepo(store.tables).add(
        Appointment(lind.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), AppointmentStatus.CANCELLED)
    )
    with pytest.raises(NotAllowed):
        clinical.open_record(lind, world["anna_id"])
    store.tables.imported_encounters.append((lind.doctor_id, world["anna_id"]))
    assert clinical.open_record(lind, world["anna_id"]).id == world["anna_id"]


def test_patients_see_only_their_own_record_and_admins_none(clinical, store, world) -> None:
    assert clinical.open_record(world["anna"], world["anna_id"]).id == world["anna_id"]
    with pytest.raises(NotAllowed, match="only see your own"):
        clinical.open_record(world["ben"], world["anna_id"])
    with pytest.raises(NotAllowed, match="Administrators do not read clinical records"):
        clinical.open_record(world["admin"], world["anna_id"])
    assert [e.actor_role for e in audit(store, "record.refused")] == ["patient", "admin"]
    assert [e.actor_role for e in audit(store, "record.view")] == ["patient"]


def test_opening_a_visit_is_audited_and_a_patient_sees_it_only_once_signed(clinical, store, world) -> None:
    view = clinical.open_visit(world["weber"], world["appointment"])
    assert view.can_write and view.visit.id is None and view.patient.name == "Anna Schmidt"
    clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    with pytest.raises(NotFound, match="not signed yet"):
        clinical.open_visit(world["anna"], world["appointment"])
    clinical.sign(world["weber"], world["appointment"], FORM, 1)
    seen = clinical.open_visit(world["anna"], world["appointment"])
    assert not seen.can_write and seen.visit.signed
    assert all(e.patient_id == world["anna_id"] for e in audit(store, "record.view"))


def test_a_deactivated_doctor_cannot_read_or_write_from_an_old_page(clinical, store, world) -> None:
    account = store.tables.accounts[world["weber"].account_id]
    account.status = AccountStatus.DEACTIVATED
    with pytest.raises(NotAllowed, match="not active"):
        clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    with pytest.raises(NotAllowed, match="not active"):
        clinical.open_record(world["weber"], world["anna_id"])


# ---- printing ------------------------------------------------------------------------------------------------------


def test_the_prescription_prints_for_the_doctor_and_the_patient_once_signed(clinical, store, world) -> None:
    draft = clinical.save_draft(world["weber"], world["appointment"], FORM, 0)
    assert draft.id is not None
    with pytest.raises(ValidationError, match="once the visit is signed"):
        clinical.prescription_sheet(world["weber"], draft.id)
    clinical.sign(world["weber"], world["appointment"], FORM, 1)
    sheet = clinical.prescription_sheet(world["weber"], draft.id)
    assert sheet.patient == "Anna Schmidt" and sheet.doctor == "Dr Weber" and len(sheet.items) == 2
    assert clinical.prescription_sheet(world["anna"], draft.id).items == sheet.items
    for stranger in (world["ben"], world["lind"], world["admin"]):
        with pytest.raises(NotAllowed):
            clinical.prescription_sheet(stranger, draft.id)
    printed = audit(store, "prescription.print")
    assert [e.actor_role for e in printed] == ["doctor", "patient"]
    assert {e.patient_id for e in printed} == {world["anna_id"]}
    assert len(audit(store, "record.refused")) == 3


def test_an_unknown_visit_or_appointment_is_not_found(clinical, world) -> None:
    with pytest.raises(NotFound):
        clinical.prescription_sheet(world["weber"], 999_999)
    with pytest.raises(NotFound):
        clinical.open_visit(world["weber"], 999_999)


def test_a_visit_actor_with_an_unknown_role_shape_is_refused(clinical, world) -> None:
    doctor_without_record = Actor(world["weber"].account_id, world["weber"].role, doctor_id=None)
    with pytest.raises(NotAllowed):
        clinical.open_record(doctor_without_record, world["anna_id"])


def test_an_imported_or_earlier_record_is_read_only(clinical, store, world) -> None:
    appointment = store.tables.appointments[world["appointment"]]
    store.tables.visits[500] = Visit(
        appointment.id, appointment.patient_id, appointment.doctor_id, appointment.start, status=NoteStatus.NONE, id=500
    )
    view = clinical.open_visit(world["weber"], world["appointment"])
    assert not view.can_write
    with pytest.raises(ValidationError, match="recorded before"):
        clinical.save_draft(world["weber"], world["appointment"], FORM, 0)


# ---- one visit number for people: the appointment's ------------------------------------------------------------


def test_audit_details_and_the_printout_name_the_visit_by_its_appointments_number(clinical, store, world) -> None:
    weber = world["weber"]
    start = NOW - timedelta(days=1)  # yesterday's visit, signed today
    second = FakeAppointmentRepo(store.tables).add(
        Appointment(weber.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), AppointmentStatus.BOOKED)
    )
    assert second.id is not None
    clinical.open_visit(weber, second.id)
    visit = clinical.sign(weber, second.id, replace(FORM, diagnosis_codes=["E11.9"]), 0)
    assert visit.id is not None and visit.id != second.id  # the record's own number is not the one people see
    (viewed,) = audit(store, "record.view")
    (signed,) = audit(store, "visit.sign")
    assert viewed.detail == f"visit of appointment {second.id}"
    assert signed.entity == "encounter" and signed.entity_id == visit.id
    assert signed.detail == f"visit of appointment {second.id}: 1 diagnosis, 2 prescriptions"
    sheet = clinical.prescription_sheet(weber, visit.id)
    assert sheet.appointment_id == second.id
    assert (sheet.visit_words, sheet.visit_slug) == (f"visit of appointment {second.id}", f"visit-{second.id}")
    (printed,) = audit(store, "prescription.print")
    assert printed.detail == f"visit of appointment {second.id}, version 1, 2 items"
    with pytest.raises(NotAllowed):
        clinical.sign(world["lind"], second.id, FORM, visit.version)
    (refused,) = audit(store, "record.refused")
    assert refused.detail == f"sign visit of appointment {second.id}"


def test_an_imported_visit_without_appointment_keeps_its_own_number_worded_as_imported() -> None:
    assert visit_words(None, 7) == "imported visit 7"
    sheet = PrescriptionSheet(7, "Dr A", "", "B", None, NOW.date(), (), 1, NOW, appointment_id=None)
    assert (sheet.visit_words, sheet.visit_slug) == ("imported visit 7", "imported-visit-7")


def test_a_visit_is_signed_only_once_it_has_begun_and_never_for_a_cancelled_appointment(clinical, store, world) -> None:
    weber = world["weber"]
    start = NOW + timedelta(days=1)
    tomorrow = FakeAppointmentRepo(store.tables).add(
        Appointment(weber.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), AppointmentStatus.BOOKED)
    )
    assert tomorrow.id is not None
    draft = clinical.save_draft(weber, tomorrow.id, FORM, 0)  # notes may be prepared ahead
    with pytest.raises(ValidationError, match="has not started yet"):
        clinical.sign(weber, tomorrow.id, FORM, draft.version)
    assert not audit(store, "visit.sign")

    store.tables.appointments[tomorrow.id].status = AppointmentStatus.CANCELLED  # the patient cancelled
    with pytest.raises(ValidationError, match="cancelled: its record cannot be signed"):
        clinical.sign(weber, tomorrow.id, FORM, draft.version)

    store.tables.appointments[tomorrow.id].status = AppointmentStatus.ARRIVED  # (had it gone ahead: arrived)
    assert clinical.sign(weber, tomorrow.id, FORM, draft.version).signed


def test_an_appointment_whose_visit_is_signed_can_no_longer_be_cancelled(clinical, store, world) -> None:
    weber = world["weber"]
    start = NOW - timedelta(hours=1)  # it began an hour ago; nobody marked her arrived
    late = FakeAppointmentRepo(store.tables).add(
        Appointment(weber.doctor_id, world["anna_id"], start, start + timedelta(minutes=30), AppointmentStatus.BOOKED)
    )
    assert late.id is not None
    clinical.sign(weber, late.id, FORM, 0)
    services = make_services(store, FixedClock(NOW), FakeHasher())
    with pytest.raises(ValidationError, match="record is signed"):
        services.cancel(world["admin"], late.id, "prov", "Doctor ill")
    assert store.tables.appointments[late.id].status == AppointmentStatus.BOOKED
