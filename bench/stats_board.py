"""Board query timings at hospital scale: ~100,000 appointments over ~50 doctors and 10,000 patients.

    .venv/bin/python bench/stats_board.py [--appointments 100000] [--postgres URL] [--runs 20]

Builds a temporary SQLite database (and a throw-away Postgres database when --postgres or
HEALTHSYNC_TEST_POSTGRES_URL is given), then prints p50/p95 of the board's queries (today, this week, this month,
a quarter), one page of the appointment report and a full CSV export of a week."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from data.db import make_engine  # noqa: E402
from data.exports import appointments_csv  # noqa: E402
from data.migrate import upgrade  # noqa: E402
from data.stats_queries import AppointmentFilter, StatsQueries  # noqa: E402
from domain.model import Actor, Role  # noqa: E402
from domain.stats import DayRange, month_range, today_range, week_range  # noqa: E402

TZ = ZoneInfo("Europe/Berlin")
STATUSES = ["booked"] * 40 + ["fulfilled"] * 35 + ["cancelled"] * 15 + ["noshow"] * 7 + ["arrived"] * 3


def populate(url: str, appointments: int, doctors: int = 50, patients: int = 10_000) -> None:
    rnd = random.Random(7)
    engine = make_engine(url)
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO department (name, description) VALUES "
                + ",".join(f"('Department {i}', '')" for i in range(10))
            )
        )
        accounts = [
            {
                "email": f"p{i}@bench.test",
                "role": "patient",
                "display_name": f"Patient {i}",
                "status": "active",
                "created_at": now - timedelta(minutes=rnd.randrange(60 * 24 * 365)),
            }
            for i in range(patients)
        ] + [
            {
                "email": f"d{i}@bench.test",
                "role": "doctor",
                "display_name": f"Dr {i}",
                "status": "active",
                "created_at": now - timedelta(days=400),
            }
            for i in range(doctors)
        ]
        conn.execute(
            sa.text(
                "INSERT INTO account (email, role, display_name, status, created_at, status_reason) "
                "VALUES (:email, :role, :display_name, :status, :created_at, '')"
            ),
            accounts,
        )
        ids: dict[str, int] = dict(conn.execute(sa.text("SELECT email, id FROM account")).all())
        conn.execute(
            sa.text("INSERT INTO patient (account_id, name) VALUES (:a, :n)"),
            [{"a": ids[f"p{i}@bench.test"], "n": f"Patient {i}"} for i in range(patients)],
        )
        conn.execute(
            sa.text(
                "INSERT INTO doctor (account_id, name, specialty, department_id, slot_minutes, min_notice_hours, "
                "horizon_days) VALUES (:a, :n, 'GP', :d, 15, 1, 28)"
            ),
            [{"a": ids[f"d{i}@bench.test"], "n": f"Dr {i}", "d": 1 + i % 10} for i in range(doctors)],
        )
        doctor_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM doctor ORDER BY id")).all()]
        patient_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM patient")).all()]
        since = today - timedelta(days=400)
        for d in doctor_ids:
            conn.execute(
                sa.text("INSERT INTO schedule_template (doctor_id, effective_from, slot_minutes) VALUES (:d, :f, 15)"),
                {"d": d, "f": since},
            )
        templates: dict[int, int] = dict(conn.execute(sa.text("SELECT doctor_id, id FROM schedule_template")).all())
        conn.execute(
            sa.text(
                "INSERT INTO working_hours (doctor_id, template_id, weekday, start_time, end_time) "
                "VALUES (:d, :t, :w, :s, :e)"
            ),
            [
                {"d": d, "t": templates[d], "w": w, "s": s, "e": e}
                for d in doctor_ids
                for w in range(5)
                for s, e in (("08:00:00", "12:00:00"), ("13:00:00", "17:00:00"))
            ],
        )
        rows: list[dict[str, object]] = []
        seen: set[tuple[int, datetime]] = set()
        start_day = today - timedelta(days=330)
        while len(rows) < appointments:
            d = rnd.choice(doctor_ids)
            day = start_day + timedelta(days=rnd.randrange(360))
            if day.weekday() > 4:
                continue
            hour, quarter = rnd.choice([8, 9, 10, 11, 13, 14, 15, 16]), rnd.randrange(4)
            start = datetime(day.year, day.month, day.day, hour, 15 * quarter, tzinfo=TZ).astimezone(UTC)
            patient = rnd.choice(patient_ids)
            if (d, start) in seen or (-patient, start) in seen:  # one visit per doctor and per patient at a time
                continue
            seen.add((d, start))
            seen.add((-patient, start))
            status = rnd.choice(STATUSES)
            rows.append(
                {
                    "d": d,
                    "p": patient,
                    "s": start,
                    "e": start + timedelta(minutes=15),
                    "st": status,
                    "c": start - timedelta(days=3),
                }
            )
        for i in range(0, len(rows), 10_000):
            conn.execute(
                sa.text(
                    "INSERT INTO appointment (doctor_id, patient_id, start_at, end_at, status, reason, created_at, "
                    "cancel_reason, cancel_code, visit_type) VALUES (:d, :p, :s, :e, :st, '', :c, '', '', '')"
                ),
                rows[i : i + 10_000],
            )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(sa.text("ANALYZE"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def measure(label: str, url: str, runs: int) -> None:
    engine = make_engine(url)
    stats = StatsQueries(engine, TZ)
    admin = Actor(1, Role.ADMIN)
    today = datetime.now(TZ).date()
    quarter = DayRange(today - timedelta(days=91), today)
    cases: list[tuple[str, Callable[[], object], int]] = [
        ("board: today", lambda: stats.board(admin, today_range(today), today), runs),
        ("board: this week", lambda: stats.board(admin, week_range(today), today), runs),
        ("board: this month", lambda: stats.board(admin, month_range(today), today), runs),
        ("board: 92 days", lambda: stats.board(admin, quarter, today), max(3, runs // 4)),
        ("report: page 1 of a month", lambda: stats.appointments(admin, AppointmentFilter(month_range(today))), runs),
        (
            "report: CSV of a week",
            lambda: appointments_csv(stats, admin, AppointmentFilter(week_range(today)), TZ),
            max(3, runs // 4),
        ),
    ]
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM appointment")).scalar_one()
    print(f"\n{label}: {n:,} appointments")
    print(f"{'query':32} {'p50 ms':>9} {'p95 ms':>9}")
    for name, fn, k in cases:
        fn()  # warm up
        p50, p95 = timed(fn, k)
        print(f"{name:32} {p50:9.1f} {p95:9.1f}")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres", default=os.environ.get("HEALTHSYNC_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hs-bench-stats-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        t = time.perf_counter()
        populate(url, args.appointments)
        print(f"SQLite populated in {time.perf_counter() - t:.1f} s")
        measure("SQLite", url, args.runs)
    if args.postgres:
        from tests.pg import temporary_postgres_database

        with temporary_postgres_database(args.postgres, prefix="hs_bench") as pg:
            upgrade(pg)
            populate(pg, args.appointments)
            measure("PostgreSQL", pg, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
