"""Invites, account status and department deletion on a real database (SQLite always, Postgres when
configured): the invite table and its unique nonce, the status reason and time, links that survive a restart,
concurrent use of one link, imported patients, account search and paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.account_queries import AccountQueries
from data.settings import Settings
from domain.errors import Conflict, DomainError, ValidationError
from domain.model import Account, AccountStatus, Actor, Patient, Role, WaitlistEntry
from domain.services import Services
from tests.fakes import FixedClock
from tests.integration.conftest import sql_services

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def svc(engine: Engine, clock: FixedClock) -> Services:
    return sql_services(engine, clock)


@pytest.fixture
def admin(svc: Services) -> Actor:
    with svc.uow() as uow:
        account = uow.accounts.add(Account("admin@hospital.test", Role.ADMIN, "Admin", svc.hasher.hash("adminpass1")))
        uow.commit()
    assert account.id is not None
    return svc.actor_for(account.id)


def row(engine: Engine, sql: str, **params: object) -> sa.Row:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def test_an_invite_is_stored_used_once_and_survives_a_restart(svc, engine, clock, admin) -> None:
    department = svc.save_department(admin, "Cardiology")
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", department.id)
    stored = row(
        engine,
        "SELECT nonce, used_at, revoked_at, created_by_id FROM invite WHERE account_id = :a",
        a=invite.account_id,
    )
    assert stored.used_at is None and stored.revoked_at is None and stored.created_by_id == admin.account_id
    assert len(stored.nonce) >= 24  # a random nonce; the link carries it signed

    restarted = sql_services(engine, clock)  # a new process: the key comes from the settings, not from memory
    assert restarted.invite_details(invite.token).email == "lind@hospital.test"
    restarted.accept_invite(invite.token, "lind-pass-2026")
    assert row(engine, "SELECT status FROM account WHERE id = :a", a=invite.account_id).status == "active"
    assert row(engine, "SELECT used_at FROM invite WHERE account_id = :a", a=invite.account_id).used_at is not None
    with pytest.raises(ValidationError, match="already been used"):
        svc.accept_invite(invite.token, "other-pass-2026")
    other_key = sql_services(engine, clock, secret="a-different-key-entirely")
    with pytest.raises(ValidationError, match="not valid"):
        other_key.invite_details(invite.token)
    actions = [r[0] for r in engine.connect().execute(sa.text("SELECT action FROM audit_event ORDER BY id"))]
    assert actions == ["department.create", "doctor.onboard", "invite.create", "invite.use"]


def test_two_uses_of_one_link_at_once_set_one_password(svc, engine, admin) -> None:
    department = svc.save_department(admin, "Cardiology")
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", department.id)

    def use(password: str) -> str:
        try:
            svc.accept_invite(invite.token, password)
            return password
        except DomainError:
            return ""

    with ThreadPoolExecutor(4) as pool:
        winners = [p for p in pool.map(use, [f"pass-number-{i}" for i in range(4)]) if p]
    assert len(winners) == 1
    assert svc.authenticate("lind@hospital.test", winners[0]).id == invite.account_id


def test_a_newer_invite_revokes_the_older_in_the_database(svc, engine, admin) -> None:
    department = svc.save_department(admin, "Cardiology")
    _, first = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", department.id)
    svc.create_invite(admin, first.account_id)
    revoked = row(
        engine, "SELECT COUNT(*) AS n FROM invite WHERE account_id = :a AND revoked_at IS NOT NULL", a=first.account_id
    )
    assert revoked.n == 1
    with pytest.raises(ValidationError, match="replaced"):
        svc.accept_invite(first.token, "lind-pass-2026")


def test_an_imported_patient_is_linked_and_activated(svc, engine, admin) -> None:
    with engine.begin() as conn:  # as the FHIR importer leaves it: a record, no account
        conn.execute(
            sa.text("INSERT INTO patient (name, birth_date, fhir_id) VALUES ('Jonas Weber', '1970-01-05', 'p-1')")
        )
        patient_id = conn.execute(sa.text("SELECT id FROM patient WHERE fhir_id = 'p-1'")).scalar_one()
    invite = svc.invite_patient(admin, patient_id, "jonas@mail.test")
    linked = row(
        engine,
        "SELECT p.account_id, p.email, a.status, a.role FROM patient p JOIN account a "
        "ON a.id = p.account_id WHERE p.id = :p",
        p=patient_id,
    )
    assert (linked.account_id, linked.email, linked.status, linked.role) == (
        invite.account_id,
        "jonas@mail.test",
        "invited",
        "patient",
    )
    account = svc.accept_invite(invite.token, "jonas-pass-2026")
    assert account.id is not None
    assert svc.actor_for(account.id).patient_id == patient_id
    svc.register_patient("Eva", "eva@mail.test", "eva-pass-2026", "1980-01-01")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO patient (name, fhir_id) VALUES ('Someone', 'p-2')"))
        second = conn.execute(sa.text("SELECT id FROM patient WHERE fhir_id = 'p-2'")).scalar_one()
    with pytest.raises(Conflict, match="already uses this email"):
        svc.invite_patient(admin, second, "EVA@mail.test")
    assert row(engine, "SELECT account_id FROM patient WHERE id = :p", p=second).account_id is None


def test_status_reason_and_time_are_stored_and_listed(svc, engine, clock, admin) -> None:
    patient = svc.register_patient("Eva Meier", "eva@mail.test", "eva-pass-2026", "1980-01-01")
    assert patient.account_id is not None
    svc.deactivate_account(admin, patient.account_id, "Moved abroad")
    stored = row(
        engine, "SELECT status, status_reason, status_changed_at FROM account WHERE id = :a", a=patient.account_id
    )
    assert (stored.status, stored.status_reason) == ("deactivated", "Moved abroad")
    assert stored.status_changed_at is not None
    listed = AccountQueries(engine).patient_accounts("meier", status="deactivated").items
    assert [(p.name, p.status, p.status_reason) for p in listed] == [("Eva Meier", "deactivated", "Moved abroad")]
    assert AccountQueries(engine).patient_accounts("meier", status="active").total == 0


def test_an_empty_department_is_deleted_with_its_waiting_list(svc, engine, admin) -> None:
    full = svc.save_department(admin, "Cardiology")
    empty = svc.save_department(admin, "Neurology")
    assert full.id is not None and empty.id is not None
    svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", full.id)
    patient = svc.register_patient("Eva Meier", "eva@mail.test", "eva-pass-2026", "1980-01-01")
    assert patient.id is not None
    with svc.uow() as uow:
        uow.waitlist.add(WaitlistEntry(patient.id, None, empty.id, date(2026, 3, 17), date(2026, 4, 1), NOW))
        uow.commit()
    with pytest.raises(Conflict, match="still has 1 doctor"):
        svc.delete_department(admin, full.id)
    assert svc.delete_department(admin, empty.id) == 1
    assert row(engine, "SELECT COUNT(*) AS n FROM department WHERE id = :d", d=empty.id).n == 0
    entry = row(engine, "SELECT status, department_id FROM waitlist_entry WHERE patient_id = :p", p=patient.id)
    assert (entry.status, entry.department_id) == ("left", None)


def test_account_search_pages_on_the_server(svc, engine, admin) -> None:
    with svc.uow() as uow:
        for i in range(30):
            account = uow.accounts.add(
                Account(f"p{i}@mail.test", Role.PATIENT, f"Patient {i:02d}", "x", AccountStatus.ACTIVE)
            )
            uow.patients.add(Patient(account.id, f"Patient {i:02d}", date(1980, 1, 1), account.email))
        uow.commit()
    queries = AccountQueries(engine)
    first, second = queries.patient_accounts("", limit=25), queries.patient_accounts("", limit=25, offset=25)
    assert (first.total, len(first.items), len(second.items)) == (30, 25, 5)
    assert first.items[0].name == "Patient 00" and second.items[-1].name == "Patient 29"
    assert [p.name for p in queries.patient_accounts("patient 1").items][:2] == ["Patient 01", "Patient 10"]
    assert [p.email for p in queries.patient_accounts("p7@").items] == ["p7@mail.test"]


def test_invite_key_comes_from_the_settings() -> None:
    derived = Settings(storage_secret="s" * 32).invite_key()
    assert derived == Settings(storage_secret="s" * 32).invite_key() != "s" * 32  # stable, not the secret itself
    assert Settings(storage_secret="s" * 32, invite_secret="i" * 32).invite_key() == "i" * 32


def test_a_weak_invite_secret_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="INVITE_SECRET is too weak"):
        Settings(mode="production", storage_secret="s" * 32, invite_secret="short")
