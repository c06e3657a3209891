"""Account administration through the simulated browser: deactivation closes the user's open pages, a
deactivated doctor's patients are told, invites for imported patients, deleting departments."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from nicegui import app, ui
from nicegui.testing import User

from data.db import make_engine
from data.seed import DOCTORS
from domain.model import Actor, Role
from tests.ui.conftest import ADMIN_LOGIN, DOCTOR_LOGIN, PATIENT_LOGIN, login, sign_in
from tests.ui.test_booking_live import dialog_open, eventually, found, marias_okafor_visit, notified, shows


def okafor(queries) -> int:
    return int(queries.doctors(search=DOCTORS[0][0]).items[0].id)


def admin_actor() -> Actor:
    services = app.state.healthsync.services
    with services.uow(readonly=True) as uow:
        account = uow.accounts.by_email(ADMIN_LOGIN[0])
    assert account is not None and account.id is not None
    return Actor(account.id, Role.ADMIN)


def account_id(demo_db: str, email: str) -> int:
    engine = make_engine(demo_db)
    with engine.connect() as conn:
        found_id = conn.execute(sa.text("SELECT id FROM account WHERE email = :e"), {"e": email}).scalar_one()
    engine.dispose()
    return int(found_id)


async def test_the_admin_deactivates_a_doctor_with_a_reason(user: User, queries, demo_db: str) -> None:
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    await user.open(f"/admin/doctors/{okafor(queries)}")
    await user.should_see(DOCTORS[0][0])
    user.find(marker="toggle-status").click()
    await dialog_open(user)
    user.find(marker="status-confirm").click()  # no reason: refused, nothing changes
    await eventually(lambda: any("give a reason" in m for m in user.notify.messages))
    assert queries.doctors(search=DOCTORS[0][0]).items[0].bookable is True
    user.find(marker="status-reason").type("Left the hospital")
    user.find(marker="status-confirm").click()
    await eventually(lambda: "Account deactivated." in user.notify.messages)
    await eventually(lambda: shows(user, "Reason: Left the hospital"))
    assert any(b.text == "deactivated" for b in found(user, ui.badge))
    assert queries.doctors(search=DOCTORS[0][0]).items[0].bookable is False

    await user.open("/logout")
    await login(user, *DOCTOR_LOGIN)
    await eventually(lambda: any("has been deactivated" in m for m in user.notify.messages))


async def test_deactivating_a_doctor_closes_their_open_page(user: User, create_user, queries, demo_db: str) -> None:
    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open("/doctor")
    await doctor.should_see("My day")
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    await user.open(f"/admin/doctors/{okafor(queries)}")
    await user.should_see(DOCTORS[0][0])

    app.state.healthsync.services.deactivate_account(
        admin_actor(), account_id(demo_db, DOCTOR_LOGIN[0]), "Left the hospital"
    )
    # the doctor's open pages go to /logout (their session storage is cleared) and on to /login, which says why
    told = "Your account was deactivated"
    await eventually(lambda: shows(doctor, told), why=lambda: str(doctor.back_history))
    await asyncio.sleep(0.5)
    await eventually(lambda: shows(doctor, told) and not shows(doctor, "My day"), why=lambda: str(doctor.back_history))
    await doctor.open("/doctor")  # signed out: sent to sign in again
    await doctor.should_see("Welcome to HealthSync")
    assert user.back_history[-1] == f"/admin/doctors/{okafor(queries)}"  # the admin's own page stays open
    await user.should_see(DOCTORS[0][0])


async def test_a_deactivated_doctors_appointment_is_cancelled_and_the_patient_told(
    user: User, create_user, queries, demo_db: str
) -> None:
    theirs = marias_okafor_visit(queries)
    app.state.healthsync.services.deactivate_account(
        admin_actor(), account_id(demo_db, DOCTOR_LOGIN[0]), "Left the hospital"
    )
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"appointment-{theirs.id}")
    # before the admin acts, the patient already reads what happens to the visit, and cannot move it to
    # another time with a doctor who takes no bookings
    await user.should_see("is not available at the moment: the hospital will move or cancel this visit")
    await user.should_not_see(marker=f"move-{theirs.id}")

    admin = create_user()
    await sign_in(admin, ADMIN_LOGIN[0], demo_db)
    await admin.open(f"/admin/doctors/{okafor(queries)}")
    await admin.should_see(marker=f"upcoming-{theirs.id}")
    await admin.should_see("move or cancel each")
    admin.find(marker=f"cancel-{theirs.id}").click()
    await dialog_open(admin)
    admin.find(kind=ui.select).elements.pop().set_value("prov")
    admin.find(kind=ui.input, content="Note for the patient").type("Dr. Okafor has left the hospital")
    admin.find(kind=ui.button, content="Cancel appointment").click()

    await eventually(lambda: queries.appointment(theirs.id).status == "cancelled")
    await eventually(lambda: not any(f"upcoming-{theirs.id}" in e._markers for e in found(admin, ui.card)))
    # the patient's page tells them at once (components/patient_alerts.py), with the reason
    await eventually(lambda: shows(user, "The hospital cancelled your appointment"))
    await eventually(lambda: shows(user, "Dr. Okafor has left the hospital"))


async def test_a_patients_open_list_changes_when_their_doctor_is_deactivated(user: User, queries, demo_db: str) -> None:
    services = app.state.healthsync.services
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    theirs = marias_okafor_visit(queries)
    doctor_account = account_id(demo_db, DOCTOR_LOGIN[0])
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"appointment-{theirs.id}")
    note = "is not available at the moment: the hospital will move or cancel"
    await user.should_not_see(note)

    # without a reload, the visit says what happens next, and stops saying it when the doctor is back
    services.deactivate_account(admin_actor(), doctor_account, "Left the hospital")
    await eventually(lambda: shows(user, note))
    services.reactivate_account(admin_actor(), doctor_account, "Came back")
    await eventually(lambda: not shows(user, note))

    # a waiting list for the doctor ends with a word why
    maria = Actor(account_id(demo_db, PATIENT_LOGIN[0]), Role.PATIENT, patient_id=patient.id)
    today = datetime.now(UTC).date()
    entry = services.join_waitlist(maria, today, today + timedelta(days=14), doctor_id=okafor(queries))
    await user.open("/patient")
    await user.should_see(marker=f"waitlist-{entry.id}")
    services.deactivate_account(admin_actor(), doctor_account, "Left the hospital")
    await notified(user, f"Your place on the waiting list for {DOCTORS[0][0]} has ended")
    await eventually(lambda: not any(f"waitlist-{entry.id}" in e._markers for e in found(user, ui.card)))
    await eventually(lambda: shows(user, note))


async def test_open_booking_and_appointment_pages_follow_the_doctor_being_deactivated_and_back(
    user: User, create_user, queries, demo_db: str
) -> None:
    services = app.state.healthsync.services
    theirs = marias_okafor_visit(queries)
    doctor_account = account_id(demo_db, DOCTOR_LOGIN[0])
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{okafor(queries)}")
    await user.should_see(marker="join-waitlist")
    other = create_user()  # the same patient's appointment page, on another device
    await sign_in(other, PATIENT_LOGIN[0], demo_db)
    await other.open(f"/patient/appointments/{theirs.id}")
    note = "is not available at the moment"
    await other.should_not_see(note)

    services.deactivate_account(admin_actor(), doctor_account, "Left the hospital")
    await user.should_see("This doctor does not take online bookings.")
    await user.should_not_see(marker="join-waitlist")
    await eventually(lambda: shows(other, note))

    services.reactivate_account(admin_actor(), doctor_account, "Came back")
    await user.should_see(marker="join-waitlist")
    await user.should_not_see("This doctor does not take online bookings.")
    await eventually(lambda: not shows(other, note))


async def test_an_appointment_the_hospital_moves_reads_as_a_move_for_the_patient(
    user: User, create_user, queries, demo_db: str
) -> None:
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    theirs = marias_okafor_visit(queries)
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"appointment-{theirs.id}")

    admin = create_user()
    await sign_in(admin, ADMIN_LOGIN[0], demo_db)
    await admin.open(f"/admin/doctors/{okafor(queries)}")
    admin.find(marker=f"move-{theirs.id}").click()
    await dialog_open(admin)
    target = sorted(m for e in found(admin, ui.button) for m in e._markers if m.startswith("move-to-"))[0]
    admin.find(marker=target).click()  # the first time offered
    await notified(admin, "the patient has been told")

    moved = queries.appointment(theirs.id)
    assert moved is not None and moved.status == "cancelled"
    new = max(queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True), key=lambda a: a.id)
    assert new.start != theirs.start and new.id != theirs.id
    # the patient reads a move with the new time, not a cancellation with times to pick from
    await eventually(lambda: shows(user, "Appointment moved"))
    assert shows(user, f"Your new appointment: {new.doctor}")
    assert not shows(user, "The hospital cancelled your appointment")
    await user.should_see(marker=f"appointment-{new.id}")  # and their open list shows the new visit


async def test_an_imported_patient_is_invited_and_signs_in_with_their_own_password(
    user: User, create_user, demo_db: str
) -> None:
    engine = make_engine(demo_db)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO patient (name, birth_date, fhir_id) VALUES ('Jonas Weber', '1970-01-05', 'x1')")
        )
        patient_id = conn.execute(sa.text("SELECT id FROM patient WHERE fhir_id = 'x1'")).scalar_one()
    engine.dispose()

    await login(user, *ADMIN_LOGIN)
    await user.open("/admin/patients?q=jonas")
    await user.should_see("Jonas Weber")
    await user.should_see("no account")
    await user.open(f"/admin/patients/{patient_id}")
    user.find(marker="invite-email").type("jonas.weber@mail.test")
    user.find(marker="create-invite").click()
    await user.should_see("Invite link created", retries=50)
    link = str(next(iter(user.find(marker="invite-link").elements)).value)  # type: ignore[attr-defined]
    await user.should_see("invited (no password yet)")

    patient = create_user()
    await patient.open(link[link.index("/invite/") :])
    await patient.should_see("Welcome, Jonas Weber")
    patient.find(marker="invite-password").type("jonas-pass-2026")
    patient.find(marker="invite-repeat").type("jonas-other-2026")
    patient.find(marker="invite-submit").click()
    await notified(patient, "do not match")
    patient.find(marker="invite-repeat").clear()
    patient.find(marker="invite-repeat").type("jonas-pass-2026")
    patient.find(marker="invite-submit").click()
    await patient.should_see("My appointments", retries=100)

    used = create_user()  # the same link again: refused, with a message
    await used.open(link[link.index("/invite/") :])
    await used.should_see("already been used")
    await used.open(link[link.index("/invite/") : -3] + "xyz")
    await used.should_see("not valid")


async def test_a_department_with_doctors_is_kept_and_an_empty_one_deleted(user: User, queries) -> None:
    with_doctors = [d for d in queries.departments() if d.doctors][0]
    await login(user, *ADMIN_LOGIN)
    await user.open("/admin/departments")
    user.find(marker=f"delete-department-{with_doctors.id}").click()
    await eventually(lambda: any("still has" in m and "doctor" in m for m in user.notify.messages))
    assert with_doctors.id in [d.id for d in queries.departments()]

    empty = app.state.healthsync.services.save_department(admin_actor(), "Sleep medicine")
    await user.open("/admin/departments")
    user.find(marker=f"delete-department-{empty.id}").click()
    await dialog_open(user)
    await user.should_see("Delete “Sleep medicine”?")
    user.find(kind=ui.button, content="Delete").click()
    await eventually(lambda: any("deleted" in m for m in user.notify.messages))
    assert empty.id not in [d.id for d in queries.departments()]


async def test_the_patient_page_lists_upcoming_visits_for_the_admin_to_cancel(
    user: User, create_user, queries, demo_db: str
) -> None:
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    upcoming = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    booked = [a for a in upcoming if a.status == "booked"]
    assert booked
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    await user.open(f"/admin/patients/{patient.id}")
    for dto in upcoming:
        await user.should_see(marker=f"upcoming-{dto.id}")
    first = booked[0]
    user.find(marker=f"cancel-{first.id}").click()
    await dialog_open(user)
    user.find(kind=ui.select).elements.pop().set_value("prov")
    user.find(kind=ui.input, content="Note for the patient").type("Duplicate booking")
    user.find(kind=ui.button, content="Cancel appointment").click()
    await eventually(lambda: queries.appointment(first.id).status == "cancelled")
    await eventually(lambda: not any(f"upcoming-{first.id}" in e._markers for e in found(user, ui.card)))
    assert "Duplicate booking" in queries.appointment(first.id).cancel_reason
