"""The scheduling core with fakes of the ports: visit types, DST, leave, dated templates, the booking window,
the visit workflow, the waiting list and "any doctor in the department", as patients and staff see them."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import events
from domain.errors import Conflict, DomainError, NotAllowed, NotFound, SlotTaken, ValidationError
from domain.model import AppointmentStatus, OfferStatus, VisitType, WaitlistStatus, WorkingHours
from domain.services import Services
from tests.fakes import BERLIN, FakeStore, FixedClock, make_services, weekdays

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
CONSULT = VisitType("consultation", "Consultation", 15)
FOLLOW_UP = VisitType("follow-up", "Follow-up", 30)
TAKEN = "This slot was just taken. Please pick another time."
HELD = "held for a patient from the waiting list"


def local(y: int, m: int, d: int, hh: int, mm: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    """A wall time in `tz` as the aware UTC datetime the services take."""
    return datetime(y, m, d, hh, mm, tzinfo=tz).astimezone(UTC)


def mon(hh: int, mm: int = 0) -> datetime:
    return local(2026, 3, 23, hh, mm)  # next Monday


MONDAY = date(2026, 3, 23)


def hhmm(slots, tz: ZoneInfo = BERLIN, free_only: bool = False) -> list[str]:
    return [s.start.astimezone(tz).strftime("%H:%M") for s, free in slots if free or not free_only]


def free_at(svc: Services, doctor_id: int, start: datetime, visit_type: str | None = None, patient_id=None) -> bool:
    """What the booking page shows for this start: True free, False busy; KeyError: not offered at all."""
    day = start.astimezone(svc.tz).date()
    return dict((s.start, free) for s, free in svc.slots(doctor_id, day, 1, visit_type, patient_id))[start]


def kinds(store: FakeStore) -> list[str]:
    return [type(e).__name__ for e in store.published]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def svc(store: FakeStore, clock: FixedClock) -> Services:
    return make_services(store, clock)


MORNING_AND_AFTERNOON = weekdays(time(9), time(12)) + weekdays(time(13), time(16))


@pytest.fixture
def weber(store: FakeStore):
    """Dr Weber: 09-12 and 13-16 on weekdays, a 15-minute grid, 15-minute consultations and 30-minute follow-ups."""
    return store.add_doctor("Dr Weber", MORNING_AND_AFTERNOON, 15, visit_types=(CONSULT, FOLLOW_UP))


@pytest.fixture
def patients(store: FakeStore):
    return [store.add_patient(name)[1] for name in ("Anna", "Ben", "Carla", "Dan")]


# ---- two patients, one slot -------------------------------------------------------------------


def test_two_patients_book_the_same_slot_at_the_same_moment(svc, store, weber, patients) -> None:
    doc, _ = weber
    anna, ben = patients[:2]
    assert free_at(svc, doc.id, mon(9)) is True  # both see it free on their screens
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click(actor) -> None:
        barrier.wait()
        try:
            svc.book(actor, doc.id, mon(9))
            outcomes.append("booked")
        except DomainError as e:
            outcomes.append(f"{type(e).__name__}: {e.message}")

    threads = [threading.Thread(target=click, args=(p,)) for p in (anna, ben)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Counter(outcomes) == {"booked": 1, f"SlotTaken: {TAKEN}": 1}
    assert len(store.active_appointments()) == 1
    assert kinds(store) == ["SlotBooked"]
    assert free_at(svc, doc.id, mon(9)) is False


def test_the_second_of_two_patients_who_saw_the_slot_free_is_told_it_was_just_taken(
    svc, store, weber, patients
) -> None:
    doc, _ = weber
    anna, ben = patients[:2]
    assert free_at(svc, doc.id, mon(9)) and free_at(svc, doc.id, mon(9))  # both pages show it free
    svc.book(anna, doc.id, mon(9))
    with pytest.raises(SlotTaken, match=TAKEN):
        svc.book(ben, doc.id, mon(9))
    assert [a.patient_id for a in store.active_appointments()] == [anna.patient_id]


# ---- visit types on a grid ----------------------------------------------------------------------


def test_a_30_minute_visit_takes_two_cells_of_a_15_minute_grid(svc, store, weber, patients) -> None:
    doc, _ = weber
    anna, ben, carla, _ = patients
    visit = svc.book(anna, doc.id, mon(9), visit_type="follow-up")
    assert visit.end - visit.start == timedelta(minutes=30)

    assert free_at(svc, doc.id, mon(9, 15), "consultation") is False
    with pytest.raises(SlotTaken, match=TAKEN):
        svc.book(ben, doc.id, mon(9, 15), visit_type="consultation")
    with pytest.raises(SlotTaken, match=TAKEN):
        svc.book(ben, doc.id, mon(8, 45) + timedelta(minutes=30), visit_type="follow-up")  # 09:15-09:45
    assert free_at(svc, doc.id, mon(9, 30), "consultation") is True
    svc.book(ben, doc.id, mon(9, 30), visit_type="consultation")
    svc.book(carla, doc.id, mon(9, 45), visit_type="follow-up")
    assert sorted((a.start, a.end) for a in store.active_appointments()) == [
        (mon(9), mon(9, 30)),
        (mon(9, 30), mon(9, 45)),
        (mon(9, 45), mon(10, 15)),
    ]


@pytest.mark.parametrize(("start", "why"), [(mon(11, 45), "into the lunch break"), (mon(15, 45), "past 16:00")])
def test_a_visit_that_would_run_past_the_hours_or_into_a_break_is_refused(
    svc, store, weber, patients, start, why
) -> None:
    with pytest.raises(ValidationError, match="takes 30 minutes and would run past the doctor's hours or into a break"):
        svc.book(patients[0], weber[0].id, start, visit_type="follow-up")
    assert store.appointments() == []
    svc.book(patients[0], weber[0].id, start, visit_type="consultation")  # a 15-minute visit fits


def test_slots_offer_only_starts_where_the_whole_visit_fits(svc, weber) -> None:
    doc, _ = weber
    follow_ups = hhmm(svc.slots(doc.id, MONDAY, 1, "follow-up"))
    consultations = hhmm(svc.slots(doc.id, MONDAY, 1, "consultation"))
    assert "11:45" in consultations and "15:45" in consultations
    assert "11:45" not in follow_ups and "15:45" not in follow_ups
    assert follow_ups[0] == "09:00" and "11:30" in follow_ups and "13:00" in follow_ups and follow_ups[-1] == "15:30"
    assert len(consultations) == 24 and len(follow_ups) == 22
    for slot, _free in svc.slots(doc.id, MONDAY, 1, "follow-up"):
        assert slot.end - slot.start == timedelta(minutes=30)


def test_an_unknown_visit_type_is_refused(svc, weber, patients) -> None:
    with pytest.raises(ValidationError, match="one of the doctor's visit types"):
        svc.book(patients[0], weber[0].id, mon(9), visit_type="surgery")


# ---- one patient, two doctors ----------------------------------------------------------------


def test_the_same_patient_cannot_see_two_doctors_at_once(svc, store, weber, patients) -> None:
    other, _ = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 15, visit_types=(CONSULT, FOLLOW_UP))
    anna = patients[0]
    svc.book(anna, weber[0].id, mon(9), visit_type="follow-up")
    for start in (mon(9), mon(9, 15)):
        with pytest.raises(Conflict, match="You already have an appointment at this time"):
            svc.book(anna, other.id, start)
    assert len(store.active_appointments()) == 1
    svc.book(anna, other.id, mon(9, 30))
    assert len(store.active_appointments()) == 2


# ---- DST ------------------------------------------------------------------------------------


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("tz", "day"),
    [
        (NEW_YORK, date(2027, 3, 14)),
        (NEW_YORK, date(2027, 11, 7)),
        (BERLIN, date(2027, 3, 28)),
        (BERLIN, date(2027, 10, 31)),
    ],
    ids=["new-york-spring", "new-york-autumn", "berlin-spring", "berlin-autumn"],
)
def test_a_nine_to_five_template_keeps_its_local_hours_on_dst_days(tz: ZoneInfo, day: date) -> None:
    store = FakeStore()
    clock = FixedClock(datetime.combine(day - timedelta(days=3), time(12), tzinfo=tz).astimezone(UTC), tz)
    svc = make_services(store, clock)
    doc, _ = store.add_doctor("Dr Night", [WorkingHours(d, time(9), time(17)) for d in range(7)], 30)
    assert doc.id is not None
    (_, anna), (_, ben) = store.add_patient("Anna"), store.add_patient("Ben")

    for offset in (-1, 0, 1):
        shown = hhmm(svc.slots(doc.id, day + timedelta(days=offset), 1), tz)
        assert shown == [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)], offset
    before, on, after = (svc.slots(doc.id, day + timedelta(days=o), 1)[0][0].start for o in (-1, 0, 1))
    # the clocks changed in the night: 09:00 local is an hour earlier or later in UTC than the day before
    assert on - before == timedelta(hours=23 if day.month == 3 else 25)
    assert after - on == timedelta(hours=24)
    assert on.utcoffset() == timedelta(0)
    assert all(s.end - s.start == timedelta(minutes=30) for s, _ in svc.slots(doc.id, day, 1))

    first = datetime.combine(day, time(9), tzinfo=tz).astimezone(UTC)
    last = datetime.combine(day, time(16, 30), tzinfo=tz).astimezone(UTC)
    assert svc.book(anna, doc.id, first).start.astimezone(tz).strftime("%H:%M") == "09:00"
    assert svc.book(ben, doc.id, last).end.astimezone(tz).strftime("%H:%M") == "17:00"
    with pytest.raises(ValidationError, match="does not see patients"):
        svc.book(anna, doc.id, datetime.combine(day, time(17), tzinfo=tz).astimezone(UTC))


# ---- moving ---------------------------------------------------------------------------------


def test_a_reschedule_sent_twice_moves_once_and_the_second_is_refused(svc, store, weber, patients) -> None:
    anna = patients[0]
    old = svc.book(anna, weber[0].id, mon(9), visit_type="follow-up")
    new = svc.reschedule(anna, old.id, mon(10))
    with pytest.raises(ValidationError, match="can no longer be moved"):
        svc.reschedule(anna, old.id, mon(11))  # the same page, clicked again with another time
    assert [(a.id, a.start, a.end) for a in store.active_appointments()] == [(new.id, mon(10), mon(10, 30))]
    assert free_at(svc, weber[0].id, mon(11)) is True


def test_a_cancelled_appointment_cannot_be_moved(svc, store, weber, patients) -> None:
    anna = patients[0]
    old = svc.book(anna, weber[0].id, mon(9))
    svc.cancel(weber[1], old.id, code="prov-pers")
    with pytest.raises(ValidationError, match="can no longer be moved"):
        svc.reschedule(anna, old.id, mon(10))
    assert store.active_appointments() == []
    assert free_at(svc, weber[0].id, mon(10)) is True


def test_after_a_move_the_old_time_is_bookable_by_another_patient(svc, store, weber, patients) -> None:
    doc, _ = weber
    anna, ben, carla, _ = patients
    old = svc.book(anna, doc.id, mon(9), visit_type="follow-up")  # 09:00-09:30
    svc.reschedule(anna, old.id, mon(14))
    assert free_at(svc, doc.id, mon(9)) is True and free_at(svc, doc.id, mon(9, 15)) is True
    svc.book(ben, doc.id, mon(9))
    svc.book(carla, doc.id, mon(9, 15))
    assert sorted((a.patient_id, a.start) for a in store.active_appointments()) == sorted(
        [(anna.patient_id, mon(14)), (ben.patient_id, mon(9)), (carla.patient_id, mon(9, 15))]
    )


def test_a_move_may_overlap_the_time_it_gives_up(svc, store, weber, patients) -> None:
    anna = patients[0]
    old = svc.book(anna, weber[0].id, mon(9), visit_type="follow-up")
    new = svc.reschedule(anna, old.id, mon(9, 15))  # 09:15-09:45, overlapping 09:00-09:30
    assert (new.start, new.end) == (mon(9, 15), mon(9, 45))
    assert free_at(svc, weber[0].id, mon(9), "consultation") is True


# ---- leave and closures --------------------------------------------------------------------------


def test_three_days_of_leave_block_all_three_and_cancel_the_patients_booked_then(svc, store, weber, patients) -> None:
    doc, me = weber
    anna, ben, carla, dan = patients
    monday = svc.book(anna, doc.id, mon(9))
    wednesday = svc.book(ben, doc.id, local(2026, 3, 25, 15, 45))
    thursday = svc.book(carla, doc.id, local(2026, 3, 26, 9))
    store.published.clear()

    leave, cancelled = svc.add_leave(me, doc.id, date(2026, 3, 23), date(2026, 3, 25), "full", "conference")

    assert sorted(a.id for a in cancelled) == sorted([monday.id, wednesday.id])
    for gone in (monday, wednesday):
        stored = store.tables.appointments[gone.id]
        assert (stored.status, stored.cancel_code) == (AppointmentStatus.CANCELLED, "prov")
        assert stored.cancel_reason == "Dr Weber is away: conference"
    told = [e for e in store.published if isinstance(e, events.AppointmentCancelled)]
    assert sorted((e.appointment_id, e.by_role, e.reason) for e in told) == sorted(
        (a.id, "doctor", "The doctor cannot see you then — Dr Weber is away: conference") for a in (monday, wednesday)
    )
    assert events.LeaveChanged(doc.id, leave.start, leave.end) in store.published
    assert store.tables.appointments[thursday.id].status == AppointmentStatus.BOOKED

    for day in (date(2026, 3, 23), date(2026, 3, 24), date(2026, 3, 25)):
        shown = svc.slots(doc.id, day, 1)
        assert shown and not any(free for _, free in shown), day
    assert any(free for _, free in svc.slots(doc.id, date(2026, 3, 26), 1))
    for start in (mon(9), local(2026, 3, 24, 10), local(2026, 3, 25, 15, 45)):
        with pytest.raises(ValidationError, match="Dr Weber is away at this time"):
            svc.book(dan, doc.id, start)
    assert len(store.active_appointments()) == 1

    svc.remove_leave(me, leave.id)  # taken back: bookable again, the cancelled stay cancelled
    svc.book(dan, doc.id, local(2026, 3, 24, 10))
    assert store.tables.appointments[monday.id].status == AppointmentStatus.CANCELLED


def test_half_a_day_of_leave_blocks_only_that_half(svc, store, weber, patients) -> None:
    doc, me = weber
    anna, ben, carla, _ = patients
    morning = svc.book(anna, doc.id, mon(11, 45))
    afternoon = svc.book(ben, doc.id, mon(13))

    _, cancelled = svc.add_leave(me, doc.id, MONDAY, MONDAY, "morning", "")

    assert [a.id for a in cancelled] == [morning.id]
    assert store.tables.appointments[afternoon.id].status == AppointmentStatus.BOOKED
    shown = dict(zip(hhmm(svc.slots(doc.id, MONDAY, 1)), [f for _, f in svc.slots(doc.id, MONDAY, 1)], strict=True))
    assert not any(free for at, free in shown.items() if at < "12:00")
    assert all(free for at, free in shown.items() if at > "13:00")
    with pytest.raises(ValidationError, match="away"):
        svc.book(carla, doc.id, mon(9))
    svc.book(carla, doc.id, mon(14))
    with pytest.raises(ValidationError, match="half day is one day"):
        svc.add_leave(me, doc.id, MONDAY, MONDAY + timedelta(days=1), "afternoon")


def test_a_hospital_closure_blocks_every_doctor_and_only_admins_enter_it(svc, store, weber, patients) -> None:
    doc, me = weber
    other, other_me = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 30)
    anna, ben, carla, _ = patients
    a = svc.book(anna, doc.id, mon(9))
    b = svc.book(ben, other.id, mon(10))
    for who in (me, anna):
        with pytest.raises(NotAllowed):
            svc.add_leave(who, None, MONDAY, MONDAY, "full", "storm")
    assert store.tables.leaves == {}

    _, cancelled = svc.add_leave(store.add_admin(), None, MONDAY, MONDAY, "full", "storm")

    assert sorted(x.id for x in cancelled) == sorted([a.id, b.id])
    assert {store.tables.appointments[x].cancel_reason for x in (a.id, b.id)} == {"The hospital is closed: storm"}
    assert {store.tables.appointments[x].cancel_code for x in (a.id, b.id)} == {"other"}
    for d in (doc, other):
        assert not any(free for _, free in svc.slots(d.id, MONDAY, 1))
        assert any(free for _, free in svc.slots(d.id, MONDAY + timedelta(days=1), 1))
        with pytest.raises(ValidationError, match="The hospital is closed at this time"):
            svc.book(carla, d.id, mon(11))


def test_a_doctor_cannot_enter_leave_for_another_doctor(svc, store, weber, patients) -> None:
    other, other_me = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 30)
    booked = svc.book(patients[0], other.id, mon(9))
    with pytest.raises(NotAllowed, match="only change your own schedule"):
        svc.add_leave(weber[1], other.id, MONDAY, MONDAY, "full", "")
    assert store.tables.leaves == {}
    assert store.tables.appointments[booked.id].status == AppointmentStatus.BOOKED
    assert free_at(svc, other.id, mon(10)) is True


# ---- dated templates -----------------------------------------------------------------------------


def test_a_new_template_applies_from_its_date_and_reports_but_keeps_what_no_longer_fits(svc, store, patients) -> None:
    doc, me = store.add_doctor("Dr Weber", weekdays(time(9), time(12)), 30)
    anna, ben, carla, _ = patients
    tuesday = svc.book(anna, doc.id, local(2026, 3, 24, 9))
    wednesday = svc.book(ben, doc.id, local(2026, 3, 25, 9))
    thursday = svc.book(carla, doc.id, local(2026, 3, 26, 11, 30))

    conflicts = svc.set_availability(me, doc.id, weekdays(time(11), time(15)), 15, effective_from=date(2026, 3, 25))

    assert [c.id for c in conflicts] == [wednesday.id]  # 09:00 is outside 11-15; 11:30 still fits
    for kept in (tuesday, wednesday, thursday):
        stored = store.tables.appointments[kept.id]
        assert (stored.status, stored.start) == (AppointmentStatus.BOOKED, kept.start)
    assert hhmm(svc.slots(doc.id, date(2026, 3, 24), 1))[:3] == ["09:00", "09:30", "10:00"]
    assert hhmm(svc.slots(doc.id, date(2026, 3, 25), 1))[:3] == ["11:00", "11:15", "11:30"]
    assert hhmm(svc.slots(doc.id, date(2026, 3, 20), 1))[:2] == ["09:00", "09:30"]  # this week unchanged too
    with pytest.raises(ValidationError, match="does not see patients"):
        svc.book(carla, doc.id, local(2026, 3, 25, 9, 30))
    svc.book(carla, doc.id, local(2026, 3, 25, 13, 15))
    svc.book(carla, doc.id, local(2026, 3, 24, 10, 30))
    assert svc.schedule_conflicts(me, doc.id)[0].id == wednesday.id
    with pytest.raises(ValidationError, match="not in the past"):
        svc.set_availability(me, doc.id, weekdays(time(9), time(12)), 30, effective_from=date(2026, 3, 15))


def test_cancelling_an_appointment_outside_the_new_hours_offers_that_time_to_nobody(svc, store, patients) -> None:
    doc, me = store.add_doctor("Dr Weber", weekdays(time(9), time(12)), 30)
    anna, ben = patients[:2]
    outside = svc.book(anna, doc.id, local(2026, 3, 25, 9))
    svc.join_waitlist(ben, date(2026, 3, 23), date(2026, 3, 27), doctor_id=doc.id)
    (conflict,) = svc.set_availability(me, doc.id, weekdays(time(13), time(16)), 30, effective_from=date(2026, 3, 25))
    store.published.clear()

    svc.cancel(me, conflict.id, code="prov")  # the doctor resolves the conflict

    assert store.tables.offers == {}  # the doctor no longer works then: no "a time became free" for Ben
    assert kinds(store) == ["AppointmentCancelled"]
    assert outside.id == conflict.id


# ---- the booking window ---------------------------------------------------------------------------


def test_minimum_notice_and_horizon_refuse_with_a_clear_message(svc, store, weber, patients) -> None:
    doc, me = weber
    anna = patients[0]
    svc.set_availability(me, doc.id, MORNING_AND_AFTERNOON, 15, min_notice_hours=24, horizon_days=14)

    with pytest.raises(ValidationError, match="takes online bookings at least 24 hours ahead"):
        svc.book(anna, doc.id, local(2026, 3, 17, 8, 45))  # 23 h 45 min ahead
    assert svc.book(anna, doc.id, local(2026, 3, 17, 9)).start == local(2026, 3, 17, 9)  # exactly 24 h
    with pytest.raises(ValidationError, match="can be booked at most 14 days ahead"):
        svc.book(anna, doc.id, local(2026, 3, 30, 10, 15))  # 14 days and 15 minutes (clocks went forward)
    svc.book(anna, doc.id, local(2026, 3, 30, 10))  # exactly 14 days

    assert hhmm(svc.slots(doc.id, date(2026, 3, 16), 2))[0] == "09:00"  # tomorrow's: nothing left today
    assert svc.slots(doc.id, date(2026, 3, 16), 1) == []
    assert hhmm(svc.slots(doc.id, date(2026, 3, 30), 1)) == ["09:00", "09:15", "09:30", "09:45", "10:00"]
    with pytest.raises(ValidationError, match="between 0 hours and 14 days"):
        svc.set_availability(me, doc.id, MORNING_AND_AFTERNOON, 15, min_notice_hours=24 * 15)
    with pytest.raises(ValidationError, match="between 1 and 366 days"):
        svc.set_availability(me, doc.id, MORNING_AND_AFTERNOON, 15, horizon_days=0)


def test_a_start_at_this_very_moment_is_not_offered(svc, store, clock, weber, patients) -> None:
    doc, _ = weber  # no minimum notice
    clock.set(local(2026, 3, 16, 10, 30))
    assert hhmm(svc.slots(doc.id, date(2026, 3, 16), 1))[0] == "10:45"
    with pytest.raises(ValidationError, match="already passed"):
        svc.book(patients[0], doc.id, local(2026, 3, 16, 10, 30))


# ---- the visit workflow ----------------------------------------------------------------------------


@pytest.fixture
def booked(svc, weber, patients):
    return svc.book(patients[0], weber[0].id, mon(9))


def test_a_visit_finished_before_its_time_keeps_its_time_from_other_bookings(
    svc, store, clock, weber, patients, booked
) -> None:
    doc, me = weber
    clock.set(mon(8, 40))  # the patient came early and was seen at once
    for step in (AppointmentStatus.ARRIVED, AppointmentStatus.CHECKED_IN, AppointmentStatus.FULFILLED):
        svc.set_status(me, booked.id, step)
    free = {s.start for s, ok in svc.slots(doc.id, mon(9).date(), 1) if ok}
    assert mon(9) not in free and mon(9, 15) in free  # the doctor's day shows one 09:00 visit, not two
    with pytest.raises(SlotTaken):
        svc.book(patients[1], doc.id, mon(9))


def test_booked_arrived_checked_in_fulfilled_by_the_right_people(svc, store, clock, weber, patients, booked) -> None:
    doc, me = weber
    anna, ben = patients[:2]
    _, other_doctor = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 15)
    clock.set(mon(8, 40))
    store.published.clear()

    with pytest.raises(NotFound):
        svc.set_status(ben, booked.id, AppointmentStatus.ARRIVED)
    assert svc.set_status(anna, booked.id, AppointmentStatus.ARRIVED).status == AppointmentStatus.ARRIVED
    with pytest.raises(NotAllowed, match="only check yourself in"):
        svc.set_status(anna, booked.id, AppointmentStatus.CHECKED_IN)
    with pytest.raises(NotAllowed, match="own schedule"):
        svc.set_status(other_doctor, booked.id, AppointmentStatus.CHECKED_IN)
    svc.set_status(me, booked.id, AppointmentStatus.CHECKED_IN)
    with pytest.raises(NotAllowed):
        svc.set_status(anna, booked.id, AppointmentStatus.FULFILLED)
    svc.set_status(me, booked.id, AppointmentStatus.FULFILLED)

    assert store.tables.appointments[booked.id].status == AppointmentStatus.FULFILLED
    steps = [(e.old, e.new, e.by_role) for e in store.published if isinstance(e, events.AppointmentStatusChanged)]
    assert steps == [
        ("booked", "arrived", "patient"),
        ("arrived", "checked-in", "doctor"),
        ("checked-in", "fulfilled", "doctor"),
    ]
    assert [a.detail for a in store.tables.audit if a.action == "appointment.status"] == [
        "booked -> arrived",
        "arrived -> checked-in",
        "checked-in -> fulfilled",
    ]


def test_a_patient_checks_in_only_on_the_day(svc, store, clock, patients, booked) -> None:
    clock.set(local(2026, 3, 22, 18))  # Sunday evening
    with pytest.raises(ValidationError, match="on the day of your appointment"):
        svc.set_status(patients[0], booked.id, AppointmentStatus.ARRIVED)
    assert store.tables.appointments[booked.id].status == AppointmentStatus.BOOKED
    clock.set(mon(9, 30))  # over
    with pytest.raises(ValidationError, match="This appointment is over"):
        svc.set_status(patients[0], booked.id, AppointmentStatus.ARRIVED)
    clock.set(mon(7, 30))  # at home, an hour and a half early: the waiting room must not fill from bed
    with pytest.raises(ValidationError, match="Check-in opens 60 minutes before"):
        svc.set_status(patients[0], booked.id, AppointmentStatus.ARRIVED)
    assert store.tables.appointments[booked.id].status == AppointmentStatus.BOOKED
    clock.set(mon(8, 0))
    svc.set_status(patients[0], booked.id, AppointmentStatus.ARRIVED)


def test_an_arrival_marked_by_mistake_is_undone_by_staff_only(svc, store, clock, weber, patients, booked) -> None:
    admin = store.add_admin()
    clock.set(mon(8, 30))
    svc.set_status(admin, booked.id, AppointmentStatus.ARRIVED)  # the wrong Maria at the desk
    with pytest.raises(NotAllowed):
        svc.set_status(patients[0], booked.id, AppointmentStatus.BOOKED)  # a patient cannot un-arrive
    svc.set_status(admin, booked.id, AppointmentStatus.BOOKED)
    assert store.tables.appointments[booked.id].status == AppointmentStatus.BOOKED
    assert [a.detail for a in store.tables.audit if a.action == "appointment.status"][-2:] == [
        "booked -> arrived",
        "arrived -> booked",
    ]
    svc.set_status(patients[0], booked.id, AppointmentStatus.ARRIVED)  # the real one checks in later


def test_the_front_desk_marks_an_early_arrival(svc, store, clock, patients, booked) -> None:
    clock.set(mon(7, 30))  # the patient is really here, early: the desk may say so
    svc.set_status(store.add_admin(), booked.id, AppointmentStatus.ARRIVED)
    assert store.tables.appointments[booked.id].status == AppointmentStatus.ARRIVED


@pytest.mark.parametrize("final", ["fulfilled", "cancelled", "noshow", "entered-in-error"])
def test_final_states_stay_final(svc, store, clock, weber, patients, booked, final) -> None:
    doc, me = weber
    admin = store.add_admin()
    clock.set(mon(9, 10))
    if final == "fulfilled":
        svc.set_status(me, booked.id, AppointmentStatus.ARRIVED)
        svc.set_status(me, booked.id, AppointmentStatus.FULFILLED)
    elif final == "cancelled":
        svc.cancel(me, booked.id, code="prov")
    else:
        svc.set_status(me, booked.id, AppointmentStatus(final))
    for step in (AppointmentStatus.ARRIVED, AppointmentStatus.NOSHOW, AppointmentStatus.ENTERED_IN_ERROR):
        for who in (me, admin):
            with pytest.raises(ValidationError, match="that is final"):
                svc.set_status(who, booked.id, step)
    assert store.tables.appointments[booked.id].status == AppointmentStatus(final)


def test_an_admin_reset_needs_an_admin_and_a_reason_and_is_audited(svc, store, clock, weber, patients, booked) -> None:
    doc, me = weber
    admin = store.add_admin()
    clock.set(mon(9, 10))
    svc.set_status(me, booked.id, AppointmentStatus.NOSHOW)
    before = len(store.tables.audit)

    with pytest.raises(NotAllowed):
        svc.admin_reset(me, booked.id, AppointmentStatus.ARRIVED, "came late")
    with pytest.raises(NotAllowed):
        svc.admin_reset(patients[0], booked.id, AppointmentStatus.ARRIVED, "came late")
    with pytest.raises(ValidationError, match="reason for the reset is required"):
        svc.admin_reset(admin, booked.id, AppointmentStatus.ARRIVED, "   ")
    assert len(store.tables.audit) == before
    assert store.tables.appointments[booked.id].status == AppointmentStatus.NOSHOW

    svc.admin_reset(admin, booked.id, AppointmentStatus.ARRIVED, "came 20 minutes late")

    assert store.tables.appointments[booked.id].status == AppointmentStatus.ARRIVED
    (entry,) = store.tables.audit[before:]
    assert (entry.action, entry.entity, entry.entity_id, entry.actor_account_id, entry.actor_role) == (
        "appointment.reset",
        "appointment",
        booked.id,
        admin.account_id,
        "admin",
    )
    assert entry.detail == "noshow -> arrived; reset by admin: came 20 minutes late"
    assert entry.patient_id == patients[0].patient_id
    with pytest.raises(ValidationError, match="only final states need a reset"):
        svc.admin_reset(admin, booked.id, AppointmentStatus.BOOKED, "again")


def test_a_reset_to_booked_is_refused_when_the_time_was_given_away(svc, store, weber, patients, booked) -> None:
    doc, me = weber
    admin = store.add_admin()
    svc.cancel(me, booked.id, code="prov")
    svc.book(patients[1], doc.id, mon(9))
    with pytest.raises(Conflict, match="given to another appointment"):
        svc.admin_reset(admin, booked.id, AppointmentStatus.BOOKED, "cancelled by mistake")
    assert store.tables.appointments[booked.id].status == AppointmentStatus.CANCELLED


def test_noshow_only_after_the_start(svc, store, clock, weber, booked) -> None:
    doc, me = weber
    clock.set(mon(8, 59))
    with pytest.raises(ValidationError, match="once the start time has passed"):
        svc.set_status(me, booked.id, AppointmentStatus.NOSHOW)
    clock.set(mon(9, 1))
    assert svc.set_status(me, booked.id, AppointmentStatus.NOSHOW).status == AppointmentStatus.NOSHOW


def test_mark_noshows_marks_only_booked_visits_whose_end_and_grace_passed(svc, store, clock, weber, patients) -> None:
    doc, me = weber
    other, other_me = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 15)
    third, third_me = store.add_doctor("Dr Third", MORNING_AND_AFTERNOON, 15)
    anna, ben, carla, dan = patients
    due = svc.book(anna, doc.id, mon(9), visit_type="follow-up")  # ends 09:30
    in_grace = svc.book(ben, doc.id, mon(9, 45), visit_type="consultation")  # ends 10:00
    arrived = svc.book(carla, other.id, mon(9))
    cancelled = svc.book(dan, third.id, mon(9))
    later = svc.book(dan, third.id, mon(11))
    clock.set(mon(9))
    svc.set_status(other_me, arrived.id, AppointmentStatus.ARRIVED)
    svc.cancel(third_me, cancelled.id, code="prov")
    clock.set(mon(10, 10))
    store.published.clear()

    assert svc.mark_noshows(timedelta(minutes=15)) == 1

    status = {a.id: a.status for a in store.appointments()}
    assert status[due.id] == AppointmentStatus.NOSHOW
    assert status[in_grace.id] == AppointmentStatus.BOOKED
    assert status[arrived.id] == AppointmentStatus.ARRIVED
    assert status[cancelled.id] == AppointmentStatus.CANCELLED
    assert status[later.id] == AppointmentStatus.BOOKED
    assert [(e.appointment_id, e.new, e.by_role) for e in store.published] == [(due.id, "noshow", "system")]
    assert store.tables.audit[-1].actor_account_id is None
    assert svc.mark_noshows(timedelta(minutes=15)) == 0
    clock.set(mon(10, 16))
    assert svc.mark_noshows(timedelta(minutes=15)) == 1
    assert store.tables.appointments[in_grace.id].status == AppointmentStatus.NOSHOW


# ---- the waiting list -------------------------------------------------------------------------------


@pytest.fixture
def waiting(store: FakeStore):
    return [store.add_patient(name)[1] for name in ("Wes", "Wil", "Wyn")]


def offers_to(store: FakeStore) -> list[tuple[int, str]]:
    return [(o.patient_id, o.status.value) for o in store.tables.offers.values()]


def test_a_cancelled_time_is_held_for_the_first_waiting_patient_who_can_take_it(
    svc, store, clock, weber, patients, waiting
) -> None:
    doc, _ = weber
    anna, ben = patients[:2]
    wes, wil, _ = waiting
    appointment = svc.book(anna, doc.id, mon(9), visit_type="follow-up")
    week = (date(2026, 3, 23), date(2026, 3, 27))
    entry = svc.join_waitlist(wes, *week, doctor_id=doc.id, note="mornings please")
    svc.join_waitlist(wil, *week, doctor_id=doc.id)
    with pytest.raises(Conflict, match="already on this waiting list"):
        svc.join_waitlist(wes, *week, doctor_id=doc.id)
    store.published.clear()

    svc.cancel(anna, appointment.id)

    (offer,) = store.tables.offers.values()
    assert (offer.patient_id, offer.start, offer.end, offer.expires) == (
        wes.patient_id,
        mon(9),
        mon(9, 30),
        NOW + timedelta(minutes=5),
    )
    assert events.SlotOffered(offer.id, wes.patient_id, doc.id, mon(9), mon(9, 30), offer.expires) in store.published
    with pytest.raises(SlotTaken, match=HELD):
        svc.book(ben, doc.id, mon(9))
    with pytest.raises(SlotTaken, match=HELD):
        svc.book(ben, doc.id, mon(9, 15))
    assert free_at(svc, doc.id, mon(9), patient_id=ben.patient_id) is False
    assert free_at(svc, doc.id, mon(9), patient_id=wes.patient_id) is True
    store.published.clear()

    taken = svc.accept_offer(wes, offer.id, reason="knee")

    assert (taken.patient_id, taken.start, taken.end, taken.visit_type) == (
        wes.patient_id,
        mon(9),
        mon(9, 30),
        "follow-up",
    )
    assert store.tables.offers[offer.id].status == OfferStatus.TAKEN
    assert store.tables.waitlist[entry.id].status == WaitlistStatus.BOOKED
    assert kinds(store) == ["OfferEnded", "SlotBooked"]
    assert offers_to(store) == [(wes.patient_id, "taken")]  # Wil was never offered it


def test_when_the_hold_expires_the_next_waiting_patient_is_offered_the_time(
    svc, store, clock, weber, patients, waiting
) -> None:
    doc, _ = weber
    anna, ben = patients[:2]
    wes, wil, _ = waiting
    appointment = svc.book(anna, doc.id, mon(9))
    for w in (wes, wil):
        svc.join_waitlist(w, MONDAY, MONDAY, doctor_id=doc.id)
    svc.cancel(anna, appointment.id)
    (first,) = store.tables.offers.values()

    clock.set(NOW + timedelta(minutes=4))
    assert svc.expire_offers() == 0
    clock.set(NOW + timedelta(minutes=5))
    store.published.clear()
    assert svc.expire_offers() == 1

    assert offers_to(store) == [(wes.patient_id, "expired"), (wil.patient_id, "open")]
    assert kinds(store) == ["OfferEnded", "SlotOffered"]
    with pytest.raises(ValidationError, match="This offer has ended"):
        svc.accept_offer(wes, first.id)
    with pytest.raises(SlotTaken, match=HELD):
        svc.book(wes, doc.id, mon(9))  # held for Wil now
    second = next(o for o in store.tables.offers.values() if o.patient_id == wil.patient_id)
    svc.decline_offer(wil, second.id)
    assert offers_to(store) == [(wes.patient_id, "expired"), (wil.patient_id, "declined")]
    svc.book(ben, doc.id, mon(9))  # nobody left waiting: free for anybody


def test_a_declined_offer_passes_to_the_next_waiting_patient(svc, store, weber, patients, waiting) -> None:
    doc, _ = weber
    anna = patients[0]
    wes, wil, wyn = waiting
    appointment = svc.book(anna, doc.id, mon(10))
    svc.book(wil, doc.id, local(2026, 3, 23, 13))  # Wil is busy at another time: still a candidate
    for w in (wes, wil, wyn):
        svc.join_waitlist(w, MONDAY, MONDAY, doctor_id=doc.id)
    svc.cancel(anna, appointment.id)
    (first,) = store.tables.offers.values()

    with pytest.raises(NotFound):
        svc.decline_offer(wil, first.id)  # not Wil's to decline
    svc.decline_offer(wes, first.id)

    assert offers_to(store) == [(wes.patient_id, "declined"), (wil.patient_id, "open")]
    second = next(o for o in store.tables.offers.values() if o.status == OfferStatus.OPEN)
    assert svc.accept_offer(wil, second.id).start == mon(10)


def test_a_waiting_patient_who_is_busy_then_is_skipped(svc, store, weber, patients, waiting) -> None:
    doc, _ = weber
    other, _ = store.add_doctor("Dr Other", MORNING_AND_AFTERNOON, 15)
    anna = patients[0]
    wes, wil, _ = waiting
    appointment = svc.book(anna, doc.id, mon(10))
    svc.book(wes, other.id, mon(10))
    for w in (wes, wil):
        svc.join_waitlist(w, MONDAY, MONDAY, doctor_id=doc.id)
    svc.cancel(anna, appointment.id)
    assert offers_to(store) == [(wil.patient_id, "open")]


def test_a_department_waiting_list_is_offered_any_of_its_doctors_times(svc, store, patients, waiting) -> None:
    department = store.add_department("Cardiology")
    elsewhere = store.add_department("Dermatology")
    a, _ = store.add_doctor("Dr A", MORNING_AND_AFTERNOON, 15, department_id=department.id)
    b, b_me = store.add_doctor("Dr B", MORNING_AND_AFTERNOON, 15, department_id=department.id)
    c, _ = store.add_doctor("Dr C", MORNING_AND_AFTERNOON, 15, department_id=elsewhere.id)
    anna, ben = patients[:2]
    wes, wil, _ = waiting
    svc.join_waitlist(wes, MONDAY, MONDAY, department_id=department.id)
    with pytest.raises(ValidationError, match="a doctor or a department"):
        svc.join_waitlist(wil, MONDAY, MONDAY)
    at_c = svc.book(ben, c.id, mon(11))
    at_b = svc.book(anna, b.id, mon(10))

    svc.cancel(ben, at_c.id)
    assert store.tables.offers == {}  # another department: not for Wes
    svc.cancel(b_me, at_b.id, code="prov-edu")

    (offer,) = store.tables.offers.values()
    assert (offer.patient_id, offer.doctor_id, offer.start) == (wes.patient_id, b.id, mon(10))
    assert svc.accept_offer(wes, offer.id).doctor_id == b.id


# ---- any doctor in the department ----------------------------------------------------------------


@pytest.fixture
def department(store: FakeStore):
    dept = store.add_department("General medicine")
    doctors = [store.add_doctor(f"Dr {n}", MORNING_AND_AFTERNOON, 30, department_id=dept.id)[0] for n in "XYZ"]
    return dept, doctors


def test_any_doctor_spreads_sequential_bookings_over_the_doctors(svc, store, department) -> None:
    dept, doctors = department
    people = [store.add_patient(f"P{i}")[1] for i in range(6)]
    chosen = [svc.book_any(p, dept.id, mon(9 + i // 2, 30 * (i % 2))).doctor_id for i, p in enumerate(people)]
    assert chosen == [d.id for d in doctors] * 2  # the least busy doctor that day, then the lowest id
    assert Counter(chosen) == {d.id: 2 for d in doctors}


def test_any_doctor_at_one_time_gives_each_patient_another_doctor_until_none_is_left(svc, store, department) -> None:
    dept, doctors = department
    people = [store.add_patient(f"P{i}")[1] for i in range(4)]
    assert [free for _, free in svc.department_slots(dept.id, MONDAY, 1)][0] is True
    got = [svc.book_any(p, dept.id, mon(9)).doctor_id for p in people[:3]]
    assert sorted(got) == sorted(d.id for d in doctors)
    assert dict((s.start, free) for s, free in svc.department_slots(dept.id, MONDAY, 1))[mon(9)] is False
    with pytest.raises(SlotTaken, match="No doctor of this department is free at this time any more"):
        svc.book_any(people[3], dept.id, mon(9))
    assert len(store.active_appointments()) == 3
    svc.book(people[3], doctors[0].id, mon(10))
    with pytest.raises(Conflict, match="already have an appointment"):  # busy then: told so, not "no doctor"
        svc.book_any(people[3], dept.id, mon(10))
    assert len(store.active_appointments()) == 4


def test_any_doctor_skips_a_doctor_on_leave(svc, store, department) -> None:
    dept, doctors = department
    _, cancelled = svc.add_leave(store.add_admin(), doctors[0].id, MONDAY, MONDAY)
    anna = store.add_patient("Anna")[1]
    assert svc.book_any(anna, dept.id, mon(9)).doctor_id == doctors[1].id


def test_a_patient_cancelled_by_leave_is_offered_the_next_free_times(svc, store, department) -> None:
    dept, (x, y, _) = department
    anna, ben = store.add_patient("Anna")[1], store.add_patient("Ben")[1]
    svc.book(ben, x.id, local(2026, 3, 24, 9))  # Tuesday 09:00 with Dr X is taken
    mine = svc.book(anna, x.id, mon(9))
    _, cancelled = svc.add_leave(store.add_admin(), x.id, MONDAY, MONDAY, "full", "ill")
    assert [a.id for a in cancelled] == [mine.id]

    offered = svc.alternatives(anna, mine.id, count=2)

    assert [(d.id, s.start) for d, s in offered] == [(x.id, local(2026, 3, 24, 9, 30)), (x.id, local(2026, 3, 24, 10))]
    with pytest.raises(NotFound):
        svc.alternatives(ben, mine.id)


# ---- what the break-it pass found ---------------------------------------------------------


def test_control_characters_in_notes_are_dropped_not_stored(svc, store, weber, patients) -> None:
    appointment = svc.book(patients[0], weber[0].id, mon(9), reason="pain\x00 here\u202e")
    assert store.tables.appointments[appointment.id].reason == "pain here"


def test_an_admin_cannot_reset_an_appointment_into_leave(svc, store, weber, patients) -> None:
    admin = store.add_admin()
    appointment = svc.book(patients[0], weber[0].id, mon(9))
    svc.add_leave(weber[1], weber[0].id, MONDAY, MONDAY, "full", "ill")
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.CANCELLED
    with pytest.raises(Conflict, match="away or the hospital is closed"):
        svc.admin_reset(admin, appointment.id, AppointmentStatus.BOOKED, "called back")
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.CANCELLED


def test_an_unknown_status_is_a_clear_refusal(svc, store, weber, patients) -> None:
    appointment = svc.book(patients[0], weber[0].id, mon(9))
    with pytest.raises(ValidationError, match="not a status"):
        svc.set_status(weber[1], appointment.id, "bogus")


def test_a_template_where_no_visit_type_fits_is_refused(svc, store, weber) -> None:
    doc, me = weber
    with pytest.raises(ValidationError, match="No visit type fits"):
        svc.set_availability(
            me, doc.id, [WorkingHours(0, time(9), time(12))], 30, visit_types=[VisitType("long", "Long", 240)]
        )


def test_leave_and_closures_take_the_booking_locks(svc, store, weber) -> None:
    admin = store.add_admin()
    svc.add_leave(weber[1], weber[0].id, MONDAY, MONDAY, "morning")
    svc.add_leave(admin, None, MONDAY + timedelta(days=1), MONDAY + timedelta(days=1))
    assert store.booking_locks == [([weber[0].id], None), ([], None)]


def test_what_patients_do_with_their_appointments_and_waiting_lists_is_in_the_audit_trail(
    svc, store, weber, patients
) -> None:
    doc, _ = weber
    anna, ben = patients[:2]
    booked = svc.book(anna, doc.id, mon(9), "Cough")
    moved = svc.reschedule(anna, booked.id, mon(10))
    svc.cancel(anna, moved.id)
    entry = svc.join_waitlist(ben, mon(9).date(), mon(9).date(), doctor_id=doc.id)
    svc.leave_waitlist(ben, entry.id)

    trail = [(e.action, e.entity_id, e.patient_id, e.detail) for e in store.tables.audit]
    assert trail == [
        ("appointment.book", booked.id, anna.patient_id, "Dr Weber, Mon 23 Mar 2026 09:00"),
        (
            "appointment.cancel",
            booked.id,
            anna.patient_id,
            "Mon 23 Mar 2026 09:00: At the patient's request — Moved to another time by the patient",
        ),
        (
            "appointment.book",
            moved.id,
            anna.patient_id,
            f"Dr Weber, Mon 23 Mar 2026 10:00; moved from appointment {booked.id}",
        ),
        ("appointment.cancel", moved.id, anna.patient_id, "Mon 23 Mar 2026 10:00: At the patient's request"),
        ("waitlist.join", entry.id, ben.patient_id, "Dr Weber: 2026-03-23 to 2026-03-23"),
        ("waitlist.leave", entry.id, ben.patient_id, "Dr Weber"),
    ]
    assert {e.actor_account_id for e in store.tables.audit[:4]} == {anna.account_id}
