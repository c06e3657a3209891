"""Repositories, constraints and migrations on a real database: SQLite always, Postgres when configured."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import data.tables  # noqa: F401  - registers the tables
from data.db import make_engine
from data.migrate import downgrade, upgrade
from data.tables import AccountRow
from data.uow import SqlUnitOfWorkFactory
from domain.bus import MessageBus
from domain.errors import Conflict, SlotTaken
from domain.events import DirectoryChanged, DomainEvent
from domain.model import (
    Account,
    AccountStatus,
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    Patient,
    Role,
    WeeklyTemplate,
    WorkingHours,
    utcnow,
)

START = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)  # Monday 09:00 in Berlin
END = START + timedelta(minutes=30)


@pytest.fixture
def bus() -> MessageBus:
    return MessageBus()


@pytest.fixture
def uows(engine: Engine, bus: MessageBus) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine, bus)


def seed(uows: SqlUnitOfWorkFactory, patients: int = 3) -> tuple[int, list[int]]:
    with uows() as uow:
        department = uow.departments.add(Department("Cardiology", "Hearts"))
        doctor = uow.doctors.add(Doctor(None, "Dr Weber", "Cardiology", department.id, slot_minutes=30))
        people = [uow.patients.add(Patient(None, f"Patient {i}", date(1980, 1, i + 1))) for i in range(patients)]
        uow.commit()
    assert doctor.id is not None
    return doctor.id, [p.id for p in people if p.id is not None]


def appointment(doctor_id: int, patient_id: int, status=AppointmentStatus.BOOKED, start=START) -> Appointment:
    return Appointment(doctor_id, patient_id, start, start + timedelta(minutes=30), status=status)


def count_rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


# ---- migrations -----------------------------------------------------------------------------


def test_migrations_build_the_schema_from_zero_and_back(empty_db_url: str) -> None:
    expected = set(SQLModel.metadata.tables)
    engine = make_engine(empty_db_url)
    try:
        assert set(sa.inspect(engine).get_table_names()) == set()

        upgrade(empty_db_url)
        assert set(sa.inspect(engine).get_table_names()) == expected | {"alembic_version"}
        indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes("appointment")}
        assert indexes["uq_appointment_active_slot"]["unique"]

        downgrade(empty_db_url, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}

        upgrade(empty_db_url)
        assert set(sa.inspect(engine).get_table_names()) == expected | {"alembic_version"}
        doctor_id, (patient_id, *_) = seed(SqlUnitOfWorkFactory(engine), patients=1)
        with SqlUnitOfWorkFactory(engine)() as uow:
            uow.appointments.add(appointment(doctor_id, patient_id))
            uow.commit()
        assert count_rows(engine, "appointment") == 1
    finally:
        engine.dispose()


# ---- the one-active-appointment-per-slot index ----------------------------------------------


def test_database_refuses_a_second_active_appointment_for_one_slot(uows, engine) -> None:
    doctor_id, (anna, ben, carl) = seed(uows)
    with uows() as uow:
        first = uow.appointments.add(appointment(doctor_id, anna))
        with pytest.raises(SlotTaken, match="This slot was just taken"):
            uow.appointments.add(appointment(doctor_id, ben))
        with pytest.raises(SlotTaken):
            uow.appointments.add(appointment(doctor_id, carl, AppointmentStatus.PENDING))
        uow.commit()  # the refused inserts did not spoil the transaction
    with uows() as uow:
        with pytest.raises(SlotTaken):
            uow.appointments.add(appointment(doctor_id, ben, AppointmentStatus.CHECKED_IN))
    assert count_rows(engine, "appointment") == 1
    with uows() as uow:
        assert [a.id for a in uow.appointments.active_for_doctor(doctor_id, START, END)] == [first.id]


def test_a_cancelled_appointment_frees_the_slot_in_the_database(uows, engine) -> None:
    doctor_id, (anna, ben, _) = seed(uows)
    with uows() as uow:
        first = uow.appointments.add(appointment(doctor_id, anna))
        uow.commit()
    with uows() as uow:
        stored = uow.appointments.get(first.id)
        stored.status, stored.cancelled_at = AppointmentStatus.CANCELLED, utcnow()
        uow.appointments.save(stored)
        second = uow.appointments.add(appointment(doctor_id, ben))
        uow.commit()
    with uows() as uow:
        assert [a.id for a in uow.appointments.active_for_doctor(doctor_id, START, END)] == [second.id]
        # bringing the cancelled one back while the slot is held is refused too
        again = uow.appointments.get(first.id)
        again.status = AppointmentStatus.BOOKED
        with pytest.raises(SlotTaken):
            uow.appointments.save(again)
    assert count_rows(engine, "appointment") == 2


def test_several_fulfilled_or_cancelled_appointments_may_share_a_slot(uows, engine) -> None:
    doctor_id, (anna, ben, carl) = seed(uows)
    with uows() as uow:
        uow.appointments.add(appointment(doctor_id, anna, AppointmentStatus.FULFILLED))
        uow.appointments.add(appointment(doctor_id, ben, AppointmentStatus.FULFILLED))
        uow.appointments.add(appointment(doctor_id, carl, AppointmentStatus.CANCELLED))
        uow.appointments.add(appointment(doctor_id, carl, AppointmentStatus.CANCELLED))
        uow.appointments.add(appointment(doctor_id, carl, AppointmentStatus.BOOKED))
        uow.commit()
    assert count_rows(engine, "appointment") == 5
    with uows() as uow:
        assert [a.patient_id for a in uow.appointments.active_for_doctor(doctor_id, START, END)] == [carl]


# ---- round trips ----------------------------------------------------------------------------


def test_appointments_round_trip_with_aware_utc_datetimes(uows) -> None:
    doctor_id, (anna, *_) = seed(uows)
    created = datetime(2026, 4, 1, 12, 34, 56, 789000, tzinfo=UTC)
    cancelled = datetime(2026, 4, 2, 8, 0, 1, tzinfo=UTC)
    original = Appointment(
        doctor_id, anna, START, END, AppointmentStatus.BOOKED, "Chest pain – “urgent”", created_at=created
    )
    with uows() as uow:
        uow.appointments.add(original)
        uow.commit()
    with uows() as uow:
        loaded = uow.appointments.get(original.id)
        assert loaded == original
        for moment in (loaded.start, loaded.end, loaded.created_at):
            assert moment.utcoffset() == timedelta(0)
        loaded.status, loaded.cancelled_at, loaded.cancel_reason = AppointmentStatus.CANCELLED, cancelled, "ill"
        uow.appointments.save(loaded)
        uow.commit()
    with uows() as uow:
        again = uow.appointments.get(original.id)
    assert (again.status, again.cancelled_at, again.cancel_reason) == (AppointmentStatus.CANCELLED, cancelled, "ill")
    assert again.cancelled_at.utcoffset() == timedelta(0)


def test_an_offset_datetime_keeps_its_instant(uows) -> None:
    """09:00+02:00 is 07:00 UTC: it must not come back as 09:00 UTC (SQLite drops offsets on write)."""
    doctor_id, (anna, *_) = seed(uows)
    berlin_summer = timezone(timedelta(hours=2))
    with uows() as uow:
        added = uow.appointments.add(appointment(doctor_id, anna, start=START.astimezone(berlin_summer)))
        uow.commit()
    with uows() as uow:
        loaded = uow.appointments.get(added.id)
        assert (loaded.start, loaded.start.utcoffset()) == (START, timedelta(0))
        assert [a.id for a in uow.appointments.active_for_doctor(doctor_id, START, END)] == [added.id]
        assert uow.appointments.active_for_doctor(doctor_id, START.astimezone(berlin_summer), END) != []


def test_postgres_session_in_another_time_zone_still_gives_utc(pg_url: str) -> None:
    engine = make_engine(pg_url, connect_args={"options": "-c timezone=America/New_York"})
    try:
        uows = SqlUnitOfWorkFactory(engine)
        doctor_id, (anna, *_) = seed(uows, patients=1)
        with uows() as uow:
            added = uow.appointments.add(appointment(doctor_id, anna))
            uow.commit()
        assert added.id is not None
        with uows() as uow:
            loaded = uow.appointments.get(added.id)
        assert loaded is not None and loaded.start == START and loaded.start.utcoffset() == timedelta(0)
    finally:
        engine.dispose()


def test_active_lookups_find_overlaps_only(uows) -> None:
    doctor_id, (anna, ben, _) = seed(uows)
    with uows() as uow:
        booked = uow.appointments.add(appointment(doctor_id, anna))  # 07:00-07:30 UTC
        uow.appointments.add(appointment(doctor_id, ben, AppointmentStatus.CANCELLED, START + timedelta(hours=1)))
        uow.commit()
    with uows() as uow:
        repo = uow.appointments
        assert [a.id for a in repo.active_for_patient(anna, START + timedelta(minutes=29), END + timedelta(hours=1))]
        assert [a.id for a in repo.active_for_patient(anna, START - timedelta(hours=1), END)] == [booked.id]
        assert repo.active_for_patient(anna, END, END + timedelta(minutes=30)) == []  # adjacent
        assert repo.active_for_patient(anna, START - timedelta(minutes=30), START) == []  # adjacent
        assert repo.active_for_patient(ben, START, START + timedelta(hours=2)) == []  # cancelled only
        assert repo.active_for_doctor(doctor_id + 1000, START, END) == []


def test_directory_round_trips(uows) -> None:
    with uows() as uow:
        account = uow.accounts.add(
            Account("doc@hospital.test", Role.DOCTOR, "Dr Ängström", "argon2-hash", AccountStatus.ACTIVE)
        )
        invited = uow.accounts.add(Account(None, Role.PATIENT, "Imported", None, AccountStatus.INVITED))
        department = uow.departments.add(Department("Neurology", "Brains & nerves"))
        doctor = uow.doctors.add(Doctor(account.id, "Dr Ängström", "Neurology", department.id, account.email, 20))
        patient = uow.patients.add(Patient(invited.id, "Imported", date(1950, 12, 31), None, "female", "+49 30 1"))
        hours = [WorkingHours(3, time(13), time(17)), WorkingHours(0, time(8, 30), time(12))]
        uow.doctors.save_template(doctor.id, WeeklyTemplate(date(2026, 1, 5), tuple(hours), 20))
        uow.commit()
    with uows() as uow:
        assert uow.accounts.get(account.id) == account
        assert uow.accounts.by_email("doc@hospital.test") == account
        assert uow.accounts.get(invited.id) == invited and not invited.can_log_in()
        assert uow.departments.by_name("NEUROLOGY") == department
        assert uow.doctors.get(doctor.id) == doctor and uow.doctors.by_account(account.id) == doctor
        assert uow.patients.get(patient.id) == patient and uow.patients.by_account(invited.id) == patient
        assert uow.doctors.templates(doctor.id) == [WeeklyTemplate(date(2026, 1, 5), (hours[1], hours[0]), 20)]
        # a later template is added beside it; one from an earlier date replaces everything from that date on
        uow.doctors.save_template(doctor.id, WeeklyTemplate(date(2026, 2, 2), tuple(hours[:1]), 30))
        changed = uow.accounts.get(account.id)
        changed.status = AccountStatus.DEACTIVATED
        uow.accounts.save(changed)
        uow.commit()
    with uows() as uow:
        assert [t.effective_from for t in uow.doctors.templates(doctor.id)] == [date(2026, 1, 5), date(2026, 2, 2)]
        assert uow.doctors.templates(doctor.id)[1].hours == tuple(hours[:1])
        uow.doctors.save_template(doctor.id, WeeklyTemplate(date(2026, 1, 1), (), 15))
        uow.commit()
    with uows() as uow:
        assert uow.doctors.templates(doctor.id) == [WeeklyTemplate(date(2026, 1, 1), (), 15)]
        assert uow.accounts.get(account.id).status == AccountStatus.DEACTIVATED


def test_account_email_is_unique(uows, engine) -> None:
    with uows() as uow:
        uow.accounts.add(Account("anna@mail.test", Role.PATIENT, "Anna", "h"))
        uow.accounts.add(Account(None, Role.PATIENT, "Imported 1"))  # several accounts without an email are fine
        uow.accounts.add(Account(None, Role.PATIENT, "Imported 2"))
        uow.commit()
    with uows() as uow, pytest.raises(Conflict, match="An account with this email already exists"):
        uow.accounts.add(Account("anna@mail.test", Role.DOCTOR, "Someone else", "h"))
    assert count_rows(engine, "account") == 3


def test_department_names_are_unique(uows) -> None:
    with uows() as uow:
        uow.departments.add(Department("Radiology"))
        uow.commit()
    with uows() as uow, pytest.raises(Conflict, match="already exists"):
        uow.departments.add(Department("Radiology"))


# ---- the unit of work: commit, rollback, events ----------------------------------------------


def test_events_are_published_after_the_commit_is_visible(uows, bus) -> None:
    doctor_id, (anna, *_) = seed(uows)
    seen: list[tuple[DomainEvent, int]] = []

    def handler(event: DomainEvent) -> None:  # reads through another session: the change must be committed
        with uows() as other:
            seen.append((event, len(other.appointments.active_for_doctor(doctor_id, START, END))))

    bus.subscribe(handler)
    with uows() as uow:
        uow.appointments.add(appointment(doctor_id, anna))
        uow.record(DirectoryChanged("booked"))
        assert seen == []
        uow.commit()
    assert seen == [(DirectoryChanged("booked"), 1)]


def test_a_failing_commit_publishes_nothing_and_keeps_nothing(uows, bus, engine) -> None:
    published: list[DomainEvent] = []
    bus.subscribe(published.append)
    with uows() as uow:
        uow.accounts.add(Account("dup@mail.test", Role.PATIENT, "First", "h"))
        uow.commit()
    with uows() as uow:
        uow.departments.add(Department("Kept only if the commit succeeds"))
        uow.record(DirectoryChanged("department"))
        # a clash that only surfaces at commit time (not flushed before)
        uow.session.add(AccountRow(email="dup@mail.test", role="patient", display_name="Second", created_at=utcnow()))
        with pytest.raises(Conflict, match="clashes with a change somebody else just made"):
            uow.commit()
    assert published == []
    assert count_rows(engine, "department") == 0
    assert count_rows(engine, "account") == 1


def test_leaving_without_commit_discards_the_work(uows, bus, engine) -> None:
    published: list[DomainEvent] = []
    bus.subscribe(published.append)
    doctor_id, (anna, *_) = seed(uows)
    with uows() as uow:
        uow.appointments.add(appointment(doctor_id, anna))
        uow.record(DirectoryChanged("never"))
    assert count_rows(engine, "appointment") == 0
    assert published == []


def test_doctor_search_ignores_case_and_on_sqlite_accents(sqlite_url: str) -> None:
    from data.db import make_engine
    from data.queries import Queries
    from data.uow import SqlUnitOfWorkFactory
    from domain.model import Department, Doctor

    engine = make_engine(sqlite_url)
    with SqlUnitOfWorkFactory(engine)() as uow:
        dept = uow.departments.add(Department(name="Pädiatrie", description="Kinder und Jugendliche"))
        uow.doctors.add(
            Doctor(account_id=None, name="Dr. Lucía Fernández", specialty="Pediatrics", department_id=dept.id)
        )
        uow.commit()
    queries = Queries(engine)
    for search in ["Fernández", "fernandez", "LUCIA", "pädiatrie", "PADIATRIE", "Dr. Fernandez", "fernandez lucia"]:
        assert [d.name for d in queries.doctors(search=search).items] == ["Dr. Lucía Fernández"], search
    assert [d.name for d in queries.doctors(search="jugendliche").items] == ["Dr. Lucía Fernández"]  # description
    assert queries.doctors(search="fernandes").total == 0
    assert queries.doctors(search="lucia cardiology").total == 0  # every word must match
    with SqlUnitOfWorkFactory(engine)() as uow:
        assert uow.departments.by_name("PÄDIATRIE") is not None  # so 'PÄDIATRIE' cannot be created twice
    engine.dispose()
