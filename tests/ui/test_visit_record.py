"""The doctor's visit record through the simulated browser: write, sign, amend, print; the patient reads it on
their history; a doctor without a care relationship is refused and the refusal is in the audit table."""

from __future__ import annotations

import io
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction
from pypdf import PdfReader
from sqlalchemy import text

from data.db import make_engine
from data.seed import DOCTORS, PATIENTS
from data.uow import SqlUnitOfWorkFactory
from domain.clinical import PrescriptionInput
from domain.clinical_services import ClinicalServices, VisitForm
from domain.model import Actor, Role
from domain.services import SystemClock
from tests.ui.conftest import PATIENT_LOGIN, sign_in
from tests.ui.test_booking_live import dialog_open, eventually, notified


def one(demo_db: str, sql: str, **params: Any) -> Any:
    engine = make_engine(demo_db)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).first()
    finally:
        engine.dispose()


def set_value(user: User, marker: str, value: Any) -> None:
    (element,) = user.find(marker=marker).elements
    with user.client:  # type: ignore[union-attr]
        element.value = value  # type: ignore[attr-defined]


def click_in_dialog(user: User, label: str) -> None:
    for dialog in user.find(kind=ui.dialog).elements:
        if dialog.value:
            for button in dialog.descendants():
                if isinstance(button, ui.button) and button.text == label:
                    UserInteraction(user, {button}, None).click()
                    return
    raise AssertionError(f"no open dialog with a {label!r} button")


async def shown(user: User, marker: str) -> None:
    def present() -> bool:
        try:
            user.find(marker=marker)
        except AssertionError:
            return False
        return True

    await eventually(present, seconds=30)


def maria_with_okafor(demo_db: str) -> tuple[int, int]:
    row = one(
        demo_db,
        "SELECT a.id, a.patient_id FROM appointment a JOIN doctor d ON d.id = a.doctor_id "
        "JOIN patient p ON p.id = a.patient_id WHERE d.name = :d AND p.name = :p AND a.status = 'booked' "
        "ORDER BY a.start_at LIMIT 1",
        d=DOCTORS[0][0],
        p=PATIENTS[0][0],
    )
    assert row is not None, "the demo hospital books Maria with Dr. Okafor"
    engine = make_engine(demo_db)  # she has come: a visit is signed once it has begun
    with engine.begin() as conn:
        conn.execute(text("UPDATE appointment SET status = 'arrived' WHERE id = :a"), {"a": row[0]})
    engine.dispose()
    return int(row[0]), int(row[1])


