"""Time the patient timeline's first page for the heaviest patient of the Synthea reference data (most encounters
in its MANIFEST), imported with the real importer into a fresh SQLite database; then again after multiplying that
patient's history 100-fold (copies shifted back in time), to show that a page costs the same however long the
history is (keyset paging; nothing loads everything).

Usage: .venv/bin/python bench/timeline.py [--rounds N]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from data.clinical_queries import ClinicalQueries  # noqa: E402
from data.db import make_engine  # noqa: E402
from data.fhir_import import import_paths  # noqa: E402
from data.migrate import upgrade  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "synthea"


def ms(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def multiply(engine: sa.Engine, patient_id: int, copies: int) -> None:
    """Copies of the patient's encounters (with their diagnoses and prescriptions), each copy 30 years earlier."""
    with engine.begin() as conn:
        base = (
            conn.execute(sa.text("SELECT id FROM encounter WHERE patient_id = :p ORDER BY id"), {"p": patient_id})
            .scalars()
            .all()
        )
        for copy in range(1, copies):
            shift = f"-{copy * 30} years"
            for encounter_id in base:
                new_id = conn.execute(
                    sa.text(
                        "INSERT INTO encounter (patient_id, doctor_id, start_at, end_at, class_code, type_code, "
                        "type_display, reason, location, notes, note_status, chief_complaint, findings, plan, version) "
                        "SELECT patient_id, doctor_id, datetime(start_at, :s), end_at, class_code, type_code, "
                        "type_display, reason, location, notes, '', '', '', '', 0 FROM encounter WHERE id = :e "
                        "RETURNING id"
                    ),
                    {"s": shift, "e": encounter_id},
                ).scalar_one()
                conn.execute(
                    sa.text(
                        "INSERT INTO diagnosis (patient_id, encounter_id, system, code, display, clinical_status, "
                        "onset_at) SELECT patient_id, :n, system, code, display, 'resolved', datetime(onset_at, :s) "
                        "FROM diagnosis WHERE encounter_id = :e"
                    ),
                    {"n": new_id, "s": shift, "e": encounter_id},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO prescription (patient_id, encounter_id, doctor_id, drug_system, drug_code, "
                        "drug_display, dose, dose_unit, route, frequency, period, period_unit, duration_days, "
                        "refills, as_needed, instructions, status, authored_at, frequency_code, quantity_unit, "
                        "as_needed_reason, position) SELECT patient_id, :n, doctor_id, drug_system, drug_code, "
                        "drug_display, dose, dose_unit, route, frequency, period, period_unit, duration_days, "
                        "refills, as_needed, instructions, 'stopped', datetime(authored_at, :s), '', '', '', 0 "
                        "FROM prescription WHERE encounter_id = :e"
                    ),
                    {"n": new_id, "s": shift, "e": encounter_id},
                )


def measure(label: str, queries: ClinicalQueries, patient_id: int, now: datetime, rounds: int) -> None:
    first = queries.timeline(patient_id, now)
    median, worst = ms(lambda: queries.timeline(patient_id, now), rounds)
    print(f"{label}: timeline first page ({len(first.visits)} visits): median {median:.1f} ms, max {worst:.1f} ms")
    median, worst = ms(lambda: queries.summary(patient_id, now), rounds)
    print(f"{label}: summary (active prescriptions and diagnoses): median {median:.1f} ms, max {worst:.1f} ms")
    median, worst = ms(lambda: queries.past_prescriptions(patient_id, now), rounds)
    print(f"{label}: past prescriptions first page: median {median:.1f} ms, max {worst:.1f} ms")
    cursor, pages = first.cursor, 1
    while cursor is not None and pages < 50:
        page = queries.timeline(patient_id, now, before=cursor)
        cursor, pages = page.cursor, pages + 1
    if cursor is not None:
        median, worst = ms(lambda: queries.timeline(patient_id, now, before=cursor), rounds)
        print(f"{label}: page 51 (older): median {median:.1f} ms, max {worst:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--copies", type=int, default=100)
    args = parser.parse_args(argv)
    manifest = SHARED / "MANIFEST.tsv"
    if not manifest.exists():
        print(f"missing reference data: {manifest}", file=sys.stderr)
        return 2
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["Encounter"].isdigit()]
    heaviest = max(rows, key=lambda r: int(r["Encounter"]))
    bundle = SHARED / heaviest["file"]
    references = sorted(bundle.parent.glob("*Information*.json.gz"))
    print(
        f"heaviest patient: {heaviest['file']} ({heaviest['Encounter']} encounters, {heaviest['Condition']} "
        f"conditions, {heaviest['MedicationRequest']} medication requests)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        start = time.perf_counter()
        report = import_paths(engine, [*references, bundle])
        print(f"imported in {time.perf_counter() - start:.2f} s: {report.encounters} encounters")
        with engine.connect() as conn:
            patient_id = conn.execute(
                sa.text("SELECT id FROM patient WHERE fhir_id = :f"), {"f": heaviest["patient_id"]}
            ).scalar_one()
        queries = ClinicalQueries(engine)
        now = datetime.now(UTC)
        measure("as imported", queries, patient_id, now, args.rounds)
        start = time.perf_counter()
        multiply(engine, patient_id, args.copies)
        with engine.connect() as conn:
            total = conn.execute(
                sa.text("SELECT COUNT(*) FROM encounter WHERE patient_id = :p"), {"p": patient_id}
            ).scalar_one()
        print(f"history multiplied {args.copies}x in {time.perf_counter() - start:.1f} s: {total} encounters")
        measure(f"{total} encounters", queries, patient_id, now, args.rounds)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
