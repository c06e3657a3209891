"""The patient side of scheduling: visit types, any doctor of a department, waiting lists with live offers,
checking in on the day. Several simulated patients at once where something is live."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from nicegui import app, ui
from nicegui.testing import User
from sqlalchemy import text

from components.frame import fmt_when
from components.slot_grid import slot_marker
from data.db import make_engine
from data.seed import DOCTORS, PATIENTS
from data.settings import Settings
from domain.model import Actor
from tests.fakes import FixedClock
from tests.ui.conftest import DOCTOR_LOGIN, OTHER_PATIENT_LOGIN, PATIENT_LOGIN, sign_in
from tests.ui.test_booking_live import (
    book_first_free,
    dialog_open,
    doctor_id,
    eventually,
    found,
    notified,
    shows,
    slot_buttons,
)

OKAFOR = DOCTORS[0][0]
TZ = Settings().tz


def start_of(marker: str) -> datetime:
    return datetime.strptime(marker, "slot-%Y%m%dT%H%MZ").replace(tzinfo=UTC)


def actor_of(demo_db: str, email: str) -> Actor:
    engine = make_engine(demo_db)
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE email = :e"), {"e": email}).scalar_one()
    engine.dispose()
    return app.state.healthsync.services.actor_for(account_id)


def patient_id(queries, email: str) -> int:
    return queries.patients(search=email).items[0].id


def first_free_start(doctor: int, days_ahead: int = 2) -> datetime:
    services = app.state.healthsync.services
    free = [s for s, ok in services.slots(doctor, services.clock.today() + timedelta(days=days_ahead), 7) if ok]
    assert free, "the demo doctor has free times"
    return free[0].start


def badge_of(user: User, appointment_id: int) -> str:
    try:
        with user.scope(marker=f"appointment-{appointment_id}"):
            return next(iter(user.find(kind=ui.badge).elements)).text
    except (AssertionError, StopIteration):  # not on the page (yet), or mid-redraw
        return ""


async def choose_visit_type(user: User, code: str) -> set[str]:
    """Pick a visit type; returns the offered starts once the grid shows that type's times."""
    before = set(slot_buttons(user))
    user.find(kind=ui.select, marker="visit-type").elements.pop().set_value(code)
    await eventually(lambda: bool(slot_buttons(user)) and set(slot_buttons(user)) != before)
    return set(slot_buttons(user))


async def test_a_longer_visit_type_offers_fewer_starts_and_books_its_length(user: User, queries, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    doc = doctor_id(queries, OKAFOR)
    await user.open(f"/patient/doctors/{doc}")
    await user.should_see("Consultation · 15 min")
    short = set(slot_buttons(user))
    long = await choose_visit_type(user, "procedure")
    # an hour cannot start in the last 45 minutes before the lunch break (12:00) or the end of the day
    assert long < short
    last_of_morning = {m for m in short if start_of(m).astimezone(TZ).time() == time(11, 45)}
    assert last_of_morning and not last_of_morning & long
    assert any(start_of(m).astimezone(TZ).time() == time(11, 0) for m in long)

    free = sorted(m for m, b in slot_buttons(user).items() if b.enabled)
    user.find(marker=free[0]).click()
    await dialog_open(user)
    await user.should_see("Procedure · 60 min")
    user.find(kind=ui.button, content="Book").click()
    await notified(user, "Booked:")
    mine = queries.patient_appointments(patient_id(queries, PATIENT_LOGIN[0]), datetime.now(UTC), upcoming=True)
    newest = max(mine, key=lambda a: a.id)
    assert newest.start == start_of(free[0]) and newest.end - newest.start == timedelta(minutes=60)
    assert newest.visit_type == "procedure"


async def test_a_30_minute_booking_takes_both_covered_starts_in_another_grid_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    doc = doctor_id(queries, OKAFOR)
    watcher = create_user()  # looks at 15-minute consultations
    await sign_in(watcher, OTHER_PATIENT_LOGIN[0], demo_db)
    await watcher.open(f"/patient/doctors/{doc}")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doc}")
    await choose_visit_type(user, "follow-up")
    step = timedelta(minutes=15)
    watched = slot_buttons(watcher)

    def free_for_watcher(start: datetime) -> bool:
        button = watched.get(slot_marker(start))
        return bool(button and button.enabled)

    target = next(
        m
        for m, b in sorted(slot_buttons(user).items())
        if b.enabled and free_for_watcher(start_of(m)) and free_for_watcher(start_of(m) + step)
    )
    start = start_of(target)
    neighbours = [
        m for m in (slot_marker(start - step), slot_marker(start + 2 * step)) if free_for_watcher(start_of(m))
    ]
    day_counts = {e.id: e.text for e in found(watcher, ui.label) if e.text.endswith(" free")}

    user.find(marker=target).click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Book").click()
    await notified(user, "Booked:")

    covered = [target, slot_marker(start + step)]
    await eventually(lambda: not any(slot_buttons(watcher)[m].enabled for m in covered))
    # the starts just before and just after do not overlap the visit: still free
    assert all(slot_buttons(watcher)[m].enabled for m in neighbours)
    after = {e.id: e.text for e in found(watcher, ui.label) if e.id in day_counts}
    changed = [(day_counts[i], after[i]) for i in day_counts if after.get(i) != day_counts[i]]
    assert len(changed) == 1
    assert int(changed[0][0].split()[0]) - 2 == int(changed[0][1].split()[0])


