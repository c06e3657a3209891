"""Patient self-registration: each problem gets its own message and nothing is created."""

from __future__ import annotations

import asyncio

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import PATIENT_LOGIN


async def register(user: User, name: str, email: str, born: str, password: str, repeat: str | None = None) -> None:
    await user.open("/register")
    user.find("Full name").type(name)
    user.find("Email").type(email)
    user.find("Date of birth").type(born)
    user.find("Password (at least 8 characters)").type(password)
    user.find("Repeat password").type(password if repeat is None else repeat)
    user.find(kind=ui.button, content="Create account").click()
    for _ in range(200):
        if user.notify.messages:
            return
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("email", "born", "password", "repeat", "message"),
    [
        (PATIENT_LOGIN[0], "1990-01-01", "long-enough-1", None, "An account with this email already exists."),
        ("new@example.org", "1990-01-01", "short", None, "at least 8 characters"),
        ("new@example.org", "2999-01-01", "long-enough-1", None, "Date of birth cannot be in the future."),
        ("new@example.org", "01/02/1990", "long-enough-1", None, "Date of birth must be a date like"),
        ("not-an-email", "1990-01-01", "long-enough-1", None, "valid email address"),
        ("new@example.org", "1990-01-01", "long-enough-1", "long-enough-2", "do not match"),
    ],
)
async def test_registration_problems_are_explained(
    user: User, queries, email: str, born: str, password: str, repeat: str | None, message: str
) -> None:
    before = queries.patients().total
    await register(user, "New Person", email, born, password, repeat)
    assert any(message in m for m in user.notify.messages), user.notify.messages
    assert queries.patients().total == before


async def test_registered_patient_is_signed_in_and_can_search(user: User, queries) -> None:
    await register(user, "Ada O'Connor", "Ada@Example.org ", "1990-01-01", "long-enough-1")
    assert "Welcome! Your account is ready." in user.notify.messages
    await user.should_see("Find a doctor")
    found = queries.patients(search="ada@example.org")
    assert [p.name for p in found.items] == ["Ada O'Connor"]


async def test_odd_urls_show_pages_not_errors(user: User) -> None:
    from tests.ui.conftest import DOCTOR_LOGIN, login

    await login(user, *PATIENT_LOGIN)
    for path in ["/patient/doctors/abc", "/patient/doctors/9223372036854775808", "/patient/doctors?department=abc",
                 "/patient/history?page=1000000000000000000", "/patient/appointments/-1"]:  # fmt: skip
        await user.open(path)
        await user.should_see("Sign out")
    await user.open("/logout")
    await login(user, *DOCTOR_LOGIN)
    for day in ["9999-12-31", "0001-01-01", "not-a-date"]:
        await user.open(f"/doctor?day={day}")
        await user.should_see(marker="day-summary")
