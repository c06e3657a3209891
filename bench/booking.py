"""Booking under load: N concurrent clients (threads) book through the same Services the UI uses.

    .venv/bin/python bench/booking.py [--clients 16] [--requests 25] [--slots 4] [--postgres URL]

Two scenarios on a temporary SQLite file (and on a temporary Postgres database next to --postgres URL):

- contested: in each of --requests rounds all clients click "book" at the same moment on only --slots times
  (of one doctor), so most requests lose with "This slot was just taken";
- uncontested: each client books its own doctor's times one after another, nobody competes.

Prints bookings per second, requests per second, p50/p95 latency per request in ms, the outcomes, and the
double bookings found by SQL over the appointment table (the same doctor, or the same patient, in two active
appointments that overlap). Exit status 1 when there is a double booking or an unexpected error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time as clock
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from data.db import make_engine  # noqa: E402
from data.migrate import upgrade  # noqa: E402
from data.security import Argon2Hasher, InviteTokens  # noqa: E402
from data.uow import SqlUnitOfWorkFactory  # noqa: E402
from domain.errors import DomainError, SlotTaken  # noqa: E402
from domain.model import ACTIVE_STATUSES, Account, Actor, Patient, Role, WorkingHours  # noqa: E402
from domain.services import Services  # noqa: E402
from tests.fakes import FixedClock  # noqa: E402
from tests.pg import temporary_postgres_database  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 16, 7, 0, tzinfo=TZ).astimezone(UTC)  # a fixed Monday morning: the same run every day
FIRST_DAY = date(2026, 3, 17)
HOURS = [WorkingHours(d, time(8), time(18)) for d in range(7)]  # 60 ten-minute slots a day
GRID = 10
ACTIVE_SQL = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE_STATUSES))
OVERLAPS_SQL = f"""
    SELECT count(*) FROM appointment a JOIN appointment b
      ON a.{{key}} = b.{{key}} AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at
     WHERE a.status IN ({ACTIVE_SQL}) AND b.status IN ({ACTIVE_SQL})
