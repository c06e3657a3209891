"""Admin commands racing each other and bookings, on a real database (SQLite always, Postgres when configured).
A short sleep inside the first command's check widens the check-then-act window, so each test fails without
the locking it covers (on Postgres; SQLite serialises writers anyway)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import domain.services as services_module
from domain.errors import DomainError
from domain.model import Account, Actor, Role, WorkingHours
from domain.services import Services
from tests.fakes import FixedClock
from tests.integration.conftest import sql_services

NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


@pytest.fixture
def svc(engine: Engine) -> Services:
    return sql_services(engine, FixedClock(NOW))


def add_admin(svc: Services, email: str) -> Actor:
    with svc.uow() as uow:
        account = uow.accounts.add(Account(email, Role.ADMIN, email.split("@")[0], "not-a-real-hash"))
        uow.commit()
    assert account.id is not None
    return svc.actor_for(account.id)


def both(first: Callable[[], Any], second: Callable[[], Any]) -> list[str]:
    """Run `first`, then `second` 0.1 s later while the first is still inside its (slowed) check."""

    def outcome(call: Callable[[], Any]) -> str:
        try:
            call()
            return "ok"
        except DomainError:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(outcome, first)
        time.sleep(0.1)
        b = pool.submit(outcome, second)
        return [a.result(timeout=30), b.result(timeout=30)]


def slow_down(monkeypatch: pytest.MonkeyPatch, name: str, seconds: float = 0.4) -> None:
    """Make the first call of Services.<name> in this test linger after doing its work."""
    original = getattr(Services, name)
    first = threading.Event()

    def slowed(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not first.is_set():
            first.set()
            time.sleep(seconds)
        return result

    is_static = isinstance(services_module.Services.__dict__[name], staticmethod)
    monkeypatch.setattr(Services, name, staticmethod(slowed) if is_static else slowed)


def test_two_admins_cannot_deactivate_each_other_at_once(svc: Services, engine: Engine, monkeypatch) -> None:
    a, b = add_admin(svc, "a@hospital.test"), add_admin(svc, "b@hospital.test")
    slow_down(monkeypatch, "_still_active")
    outcomes = both(
        lambda: svc.deactivate_account(a, b.account_id, "left the hospital"),
        lambda: svc.deactivate_account(b, a.account_id, "left the hospital"),
    )
    with engine.connect() as conn:
        active = conn.execute(
            sa.text("SELECT count(*) FROM account WHERE role = 'admin' AND status = 'active'")
        ).scalar_one()
    assert sorted(outcomes) == ["ok", "refused"]
    assert active == 1  # somebody can still run the hospital


def test_a_booking_in_flight_does_not_land_on_a_doctor_just_deactivated(
    svc: Services, engine: Engine, monkeypatch
) -> None:
    admin = add_admin(svc, "admin@hospital.test")
    department = svc.save_department(admin, "General Practice")
    doctor, invite = svc.onboard_doctor(admin, "Dr Busy", "busy@hospital.test", "GP", department.id)
    svc.accept_invite(invite.token, "busy-pass-2026")
    assert doctor.id is not None
    svc.set_availability(admin, doctor.id, [WorkingHours(d, clock_time(8), clock_time(16)) for d in range(7)], 15)
    patient = svc.register_patient("Pat Doe", "pat@hospital.test", "pat-pass-2026", "1990-01-01")
    assert patient.account_id is not None
    pat = svc.actor_for(patient.account_id)
    slot = next(s for s, free in svc.slots(doctor.id, NOW.date() + timedelta(days=3), 3) if free)

    slow_down(monkeypatch, "_check_window")  # the booking has checked the doctor, not yet taken its locks
    outcomes = both(
        lambda: svc.book(pat, doctor.id or 0, slot.start),
        lambda: svc.deactivate_account(admin, invite.account_id, "left the hospital"),
    )
    with engine.connect() as conn:
        booked = conn.execute(
            sa.text("SELECT count(*) FROM appointment WHERE doctor_id = :d AND status = 'booked'"), {"d": doctor.id}
        ).scalar_one()
    if engine.dialect.name == "sqlite":
        # the booking's transaction holds SQLite's write lock from its start: it commits first, and the
        # deactivation after it leaves the appointment for the admin to move or cancel
        assert (outcomes, booked) == (["ok", "ok"], 1)
    else:  # the deactivation commits while the booking waits; under its locks the booking sees it
        assert (outcomes, booked) == (["refused", "ok"], 0)


def test_a_department_cannot_be_deleted_while_a_doctor_joins_it(svc: Services, engine: Engine, monkeypatch) -> None:
    a, b = add_admin(svc, "a@hospital.test"), add_admin(svc, "b@hospital.test")
    department = svc.save_department(a, "Doomed")
    slow_down(monkeypatch, "_still_active")
    outcomes = both(
        lambda: svc.onboard_doctor(a, "Dr Late", "late@hospital.test", "GP", department.id),
        lambda: svc.delete_department(b, department.id or 0),
    )
    with engine.connect() as conn:
        departments = conn.execute(sa.text("SELECT count(*) FROM department WHERE name = 'Doomed'")).scalar_one()
        doctors = conn.execute(sa.text("SELECT count(*) FROM doctor WHERE name = 'Dr Late'")).scalar_one()
    assert outcomes == ["ok", "refused"]  # "still has 1 doctor", not a database error
    assert (departments, doctors) == (1, 1)
