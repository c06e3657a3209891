"""The scheduling core on a real database (SQLite always, Postgres when configured): dated templates, visit
types and the booking window, leave and closures, the waiting list, the visit workflow with its audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.errors import SlotTaken, ValidationError
from domain.model import Account, Actor, AppointmentStatus, Patient, Role, VisitType, WorkingHours
from domain.services import Services
from tests.fakes import BERLIN, FixedClock
from tests.integration.conftest import sql_services

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
MONDAY = date(2026, 3, 23)
WEEK = [WorkingHours(d, time(9), time(12)) for d in range(7)] + [WorkingHours(d, time(13), time(16)) for d in range(7)]
TYPES = [VisitType("consultation", "Consultation", 15), VisitType("follow-up", "Follow-up", 30)]


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def svc(engine: Engine, clock: FixedClock) -> Services:
    return sql_services(engine, clock)


@pytest.fixture
def world(svc: Services):
    """An admin, two doctors of one department (15-minute grid, two visit types) and four patients."""
    with svc.uow() as uow:
        admin_account = uow.accounts.add(Account("admin@hospital.test", Role.ADMIN, "Admin", "not-a-real-hash"))
        patient_accounts = []
        for name in ("Anna", "Ben", "Wes", "Wil"):
            account = uow.accounts.add(Account(f"{name.lower()}@mail.test", Role.PATIENT, name, "not-a-real-hash"))
            uow.patients.add(Patient(account.id, name, date(1980, 1, 1), account.email))
            patient_accounts.append(account.id)
        uow.commit()
    assert admin_account.id is not None
    admin = svc.actor_for(admin_account.id)
    department = svc.save_department(admin, "General medicine")
    doctors: list[tuple[int, Actor]] = []
    for name in ("Weber", "Okafor"):
        doctor, invite = svc.onboard_doctor(admin, f"Dr {name}", f"{name.lower()}@hospital.test", "GP", department.id)
        svc.accept_invite(invite.token, "pass1234")
        assert doctor.id is not None and doctor.account_id is not None
        svc.set_availability(admin, doctor.id, WEEK, 15, visit_types=TYPES, min_notice_hours=2, horizon_days=30)
        doctors.append((doctor.id, svc.actor_for(doctor.account_id)))
    return admin, department.id, doctors, [svc.actor_for(a) for a in patient_accounts if a is not None]


def local_times(svc: Services, doctor_id: int, day: date, visit_type: str | None = None) -> list[str]:
    return [s.start.astimezone(BERLIN).strftime("%H:%M") for s, _ in svc.slots(doctor_id, day, 1, visit_type)]


def test_dated_templates_visit_types_and_the_window_are_stored(svc, world, clock) -> None:
    admin, _, [(weber, weber_me), _], [anna, *_] = world
    wednesday = MONDAY + timedelta(days=2)
    booked = svc.book(anna, weber, at(wednesday, 9), visit_type="follow-up")
    assert booked.end - booked.start == timedelta(minutes=30)

    conflicts = svc.set_availability(
        weber_me, weber, [WorkingHours(2, time(14), time(18))], 30, effective_from=wednesday
    )

    assert [c.id for c in conflicts] == [booked.id]
    assert [(t.effective_from, t.slot_minutes, len(t.hours)) for t in svc.templates(weber)] == [
        (NOW.date(), 15, 14),
        (wednesday, 30, 1),
    ]
    assert local_times(svc, weber, MONDAY)[:3] == ["09:00", "09:15", "09:30"]
    assert local_times(svc, weber, wednesday, "follow-up") == [
        f"{h}:{m:02d}" for h in (14, 15, 16, 17) for m in (0, 30)
    ]
    assert local_times(svc, weber, wednesday + timedelta(days=1)) == []  # Thursday: not in the new week
    with svc.uow(readonly=True) as uow:
        doctor = uow.doctors.get(weber)
        kept = uow.appointments.get(booked.id or 0)
    assert doctor is not None and [t.code for t in doctor.visit_types] == ["consultation", "follow-up"]
    assert (doctor.min_notice_hours, doctor.horizon_days) == (2, 30)
    assert kept is not None and (kept.status, kept.start) == (AppointmentStatus.BOOKED, at(wednesday, 9))

    # an earlier effective date replaces the later template
    svc.set_availability(weber_me, weber, WEEK, 15, effective_from=MONDAY)
    assert [t.effective_from for t in svc.templates(weber)] == [NOW.date(), MONDAY]
    assert svc.schedule_conflicts(weber_me, weber) == []
    with pytest.raises(ValidationError, match="at least 2 hours ahead"):
        svc.book(anna, weber, NOW + timedelta(hours=1))
    with pytest.raises(ValidationError, match="at most 30 days ahead"):
        svc.book(anna, weber, at(NOW.date() + timedelta(days=31), 9))


def test_leave_and_closures_block_times_and_cancel_the_patients_booked_then(svc, world, engine) -> None:
    admin, _, [(weber, weber_me), (okafor, _)], [anna, ben, wes, _] = world
    first = svc.book(anna, weber, at(MONDAY, 9))
    second = svc.book(ben, weber, at(MONDAY + timedelta(days=2), 15, 45))
    elsewhere = svc.book(wes, okafor, at(MONDAY, 9))

    leave, cancelled = svc.add_leave(weber_me, weber, MONDAY, MONDAY + timedelta(days=2), "full", "conference")

    assert sorted(a.id for a in cancelled) == sorted([first.id, second.id])
    for day in range(3):
        assert not any(free for _, free in svc.slots(weber, MONDAY + timedelta(days=day), 1))
    with pytest.raises(ValidationError, match="Dr Weber is away"):
        svc.book(wes, weber, at(MONDAY + timedelta(days=1), 10))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, cancel_code, cancel_reason FROM appointment ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        (first.id, "cancelled", "prov", "Dr Weber is away: conference"),
        (second.id, "cancelled", "prov", "Dr Weber is away: conference"),
        (elsewhere.id, "booked", "", ""),
    ]

    svc.remove_leave(weber_me, leave.id or 0)
    svc.book(wes, weber, at(MONDAY + timedelta(days=1), 10))

    _, closed = svc.add_leave(admin, None, MONDAY, MONDAY, "afternoon", "inspection")
    assert closed == []  # everybody was booked in the morning
    for doctor in (weber, okafor):
        times = dict((s.start.astimezone(BERLIN).strftime("%H:%M"), f) for s, f in svc.slots(doctor, MONDAY, 1))
        assert times["13:00"] is False and times["11:45"] is True
    with pytest.raises(ValidationError, match="The hospital is closed"):
        svc.book(ben, okafor, at(MONDAY, 14))
    with engine.connect() as conn:
        actions = [r[0] for r in conn.execute(sa.text("SELECT action FROM audit_event ORDER BY id"))]
    assert [a for a in actions if not a.startswith("appointment.")][-3:] == ["leave.add", "leave.remove", "closure.add"]
    assert actions.count("appointment.cancel") == 2  # each patient the leave cancelled, on record


def test_a_freed_time_goes_to_the_waiting_list_in_order_on_the_database(svc, world, clock) -> None:
    _, department_id, [(weber, _), _], [anna, ben, wes, wil] = world
    booked = svc.book(anna, weber, at(MONDAY, 10), visit_type="follow-up")
    svc.join_waitlist(wes, MONDAY, MONDAY, doctor_id=weber)
    entry = svc.join_waitlist(wil, MONDAY, MONDAY, department_id=department_id)

    svc.cancel(anna, booked.id or 0)

    with svc.uow(readonly=True) as uow:
        (first,) = uow.waitlist.open_offers(weber, at(MONDAY, 10), at(MONDAY, 10, 30), clock.now())
    assert (first.patient_id, first.end) == (wes.patient_id, at(MONDAY, 10, 30))
    with pytest.raises(SlotTaken, match="held for a patient from the waiting list"):
        svc.book(ben, weber, at(MONDAY, 10, 15))

    clock.set(NOW + timedelta(minutes=6))
    assert svc.expire_offers() == 1
    with svc.uow(readonly=True) as uow:
        (second,) = uow.waitlist.open_offers(weber, at(MONDAY, 10), at(MONDAY, 10, 30), clock.now())
        assert {o.status.value for o in uow.waitlist.offers_of(weber, at(MONDAY, 10))} == {"expired", "open"}
    assert second.patient_id == wil.patient_id  # the department's list comes next

    taken = svc.accept_offer(wil, second.id or 0)

    assert (taken.patient_id, taken.start, taken.end, taken.visit_type) == (
        wil.patient_id,
        at(MONDAY, 10),
        at(MONDAY, 10, 30),
        "follow-up",
    )
    with svc.uow(readonly=True) as uow:
        stored = uow.waitlist.get(entry.id or 0)
        assert uow.waitlist.open_offers(weber, at(MONDAY, 10), at(MONDAY, 10, 30), clock.now()) == []
    assert stored is not None and stored.status.value == "booked"


def test_a_deactivated_doctors_held_time_and_waiting_list_end_on_the_database(svc, world, clock) -> None:
    admin, department_id, [(weber, weber_me), _], [anna, _, wes, wil] = world
    booked = svc.book(anna, weber, at(MONDAY, 10))
    mine = svc.join_waitlist(wes, MONDAY, MONDAY, doctor_id=weber)
    department = svc.join_waitlist(wil, MONDAY, MONDAY, department_id=department_id)
    svc.cancel(anna, booked.id or 0)  # held for Wes
    with svc.uow(readonly=True) as uow:
        (held,) = uow.waitlist.open_offers_of(weber, clock.now())

    svc.deactivate_account(admin, weber_me.account_id, "On sabbatical")

    with svc.uow(readonly=True) as uow:
        assert uow.waitlist.open_offers_of(weber, clock.now()) == []
        assert {o.status.value for o in uow.waitlist.offers_of(weber, held.start)} == {"withdrawn"}
        assert uow.waitlist.get(mine.id or 0).status.value == "left"  # type: ignore[union-attr]
        assert uow.waitlist.get(department.id or 0).status.value == "waiting"  # type: ignore[union-attr]
    with pytest.raises(ValidationError, match="offer has ended"):
        svc.accept_offer(wes, held.id or 0)


def test_the_visit_workflow_and_admin_reset_are_audited_in_the_database(svc, world, clock, engine) -> None:
    admin, _, [(weber, weber_me), _], [anna, ben, *_] = world
    visit = svc.book(anna, weber, at(MONDAY, 9))
    missed = svc.book(ben, weber, at(MONDAY, 9, 15))
    clock.set(at(MONDAY, 8, 50))
    svc.set_status(anna, visit.id or 0, AppointmentStatus.ARRIVED)
    svc.set_status(weber_me, visit.id or 0, AppointmentStatus.CHECKED_IN)
    svc.set_status(weber_me, visit.id or 0, AppointmentStatus.FULFILLED)
    clock.set(at(MONDAY, 9, 50))
    assert svc.mark_noshows(timedelta(minutes=15)) == 1
    with pytest.raises(ValidationError, match="that is final"):
        svc.set_status(weber_me, missed.id or 0, AppointmentStatus.ARRIVED)

    svc.admin_reset(admin, missed.id or 0, AppointmentStatus.ARRIVED, "was in the waiting room")

    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("SELECT id, status FROM appointment")).all())
        audit = conn.execute(
            sa.text(
                "SELECT action, entity_id, actor_role, detail FROM audit_event WHERE entity = 'appointment' ORDER BY id"
            )
        ).all()
    assert statuses == {visit.id: "fulfilled", missed.id: "arrived"}
    assert [tuple(r) for r in audit] == [
        ("appointment.book", visit.id, "patient", "Dr Weber, Mon 23 Mar 2026 09:00"),
        ("appointment.book", missed.id, "patient", "Dr Weber, Mon 23 Mar 2026 09:15"),
        ("appointment.status", visit.id, "patient", "booked -> arrived"),
        ("appointment.status", visit.id, "doctor", "arrived -> checked-in"),
        ("appointment.status", visit.id, "doctor", "checked-in -> fulfilled"),
        ("appointment.status", missed.id, "system", "booked -> noshow"),
        ("appointment.reset", missed.id, "admin", "noshow -> arrived; reset by admin: was in the waiting room"),
    ]


def test_nine_o_clock_on_the_dst_day_is_stored_and_read_back_as_nine_o_clock(svc, world, clock) -> None:
    _, _, [(weber, _), _], [anna, *_] = world
    clock.set(datetime(2026, 3, 27, 12, tzinfo=UTC))
    dst_sunday = date(2026, 3, 29)
    assert local_times(svc, weber, dst_sunday)[:2] == ["09:00", "09:15"]
    booked = svc.book(anna, weber, at(dst_sunday, 9))
    with svc.uow(readonly=True) as uow:
        stored = uow.appointments.get(booked.id or 0)
    assert stored is not None and stored.start == datetime(2026, 3, 29, 7, tzinfo=UTC)
    assert stored.start.astimezone(BERLIN).strftime("%H:%M %Z") == "09:00 CEST"
