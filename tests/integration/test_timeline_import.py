"""The timeline over real imported history: the heaviest Synthea patient of the reference data, paged to the end
(every imported encounter once, newest first), prescriptions split active/past without losing any."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data.clinical_queries import ClinicalQueries
from data.db import make_engine
from data.fhir_import import import_paths
from data.migrate import upgrade
from data.uow import SqlUnitOfWorkFactory

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "synthea"
NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


def heaviest_bundle() -> tuple[Path, list[Path]]:
    """The patient with the most encounters in the reference data's MANIFEST, and its state's reference bundles."""
    if not (SHARED / "MANIFEST.tsv").exists():
        message = f"reference data {SHARED} is missing (expected the shared data next to the repository)"
        if os.environ.get("HEALTHSYNC_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    with (SHARED / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["Encounter"].isdigit()]
    heaviest = SHARED / max(rows, key=lambda r: int(r["Encounter"]))["file"]
    return heaviest, sorted(heaviest.parent.glob("*Information*.json.gz"))


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, int]]:
    bundle, references = heaviest_bundle()
    url = f"sqlite:///{tmp_path_factory.mktemp('timeline') / 't.db'}"
    upgrade(url)
    engine = make_engine(url)
    report = import_paths(engine, [*references, bundle])
    assert report.patients == 1 and not report.errors
    with engine.connect() as conn:
        patient_id = conn.execute(
            sa.text("SELECT id FROM patient WHERE fhir_id = :f"), {"f": bundle.name.removesuffix(".json.gz")}
        ).scalar_one()
    yield engine, int(patient_id)
    engine.dispose()


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


def test_paging_to_the_end_shows_every_imported_visit_once_newest_first(imported) -> None:
    engine, patient_id = imported
    queries = ClinicalQueries(engine)
    encounters = scalar(engine, "SELECT COUNT(*) FROM encounter WHERE patient_id = :p", p=patient_id)
    assert encounters > 40, "the heaviest reference patient has years of history"
    seen, cursor, pages = [], None, 0
    while True:
        page = queries.timeline(patient_id, NOW, before=cursor)
        assert len(page.visits) <= 20
        seen.extend(page.visits)
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert len(seen) == encounters and len({v.id for v in seen}) == encounters
    starts = [(v.start, v.id) for v in seen]
    assert starts == sorted(starts, reverse=True)
    assert pages == -(-encounters // 20)
    assert all(v.imported and v.note_status == "" for v in seen)
    with_diagnoses = [v for v in seen if v.diagnoses]
    assert with_diagnoses and all(d.system == "SNOMED" for v in with_diagnoses for d in v.diagnoses)
    assert not any("(disorder)" in d.display for v in with_diagnoses for d in v.diagnoses)


def test_prescriptions_split_into_active_and_past_without_losing_any(imported) -> None:
    engine, patient_id = imported
    queries = ClinicalQueries(engine)
    total = scalar(engine, "SELECT COUNT(*) FROM prescription WHERE patient_id = :p", p=patient_id)
    summary = queries.summary(patient_id, NOW, limit=1000)
    past, cursor = [], None
    while True:
        page = queries.past_prescriptions(patient_id, NOW, before=cursor)
        past.extend(page.items)
        cursor = page.cursor
        if cursor is None:
            break
    assert len(summary.active_prescriptions) + len(past) == total
    assert {p.id for p in summary.active_prescriptions}.isdisjoint({p.id for p in past})
    assert all(p.status == "active" for p in summary.active_prescriptions)
    assert len(past) > 0 and all(not p.active for p in past)
    assert all(p.system == "RxNorm" for p in past if p.code)


def test_the_imported_encounters_doctor_has_a_relationship_with_the_patient(imported) -> None:
    engine, patient_id = imported
    with engine.connect() as conn:
        doctor_id = conn.execute(
            sa.text("SELECT doctor_id FROM encounter WHERE patient_id = :p AND doctor_id IS NOT NULL LIMIT 1"),
            {"p": patient_id},
        ).scalar_one()
        stranger = conn.execute(
            sa.text(
                "SELECT id FROM doctor WHERE id NOT IN "
                "(SELECT doctor_id FROM encounter WHERE patient_id = :p AND doctor_id IS NOT NULL) LIMIT 1"
            ),
            {"p": patient_id},
        ).scalar()
    with SqlUnitOfWorkFactory(engine)(readonly=True) as uow:
        assert uow.clinical.has_relationship(int(doctor_id), patient_id)
        if stranger is not None:
            assert not uow.clinical.has_relationship(int(stranger), patient_id)