"""  # noqa: S608 - constants only


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="hs-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def setup(svc: Services, doctors: int, patients: int) -> tuple[list[int], list[Actor]]:
    with svc.uow() as uow:
        account = uow.accounts.add(Account("bench-admin@hospital.test", Role.ADMIN, "Admin", "not-a-real-hash"))
        uow.commit()
    assert account.id is not None
    admin = svc.actor_for(account.id)
    department = svc.save_department(admin, "General medicine")
    doctor_ids = []
    for i in range(doctors):
        doctor, invite = svc.onboard_doctor(admin, f"Dr {i}", f"dr{i}@hospital.test", "GP", department.id)
        svc.accept_invite(invite.token, "doctorpass")
        assert doctor.id is not None
        svc.set_availability(admin, doctor.id, HOURS, GRID, min_notice_hours=0, horizon_days=90)
        doctor_ids.append(doctor.id)
    account_ids = []
    with svc.uow() as uow:  # patients stored directly: this measures booking, not password hashing
        for i in range(patients):
            email = f"p{i}@mail.test"
            acc = uow.accounts.add(Account(email, Role.PATIENT, f"Patient {i}", "not-a-real-hash"))
            account_ids.append(uow.patients.add(Patient(acc.id, f"Patient {i}", date(1980, 1, 1), email)).account_id)
        uow.commit()
    return doctor_ids, [svc.actor_for(a) for a in account_ids if a is not None]


def starts(count: int, first_day: date = FIRST_DAY) -> list[datetime]:
    """The first `count` grid times from `first_day` on, local 08:00-18:00 every day, as UTC."""
    per_day = (18 - 8) * 60 // GRID
    return [
        datetime.combine(first_day + timedelta(days=i // per_day), time(8), tzinfo=TZ).astimezone(UTC)
        + timedelta(minutes=GRID * (i % per_day))
        for i in range(count)
    ]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.latencies: list[float] = []

    def attempt(self, call: Callable[[], object]) -> None:
        began = clock.perf_counter()
        try:
            call()
            outcome = "booked"
        except SlotTaken as e:
            outcome = f"SlotTaken: {e.message}"
        except DomainError as e:
            outcome = f"{type(e).__name__}: {e.message}"
        except Exception as e:  # a bug: a 500 for the user
            outcome = f"UNEXPECTED {type(e).__name__}: {e}"
        elapsed = clock.perf_counter() - began
        with self.lock:
            self.outcomes[outcome] += 1
            self.latencies.append(elapsed)


def contested(svc: Services, doctor_id: int, clients: list[Actor], rounds: int, slots: int) -> tuple[Tally, float]:
    tally = Tally()
    times = starts(rounds * slots)
    barrier = threading.Barrier(len(clients))

    def client(i: int, actor: Actor) -> None:
        for r in range(rounds):
            at = times[r * slots + i % slots]
            barrier.wait()  # everybody clicks at the same moment
            tally.attempt(partial(svc.book, actor, doctor_id, at))

    return tally, run_threads([partial(client, i, a) for i, a in enumerate(clients)])


def uncontested(svc: Services, doctor_ids: list[int], clients: list[Actor], requests: int) -> tuple[Tally, float]:
    tally = Tally()
    times = starts(requests, FIRST_DAY + timedelta(days=30))  # after the contested ones: patients stay free
    barrier = threading.Barrier(len(clients))

    def client(doctor_id: int, actor: Actor) -> None:
        barrier.wait()
        for at in times:  # my own doctor, one time after another
            tally.attempt(partial(svc.book, actor, doctor_id, at))

    return tally, run_threads([partial(client, d, a) for d, a in zip(doctor_ids, clients, strict=True)])


def run_threads(bodies: list[Callable[[], None]]) -> float:
    threads = [threading.Thread(target=body) for body in bodies]
    began = clock.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clock.perf_counter() - began


def double_bookings(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        by_doctor = conn.execute(sa.text(OVERLAPS_SQL.format(key="doctor_id"))).scalar_one()
        by_patient = conn.execute(sa.text(OVERLAPS_SQL.format(key="patient_id"))).scalar_one()
    return int(by_doctor), int(by_patient)


def report(name: str, tally: Tally, wall: float, expected: int) -> bool:
    ms = sorted(x * 1000 for x in tally.latencies)
    booked = tally.outcomes["booked"]
    print(
        f"  {name:<12} bookings/s {booked / wall:7.1f}   requests/s {len(ms) / wall:7.1f}   "
        f"p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms   "
        f"({len(ms)} requests, {booked} booked in {wall:.2f} s)"
    )
    for outcome, n in tally.outcomes.most_common():
        if outcome != "booked":
            print(f"  {'':<12} {n:6d} x {outcome}")
    return booked == expected and not any(k.startswith("UNEXPECTED") for k in tally.outcomes)


def run(label: str, url: str, args: argparse.Namespace) -> bool:
    upgrade(url)
    engine = make_engine(url)
    try:
        fixed = FixedClock(NOW, TZ)
        tokens = InviteTokens("bench-invite-secret-0123456789", timedelta(hours=72), now=fixed.now)
        svc = Services(SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), fixed, TZ, invite_tokens=tokens)
        doctor_ids, patients = setup(svc, args.clients + 1, args.clients)
        print(f"\n== {label}: {args.clients} concurrent clients")
        tally, wall = contested(svc, doctor_ids[0], patients, args.requests, args.slots)
        ok = report("contested", tally, wall, args.requests * min(args.slots, args.clients))
        tally, wall = uncontested(svc, doctor_ids[1:], patients, args.requests)
        ok &= report("uncontested", tally, wall, args.requests * args.clients)
        by_doctor, by_patient = double_bookings(engine)
        ok &= by_doctor == 0 and by_patient == 0
        print(
            f"  double bookings (SQL over appointment): {by_doctor} same doctor, {by_patient} same patient -> "
            + ("OK" if ok else "FAILED")
        )
        return ok
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=25, help="requests per client in each scenario")
    parser.add_argument("--slots", type=int, default=4, help="contested: times the clients fight over per round")
    parser.add_argument("--postgres", metavar="URL", help="also run on a temporary database next to this one")
    args = parser.parse_args()
    if not 1 <= args.requests <= 1200 or args.clients < 1 or args.slots < 1:
        parser.error("--requests must be 1..1200, --clients and --slots at least 1")
    ok = True
    with sqlite_database() as url:
        ok &= run("SQLite (WAL, BEGIN IMMEDIATE)", url, args)
    if args.postgres:
        with temporary_postgres_database(args.postgres, prefix="hs_bench") as url:
            ok &= run("Postgres (advisory locks)", url, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
