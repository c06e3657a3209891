"""Moving an appointment: atomic, linked, refused when stale, and the old time is free again."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from domain.errors import NotFound, SlotTaken, ValidationError
from domain.model import AppointmentStatus
from domain.services import Services
from tests.fakes import BERLIN, FakeStore, FixedClock, make_services, weekdays

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
A = datetime(2026, 3, 23, 9, 0, tzinfo=BERLIN).astimezone(UTC)  # next Monday 09:00 local
B = A + timedelta(minutes=30)
C = A + timedelta(minutes=60)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def svc(store: FakeStore) -> Services:
    return make_services(store, FixedClock(NOW))


@pytest.fixture
def setup(store: FakeStore):
    doctor, _ = store.add_doctor("Dr Weber", weekdays(time(9), time(12)), slot_minutes=30)
    anna = store.add_patient("Anna Schmidt")
    ben = store.add_patient("Ben Okafor")
    return doctor, anna, ben


def test_moving_books_the_new_time_cancels_the_old_and_links_them(svc, store, setup) -> None:
    doctor, (_, anna), (_, ben) = setup
    old = svc.book(anna, doctor.id, A, reason="knee")
    new = svc.reschedule(anna, old.id, B)

    assert store.tables.appointments[old.id].status == AppointmentStatus.CANCELLED
    assert (new.start, new.status, new.rescheduled_from, new.reason) == (B, AppointmentStatus.BOOKED, old.id, "knee")
    # slot A is bookable again at once
    assert dict((s.start, free) for s, free in svc.slots(doctor.id, A.astimezone(BERLIN).date(), 1))[A] is True
    assert svc.book(ben, doctor.id, A).start == A


def test_a_reschedule_sent_twice_is_refused_the_second_time(svc, store, setup) -> None:
    doctor, (_, anna), _ = setup
    old = svc.book(anna, doctor.id, A)
    svc.reschedule(anna, old.id, B)
    with pytest.raises(ValidationError, match="can no longer be moved"):
        svc.reschedule(anna, old.id, C)
    assert [a.start for a in store.active_appointments()] == [B]


def test_a_cancelled_appointment_cannot_be_rescheduled(svc, store, setup) -> None:
    doctor, (_, anna), _ = setup
    old = svc.book(anna, doctor.id, A)
    svc.cancel(anna, old.id)
    with pytest.raises(ValidationError, match="already moved or cancelled, so it can no longer be moved"):
        svc.reschedule(anna, old.id, B)
    assert store.active_appointments() == []


def test_moving_onto_a_taken_time_changes_nothing(svc, store, setup) -> None:
    doctor, (_, anna), (_, ben) = setup
    old = svc.book(anna, doctor.id, A)
    svc.book(ben, doctor.id, B)
    with pytest.raises(SlotTaken):
        svc.reschedule(anna, old.id, B)
    assert store.tables.appointments[old.id].status == AppointmentStatus.BOOKED  # the old booking is kept


def test_a_patient_cannot_move_someone_elses_appointment(svc, store, setup) -> None:
    doctor, (_, anna), (_, ben) = setup
    theirs = svc.book(anna, doctor.id, A)
    with pytest.raises(NotFound):
        svc.reschedule(ben, theirs.id, B)
    assert store.tables.appointments[theirs.id].status == AppointmentStatus.BOOKED


def test_open_views_hear_both_halves_only_after_the_move_commits(svc, store, setup) -> None:
    doctor, (_, anna), (_, ben) = setup
    old = svc.book(anna, doctor.id, A)
    svc.book(ben, doctor.id, B)
    store.published.clear()
    with pytest.raises(SlotTaken):
        svc.reschedule(anna, old.id, B)
    assert store.published == []  # a refused move announces nothing
    new = svc.reschedule(anna, old.id, C)
    assert [(type(e).__name__, e.appointment_id) for e in store.published] == [
        ("AppointmentCancelled", old.id),
        ("SlotBooked", new.id),
    ]
