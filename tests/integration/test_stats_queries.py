"""The admin board's figures and the appointment report on a real database (SQLite always, Postgres when
configured): a known week of bookings, cancellations, a visit and a no-show, doctors' leave, registrations
around midnight and a DST change; the CSV exports parsed back."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.exports import APPOINTMENT_HEADER, appointments_csv, board_csv, csv_cell
from data.security import Argon2Hasher
from data.stats_queries import AppointmentFilter, StatsQueries
from data.uow import SqlUnitOfWorkFactory
from domain.errors import NotAllowed
from domain.model import Account, Actor, AppointmentStatus, Department, Doctor, Patient, Role, VisitType, WorkingHours
from domain.services import Services
from domain.stats import DayRange, week_range
from tests.fakes import BERLIN, FixedClock

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin, the week before
MONDAY = date(2026, 3, 23)  # the week we look at; Sunday 29 March is the spring-forward day in Berlin
WEEK = week_range(MONDAY)
TYPES = [VisitType("consultation", "Consultation", 15), VisitType("follow-up", "Follow-up", 30)]
MORNINGS = [WorkingHours(d, time(9), time(12)) for d in range(5)]  # Mon-Fri 09-12: 900 minutes a week


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN).astimezone(UTC)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


@dataclass
class World:
    svc: Services
    clock: FixedClock
    engine: Engine
    stats: StatsQueries
    admin: Actor
    cardiology: int
    general: int
    weber: int
    okafor: int
    ids: dict[str, int]
    patients: dict[str, Actor]


@pytest.fixture
def world(engine: Engine) -> World:
    clock = FixedClock(NOW)
    svc = Services(SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), clock, BERLIN)
    with svc.uow() as uow:
        admin_account = uow.accounts.add(Account("admin@hospital.test", Role.ADMIN, "Admin", "not-a-real-hash"))
        patient_accounts = {}
        for name in ("Anna", "Ben", "Wes", "Wil"):
            account = uow.accounts.add(Account(f"{name.lower()}@mail.test", Role.PATIENT, name, "not-a-real-hash"))
            uow.patients.add(Patient(account.id, name, date(1980, 1, 1), account.email))
            patient_accounts[name] = account.id
        cardiology = uow.departments.add(Department("Cardiology")).id or 0
        general = uow.departments.add(Department("General Practice")).id or 0
        uow.departments.add(Department("Dermatology"))  # no doctors: listed with nothing
        doctor_ids = {}
        for name, dept in (("Weber", cardiology), ("Okafor", general)):
            email = f"{name.lower()}@hospital.test"
            account = uow.accounts.add(Account(email, Role.DOCTOR, f"Dr {name}", "not-a-real-hash"))
            doctor_ids[name] = uow.doctors.add(Doctor(account.id, f"Dr {name}", "GP", dept, email)), account.id
        uow.commit()
    admin = svc.actor_for(admin_account.id or 0)
    doctors = {}
    for name, (doc, account_id) in doctor_ids.items():
        assert doc.id is not None
        svc.set_availability(admin, doc.id, MORNINGS, 15, visit_types=TYPES, min_notice_hours=1, horizon_days=60)
        doctors[name] = (doc.id, svc.actor_for(account_id or 0))
    (weber, weber_me), (okafor, okafor_me) = doctors["Weber"], doctors["Okafor"]
    # Okafor is away on Wednesday (180 minutes less); a closure on Friday afternoon takes nothing (mornings only)
    svc.add_leave(okafor_me, okafor, day(2), day(2), "full", "course")
    svc.add_leave(admin, None, day(4), day(4), "afternoon", "inspection")
    p = {name: svc.actor_for(a or 0) for name, a in patient_accounts.items()}
    ids = {
        "anna-mon": svc.book(p["Anna"], weber, at(day(0), 9)).id,
        "ben-mon": svc.book(p["Ben"], weber, at(day(0), 9, 15), visit_type="follow-up").id,
        "wes-tue": svc.book(p["Wes"], okafor, at(day(1), 10), reason='=HYPERLINK("http://evil.test")').id,
        "wil-thu": svc.book(p["Wil"], okafor, at(day(3), 11)).id,
        "anna-fri": svc.book(p["Anna"], okafor, at(day(4), 9), visit_type="follow-up").id,
        "ben-fri": svc.book(p["Ben"], weber, at(day(4), 10)).id,
        "wes-next": svc.book(p["Wes"], weber, at(day(7), 9)).id,  # the week after: not counted
    }
    svc.cancel(p["Wes"], ids["wes-tue"] or 0)  # the patient, in time
    svc.cancel(weber_me, ids["ben-fri"] or 0, "prov-edu", "training")  # the doctor
    clock.set(at(day(0), 9, 20))
    svc.set_status(weber_me, ids["ben-mon"] or 0, AppointmentStatus.ARRIVED)
    svc.set_status(weber_me, ids["ben-mon"] or 0, AppointmentStatus.FULFILLED)
    clock.set(at(day(3), 11, 30))
    svc.set_status(okafor_me, ids["wil-thu"] or 0, AppointmentStatus.NOSHOW)
    # registrations at known moments: just after local midnight (still Sunday in UTC), and on the DST day
    created = {
        "anna@mail.test": at(day(0), 0, 30),  # Mon 00:30 Berlin = Sun 23:30 UTC: counts for Monday
        "ben@mail.test": at(day(0), 23, 50),
        "wes@mail.test": at(day(6), 23, 30),  # Sunday 29 March, after the clocks went forward
        "wil@mail.test": at(day(7), 0, 10),  # the Monday after: outside
        "admin@hospital.test": at(day(1), 12),  # not a patient
    }
    with engine.begin() as conn:
        for email, moment in created.items():
            conn.execute(sa.text("UPDATE account SET created_at = :t WHERE email = :e"), {"t": moment, "e": email})
    return World(
        svc,
        clock,
        engine,
        StatsQueries(engine, BERLIN),
        admin,
        cardiology,
        general,
        weber,
        okafor,
        {k: v or 0 for k, v in ids.items()},
        p,
    )


def test_board_counts_the_known_week_exactly(world: World) -> None:
    board = world.stats.board(world.admin, WEEK, today=day(0))

    assert board.by_status == {"booked": 2, "fulfilled": 1, "cancelled": 2, "noshow": 1}
    assert board.today_by_status == {"booked": 1, "fulfilled": 1}
    assert board.total == 6
    assert board.rates.cancellation == pytest.approx(2 / 6)
    assert board.rates.noshow_rate == pytest.approx(1 / 2)  # of the visits that were due: fulfilled + no-show
    assert [(d.name, d.by_status) for d in board.departments] == [
        ("Cardiology", {"booked": 1, "fulfilled": 1, "cancelled": 1}),
        ("Dermatology", {}),
        ("General Practice", {"cancelled": 1, "noshow": 1, "booked": 1}),
    ]
    by_doctor = {d.name: d for d in board.doctors}
    weber, okafor = by_doctor["Dr Weber"], by_doctor["Dr Okafor"]
    assert (weber.offered_minutes, weber.booked_minutes, weber.appointments) == (900, 45, 2)
    assert (okafor.offered_minutes, okafor.booked_minutes, okafor.appointments) == (720, 45, 2)
    assert okafor.utilisation == pytest.approx(45 / 720)
    assert weber.utilisation == pytest.approx(45 / 900)
    assert [d.name for d in board.doctors] == ["Dr Okafor", "Dr Weber"]  # highest utilisation first
    assert board.utilisation == pytest.approx(90 / 1620)
    assert board.registrations_by_day == [2, 0, 0, 0, 0, 0, 1]
    assert board.new_patients == 3


def test_one_day_and_ranges_without_anything(world: World) -> None:
    tuesday = world.stats.board(world.admin, DayRange(day(1), day(1)), today=day(1))
    assert tuesday.by_status == {"cancelled": 1} and tuesday.rates.cancellation == 1.0
    assert tuesday.rates.noshow_rate is None  # nothing was due
    assert {d.name: d.offered_minutes for d in tuesday.doctors} == {"Dr Okafor": 180, "Dr Weber": 180}
    wednesday = world.stats.board(world.admin, DayRange(day(2), day(2)), today=day(1))
    assert {d.name: d.offered_minutes for d in wednesday.doctors} == {"Dr Okafor": 0, "Dr Weber": 180}
    empty = world.stats.board(world.admin, DayRange(date(2025, 1, 1), date(2025, 1, 31)), today=day(1))
    assert empty.by_status == {} and empty.total == 0 and empty.rates.cancellation is None
    # the templates took effect on 16 March 2026: nothing was offered in 2025
    assert all(d.offered_minutes == 0 for d in empty.doctors) and empty.utilisation is None


def test_a_new_booking_moves_the_figures(world: World) -> None:
    before = world.stats.board(world.admin, WEEK, today=day(0))
    world.clock.set(NOW)
    world.svc.book(world.patients["Wil"], world.weber, at(day(1), 11))
    after = world.stats.board(world.admin, WEEK, today=day(0))
    assert after.by_status["booked"] == before.by_status["booked"] + 1
    assert {d.name: d.booked_minutes for d in after.doctors}["Dr Weber"] == 60


def test_a_moved_visit_counts_once_and_not_as_a_cancellation(world: World) -> None:
    before = world.stats.board(world.admin, WEEK, today=day(0))
    world.clock.set(NOW)
    world.svc.reschedule(world.patients["Anna"], world.ids["anna-fri"], at(day(4), 11))  # the patient moves it
    after = world.stats.board(world.admin, WEEK, today=day(0))
    assert after.by_status == before.by_status  # still one booked visit, no extra cancellation
    assert after.rates.cancellation == before.rates.cancellation
    general = {d.name: d.by_status for d in after.departments}["General Practice"]
    assert general == {d.name: d.by_status for d in before.departments}["General Practice"]
    world.svc.cancel(world.patients["Anna"], _moved_to(world, world.ids["anna-fri"]))
    cancelled = world.stats.board(world.admin, WEEK, today=day(0))
    assert cancelled.by_status["cancelled"] == before.by_status["cancelled"] + 1  # a real cancellation counts


def _moved_to(world: World, appointment_id: int) -> int:
    with world.engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT id FROM appointment WHERE rescheduled_from_id = :a"), {"a": appointment_id}
        ).scalar_one()


def test_only_admins_read_the_figures(world: World) -> None:
    for actor in (world.patients["Anna"], Actor(99, Role.DOCTOR, doctor_id=world.weber)):
        with pytest.raises(NotAllowed):
            world.stats.board(actor, WEEK, today=day(0))
        with pytest.raises(NotAllowed):
            world.stats.appointments(actor, AppointmentFilter(WEEK))
        with pytest.raises(NotAllowed):
            list(world.stats.iter_appointments(actor, AppointmentFilter(WEEK)))


def test_appointment_report_filters_and_pages_on_the_server(world: World) -> None:
    s, admin = world.stats, world.admin
    everything = s.appointments(admin, AppointmentFilter(WEEK), limit=50)
    assert everything.total == 6
    assert [a.start for a in everything.items] == sorted((a.start for a in everything.items), reverse=True)
    assert world.ids["wes-next"] not in {a.id for a in everything.items}
    cardiology = s.appointments(admin, AppointmentFilter(WEEK, department_id=world.cardiology))
    assert {a.id for a in cardiology.items} == {world.ids[k] for k in ("anna-mon", "ben-mon", "ben-fri")}
    cancelled = s.appointments(admin, AppointmentFilter(WEEK, status="cancelled"))
    assert {a.id for a in cancelled.items} == {world.ids["wes-tue"], world.ids["ben-fri"]}
    assert {a.cancel_reason for a in cancelled.items} == {
        "At the patient's request",
        "The doctor is at a training or meeting — training",
    }
    okafor = s.appointments(admin, AppointmentFilter(WEEK, doctor_id=world.okafor, status="noshow"))
    assert [a.id for a in okafor.items] == [world.ids["wil-thu"]]
    pages = [s.appointments(admin, AppointmentFilter(WEEK), limit=4, offset=o) for o in (0, 4)]
    assert [len(p.items) for p in pages] == [4, 2] and all(p.total == 6 for p in pages)
    assert [a.id for p in pages for a in p.items] == [a.id for a in everything.items]


def test_export_iterates_in_chunks_and_parses_back(world: World) -> None:
    s, admin = world.stats, world.admin
    chunked = [r.id for r in s.iter_appointments(admin, AppointmentFilter(WEEK), chunk=2)]
    assert len(chunked) == 6 and len(set(chunked)) == 6
    assert chunked == [r.id for r in s.iter_appointments(admin, AppointmentFilter(WEEK), chunk=1000)]

    data = appointments_csv(s, admin, AppointmentFilter(WEEK, department_id=world.general), BERLIN)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == APPOINTMENT_HEADER
    body = {int(r[0]): dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(body) == {world.ids[k] for k in ("wes-tue", "wil-thu", "anna-fri")}
    tuesday = body[world.ids["wes-tue"]]
    assert (tuesday["date"], tuesday["start"], tuesday["end"]) == ("2026-03-24", "10:00", "10:15")
    assert (tuesday["status"], tuesday["doctor"], tuesday["patient"]) == ("cancelled", "Dr Okafor", "Wes")
    assert tuesday["reason"] == '\'=HYPERLINK("http://evil.test")'  # text in a spreadsheet, not a formula
    assert body[world.ids["anna-fri"]]["visit type"] == "follow-up"


def test_board_export_holds_the_figures(world: World) -> None:
    board = world.stats.board(world.admin, WEEK, today=day(0))
    rows = list(csv.reader(io.StringIO(board_csv(board, "Europe/Berlin").decode("utf-8-sig"))))
    assert rows[0] == ["section", "item", "measure", "value"]
    cells = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert cells[("summary", "appointments", "count")] == "6"
    assert cells[("summary", "cancellation rate", "percent")] == "33.3 %"
    assert cells[("summary", "no-show rate", "percent")] == "50.0 %"
    assert cells[("by status", "cancelled", "count")] == "2"
    assert cells[("by department", "General Practice", "noshow")] == "1"
    assert cells[("utilisation", "Dr Okafor", "offered minutes")] == "720"
    assert cells[("new patient accounts", "2026-03-23", "count")] == "2"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30", "'+49 30"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=x", "'\t=x"),
        ("Anna", "Anna"),
        ("", ""),
        (None, ""),
        (12, "12"),
        ("a=b", "a=b"),
    ],
)
def test_csv_cells_that_would_be_formulas_stay_text(value: object, cell: str) -> None:
    assert csv_cell(value) == cell