async def test_any_doctor_in_a_department_assigns_a_doctor_and_other_grids_follow(
    user: User, create_user, queries, demo_db: str
) -> None:
    department = next(d for d in queries.departments() if d.name == "General Practice")
    watcher = create_user()
    await sign_in(watcher, OTHER_PATIENT_LOGIN[0], demo_db)
    await watcher.open(f"/patient/departments/{department.id}")
    await watcher.should_see("Any doctor in General Practice")
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/doctors")
    user.find(marker=f"department-{department.id}").click()  # "Or the first free time with any doctor in: ..."
    await user.should_see("Any doctor in General Practice")

    marker = await book_first_free(user)
    await notified(user, f"Booked: {OKAFOR} will see you")
    await eventually(lambda: not slot_buttons(watcher)[marker].enabled)
    mine = queries.patient_appointments(patient_id(queries, PATIENT_LOGIN[0]), datetime.now(UTC), upcoming=True)
    newest = max(mine, key=lambda a: a.id)
    assert newest.doctor == OKAFOR and newest.start == start_of(marker)


async def test_a_waiting_patient_is_offered_a_freed_time_live_and_books_it(
    user: User, create_user, queries, demo_db: str
) -> None:
    doc = doctor_id(queries, OKAFOR)
    maria = actor_of(demo_db, PATIENT_LOGIN[0])
    start = first_free_start(doc)
    held = app.state.healthsync.services.book(maria, doc, start, "Check-up")

    waiter = create_user()  # Tomás joins Dr. Okafor's waiting list
    await sign_in(waiter, OTHER_PATIENT_LOGIN[0], demo_db)
    await waiter.open(f"/patient/doctors/{doc}")
    waiter.find(marker="join-waitlist").click()
    await dialog_open(waiter)
    waiter.find(marker="waitlist-join").click()
    await notified(waiter, f"You are on the waiting list for {OKAFOR}")
    await waiter.open("/patient")
    await waiter.should_see("Waiting lists")

    onlooker = create_user()  # a third patient looking at the same doctor
    await sign_in(onlooker, PATIENTS[2][1], demo_db)
    await onlooker.open(f"/patient/doctors/{doc}")
    assert not slot_buttons(onlooker)[slot_marker(start)].enabled  # Maria's

    await sign_in(user, PATIENT_LOGIN[0], demo_db)  # Maria gives her time up
    user.find(marker=f"cancel-{held.id}").click()
    await user.should_see("Cancel this appointment?")
    user.find(kind=ui.button, content="Cancel appointment").click()

    await eventually(lambda: shows(waiter, "A time became free"))
    assert shows(waiter, f"{OKAFOR}, {fmt_when(start, TZ)}")
    assert shows(waiter, "It is held for you until")
    # for everybody else the time is held, not free
    await eventually(lambda: "held" in slot_buttons(onlooker)[slot_marker(start)].props.get("aria-label", "").lower())
    assert not slot_buttons(onlooker)[slot_marker(start)].enabled
    await onlooker.open(f"/patient/doctors/{doc}")  # a page opened while the time is held says so too
    assert "held" in slot_buttons(onlooker)[slot_marker(start)].props.get("aria-label", "").lower()

    waiter.find(kind=ui.button, content="Book it").click()
    tomas = patient_id(queries, OTHER_PATIENT_LOGIN[0])
    await eventually(
        lambda: any(
            a.start == start and a.doctor_id == doc
            for a in queries.patient_appointments(tomas, datetime.now(UTC), upcoming=True)
        )
    )
    # Book it took Tomás to his list, which confirms the booking
    newest = max(a.id for a in queries.patient_appointments(tomas, datetime.now(UTC), True))
    await eventually(
        lambda: waiter.back_history[-1] == f"/patient?booked={newest}",
        why=lambda: str(waiter.back_history[-1:]),
    )
    await notified(waiter, "Booked:")
    assert queries.patient_scheduling(tomas, datetime.now(UTC)) == ([], [])  # off the list, nothing held
    await eventually(lambda: "taken" in slot_buttons(onlooker)[slot_marker(start)].props.get("aria-label", ""))


