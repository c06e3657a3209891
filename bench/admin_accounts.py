"""How fast are the admin's account lists with many patients?

Seeds N patients (default 10,000; most with an account, some deactivated or invited, some imported without an
account) and 200 doctors into a temporary SQLite database, then times the queries behind /admin/patients and
/admin/doctors (data/account_queries.py): paging, searching by a name or an email, filtering by status. Prints
p50/p95/max in milliseconds over many queries each.

    .venv/bin/python bench/admin_accounts.py [--patients 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from data.account_queries import AccountQueries  # noqa: E402
from data.db import make_engine  # noqa: E402
from data.migrate import upgrade  # noqa: E402
from data.tables import AccountRow, DepartmentRow, DoctorRow, PatientRow  # noqa: E402

_ACCOUNT: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
_DEPARTMENT: sa.Table = DepartmentRow.__table__  # type: ignore[attr-defined]
_DOCTOR: sa.Table = DoctorRow.__table__  # type: ignore[attr-defined]
_PATIENT: sa.Table = PatientRow.__table__  # type: ignore[attr-defined]
FIRST = ["Maria", "Jonas", "Grace", "Tomás", "Amara", "Sean", "Léa", "Yusuf", "Ingrid", "Chen", "Olga", "Ravi"]
LAST = ["Schmidt", "Müller", "Álvarez", "O'Neill", "Okafor", "Weber", "Nguyen", "Kowalski", "Fischer", "Rossi"]


def seed(url: str, patients: int, doctors: int) -> None:
    engine = make_engine(url)
    rng = random.Random(7)
    now = datetime.now(UTC)
    accounts, people = [], []
    for i in range(patients):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
        email = f"patient{i}@mail.test"
        roll = rng.random()
        status = "deactivated" if roll < 0.03 else "invited" if roll < 0.10 else "active"
        has_account = roll < 0.95
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(30000))
        people.append({"name": name, "email": email, "birth_date": born, "fhir_id": None if roll < 0.9 else f"p{i}"})
        accounts.append(
            {
                "email": email,
                "role": "patient",
                "display_name": name,
                "password_hash": "x",
                "status": status,
                "status_reason": "Moved away" if status == "deactivated" else "",
                "created_at": now,
            }
            if has_account
            else None
        )
    with engine.begin() as conn:
        conn.execute(sa.insert(_DEPARTMENT), [{"name": f"Department {i}", "description": ""} for i in range(10)])
        dept_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM department"))]
        wanted = [a for a in accounts if a is not None]
        conn.execute(sa.insert(_ACCOUNT), wanted)
        ids: dict[str, int] = {e: i for e, i in conn.execute(sa.text("SELECT email, id FROM account"))}
        for person, account in zip(people, accounts, strict=True):
            person["account_id"] = ids[str(account["email"])] if account is not None else None
        conn.execute(sa.insert(_PATIENT), people)
        doctor_accounts = [
            {
                "email": f"dr{i}@hospital.test",
                "role": "doctor",
                "display_name": f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)}",
                "password_hash": "x",
                "status": "active",
                "status_reason": "",
                "created_at": now,
            }
            for i in range(doctors)
        ]
        conn.execute(sa.insert(_ACCOUNT), doctor_accounts)
        ids = {e: i for e, i in conn.execute(sa.text("SELECT email, id FROM account WHERE role = 'doctor'"))}
        conn.execute(
            sa.insert(_DOCTOR),
            [
                {
                    "account_id": ids[str(a["email"])],
                    "name": a["display_name"],
                    "specialty": rng.choice(["Cardiology", "Dermatology", "General Practice", "Neurology"]),
                    "department_id": rng.choice(dept_ids),
                    "email": a["email"],
                    "slot_minutes": 15,
                    "min_notice_hours": 1,
                    "horizon_days": 28,
                }
                for a in doctor_accounts
            ],
        )
    engine.dispose()


def measure(name: str, runs: int, call: Callable[[int], object]) -> None:
    times = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"  {name:44} p50 {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms   max {times[-1]:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--doctors", type=int, default=200)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hs-bench-accounts-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        upgrade(url)
        started = time.perf_counter()
        seed(url, args.patients, args.doctors)
        print(f"Seeded {args.patients} patients and {args.doctors} doctors in {time.perf_counter() - started:.1f} s")
        engine = make_engine(url)
        queries = AccountQueries(engine)
        rng = random.Random(11)
        pages = max(1, args.patients // 25)
        words = [w.lower() for w in FIRST + LAST]
        n = args.queries
        print(f"SQLite, {n} queries each (25 rows a page, with the total count):")
        measure(
            "patients: a page (offset anywhere)",
            n,
            lambda i: queries.patient_accounts("", None, 25, rng.randrange(pages) * 25),
        )
        measure("patients: first page", n, lambda i: queries.patient_accounts("", None, 25, 0))
        measure("patients: search one name word", n, lambda i: queries.patient_accounts(rng.choice(words)))
        measure(
            "patients: search two words",
            n,
            lambda i: queries.patient_accounts(f"{rng.choice(FIRST)} {rng.choice(LAST)}"),
        )
        measure(
            "patients: search an exact email",
            n,
            lambda i: queries.patient_accounts(f"patient{rng.randrange(args.patients)}@mail.test"),
        )
        measure("patients: deactivated only", n, lambda i: queries.patient_accounts("", "deactivated"))
        measure(
            "patients: one patient (detail page)", n, lambda i: queries.patient_account(rng.randrange(1, args.patients))
        )
        measure("doctors: a page", n, lambda i: queries.doctor_accounts("", None, 25, rng.randrange(8) * 25))
        measure("doctors: search a specialty", n, lambda i: queries.doctor_accounts("cardio"))
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
