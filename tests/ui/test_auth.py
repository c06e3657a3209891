"""Sign-in per role, role enforcement, ownership."""

from __future__ import annotations

from nicegui.testing import User

from tests.ui.conftest import ADMIN_LOGIN, DOCTOR_LOGIN, OTHER_PATIENT_LOGIN, PATIENT_LOGIN, login


async def test_anonymous_visitor_is_sent_to_login(user: User) -> None:
    await user.open("/patient")
    await user.should_see("Welcome to HealthSync")


async def test_patient_signs_in_and_sees_own_appointments(user: User) -> None:
    await login(user, *PATIENT_LOGIN)
    await user.should_see("My appointments")
    await user.should_see("Upcoming")


async def test_doctor_signs_in_to_day_view(user: User) -> None:
    await login(user, *DOCTOR_LOGIN)
    await user.should_see("My day")
    await user.should_see(marker="day-summary")


async def test_admin_signs_in_to_overview(user: User) -> None:
    await login(user, *ADMIN_LOGIN)
    await user.should_see("Appointments today")


async def test_wrong_password_is_refused_with_a_message(user: User) -> None:
    await login(user, PATIENT_LOGIN[0], "wrong-password")
    await user.should_see("Email or password is wrong.")
    await user.open("/patient")
    await user.should_see("Welcome to HealthSync")


async def test_patient_cannot_open_admin_or_doctor_portal(user: User) -> None:
    await login(user, *PATIENT_LOGIN)
    await user.should_see("My appointments")
    await user.open("/admin")
    await user.should_see("Not allowed")
    await user.should_not_see("Appointments today")
    await user.open("/doctor")
    await user.should_see("Not allowed")


async def test_patient_cannot_open_another_patients_appointment(user: User, queries) -> None:
    # an appointment of the other demo patient
    other = queries.patients(search=OTHER_PATIENT_LOGIN[0]).items[0]
    from datetime import UTC, datetime

    theirs = queries.patient_appointments(other.id, datetime.now(UTC), upcoming=True)
    assert theirs, "the demo gives every patient an upcoming appointment"
    await login(user, *PATIENT_LOGIN)
    await user.should_see("My appointments")
    await user.open(f"/patient/appointments/{theirs[0].id}")
    await user.should_see("This appointment does not exist.")
    await user.should_not_see(theirs[0].doctor)


async def test_sign_out_ends_the_session(user: User) -> None:
    await login(user, *PATIENT_LOGIN)
    await user.should_see("My appointments")
    await user.open("/logout")
    await user.open("/patient")
    await user.should_see("Welcome to HealthSync")
