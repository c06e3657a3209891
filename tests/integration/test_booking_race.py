"""Many people click "book" at the same moment: the database and the unit of work keep the rules."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.errors import DomainError, SlotTaken
from domain.model import Account, Actor, Patient, Role, WorkingHours, ensure_aware
from domain.services import Services
from tests.fakes import BERLIN, FixedClock
from tests.integration.conftest import sql_services

NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # Monday 08:00 in Berlin


def monday(hour: int, minute: int = 0) -> datetime:
    """Next Monday (2026-03-23) at a Berlin wall time, as aware UTC."""
    return datetime(2026, 3, 23, hour, minute, tzinfo=BERLIN).astimezone(UTC)


WEEKDAYS = [WorkingHours(day, time(9), time(12)) for day in range(5)]
BOOKED = "booked"


@pytest.fixture
def svc(engine: Engine) -> Services:
    return sql_services(engine, FixedClock(NOW))


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
        doctor, invite = svc.onboard_doctor(admin, f"Dr {i}", f"dr{i}@hospital.test", "GP", department.id)
        svc.accept_invite(invite.token, "doctorpass")
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


# ---- more races: fifty for one slot, one patient two doctors, any doctor, a freed time on hold --------------


def quick_patients(svc: Services, count: int, prefix: str = "racer") -> list[Actor]:
    """Patients stored directly (no password hashing: these tests are about booking, not signing in)."""
    ids = []
    with svc.uow() as uow:
        for i in range(count):
            email = f"{prefix}{i}@mail.test"
            account = uow.accounts.add(Account(email, Role.PATIENT, f"{prefix} {i}", "not-a-real-hash"))
            ids.append(uow.patients.add(Patient(account.id, f"{prefix} {i}", date(1980, 1, 1), email)).account_id)
        uow.commit()
    return [svc.actor_for(i) for i in ids if i is not None]


def department_of(svc: Services, doctor_id: int) -> int:
    with svc.uow(readonly=True) as uow:
        doctor = uow.doctors.get(doctor_id)
    assert doctor is not None and doctor.department_id is not None
    return doctor.department_id


def double_bookings(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT doctor_id, start_at FROM appointment WHERE status IN "
                    "('pending', 'booked', 'arrived', 'checked-in') GROUP BY doctor_id, start_at HAVING count(*) > 1"
                )
            ).all()
        )


TAKEN = "SlotTaken: This slot was just taken. Please pick another time."


def test_fifty_concurrent_requests_for_one_slot_give_exactly_one_booking(svc, admin, engine) -> None:
    (doctor_id,) = make_doctors(svc, admin, [15])
    patients = quick_patients(svc, 50)

    outcomes = race([partial(svc.book, p, doctor_id, monday(10, 15)) for p in patients])

    assert outcomes == {BOOKED: 1, TAKEN: 49}
    rows = active_rows(engine)
    assert len(rows) == 1 and rows[0][0] == doctor_id
    assert double_bookings(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM appointment")).scalar_one() == 1


def test_one_patient_booking_two_doctors_at_the_same_moment_gets_one(svc, admin, engine) -> None:
    a, b = make_doctors(svc, admin, [30, 30])
    (patient,) = quick_patients(svc, 1)
    for hour, minute in [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (11, 30)]:
        start = monday(hour, minute)
        outcomes = race([partial(svc.book, patient, a, start), partial(svc.book, patient, b, start)])
        assert outcomes == {BOOKED: 1, "Conflict: You already have an appointment at this time.": 1}, start
    rows = active_rows(engine)
    assert len(rows) == 6 and len({r[2] for r in rows}) == 6  # one visit at each time, never two


def test_any_doctor_with_n_free_and_n_plus_three_patients_racing_books_n_different_doctors(svc, admin, engine) -> None:
    doctors = make_doctors(svc, admin, [30, 30, 30, 30])
    department_id = department_of(svc, doctors[0])
    patients = quick_patients(svc, len(doctors) + 3)

    outcomes = race([partial(svc.book_any, p, department_id, monday(11)) for p in patients])

    assert outcomes == {
        BOOKED: len(doctors),
        "SlotTaken: No doctor of this department is free at this time any more.": 3,
    }
    rows = active_rows(engine)
    assert sorted(r[0] for r in rows) == sorted(doctors)  # every doctor once, none twice
    assert len({r[1] for r in rows}) == len(doctors)
    assert double_bookings(engine) == 0


def test_sequential_any_doctor_bookings_spread_over_the_doctors(svc, admin, engine) -> None:
    doctors = make_doctors(svc, admin, [30, 30, 30])
    department_id = department_of(svc, doctors[0])
    patients = quick_patients(svc, 6)
    chosen = [
        svc.book_any(p, department_id, monday(9 + i // 2, 30 * (i % 2))).doctor_id for i, p in enumerate(patients)
    ]
    assert Counter(chosen) == {d: 2 for d in doctors}
    assert chosen[:3] == sorted(doctors)


def test_bookers_racing_a_cancellation_never_take_the_time_held_for_the_waiting_list(svc, admin, engine) -> None:
    """Patients keep clicking "book" on a taken time while its owner cancels it and a waiting patient is first
    in line: before the cancellation they hear "taken", after it "held"; nobody gets it but the waiting one."""
    (doctor_id,) = make_doctors(svc, admin, [30])
    owner, waiting, *bookers = quick_patients(svc, 12)
    for round_ in range(3):
        start = monday(9 + round_)
        held = svc.book(owner, doctor_id, start)
        assert held.id is not None
        entry = svc.join_waitlist(waiting, start.date(), start.date(), doctor_id=doctor_id)
        cancelled = threading.Event()
        barrier = threading.Barrier(len(bookers) + 1, timeout=30)

        def cancel(appointment_id: int = held.id) -> Counter[str]:
            barrier.wait()
            try:
                svc.cancel(owner, appointment_id)
            finally:
                cancelled.set()
            return Counter({"cancelled": 1})

        def keep_booking(actor: Actor, at: datetime = start) -> Counter[str]:
            seen: Counter[str] = Counter()
            barrier.wait()
            extra = 0
            while extra < 5:
                extra += cancelled.is_set()
                try:
                    svc.book(actor, doctor_id, at)
                    seen[BOOKED] += 1
                except SlotTaken as e:
                    seen["held" if "waiting list" in e.message else "taken"] += 1
            return seen

        with ThreadPoolExecutor(max_workers=len(bookers) + 1) as pool:
            futures = [pool.submit(cancel)] + [pool.submit(keep_booking, b) for b in bookers]
            total = sum((f.result() for f in futures), Counter())

        assert total["cancelled"] == 1 and total[BOOKED] == 0, total
        assert total["held"] >= len(bookers)  # every booker heard about the hold at least once
        assert not [r for r in active_rows(engine) if ensure_aware(r[2]) == start]  # type: ignore[arg-type]
        with svc.uow(readonly=True) as uow:
            offers = uow.waitlist.open_offers(doctor_id, start, start + timedelta(minutes=30), svc.clock.now())
        assert [(o.patient_id, o.entry_id) for o in offers] == [(waiting.patient_id, entry.id)]
        svc.leave_waitlist(waiting, entry.id or 0)


def test_leave_entered_while_patients_book_that_day_leaves_no_active_appointment_inside_it(svc, admin, engine) -> None:
    """Leave and bookings at the same moment: every booking either lands before the leave (and is cancelled
    by it) or sees the leave and is refused; none survives inside it."""
    (doctor,) = make_doctors(svc, admin, [15])
    patients = quick_patients(svc, 11, prefix="leave")
    starts = [monday(9) + timedelta(minutes=15 * i) for i in range(11)]
    attempts: list[Callable[[], object]] = [
        partial(svc.book, p, doctor, s) for p, s in zip(patients, starts, strict=True)
    ]
    attempts.append(partial(svc.add_leave, admin, doctor, date(2026, 3, 23), date(2026, 3, 23), "full", "ill"))
    outcomes = race(attempts)
    assert not [k for k in outcomes if k.startswith("unexpected")], outcomes
    assert active_rows(engine) == []


def test_a_closure_entered_while_patients_book_leaves_no_active_appointment_inside_it(svc, admin, engine) -> None:
    doctors = make_doctors(svc, admin, [15, 15, 15])
    patients = quick_patients(svc, 9, prefix="closure")
    attempts: list[Callable[[], object]] = [
        partial(svc.book, p, doctors[i % 3], monday(9, 15 * (i // 3))) for i, p in enumerate(patients)
    ]
    attempts.append(partial(svc.add_leave, admin, None, date(2026, 3, 23), date(2026, 3, 23), "full", "storm"))
    outcomes = race(attempts)
    assert not [k for k in outcomes if k.startswith("unexpected")], outcomes
    assert active_rows(engine) == []
