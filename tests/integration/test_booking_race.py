"""Many people click "book" at the same moment: the database and the unit of work keep the rules."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.db import make_engine
from data.security import Argon2Hasher
from data.uow import SqlUnitOfWorkFactory
from domain.errors import DomainError, SlotTaken
from domain.model import Account, Actor, Role, WorkingHours
from domain.services import Services
from tests.fakes import BERLIN, FixedClock

NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


def monday(hour: int, minute: int = 0) -> datetime:
    """Next Monday (2026-03-23) at a Berlin wall time, as aware UTC."""
    return datetime(2026, 3, 23, hour, minute, tzinfo=BERLIN).astimezone(UTC)


WEEKDAYS = [WorkingHours(day, time(9), time(12)) for day in range(5)]
BOOKED = "booked"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def svc(engine: Engine) -> Services:
    return Services(SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), FixedClock(NOW), BERLIN)


@pytest.fixture
def admin(svc: Services) -> Actor:
    with svc.uow() as uow:
        account = uow.accounts.add(Account("admin@hospital.test", Role.ADMIN, "Admin", svc.hasher.hash("adminpass1")))
        uow.commit()
    assert account.id is not None
    return svc.actor_for(account.id)


def make_doctors(svc: Services, admin: Actor, slot_minutes: list[int]) -> list[int]:
    department = svc.save_department(admin, "General medicine")
    ids = []
    for i, minutes in enumerate(slot_minutes):
        doctor = svc.onboard_doctor(admin, f"Dr {i}", f"dr{i}@hospital.test", "GP", department.id, "doctorpass")
        assert doctor.id is not None
        svc.set_availability(admin, doctor.id, WEEKDAYS, minutes)
        ids.append(doctor.id)
    return ids


def make_patients(svc: Services, count: int) -> list[Actor]:
    actors = []
    for i in range(count):
        patient = svc.register_patient(f"Patient {i}", f"patient{i}@mail.test", "patientpass", "1980-01-01")
        assert patient.account_id is not None
        actors.append(svc.actor_for(patient.account_id))
    return actors


def race(attempts: list[Callable[[], object]]) -> Counter[str]:
    """Run every attempt at the same moment; count the outcomes as a user would see them."""
    barrier = threading.Barrier(len(attempts), timeout=30)

    def run(attempt: Callable[[], object]) -> str:
        barrier.wait()
        try:
            attempt()
        except SlotTaken as e:
            return f"SlotTaken: {e.message}"
        except DomainError as e:
            return f"{type(e).__name__}: {e.message}"
        except Exception as e:  # anything else is a bug (a 500 for the user)
            return f"unexpected {type(e).__name__}: {e}"
        return BOOKED

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return Counter(pool.map(run, attempts))


def active_rows(engine: Engine) -> list[tuple[int, int, object]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    "SELECT doctor_id, patient_id, start_at FROM appointment "
                    "WHERE status IN ('pending', 'booked', 'arrived', 'checked-in')"
                )
            )
        ]


def test_twenty_patients_race_for_one_slot_and_exactly_one_wins(svc, admin, engine) -> None:
    (doctor_id,) = make_doctors(svc, admin, [30])
    patients = make_patients(svc, 20)
    start = monday(9)

    outcomes = race([partial(svc.book, p, doctor_id, start) for p in patients])

    assert outcomes == {BOOKED: 1, "SlotTaken: This slot was just taken. Please pick another time.": 19}
    rows = active_rows(engine)
    assert len(rows) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM appointment")).scalar_one() == 1
    winner = rows[0][1]
    assert winner in {p.patient_id for p in patients}


def test_one_patient_racing_for_overlapping_slots_with_ten_doctors_gets_one(svc, admin, engine) -> None:
    # every slot below contains hh:30-hh:40, so any two of them overlap
    lengths = [60, 30, 20, 15, 10] * 2
    first_minute = {60: 0, 30: 30, 20: 20, 15: 30, 10: 30}
    doctors = make_doctors(svc, admin, lengths)
    (patient,) = make_patients(svc, 1)

    for hour in (9, 10, 11):  # three rounds
        starts = [monday(hour, first_minute[m]) for m in lengths]
        outcomes = race([partial(svc.book, patient, d, s) for d, s in zip(doctors, starts, strict=True)])
        assert outcomes == {BOOKED: 1, "Conflict: You already have an appointment at this time.": 9}, hour

    rows = active_rows(engine)
    assert len(rows) == 3
    assert {r[1] for r in rows} == {patient.patient_id}


def test_the_same_reschedule_sent_many_times_at_once_moves_the_appointment_once(
    svc: Services, admin: Actor, engine: Engine
) -> None:
    (doctor_id,) = make_doctors(svc, admin, [15])
    (patient,) = make_patients(svc, 1)
    old = svc.book(patient, doctor_id, monday(9))
    assert old.id is not None
    targets = [monday(10, 15 * i) for i in range(4)] + [monday(11, 15 * i) for i in range(4)]
    outcomes = race([partial(svc.reschedule, patient, old.id, t) for t in targets])

    assert outcomes[BOOKED] == 1, outcomes
    assert sum(outcomes.values()) == len(targets)
    assert all(k == BOOKED or "can no longer be moved" in k for k in outcomes), outcomes
    rows = active_rows(engine)
    assert len(rows) == 1 and rows[0][0] == doctor_id  # one active appointment: the moved one
    assert svc.book(make_patients_named(svc, "Other")[0], doctor_id, monday(9)).start == monday(9)  # A is free


def make_patients_named(svc: Services, name: str) -> list[Actor]:
    patient = svc.register_patient(name, f"{name.lower()}@mail.test", "patientpass", "1980-01-01")
    assert patient.account_id is not None
    return [svc.actor_for(patient.account_id)]
