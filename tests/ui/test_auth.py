"""Sign-in per role, role enforcement, ownership."""

from __future__ import annotations

import asyncio

from nicegui import ui
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


def test_only_plain_local_paths_are_followed_after_sign_in() -> None:
    from pages.auth import _safe_next

    assert _safe_next("/patient/doctors?q=heart") == "/patient/doctors?q=heart"
    for hostile in ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example",
                    "https://evil.example", "/%09/evil.example", "javascript:alert(1)", ""]:  # fmt: skip
        assert _safe_next(hostile) is None, hostile


async def test_sign_in_rotates_the_session_id(user: User) -> None:
    await user.open("/login")
    before = dict(user.http_client.cookies)
    await login(user, *PATIENT_LOGIN)
    after = dict(user.http_client.cookies)
    assert before.get("session") and after.get("session")
    assert before["session"] != after["session"]
    # the old (possibly planted) cookie gives no access
    user.http_client.cookies.clear()
    user.http_client.cookies.set("session", before["session"])
    await user.open("/patient")
    await user.should_see("Welcome to HealthSync")


async def test_an_unexpected_failure_is_told_to_the_user_and_changes_nothing(
    user: User, queries, monkeypatch, caplog
) -> None:
    from datetime import UTC, datetime

    from domain.services import Services

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(Services, "cancel", broken)
    await login(user, *PATIENT_LOGIN)
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    mine = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)[0]
    user.find(marker=f"cancel-{mine.id}").click()
    await user.should_see("Cancel this appointment?")
    user.find(kind=ui.button, content="Cancel appointment").click()
    for _ in range(100):
        if any("nothing was changed" in m for m in user.notify.messages):
            break
        await asyncio.sleep(0.05)
    assert any("nothing was changed" in m for m in user.notify.messages), user.notify.messages
    again = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)[0]
    assert again.status == "booked"
    assert any("database went away" in r.getMessage() or r.exc_info for r in caplog.records)  # and it was logged
    caplog.clear()  # the expected error log is this test's subject, not a failure of the page


async def test_a_sign_in_link_cannot_be_forged_moved_or_skipped(user: User, create_user, demo_db: str) -> None:
    from itsdangerous import URLSafeTimedSerializer
    from nicegui import app

    from data.settings import DEV_SECRET

    # forged with the public development secret: no sign-in
    forged = URLSafeTimedSerializer(DEV_SECRET, salt="healthsync-sign-in").dumps({"v": 1, "n": "x", "b": ""})
    await user.open(f"/auth/session?token={forged}&next=/admin")
    await user.should_see("Welcome to HealthSync")

    # a real token issued to another browser's session: refused here
    other = create_user()
    await other.open("/login")
    assert other.client is not None and other.client.request is not None
    theirs = app.state.healthsync.login_tokens.issue(1, binding=other.client.request.session["id"])
    await user.open(f"/auth/session?token={theirs}&next=/admin")
    await user.should_see("Welcome to HealthSync")

    # step 2 on its own, without the rotation of step 1: refused
    await user.open("/auth/complete?next=/admin")
    await user.should_see("Welcome to HealthSync")


def test_the_development_secret_is_refused_beyond_loopback() -> None:
    import pytest
    from pydantic import ValidationError

    from data.settings import Settings

    with pytest.raises(ValidationError, match="must be set when serving beyond this machine"):
        Settings(host="0.0.0.0", storage_secret="")  # noqa: S104
    assert Settings(host="0.0.0.0", storage_secret="a-real-secret-of-enough-length").host == "0.0.0.0"  # noqa: S104
