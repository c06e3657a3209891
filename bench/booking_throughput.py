"""Booking throughput: K threads book random slots through Services.book against a real database.

    .venv/bin/python bench/booking_throughput.py [--doctors 10] [--patients 200] [--threads 8] [--attempts 2000]
                                                 [--postgres postgresql://postgres@127.0.0.1:5432/test]

Always runs on a temporary SQLite file; also on a temporary Postgres database when --postgres or
HEALTHSYNC_TEST_POSTGRES_URL is given (the database is created next to the given one and dropped afterwards).
Prints bookings/s, p50/p95 latency per booking, the outcomes (booked, SlotTaken, patient overlap, other), and
checks that no (doctor, start) holds two active appointments and no patient holds two overlapping ones.
Exit status 1 if a check fails or an unexpected exception occurred.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time as clock
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from zoneinfo import ZoneInfo  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from data.db import make_engine  # noqa: E402
from data.migrate import upgrade  # noqa: E402
from data.security import Argon2Hasher  # noqa: E402
from data.uow import SqlUnitOfWorkFactory  # noqa: E402
from domain.errors import Conflict, DomainError, SlotTaken  # noqa: E402
from domain.model import ACTIVE_STATUSES, Account, Actor, Role, WorkingHours  # noqa: E402
from domain.services import Services, SystemClock  # noqa: E402
from tests.pg import temporary_postgres_database  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
HOURS = [WorkingHours(d, time(9), time(12)) for d in range(5)] + [WorkingHours(d, time(13), time(17)) for d in range(5)]
ACTIVE_SQL = ", ".join(f"'{s.value}'" for s in sorted(ACTIVE_STATUSES))


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="hs-bench-") as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def setup(svc: Services, doctors: int, patients: int) -> tuple[list[int], list[Actor]]:
    with svc.uow() as uow:
        account = uow.accounts.add(Account("bench-admin@hospital.test", Role.ADMIN, "Admin", svc.hasher.hash("x" * 10)))
        uow.commit()
    assert account.id is not None
    admin = svc.actor_for(account.id)
    department = svc.save_department(admin, "General medicine")
    doctor_ids = []
    for i in range(doctors):
        doctor = svc.onboard_doctor(admin, f"Dr {i}", f"dr{i}@hospital.test", "GP", department.id, "doctorpass")
        assert doctor.id is not None
        svc.set_availability(admin, doctor.id, HOURS, 15)
        doctor_ids.append(doctor.id)
    actors = []
    for i in range(patients):
        patient = svc.register_patient(f"Patient {i}", f"p{i}@mail.test", "patientpass", "1980-01-01")
        assert patient.account_id is not None
        actors.append(svc.actor_for(patient.account_id))
    return doctor_ids, actors


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run(label: str, url: str, args: argparse.Namespace) -> bool:
    upgrade(url)
    engine = make_engine(url)
    try:
        svc = Services(SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), SystemClock(TZ), TZ)
        doctor_ids, patients = setup(svc, args.doctors, args.patients)
        tomorrow = datetime.now(TZ).date() + timedelta(days=1)
        grid = [(d, slot.start) for d in doctor_ids for slot, _free in svc.slots(d, tomorrow, args.days)]
        rng = random.Random(args.seed)
        work = [(rng.choice(patients), *rng.choice(grid)) for _ in range(args.attempts)]

        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        cursor = iter(work)
        barrier = threading.Barrier(args.threads)

        def worker() -> None:
            barrier.wait()
            while True:
                with lock:
                    item = next(cursor, None)
                if item is None:
                    return
                actor, doctor_id, start = item
                began = clock.perf_counter()
                try:
                    svc.book(actor, doctor_id, start)
                    outcome = "booked"
                except SlotTaken:
                    outcome = "SlotTaken"
                except Conflict:
                    outcome = "patient overlap (Conflict)"
                except DomainError as e:
                    outcome = f"other {type(e).__name__}: {e.message}"
                except Exception as e:  # a bug: would be a 500 for the user
                    outcome = f"UNEXPECTED {type(e).__name__}: {e}"
                elapsed = clock.perf_counter() - began
                with lock:
                    outcomes[outcome] += 1
                    latencies.append(elapsed)

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        began = clock.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = clock.perf_counter() - began

        with engine.connect() as conn:
            duplicates = conn.execute(
                sa.text(
                    "SELECT doctor_id, start_at, count(*) FROM appointment "  # noqa: S608 - constants only
                    f"WHERE status IN ({ACTIVE_SQL}) GROUP BY doctor_id, start_at HAVING count(*) > 1"
                )
            ).all()
            active = conn.execute(
                sa.text(f"SELECT patient_id, start_at, end_at FROM appointment WHERE status IN ({ACTIVE_SQL})")  # noqa: S608
            ).all()
        by_patient: dict[int, list[tuple[datetime, datetime]]] = {}
        for patient_id, start, end in active:
            by_patient.setdefault(patient_id, []).append((start, end))
        overlaps = sum(
            1
            for spans in by_patient.values()
            for a, b in zip(sorted(spans), sorted(spans)[1:], strict=False)
            if b[0] < a[1]
        )

        booked = outcomes["booked"]
        ms = sorted(x * 1000 for x in latencies)
        print(
            f"\n== {label}: {args.doctors} doctors, {args.patients} patients, {len(grid)} free slots, "
            f"{args.attempts} attempts from {args.threads} threads"
        )
        print(f"wall time            {wall:8.2f} s")
        print(f"bookings/s           {booked / wall:8.1f}   (attempts/s {len(latencies) / wall:.1f})")
        print(
            f"latency per booking  p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms"
            f"   p99 {percentile(ms, 99):6.1f} ms   max {ms[-1]:6.1f} ms   (>1 s: {sum(x > 1000 for x in ms)})"
        )
        for outcome, n in outcomes.most_common():
            print(f"  {outcome:<30} {n:6d}")
        print(f"SlotTaken outcomes   {outcomes['SlotTaken']}")
        ok = not duplicates and not overlaps and len(active) == booked
        ok = ok and not any(k.startswith("UNEXPECTED") for k in outcomes)
        print(
            f"final check          {len(active)} active appointments (= {booked} booked: {len(active) == booked}), "
            f"{len(duplicates)} duplicate (doctor, start), {overlaps} overlapping per patient -> "
            + ("OK" if ok else "FAILED")
        )
        return ok
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--doctors", type=int, default=10)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=7, help="local days from tomorrow to book in")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("HEALTHSYNC_TEST_POSTGRES_URL"), metavar="URL")
    args = parser.parse_args()

    ok = True
    with sqlite_database() as url:
        ok &= run("SQLite (WAL, BEGIN IMMEDIATE)", url, args)
    if args.postgres:
        with temporary_postgres_database(args.postgres, prefix="hs_bench") as url:
            ok &= run("Postgres (advisory locks)", url, args)
    else:
        print("\n(Postgres skipped: pass --postgres URL or set HEALTHSYNC_TEST_POSTGRES_URL)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
