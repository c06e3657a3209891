"""Booking through the patient portal, seen live by another patient and by the doctor."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from nicegui import ui
from nicegui.testing import User

from data.seed import DOCTORS
from data.settings import Settings
from tests.ui.conftest import DOCTOR_LOGIN, OTHER_PATIENT_LOGIN, PATIENT_LOGIN, sign_in


def doctor_id(queries, name: str) -> int:
    return queries.doctors(search=name).items[0].id


def slot_buttons(user: User) -> dict[str, ui.button]:
    found: dict[str, ui.button] = {}
    for element in user.find(kind=ui.button).elements:
        for marker in element._markers:
            if marker.startswith("slot-"):
                found[marker] = element  # type: ignore[assignment]
    return found


async def eventually(check: Callable[[], bool], seconds: float = 10.0, why: Callable[[], str] = str) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met in time {why()}")


async def dialog_open(user: User) -> None:
    def is_open() -> bool:
        try:
            return any(d.value for d in user.find(kind=ui.dialog).elements)
        except AssertionError:  # no dialog on the page (yet)
            return False

    await eventually(is_open)


async def notified(user: User, text: str) -> None:
    await eventually(
        lambda: any(text in m for m in user.notify.messages), seconds=10, why=lambda: str(user.notify.messages)
    )


async def book_first_free(user: User) -> str:
    free = sorted(m for m, b in slot_buttons(user).items() if b.enabled)
    assert free, "the demo doctor has free slots"
    marker = free[0]
    user.find(marker=marker).click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Book").click()
    await notified(user, "Booked:")
    return marker


async def test_patient_books_and_sees_it_in_their_list(user: User, queries, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    doc = doctor_id(queries, DOCTORS[0][0])
    await user.open(f"/patient/doctors/{doc}")
    await user.should_see(DOCTORS[0][0])
    await book_first_free(user)
    await user.should_see("Upcoming", retries=20)
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    from datetime import UTC, datetime

    upcoming = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    assert any(a.doctor_id == doc for a in upcoming)
    await user.should_see(marker=f"appointment-{max(a.id for a in upcoming)}")


async def test_other_patients_grid_changes_without_reload(user: User, create_user, queries, demo_db: str) -> None:
    doc = doctor_id(queries, DOCTORS[0][0])
    watcher = create_user()
    await sign_in(watcher, OTHER_PATIENT_LOGIN[0], demo_db)
    await watcher.open(f"/patient/doctors/{doc}")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    counts_before = free_counts(watcher)
    marker = await book_first_free(user)
    await eventually(lambda: not slot_buttons(watcher)[marker].enabled)
    # the day's "N free" heading follows too: exactly one day lost exactly one free slot
    after = free_counts(watcher)
    changed = [(counts_before[i], after[i]) for i in range(len(after)) if after[i] != counts_before[i]]
    assert len(changed) == 1
    assert int(changed[0][0].split()[0]) - 1 == int(changed[0][1].split()[0])


def free_counts(user: User) -> list[str]:
    return [e.text for e in user.find(kind=ui.label).elements if e.text.endswith(" free") or e.text == "fully booked"]


async def test_doctor_day_view_shows_booking_live(user: User, create_user, queries, demo_db: str) -> None:
    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    doc = doctor_id(queries, DOCTORS[0][0])
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    free = sorted(m for m, b in slot_buttons(user).items() if b.enabled)
    marker = free[0]
    # open the doctor's view on the day of that slot
    start = datetime.strptime(marker, "slot-%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    local_day = start.astimezone(Settings().tz).date()
    await doctor.open(f"/doctor?day={local_day.isoformat()}")
    before = {m for e in doctor.find(kind=ui.card).elements for m in e._markers if m.startswith("appointment-")}
    user.find(marker=marker).click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Book").click()
    await notified(user, "Booked:")

    def new_card() -> bool:
        now = {m for e in doctor.find(kind=ui.card).elements for m in e._markers if m.startswith("appointment-")}
        return len(now - before) == 1

    await eventually(new_card, why=lambda: f"{user.notify.messages} {doctor.notify.messages} {marker} {before}")
    await doctor.should_see("Maria Schmidt")


async def test_loser_of_a_race_is_told_the_slot_was_just_taken(user: User, create_user, queries, demo_db: str) -> None:
    doc = doctor_id(queries, DOCTORS[0][0])
    other = create_user()
    await sign_in(other, OTHER_PATIENT_LOGIN[0], demo_db)
    await other.open(f"/patient/doctors/{doc}")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    marker = sorted(m for m, b in slot_buttons(user).items() if b.enabled)[0]
    # both open the booking dialog for the same slot before either confirms
    other.find(marker=marker).click()
    await dialog_open(other)
    user.find(marker=marker).click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Book").click()
    await notified(user, "Booked:")
    other.find(kind=ui.button, content="Book").click()
    await notified(other, "This slot was just taken")  # the loser is told, not the winner
    assert not any("This slot was just taken" in m for m in user.notify.messages)
    assert not slot_buttons(other)[marker].enabled


async def test_cancelling_frees_the_slot_for_others(user: User, create_user, queries, demo_db: str) -> None:
    doc = doctor_id(queries, DOCTORS[0][0])
    watcher = create_user()
    await sign_in(watcher, OTHER_PATIENT_LOGIN[0], demo_db)
    await watcher.open(f"/patient/doctors/{doc}")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    marker = await book_first_free(user)
    await eventually(lambda: not slot_buttons(watcher)[marker].enabled)
    await user.should_see("Upcoming", retries=20)
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    from datetime import UTC, datetime

    newest = max(queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True), key=lambda a: a.id)
    user.find(marker=f"cancel-{newest.id}").click()
    await user.should_see("Cancel this appointment?")
    user.find(kind=ui.button, content="Cancel appointment").click()
    await eventually(lambda: slot_buttons(watcher)[marker].enabled)


async def test_moving_an_appointment_frees_the_old_time_and_takes_the_new_one_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    doc = doctor_id(queries, DOCTORS[0][0])
    watcher = create_user()
    await sign_in(watcher, OTHER_PATIENT_LOGIN[0], demo_db)
    await watcher.open(f"/patient/doctors/{doc}")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    old_marker = await book_first_free(user)
    await user.should_see("Upcoming", retries=50)
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    old = max(queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True), key=lambda a: a.id)

    user.find(marker=f"move-{old.id}").click()
    await user.should_see("You are moving your appointment", retries=50)
    new_marker = sorted(m for m, b in slot_buttons(user).items() if b.enabled and m > old_marker)[0]
    user.find(marker=new_marker).click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Move").click()
    await notified(user, "Moved to")
    await eventually(
        lambda: slot_buttons(watcher)[old_marker].enabled and not slot_buttons(watcher)[new_marker].enabled
    )
    upcoming = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    assert old.id not in {a.id for a in upcoming}
    assert queries.appointment(old.id).status == "cancelled"


async def test_a_doctor_cancels_with_a_reason_and_the_patient_is_told_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    theirs = marias_okafor_visit(queries)
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"appointment-{theirs.id}")

    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open(f"/doctor?day={theirs.start.astimezone(Settings().tz).date().isoformat()}")
    doctor.find(marker=f"cancel-{theirs.id}").click()
    await dialog_open(doctor)
    doctor.find(kind=ui.button, content="Cancel appointment").click()  # no reason yet: refused, dialog stays
    await notified(doctor, "choose a reason")
    assert queries.appointment(theirs.id).status == "booked"
    await dialog_open(doctor)
    doctor.find(kind=ui.select).elements.pop().set_value("prov-hosp")
    doctor.find(kind=ui.button, content="Cancel appointment").click()

    await eventually(lambda: queries.appointment(theirs.id).status == "cancelled")
    # the patient's page tells them at once, with the reason (components/patient_alerts.py)
    told = f"{DOCTORS[0][0]} cancelled your appointment"
    await eventually(lambda: shows(user, told) and shows(user, "The doctor is ill"))
    # the patient's list shows it without reload: the row is now among "Recent and cancelled"
    await eventually(lambda: any(b.text == "cancelled" for b in found(user, ui.badge)))


def shows(user: User, text: str) -> bool:
    return any(text in label.text for label in found(user, ui.label))


def marias_okafor_visit(queries):  # the demo books Maria with Dr. Okafor
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    mine = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    return [a for a in mine if a.doctor == DOCTORS[0][0]][0]


def found(user: User, kind: type) -> list:
    """The elements of a kind on the user's page; none while a live refresh is re-drawing it."""
    try:
        return list(user.find(kind=kind).elements)
    except AssertionError:
        return []