async def test_patient_checks_in_and_the_doctors_open_day_changes(
    user: User, create_user, queries, demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = app.state.healthsync.services
    doc = doctor_id(queries, OKAFOR)
    start = first_free_start(doc, days_ahead=1)
    booked = services.book(actor_of(demo_db, PATIENT_LOGIN[0]), doc, start, "Check-up")
    monkeypatch.setattr(services, "clock", FixedClock(start - timedelta(minutes=30), TZ))  # that morning
    day = start.astimezone(TZ).date()

    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open(f"/doctor?day={day.isoformat()}")
    await doctor.should_see(marker=f"appointment-{booked.id}")
    assert badge_of(doctor, booked.id) == "booked"

    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"checkin-{booked.id}")
    user.find(marker=f"checkin-{booked.id}").click()
    await eventually(lambda: queries.appointment(booked.id).status == "arrived")
    await eventually(lambda: badge_of(doctor, booked.id) == "arrived")
    await eventually(lambda: badge_of(user, booked.id) == "arrived")
    await user.should_not_see(marker=f"checkin-{booked.id}")


async def test_bad_waiting_list_dates_are_explained_and_nothing_is_joined(user: User, queries, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    doc = doctor_id(queries, OKAFOR)
    await user.open(f"/patient/doctors/{doc}")
    user.find(marker="join-waitlist").click()
    await dialog_open(user)
    user.find("First day").clear().type("2026-02-30")
    user.find(marker="waitlist-join").click()
    await notified(user, "“2026-02-30” is not a real date")

    today = app.state.healthsync.services.clock.today()
    user.find("First day").clear().type((today + timedelta(days=3)).isoformat())
    user.find("Last day").clear().type((today + timedelta(days=1)).isoformat())
    user.find(marker="waitlist-join").click()
    await notified(user, "The last day must not be before the first.")

    user.find("Last day").clear()
    user.find(marker="waitlist-join").click()
    await notified(user, "Last day: please enter a date")
    await dialog_open(user)  # still open, with what was typed
    assert queries.patient_scheduling(patient_id(queries, PATIENT_LOGIN[0]), datetime.now(UTC)) == ([], [])


async def test_a_long_list_of_upcoming_visits_opens_with_the_next_ones_and_shows_the_rest_on_asking(
    user: User, queries, demo_db: str
) -> None:
    services = app.state.healthsync.services
    doc = doctor_id(queries, OKAFOR)
    tomas = actor_of(demo_db, OTHER_PATIENT_LOGIN[0])
    free = [s for s, ok in services.slots(doc, services.clock.today() + timedelta(days=2), 7) if ok]
    with services.uow(readonly=True) as uow:  # his visits with other doctors
        theirs = uow.appointments.active_for_patient(tomas.patient_id, free[0].start, free[-1].end)
    booked = 0
    for slot in free[::2]:
        if booked < 23 and not any(a.overlaps(slot.start, slot.end) for a in theirs):
            services.book(tomas, doc, slot.start, "Series of treatments")
            booked += 1
    mine = queries.patient_appointments(patient_id(queries, OTHER_PATIENT_LOGIN[0]), datetime.now(UTC), True)
    assert len(mine) >= 23
    await sign_in(user, OTHER_PATIENT_LOGIN[0], demo_db)

    def shown() -> set[int]:
        return {int(m.split("-")[1]) for e in found(user, ui.card) for m in e._markers if m.startswith("appointment-")}

    upcoming = {a.id for a in mine}  # ("Recent and cancelled" has cards too)
    assert shown() & upcoming == {a.id for a in mine[:20]}  # the next twenty, in time order
    user.find(marker="more-upcoming").click()
    await eventually(lambda: shown() & upcoming == upcoming)
    await user.should_not_see(marker="more-upcoming")
