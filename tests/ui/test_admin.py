"""Admin portal: departments and onboarding doctors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nicegui import ui
from nicegui.testing import User

from tests.ui.conftest import ADMIN_LOGIN, login


async def until(check: Callable[[], bool], seconds: float = 10.0, why: Callable[[], str] = str) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met in time {why()}")


def labels(user: User, text: str) -> int:
    return sum(1 for e in user.find(kind=ui.label).elements if e.text == text)


async def test_admin_creates_a_department_once_and_duplicates_are_refused(user: User, queries) -> None:
    await login(user, *ADMIN_LOGIN)
    await user.open("/admin/departments")
    user.find(kind=ui.button, content="New department").click()
    await user.should_see("Description")
    user.find(kind=ui.input, content="Name").type("Neurology")
    user.find(kind=ui.button, content="Save").click()
    await until(lambda: "Department saved." in user.notify.messages)
    await until(lambda: labels(user, "Neurology") == 1)
    await asyncio.sleep(0.3)  # the live redraw and the explicit one must not both add the row
    assert labels(user, "Neurology") == 1
    assert [d.name for d in queries.departments()].count("Neurology") == 1

    user.find(kind=ui.button, content="New department").click()
    await user.should_see("Description")
    user.find(kind=ui.input, content="Name").type("NEUROLOGY")
    user.find(kind=ui.button, content="Save").click()
    await until(lambda: any("already exists" in m for m in user.notify.messages))
    assert [d.name.casefold() for d in queries.departments()].count("neurology") == 1


async def test_admin_onboards_a_doctor_who_sets_a_password_by_invite(user: User, create_user, queries) -> None:
    await login(user, *ADMIN_LOGIN)
    await user.open("/admin/doctors")
    user.find(kind=ui.button, content="Onboard a doctor").click()
    await user.should_see("the doctor chooses their own password")
    user.find(kind=ui.input, content="Full name").type("Dr. Nora Lind")
    user.find(kind=ui.input, content="Email").type("lind@healthsync.example")
    user.find(kind=ui.input, content="Specialty").type("Neurology")
    user.find(marker="doctor-department").elements.pop().set_value(queries.departments()[0].id)  # type: ignore[attr-defined]
    user.find(kind=ui.button, content="Create invite").click()
    await until(lambda: "Doctor added." in user.notify.messages, why=lambda: str(user.notify.messages))
    await user.should_see("Invite link created")
    await user.should_see("HealthSync does not send emails", retries=20)
    link = str(next(iter(user.find(marker="invite-link").elements)).value)  # type: ignore[attr-defined]
    assert "/invite/" in link
    found = queries.doctors(search="Lind").items
    assert [(d.name, d.specialty, d.bookable) for d in found] == [("Dr. Nora Lind", "Neurology", False)]

    doctor = create_user()
    await login(doctor, "lind@healthsync.example", "lind-pass-2026")  # no password yet: refused
    assert any("Email or password is wrong" in m for m in doctor.notify.messages)
    await doctor.open(link[link.index("/invite/") :])
    await doctor.should_see("Welcome, Dr. Nora Lind")
    doctor.find(marker="invite-password").type("lind-pass-2026")
    doctor.find(marker="invite-repeat").type("lind-pass-2026")
    doctor.find(marker="invite-submit").click()
    await doctor.should_see("Patients cannot book you yet: set your weekly hours first.", retries=100)