async def test_doctor_writes_signs_and_amends_a_visit_and_the_patient_reads_it(user: User, demo_db: str) -> None:
    appointment_id, patient_id = maria_with_okafor(demo_db)
    await sign_in(user, DOCTORS[0][1], demo_db)
    await user.open(f"/doctor/visit/{appointment_id}")
    await user.should_see("Visit record")
    await user.should_see(PATIENTS[0][0])
    # the record's own state (the visit's is on the day queue): not "Not started" while she is in consultation
    assert user.find(marker="visit-status").elements.pop().text == "No notes yet"  # type: ignore[attr-defined]

    set_value(user, "visit-complaint", "Tired, thirsty for a month")
    set_value(user, "visit-findings", "BMI 31, fasting glucose 8.1 mmol/L")
    set_value(user, "visit-plan", "Start metformin; review in 4 weeks")
    set_value(user, "diagnosis-search", "diab type 2 without")
    await shown(user, "pick-E11.9")  # the first search may wait for ICD-10-CM to be indexed
    user.find(marker="pick-E11.9").click()
    await user.should_see(marker="dx-E11.9")

    user.find(marker="rx-add").click()
    await user.should_see(marker="rx-1")
    set_value(user, "rx-1-search", "Metformin pill from the old list")
    await shown(user, "pick-free")
    user.find(marker="pick-free").click()
    await user.should_see("uncoded")
    set_value(user, "rx-1-dose", 0)
    set_value(user, "rx-1-unit", "mg")
    set_value(user, "rx-1-frequency", "2/d")
    set_value(user, "rx-1-duration", 28)
    set_value(user, "rx-1-quantity", 56)
    set_value(user, "rx-1-quantity-unit", "tablet(s)")
    user.find(marker="visit-save").click()
    await notified(user, "Prescription 1 (Metformin pill from the old list): dose must be greater than 0.")
    assert one(demo_db, "SELECT COUNT(*) FROM encounter WHERE appointment_id = :a", a=appointment_id)[0] == 0

    set_value(user, "rx-1-dose", 500)
    user.find(marker="visit-save").click()
    await notified(user, "Draft saved.")
    user.find(marker="visit-sign").click()
    await dialog_open(user)
    click_in_dialog(user, "Sign")
    await notified(user, "Visit signed.")
    await user.should_see(marker="revision-1")
    assert user.find(marker="visit-status").elements.pop().text == "Signed"  # type: ignore[attr-defined]

    set_value(user, "visit-plan", "Start metformin; review in 2 weeks")
    user.find(marker="visit-amend").click()
    await notified(user, "Amendment reason is required")
    set_value(user, "amend-reason", "Earlier review: glucose high")
    user.find(marker="visit-amend").click()
    await notified(user, "Amendment saved")
    await user.should_see(marker="revision-2")
    await user.should_see("Reason: Earlier review: glucose high")
    await user.should_see(marker="revision-1")  # the signed original stays beside the amendment
    assert user.find(marker="visit-status").elements.pop().text == "Amended"  # type: ignore[attr-defined]

    user.find(marker="visit-print").click()
    response = await user.download.next(timeout=10)
    pdf_text = " ".join(PdfReader(io.BytesIO(response.content)).pages[0].extract_text().split())
    assert PATIENTS[0][0] in pdf_text and "Metformin pill from the old list" in pdf_text
    assert "twice a day" in pdf_text and "Signature: Dr. Amara Okafor" in pdf_text

    actions = one(
        demo_db,
        "SELECT group_concat(action, ',') FROM (SELECT action FROM audit_event WHERE patient_id = :p "
        "AND action IN ('visit.save', 'visit.sign', 'visit.amend', 'prescription.print', 'record.view') ORDER BY id)",
        p=patient_id,
    )[0]
    assert actions.split(",") == ["record.view", "visit.save", "visit.sign", "visit.amend", "prescription.print"]

    # the patient reads the signed, amended note on their history, the drug marked uncoded
    await user.open("/logout")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/history")
    await user.should_see("Start metformin; review in 2 weeks")
    await user.should_see("Type 2 diabetes mellitus without complications")
    await user.should_see("ICD-10-CM E11.9")
    await user.should_see("Current medications")
    await user.should_see("Metformin pill from the old list")


async def test_a_doctor_without_a_relationship_is_refused_and_it_is_audited(user: User, demo_db: str) -> None:
    appointment_id, patient_id = maria_with_okafor(demo_db)
    weber = DOCTORS[1]  # Dr. Weber has never seen Maria in the demo hospital
    await sign_in(user, weber[1], demo_db)
    await user.open(f"/doctor/patients/{patient_id}")
    await user.should_see("This record is closed to you")
    await user.should_see("no care relationship")
    await user.should_not_see(PATIENTS[0][0])
    await user.open(f"/doctor/visit/{appointment_id}")
    await user.should_see("This record is closed to you")
    refused = one(
        demo_db,
        "SELECT COUNT(*), MIN(e.actor_role) FROM audit_event e JOIN account a ON a.id = e.actor_account_id "
        "WHERE e.action = 'record.refused' AND e.patient_id = :p AND a.email = :email",
        p=patient_id,
        email=weber[1],
    )
    assert refused[0] == 2 and refused[1] == "doctor"
    assert one(demo_db, "SELECT COUNT(*) FROM audit_event WHERE action = 'record.view'")[0] == 0


async def test_the_doctor_pages_through_a_patients_record_and_finds_their_patients(user: User, demo_db: str) -> None:
    _, patient_id = maria_with_okafor(demo_db)
    await sign_in(user, DOCTORS[0][1], demo_db)
    await user.open("/doctor/patients")
    await user.should_see(PATIENTS[0][0])
    await user.open(f"/doctor/patients/{patient_id}")
    await user.should_see(marker="record-patient")
    await user.should_see("Current medications")
    await user.should_see("Essential hypertension")  # the demo history, without SNOMED's "(disorder)"
    await user.should_not_see("Essential hypertension (disorder)")
    await user.should_see("SNOMED 59621000")


