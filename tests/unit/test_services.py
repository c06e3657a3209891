"""Use cases with fakes of the ports: what a patient, doctor or admin sees when they act."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain import events
from domain.errors import Conflict, NotAllowed, NotFound, SlotTaken, ValidationError
from domain.model import AccountStatus, AppointmentStatus, Role, WorkingHours
from domain.services import BOOKING_HORIZON_DAYS, Services
from tests.fakes import BERLIN, FakeHasher, FakeStore, FixedClock, make_services, weekdays

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    """A Berlin wall time as the aware UTC datetime the services take."""
    return datetime(y, m, d, hh, mm, tzinfo=BERLIN).astimezone(UTC)


MONDAY_9 = local(2026, 3, 23, 9)  # next Monday, 08:00 UTC


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def svc(store: FakeStore, clock: FixedClock) -> Services:
    return make_services(store, clock)


@pytest.fixture
def doctor(store: FakeStore):
    return store.add_doctor("Dr Weber", weekdays(time(9), time(12)), slot_minutes=30)


@pytest.fixture
def anna(store: FakeStore):
    return store.add_patient("Anna Schmidt")


@pytest.fixture
def ben(store: FakeStore):
    return store.add_patient("Ben Okafor")


# ---- booking ------------------------------------------------------------------------------


def test_booking_a_free_slot_stores_a_booked_appointment(svc, store, doctor, anna) -> None:
    (doc, _), (patient, actor) = doctor, anna
    appointment = svc.book(actor, doc.id, MONDAY_9, reason="  back pain  ")

    assert [(a.id, a.doctor_id, a.patient_id, a.status) for a in store.appointments()] == [
        (appointment.id, doc.id, patient.id, AppointmentStatus.BOOKED)
    ]
    stored = store.appointments()[0]
    assert stored.start == MONDAY_9 and stored.end == MONDAY_9 + timedelta(minutes=30)
    assert stored.start.utcoffset() == timedelta(0)
    assert stored.reason == "back pain"


def test_booking_a_taken_slot_fails_with_slot_taken(svc, store, doctor, anna, ben) -> None:
    doc, _ = doctor
    first = svc.book(anna[1], doc.id, MONDAY_9)

    with pytest.raises(SlotTaken, match="This slot was just taken"):
        svc.book(ben[1], doc.id, MONDAY_9)

    assert [a.id for a in store.active_appointments()] == [first.id]
    assert store.appointments()[0].patient_id == anna[0].id


def test_taken_slot_shows_busy_and_cancelling_frees_it(svc, store, clock, doctor, anna, ben) -> None:
    doc, _ = doctor
    appointment = svc.book(anna[1], doc.id, MONDAY_9)
    assert dict((s.start, free) for s, free in svc.slots(doc.id, date(2026, 3, 23), 1))[MONDAY_9] is False

    cancelled = svc.cancel(anna[1], appointment.id, code="pat-fb")
    assert cancelled.status == AppointmentStatus.CANCELLED
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.CANCELLED
    assert store.tables.appointments[appointment.id].cancelled_at == clock.now()
    assert dict((s.start, free) for s, free in svc.slots(doc.id, date(2026, 3, 23), 1))[MONDAY_9] is True

    again = svc.book(ben[1], doc.id, MONDAY_9)
    assert [a.id for a in store.active_appointments()] == [again.id]


def test_patient_cannot_hold_two_overlapping_active_appointments(svc, store, doctor, anna) -> None:
    doc, _ = doctor
    quick, _ = store.add_doctor("Dr Quick", weekdays(time(9), time(12)), slot_minutes=15)
    svc.book(anna[1], doc.id, MONDAY_9)  # 09:00-09:30

    with pytest.raises(Conflict, match="You already have an appointment at this time"):
        svc.book(anna[1], quick.id, MONDAY_9 + timedelta(minutes=15))  # 09:15-09:30 with another doctor

    assert len(store.active_appointments()) == 1
    svc.book(anna[1], quick.id, MONDAY_9 + timedelta(minutes=30))  # right after: fine
    assert len(store.active_appointments()) == 2


def test_a_cancelled_appointment_does_not_block_the_patient(svc, store, doctor, anna) -> None:
    doc, _ = doctor
    other, _ = store.add_doctor("Dr Other", weekdays(time(9), time(12)), slot_minutes=30)
    first = svc.book(anna[1], doc.id, MONDAY_9)
    svc.cancel(anna[1], first.id)

    svc.book(anna[1], other.id, MONDAY_9)
    assert [a.doctor_id for a in store.active_appointments()] == [other.id]


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (MONDAY_9 + timedelta(minutes=7), "The doctor does not see patients at this time"),  # off the grid
        (local(2026, 3, 23, 18), "The doctor does not see patients at this time"),  # after hours
        (local(2026, 3, 21, 9), "The doctor does not see patients at this time"),  # Saturday
        (local(2026, 3, 13, 9), "This time has already passed"),  # last Friday
        (NOW, "This time has already passed"),  # starts right now
        (local(2026, 4, 14, 9), f"at most {BOOKING_HORIZON_DAYS} days ahead"),  # 29 days ahead
    ],
    ids=["off-grid", "after-hours", "weekend", "past", "now", "beyond-horizon"],
)
def test_booking_outside_the_offered_grid_is_refused(svc, store, doctor, anna, start, message) -> None:
    with pytest.raises(ValidationError, match=message):
        svc.book(anna[1], doctor[0].id, start)
    assert store.appointments() == []
    assert store.published == []


def test_last_slot_inside_the_horizon_can_be_booked(svc, store, doctor, anna) -> None:
    last_day = local(2026, 4, 10, 11, 30)  # Friday, 25 days ahead
    assert last_day <= NOW + timedelta(days=BOOKING_HORIZON_DAYS)
    svc.book(anna[1], doctor[0].id, last_day)
    assert len(store.active_appointments()) == 1


def test_booking_after_the_spring_dst_change_uses_the_local_grid(svc, store, doctor, anna) -> None:
    after_dst = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 09:00 CEST
    svc.book(anna[1], doctor[0].id, after_dst)
    with pytest.raises(ValidationError, match="does not see patients"):
        svc.book(anna[1], doctor[0].id, datetime(2026, 3, 30, 6, 0, tzinfo=UTC))  # 08:00 CEST


def test_slots_offer_neither_past_nor_beyond_horizon(svc, store, clock, doctor) -> None:
    clock.set(local(2026, 3, 16, 10, 15))  # Monday 10:15
    today = [s.start for s, _ in svc.slots(doctor[0].id, date(2026, 3, 16), 1)]
    assert [s.astimezone(BERLIN).strftime("%H:%M") for s in today] == ["10:30", "11:00", "11:30"]
    assert svc.slots(doctor[0].id, date(2026, 4, 20), 5) == []  # five weeks ahead


def test_only_patients_book(svc, store, doctor) -> None:
    with pytest.raises(NotAllowed):
        svc.book(doctor[1], doctor[0].id, MONDAY_9)
    with pytest.raises(NotFound, match="This doctor does not exist"):
        svc.book(store.add_patient("Carla")[1], 9999, MONDAY_9)
    assert store.appointments() == []


# ---- cancelling -----------------------------------------------------------------------------


def test_a_patient_cannot_cancel_another_patients_appointment(svc, store, doctor, anna, ben) -> None:
    appointment = svc.book(anna[1], doctor[0].id, MONDAY_9)
    store.published.clear()

    with pytest.raises(NotFound, match="This appointment does not exist"):
        svc.cancel(ben[1], appointment.id)

    stored = store.tables.appointments[appointment.id]
    assert stored.status == AppointmentStatus.BOOKED and stored.cancelled_at is None
    assert store.published == []
    with pytest.raises(SlotTaken):
        svc.book(ben[1], doctor[0].id, MONDAY_9)


def test_a_doctor_cancels_only_in_their_own_schedule_and_an_admin_anywhere(svc, store, doctor, anna) -> None:
    _, other_doctor = store.add_doctor("Dr Other", weekdays(time(9), time(12)))
    appointment = svc.book(anna[1], doctor[0].id, MONDAY_9)

    with pytest.raises(NotAllowed, match="own schedule"):
        svc.cancel(other_doctor, appointment.id)
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.BOOKED

    svc.cancel(store.add_admin(), appointment.id, code="prov-hosp")
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.CANCELLED


def test_a_started_or_cancelled_appointment_cannot_be_cancelled_by_the_patient(svc, store, clock, doctor, anna) -> None:
    appointment = svc.book(anna[1], doctor[0].id, MONDAY_9)
    clock.set(MONDAY_9 + timedelta(minutes=5))
    with pytest.raises(ValidationError, match="already started"):
        svc.cancel(anna[1], appointment.id)

    clock.set(NOW)
    svc.cancel(anna[1], appointment.id)
    with pytest.raises(ValidationError, match="already cancelled or moved"):
        svc.cancel(anna[1], appointment.id)


# ---- events ---------------------------------------------------------------------------------


def test_booking_and_cancelling_publish_events_after_commit(svc, store, doctor, anna) -> None:
    doc, _ = doctor
    committed_when_published: list[bool] = []
    store.bus.subscribe(lambda e: committed_when_published.append(bool(store.tables.appointments)))

    appointment = svc.book(anna[1], doc.id, MONDAY_9)
    svc.cancel(anna[1], appointment.id)

    end = MONDAY_9 + timedelta(minutes=30)
    assert store.published == [
        events.SlotBooked(appointment.id, doc.id, anna[0].id, MONDAY_9, end),
        events.AppointmentCancelled(
            appointment.id, doc.id, anna[0].id, MONDAY_9, end, "patient", "At the patient's request"
        ),
    ]
    assert committed_when_published == [True, True]


def test_a_failing_commit_publishes_nothing_and_stores_nothing(svc, store, doctor, anna) -> None:
    store.fail_next_commit = Conflict("This clashes with a change somebody else just made. Please try again.")

    with pytest.raises(Conflict, match="somebody else just made"):
        svc.book(anna[1], doctor[0].id, MONDAY_9)

    assert store.published == []
    assert store.appointments() == []
    svc.book(anna[1], doctor[0].id, MONDAY_9)  # and the slot is still free
    assert [type(e) for e in store.published] == [events.SlotBooked]


def test_a_refused_booking_publishes_nothing(svc, store, doctor, anna, ben) -> None:
    svc.book(anna[1], doctor[0].id, MONDAY_9)
    store.published.clear()
    with pytest.raises(SlotTaken):
        svc.book(ben[1], doctor[0].id, MONDAY_9)
    assert store.published == []


# ---- registration and sign-in ----------------------------------------------------------------


def test_register_patient_creates_account_and_patient(svc, store) -> None:
    patient = svc.register_patient("  Dana Kim ", " Dana.Kim@Example.ORG ", "correct horse", "1990-02-03")

    account = store.tables.accounts[patient.account_id]
    assert (account.email, account.role, account.status) == ("dana.kim@example.org", Role.PATIENT, "active")
    assert account.password_hash and "correct horse" not in account.password_hash
    assert (patient.name, patient.birth_date) == ("Dana Kim", date(1990, 2, 3))
    assert store.tables.patients[patient.id].account_id == account.id
    assert svc.authenticate("dana.kim@example.org", "correct horse").id == account.id


@pytest.mark.parametrize(
    ("name", "email", "password", "born", "error", "message"),
    [
        ("Anna", "ANNA.schmidt@mail.test", "long enough", "1980-01-01", Conflict, "already exists"),
        ("Dana", "dana@example.org", "short", "1980-01-01", ValidationError, "at least 8 characters"),
        ("Dana", "dana@example.org", "long enough", "2026-03-17", ValidationError, "cannot be in the future"),
        ("Dana", "dana@example.org", "long enough", "1980/03/17", ValidationError, "must be a date like"),
        ("Dana", "not-an-email", "long enough", "1980-01-01", ValidationError, "valid email address"),
        ("  ", "dana@example.org", "long enough", "1980-01-01", ValidationError, "Name is required"),
    ],
    ids=["email-taken", "short-password", "born-tomorrow", "bad-date", "bad-email", "no-name"],
)
def test_register_patient_refuses_bad_input(svc, store, anna, name, email, password, born, error, message) -> None:
    before = (dict(store.tables.accounts), dict(store.tables.patients))
    with pytest.raises(error, match=message):
        svc.register_patient(name, email, password, born)
    assert (store.tables.accounts, store.tables.patients) == before


def test_birth_date_today_is_accepted(svc, clock) -> None:
    assert svc.register_patient("Newborn", "baby@example.org", "long enough", clock.today().isoformat())


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def auth(store, clock, hasher) -> Services:
    store.add_account("eva@example.org", Role.PATIENT, hasher.hash("right password"))
    store.add_account("gone@example.org", Role.PATIENT, hasher.hash("right password"), AccountStatus.DEACTIVATED)
    store.add_account("imported@example.org", Role.PATIENT, None, AccountStatus.INVITED)
    return make_services(store, clock, hasher)


def test_authenticate_accepts_the_right_password(auth) -> None:
    assert auth.authenticate(" EVA@example.org", "right password").email == "eva@example.org"


@pytest.mark.parametrize(
    ("email", "password", "error", "message"),
    [
        ("eva@example.org", "wrong password", ValidationError, "Email or password is wrong"),
        ("nobody@example.org", "right password", ValidationError, "Email or password is wrong"),
        ("gone@example.org", "right password", NotAllowed, "has been deactivated"),
        ("gone@example.org", "wrong password", ValidationError, "Email or password is wrong"),
        # an imported (invited) account says the same as an unknown one: no hint which emails exist
        ("imported@example.org", "", ValidationError, "Email or password is wrong"),
        ("imported@example.org", "anything at all", ValidationError, "Email or password is wrong"),
    ],
    ids=["wrong-password", "unknown-email", "deactivated", "deactivated-wrong-password", "invited", "invited-guess"],
)
def test_authenticate_refuses(auth, hasher, email, password, error, message) -> None:
    with pytest.raises(error, match=message):
        auth.authenticate(email, password)
    assert hasher.verified >= 1  # a password check was spent even when the account cannot log in


def test_a_deactivated_account_can_no_longer_act(auth, store) -> None:
    gone = next(a for a in store.tables.accounts.values() if a.email == "gone@example.org")
    with pytest.raises(NotAllowed, match="not active"):
        auth.actor_for(gone.id)


# ---- availability ---------------------------------------------------------------------------


def current_hours(store: FakeStore, doctor_id: int) -> tuple[WorkingHours, ...]:
    return store.tables.templates[doctor_id][-1].hours


NEW_HOURS = [WorkingHours(0, time(13), time(15)), WorkingHours(0, time(8), time(12))]


def test_a_doctor_sets_their_own_availability(svc, store, doctor) -> None:
    doc, me = doctor
    svc.set_availability(me, doc.id, NEW_HOURS, 20)

    assert current_hours(store, doc.id) == (NEW_HOURS[1], NEW_HOURS[0])
    assert store.tables.doctors[doc.id].slot_minutes == 20
    assert store.published == [events.AvailabilityChanged(doc.id)]
    assert [a.action for a in store.tables.audit] == ["schedule.change"]
    grid = [s.start.astimezone(BERLIN).strftime("%H:%M") for s, _ in svc.slots(doc.id, date(2026, 3, 23), 1)]
    assert grid[:3] == ["08:00", "08:20", "08:40"] and "12:00" not in grid and "13:00" in grid


def test_an_admin_sets_any_doctors_availability(svc, store, doctor) -> None:
    svc.set_availability(store.add_admin(), doctor[0].id, NEW_HOURS, 30)
    assert len(current_hours(store, doctor[0].id)) == 2


def test_nobody_else_sets_a_doctors_availability(svc, store, doctor, anna) -> None:
    doc, _ = doctor
    _, other_doctor = store.add_doctor("Dr Other", [])
    before = current_hours(store, doc.id)
    for actor in (other_doctor, anna[1]):
        with pytest.raises(NotAllowed, match="only change your own schedule"):
            svc.set_availability(actor, doc.id, NEW_HOURS, 30)
    assert current_hours(store, doc.id) == before
    assert store.published == []


def test_overlapping_working_ranges_are_refused_and_nothing_changes(svc, store, doctor) -> None:
    doc, me = doctor
    before = current_hours(store, doc.id)
    with pytest.raises(ValidationError, match="overlaps"):
        svc.set_availability(me, doc.id, [WorkingHours(0, time(9), time(12)), WorkingHours(0, time(11), time(13))], 30)
    with pytest.raises(ValidationError, match="Slot length must be one of"):
        svc.set_availability(me, doc.id, NEW_HOURS, 25)
    assert current_hours(store, doc.id) == before
    assert store.tables.doctors[doc.id].slot_minutes == 30


def test_repeated_failed_sign_ins_are_throttled_then_released(auth) -> None:
    for _ in range(5):
        with pytest.raises(ValidationError, match="Email or password is wrong"):
            auth.authenticate("eva@example.org", "wrong password")
    with pytest.raises(NotAllowed, match="Too many failed sign-ins"):
        auth.authenticate("eva@example.org", "right password")
    auth.clock.set(auth.clock.now() + timedelta(minutes=6))
    assert auth.authenticate("eva@example.org", "right password").email == "eva@example.org"


def test_failed_sign_ins_elsewhere_do_not_lock_the_real_user_out(auth) -> None:
    for _ in range(6):
        with pytest.raises((ValidationError, NotAllowed)):
            auth.authenticate("eva@example.org", "wrong password", source="203.0.113.9")
    assert auth.authenticate("eva@example.org", "right password", source="198.51.100.7").email == "eva@example.org"


def test_one_source_guessing_many_emails_is_slowed_down(auth) -> None:
    for i in range(30):
        with pytest.raises(ValidationError):
            auth.authenticate(f"nobody{i}@example.org", "whatever", source="203.0.113.9")
    verified = auth.hasher.verified
    with pytest.raises(NotAllowed, match="from this device"):
        auth.authenticate("eva@example.org", "right password", source="203.0.113.9")
    assert auth.hasher.verified == verified  # refused before any hashing


def test_a_password_of_spaces_or_one_repeated_character_is_refused(svc, store) -> None:
    for weak in (" " * 8, "aaaaaaaaaa", "abababab"):
        with pytest.raises(ValidationError, match="not just one or two characters"):
            svc.register_patient("Dana", "dana@example.org", weak, "1980-03-17")
    assert store.tables.accounts == {}


def test_names_with_control_or_bidi_characters_are_refused(svc, store) -> None:
    for name in ("NullByte \x00 name", "RTL \u202egnp.exe"):
        with pytest.raises(ValidationError, match="control characters"):
            svc.register_patient(name, "dana@example.org", "long enough", "1980-03-17")
    assert store.tables.accounts == {}


def test_birth_date_in_day_month_year_form_is_understood(svc) -> None:
    patient = svc.register_patient("Dana", "dana@example.org", "long enough", "17.03.1980")
    assert patient.birth_date == date(1980, 3, 17)
    with pytest.raises(ValidationError, match="not a real date"):
        svc.register_patient("Dana", "dana2@example.org", "long enough", "30.02.1980")


# ---- cancellation reasons and cutoff ----------------------------------------------------------


def test_a_patient_cancels_online_only_until_the_cutoff(svc, store, clock, doctor, anna) -> None:
    appointment = svc.book(anna[1], doctor[0].id, MONDAY_9)
    clock.set(MONDAY_9 - timedelta(minutes=90))  # the default cutoff is 2 hours
    with pytest.raises(ValidationError, match="until 2 hours before they start"):
        svc.cancel(anna[1], appointment.id)
    assert store.tables.appointments[appointment.id].status == AppointmentStatus.BOOKED
    with pytest.raises(ValidationError, match="until 2 hours before"):
        svc.reschedule(anna[1], appointment.id, MONDAY_9 + timedelta(minutes=30))


def test_staff_cancel_any_time_but_must_say_why_and_the_reason_is_kept(svc, store, clock, doctor, anna) -> None:
    doc, doctor_actor = doctor
    appointment = svc.book(anna[1], doc.id, MONDAY_9)
    clock.set(MONDAY_9 - timedelta(minutes=10))
    with pytest.raises(ValidationError, match="choose a reason"):
        svc.cancel(doctor_actor, appointment.id)
    with pytest.raises(ValidationError, match="from the list"):
        svc.cancel(doctor_actor, appointment.id, code="because")
    svc.cancel(doctor_actor, appointment.id, code="prov-hosp", note="  back next week ")
    stored = store.tables.appointments[appointment.id]
    assert (stored.status, stored.cancel_code, stored.cancel_reason, stored.cancelled_by) == (
        AppointmentStatus.CANCELLED,
        "prov-hosp",
        "back next week",
        doctor_actor.account_id,
    )
    told = store.published[-1]
    assert isinstance(told, events.AppointmentCancelled)
    assert (told.by_role, told.reason) == ("doctor", "The doctor is ill — back next week")


def test_a_patient_reason_must_be_a_patient_reason(svc, store, doctor, anna) -> None:
    appointment = svc.book(anna[1], doctor[0].id, MONDAY_9)
    with pytest.raises(ValidationError, match="reasons for patients"):
        svc.cancel(anna[1], appointment.id, code="prov-hosp")
    svc.cancel(anna[1], appointment.id, code="pat-fb")
    assert store.tables.appointments[appointment.id].cancel_code == "pat-fb"
