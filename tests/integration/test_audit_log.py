"""The audit trail is append-only: no port or repository can change or delete an entry, the database refuses
UPDATE and DELETE (SQLite and Postgres), and services that write audit events leave earlier entries as they were."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data import uow as sql_uow
from data.audit_queries import AuditFilter, AuditQueries
from data.security import Argon2Hasher
from data.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from domain import ports
from domain.errors import NotAllowed
from domain.model import Account, Actor, AuditEvent, Patient, Role
from domain.services import Services
from tests.fakes import BERLIN, FixedClock

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


def public_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_no_port_or_repository_can_change_an_entry() -> None:
    assert public_methods(ports.AuditRepo) == {"add"}
    assert public_methods(sql_uow.AuditRepo) == {"add"}


def entries(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT * FROM audit_event ORDER BY id")).all()]


def test_the_database_refuses_update_and_delete(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        uow.audit.add(AuditEvent(NOW, 1, "admin", "leave.add", "leave", 5, detail="original"))
        uow.commit()
    before = entries(engine)
    for statement in (
        "UPDATE audit_event SET detail = 'forged'",
        "UPDATE audit_event SET at = :t",
        "DELETE FROM audit_event",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement), {"t": NOW - timedelta(days=1)})
    if engine.dialect.name == "postgresql":  # row triggers do not see TRUNCATE; a statement trigger does
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_event"))
    assert entries(engine) == before


def test_the_database_refuses_to_change_a_signed_visit_version(engine: Engine) -> None:
    from sqlmodel import Session

    from data.tables import AccountRow, EncounterRevisionRow, EncounterRow, PatientRow

    with Session(engine) as session:
        doctor = AccountRow(email="d@h.test", role="doctor", display_name="Dr D", created_at=NOW)
        patient = PatientRow(name="P")
        session.add_all([doctor, patient])
        session.flush()
        encounter = EncounterRow(patient_id=patient.id or 0, start_at=NOW)
        session.add(encounter)
        session.flush()
        session.add(
            EncounterRevisionRow(
                encounter_id=encounter.id or 0,
                version=1,
                kind="signed",
                at=NOW,
                by_account_id=doctor.id or 0,
                by_name="Dr D",
                content={"chief_complaint": "cough"},
            )
        )
        session.commit()
    statements = ["UPDATE encounter_revision SET reason = 'forged'", "DELETE FROM encounter_revision"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE encounter_revision")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="cannot be changed"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reason FROM encounter_revision")).scalars().all() == [""]


def test_services_that_write_audit_events_leave_earlier_entries_unchanged(engine: Engine) -> None:
    clock = FixedClock(NOW)
    svc = Services(SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), clock, BERLIN)
    with svc.uow() as uow:
        admin_account = uow.accounts.add(Account("admin@hospital.test", Role.ADMIN, "Admin", "not-a-real-hash"))
        uow.audit.add(AuditEvent(NOW, admin_account.id, "admin", "record.view", "patient", 1, detail="first"))
        uow.commit()
    before = entries(engine)
    admin = svc.actor_for(admin_account.id or 0)
    svc.add_leave(admin, None, NOW.date() + timedelta(days=3), NOW.date() + timedelta(days=3), "full", "holiday")
    after = entries(engine)
    assert after[: len(before)] == before  # earlier entries exactly as they were
    assert [r[4] for r in after[len(before) :]] == ["closure.add"]  # the service only appended


def test_viewer_reads_newest_first_with_filters_and_patients_only_their_own(engine: Engine) -> None:
    with SqlUnitOfWork(engine) as uow:
        doctor = uow.accounts.add(Account("doc@hospital.test", Role.DOCTOR, "Dr Weber", "h"))
        anna_account = uow.accounts.add(Account("anna@mail.test", Role.PATIENT, "Anna", "h"))
        ben_account = uow.accounts.add(Account("ben@mail.test", Role.PATIENT, "Ben", "h"))
        anna = uow.patients.add(Patient(anna_account.id, "Anna Berg", None))
        ben = uow.patients.add(Patient(ben_account.id, "Ben Ode", None))
        for minutes, action, patient in (
            (1, "record.view", anna.id),
            (2, "visit.save", anna.id),
            (3, "record.view", ben.id),
            (4, "appointment.status", anna.id),
            (5, "schedule.change", None),
        ):
            uow.audit.add(
                AuditEvent(NOW + timedelta(minutes=minutes), doctor.id, "doctor", action, "x", 1, patient_id=patient)
            )
        uow.commit()
    q = AuditQueries(engine)
    admin = Actor(999, Role.ADMIN)
    page = q.search(admin, AuditFilter(), limit=2)
    assert page.total == 5 and [e.action for e in page.items] == ["schedule.change", "appointment.status"]
    assert [e.action for e in q.search(admin, AuditFilter(), limit=2, offset=4).items] == ["record.view"]
    assert q.search(admin, AuditFilter(action="record.view")).total == 2
    assert {e.patient_name for e in q.search(admin, AuditFilter(patient="berg")).items} == {"Anna Berg"}
    assert q.search(admin, AuditFilter(actor="weber")).total == 5
    assert q.search(admin, AuditFilter(actor="nobody")).total == 0
    window = AuditFilter(start=NOW + timedelta(minutes=2), end=NOW + timedelta(minutes=4))
    assert [e.action for e in q.search(admin, window).items] == ["record.view", "visit.save"]
    assert "record.view" in q.actions(admin)

    anna_actor = Actor(anna_account.id or 0, Role.PATIENT, patient_id=anna.id)
    mine = q.record_access(anna_actor)
    assert [e.action for e in mine.items] == ["visit.save", "record.view"]  # not the appointment entry, not Ben's
    assert all(e.patient_id == anna.id for e in mine.items) and mine.items[0].actor_name == "Dr Weber"
    with pytest.raises(NotAllowed):
        q.search(anna_actor, AuditFilter())
    with pytest.raises(NotAllowed):
        q.record_access(admin)