class NoCodes:
    """No diagnoses or coded drugs are used by the record written below."""

    def diagnosis_names(self, codes: Any) -> dict[str, str]:
        return {}

    def drug_names(self, codes: Any) -> dict[str, str]:
        return {}


def sign_uncoded_prescription(demo_db: str, appointment_id: int) -> int:
    """Dr. Okafor signs a visit with one uncoded prescription (through the service, as the form would)."""
    engine = make_engine(demo_db)
    try:
        with engine.connect() as conn:
            account_id, doctor_id = conn.execute(
                text("SELECT account_id, id FROM doctor WHERE name = :n"), {"n": DOCTORS[0][0]}
            ).one()
        doctor = Actor(int(account_id), Role.DOCTOR, doctor_id=int(doctor_id), name=DOCTORS[0][0])
        tz = ZoneInfo("Europe/Berlin")
        clinical = ClinicalServices(SqlUnitOfWorkFactory(engine), SystemClock(tz), tz, NoCodes())
        rx = PrescriptionInput(
            drug_name="Salbutamol inhaler",
            dose="2",
            dose_unit="puff(s)",
            route="inhaled",
            frequency="4/d",
            duration_days=5,
            quantity=1,
            quantity_unit="inhaler(s)",
        )
        visit = clinical.sign(doctor, appointment_id, VisitForm("Wheezing", "", "", [], [rx]), 0)
        assert visit.id is not None
        return visit.id
    finally:
        engine.dispose()


async def test_the_patient_is_told_which_characters_of_the_prescription_could_not_be_printed(
    user: User, demo_db: str
) -> None:
    appointment_id, patient_id = maria_with_okafor(demo_db)
    visit_id = sign_uncoded_prescription(demo_db, appointment_id)
    engine = make_engine(demo_db)
    try:
        with engine.begin() as conn:  # a name in a script no font of this server has (a private-use character)
            conn.execute(
                text("UPDATE patient SET name = :n WHERE id = :p"), {"n": "Maria \ue000 Schmidt", "p": patient_id}
            )
    finally:
        engine.dispose()
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/history")
    await user.should_see("Salbutamol inhaler")
    user.find(marker=f"print-{visit_id}").click()
    response = await user.download.next(timeout=10)  # the prescription is still given
    assert "Salbutamol inhaler" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    await notified(user, "Some characters could not be printed with the fonts on this server: \ue000 (U+E000)")
    await notified(user, "ask IT to install fonts-noto-cjk")


def element(user: User, marker: str) -> Any:
    (found,) = user.find(marker=marker).elements
    return found


def problems_shown(user: User) -> list[str]:
    try:
        panel = element(user, "visit-problems")
    except AssertionError:  # hidden: nothing to correct
        return []
    return [e.text for e in panel.descendants() if isinstance(e, ui.label)]


async def test_the_form_keeps_what_was_typed_shows_every_problem_at_once_and_takes_a_typed_drug(
    user: User, demo_db: str
) -> None:
    appointment_id, _ = maria_with_okafor(demo_db)
    await sign_in(user, DOCTORS[0][1], demo_db)
    await user.open(f"/doctor/visit/{appointment_id}")
    await user.should_see("Visit record")
    user.find(marker="rx-add").click()
    await user.should_see(marker="rx-1")
    set_value(user, "rx-1-search", "Grandma's cough syrup")  # typed, never picked from the list
    typed = {"rx-1-dose": 0, "rx-1-duration": 9999, "rx-1-quantity": 2.5, "rx-1-refills": 20}
    for marker, value in typed.items():
        set_value(user, marker, value)
        user.find(marker=marker).trigger("blur")  # where an input would clamp or round what was typed
    set_value(user, "rx-1-frequency", "3/d")
    set_value(user, "rx-1-quantity-unit", "bottle(s)")
    user.find(marker="visit-save").click()
    await notified(user, "Nothing was saved: 5 problems, listed above the buttons.")

    assert {m: element(user, m).value for m in typed} == typed  # nothing silently changed
    label = "Prescription 1 (Grandma's cough syrup)"  # the typed name is the drug, uncoded
    assert element(user, "rx-1-drug").text == "Grandma's cough syrup"
    await user.should_see("uncoded")
    assert problems_shown(user) == [
        "Nothing was saved. Please correct these 5 problems:",
        f"{label}: please choose the dose unit.",
        f"{label}: dose must be greater than 0.",
        f"{label}: duration (days) must be between 1 and 365.",
        f"{label}: quantity must be a whole number.",
        f"{label}: refills must be between 0 and 12.",
    ]
    marked = {m: element(user, m).props.get("error-message") for m in ("rx-1-unit", *typed)}
    assert all(element(user, m).props.get("error") is True for m in marked)
    assert marked["rx-1-duration"] == "Duration (days) must be between 1 and 365."  # beside it: without the name
    assert marked["rx-1-unit"] == "Please choose the dose unit."
    assert not element(user, "rx-1-route").props.get("error")  # a good field is not marked
    assert one(demo_db, "SELECT COUNT(*) FROM encounter WHERE appointment_id = :a", a=appointment_id)[0] == 0

    corrected: dict[str, object] = {"rx-1-dose": 5, "rx-1-unit": "mL", "rx-1-duration": 7, "rx-1-quantity": 1}
    for marker, fixed in corrected.items():
        set_value(user, marker, fixed)
    set_value(user, "rx-1-refills", 0)
    assert not element(user, "rx-1-duration").props.get("error")  # a corrected field loses its mark at once
    user.find(marker="visit-save").click()
    await notified(user, "Draft saved.")
    assert problems_shown(user) == []
    saved = one(
        demo_db,
        "SELECT p.drug_display, p.drug_code, p.duration_days FROM prescription p JOIN encounter e "
        "ON e.id = p.encounter_id WHERE e.appointment_id = :a",
        a=appointment_id,
    )
    assert tuple(saved) == ("Grandma's cough syrup", "", 7)


async def test_my_patients_counts_in_words_and_tells_the_last_visit_from_the_next(user: User, demo_db: str) -> None:
    _, patient_id = maria_with_okafor(demo_db)
    await sign_in(user, DOCTORS[0][1], demo_db)
    await user.open("/doctor/patients")
    card = element(user, f"patient-{patient_id}")
    (line,) = [e.text for e in card.descendants() if isinstance(e, ui.label) and "born" in e.text]
    count = one(
        demo_db,
        "SELECT COUNT(*) FROM appointment a JOIN doctor d ON d.id = a.doctor_id WHERE a.patient_id = :p "
        "AND d.name = :d AND a.status != 'entered-in-error'",
        p=patient_id,
        d=DOCTORS[0][0],
    )[0]
    assert f" · {count} appointment{'' if count == 1 else 's'} · " in line
    assert " · last " in line and " · next " in line  # Maria was seen before and is booked again
    assert "1 appointments" not in line


def test_one_appointment_is_singular_and_a_future_one_is_next_not_last() -> None:
    from datetime import UTC, date, datetime

    from data.clinical_queries import MyPatient
    from pages.records import patient_line

    berlin = ZoneInfo("Europe/Berlin")
    ahead = MyPatient(1, "A", date(1990, 1, 1), None, 1, datetime(2026, 12, 7, 9, tzinfo=UTC))
    line = patient_line(ahead, berlin, date(2026, 12, 4))
    assert line.endswith("· 1 appointment · next Mon 07 Dec 2026") and "last" not in line


async def test_a_bronchitis_that_is_over_is_not_an_active_diagnosis(user: User, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/history")
    await user.should_see("Active diagnoses")
    active = [e.text for e in element(user, "active-diagnoses").descendants() if isinstance(e, ui.label)]
    assert "Essential hypertension" in active
    assert not any("bronchitis" in text.lower() for text in active)
    await user.should_see("Acute bronchitis")  # still on the visit it was diagnosed at, marked as over
    await user.should_see("(resolved)")
