"""FHIR R4 importer against the reference Synthea data in ../shared/data (expected figures come from its MANIFESTs)."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data import fhir_import
from data.db import make_engine
from data.fhir_import import ImportReport, import_paths
from data.migrate import upgrade

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
MAIN = SHARED / "synthea"
LEGACY = SHARED / "synthea-legacy-2019"
TABLES = ["account", "patient", "doctor", "department", "appointment", "encounter", "diagnosis", "prescription"]


def need(path: Path) -> Path:
    if not path.exists():
        message = f"reference data {path} is missing (expected the shared data next to the repository)"
        if os.environ.get("HEALTHSYNC_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def fresh_engine(directory: Path) -> Engine:
    url = f"sqlite:///{directory / 't.db'}"
    upgrade(url)
    return make_engine(url)


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        conn.execution_options(readonly=True)
        return list(conn.execute(sa.text(sql), params).all())


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    return rows(engine, sql, **params)[0][0]


def table_counts(engine: Engine) -> dict[str, int]:
    return {t: scalar(engine, f"SELECT COUNT(*) FROM {t}") for t in TABLES}


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        # reference bundles have a "(reference data: ...)" note instead of a patient id
        return [row for row in csv.DictReader(handle, delimiter="\t") if not row["patient_id"].startswith("(")]


def load(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())


def resources(path: Path, kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in load(path)["entry"] if e["resource"]["resourceType"] == kind]


def clean_name(name: dict[str, Any]) -> str:
    parts = [*name.get("given", []), name.get("family", "")]
    return " ".join(re.sub(r"\d+", "", p).strip() for p in parts if re.sub(r"\d+", "", p).strip())


def practitioners_by_npi(state: str) -> dict[str, tuple[str, str]]:
    """NPI -> (Practitioner.id, cleaned name) from the state's practitionerInformation bundle."""
    [path] = (MAIN / state).glob("practitionerInformation*.json.gz")
    return {p["identifier"][0]["value"]: (p["id"], clean_name(p["name"][0])) for p in resources(path, "Practitioner")}


def patient_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.json.gz") if "Information" not in p.name)


@dataclass
class Imported:
    engine: Engine
    first: ImportReport
    second: ImportReport
    after_first: dict[str, int]
    after_second: dict[str, int]


@dataclass
class MainFacts:
    """What the tests need from the main set's patient bundles, read once: per state the encounters' NPIs, and the
    drug of every medicationReference prescription."""

    encounter_npis: dict[str, dict[str, str]]  # state -> Encounter.id -> practitioner NPI
    medication_reference_drugs: dict[str, str]  # MedicationRequest.id -> Medication display


@pytest.fixture(scope="module")
def main_facts() -> MainFacts:
    need(MAIN)
    facts = MainFacts({}, {})
    for state in ("california", "new_york"):
        npis = facts.encounter_npis.setdefault(state, {})
        for path in patient_files(MAIN / state):
            entries = load(path)["entry"]
            medications = {
                e["fullUrl"]: e["resource"] for e in entries if e["resource"]["resourceType"] == "Medication"
            }
            for entry in entries:
                resource = entry["resource"]
                if resource["resourceType"] == "Encounter":
                    npis[resource["id"]] = resource["participant"][0]["individual"]["reference"].rsplit("|", 1)[1]
                elif resource["resourceType"] == "MedicationRequest" and "medicationReference" in resource:
                    medication = medications[resource["medicationReference"]["reference"]]
                    facts.medication_reference_drugs[resource["id"]] = medication["code"]["coding"][0]["display"]
    return facts


@pytest.fixture(scope="module")
def main_set(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    need(MAIN)
    engine = fresh_engine(tmp_path_factory.mktemp("fhir-main"))
    first = import_paths(engine, [MAIN])
    after_first = table_counts(engine)
    second = import_paths(engine, [str(MAIN)])
    yield Imported(engine, first, second, after_first, table_counts(engine))
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------- main set


def test_main_set_matches_manifest_and_second_import_adds_nothing(main_set: Imported) -> None:
    expected = manifest(MAIN)
    first = main_set.first
    assert first.errors == []
    assert first.patients == len(expected)
    assert first.encounters == sum(int(r["Encounter"]) for r in expected)
    assert first.conditions == sum(int(r["Condition"]) for r in expected)
    assert first.prescriptions == sum(int(r["MedicationRequest"]) for r in expected)
    total_files = len(list(MAIN.rglob("*.json.gz")))
    assert first.files == total_files and first.skipped == 0
    practitioners = sum(len(practitioners_by_npi(s)) for s in ("california", "new_york"))
    assert first.doctors == practitioners

    counts = main_set.after_first
    assert counts["patient"] == counts["account"] == first.patients
    assert counts["encounter"] == first.encounters
    assert counts["appointment"] == first.encounters  # every main-set practitioner resolves
    assert counts["diagnosis"] == first.conditions
    assert counts["prescription"] == first.prescriptions
    assert counts["doctor"] == first.doctors

    second = main_set.second
    assert second.errors == []
    assert (second.patients, second.doctors, second.encounters, second.conditions, second.prescriptions) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert second.files == total_files and second.skipped == total_files
    assert main_set.after_second == counts
    line = json.loads(second.to_json())
    assert list(line) == [
        "patients",
        "doctors",
        "encounters",
        "conditions",
        "prescriptions",
        "files",
        "skipped",
        "errors",
    ]


def test_colliding_npis_link_each_state_to_its_own_doctor(main_set: Imported, main_facts: MainFacts) -> None:
    ca, ny = practitioners_by_npi("california"), practitioners_by_npi("new_york")
    colliding = {npi for npi in ca.keys() & ny.keys() if ca[npi][1] != ny[npi][1]}
    assert colliding, "the data should hold NPIs reused for different people"

    stored = {
        fid: (doctor_fhir_id, name, same)
        for fid, doctor_fhir_id, name, same in rows(
            main_set.engine,
            "SELECT e.fhir_id, d.fhir_id, d.name, a.doctor_id = e.doctor_id FROM encounter e "
            "JOIN doctor d ON d.id = e.doctor_id JOIN appointment a ON a.id = e.appointment_id",
        )
    }
    checked = 0
    for state, own, other in (("california", ca, ny), ("new_york", ny, ca)):
        for encounter_id, npi in main_facts.encounter_npis[state].items():
            if npi in colliding:
                doctor_fhir_id, name, same_doctor = stored[encounter_id]
                assert (doctor_fhir_id, name) == own[npi], (state, encounter_id, npi)
                assert name != other[npi][1] and same_doctor
                checked += 1
    assert checked > 0


def test_imported_patients_are_invited_without_password(main_set: Imported) -> None:
    accounts = rows(
        main_set.engine,
        "SELECT a.role, a.status, a.password_hash, a.display_name = p.name FROM patient p "
        "JOIN account a ON a.id = p.account_id",
    )
    assert len(accounts) == len(manifest(MAIN))
    assert {(role, status, pw, same) for role, status, pw, same in accounts} == {("patient", "invited", None, 1)}
    assert scalar(main_set.engine, "SELECT COUNT(*) FROM doctor WHERE account_id IS NOT NULL") == 0
    assert scalar(main_set.engine, "SELECT COUNT(*) FROM working_hours") == 0
    names = [n for (n,) in rows(main_set.engine, "SELECT name FROM patient UNION ALL SELECT name FROM doctor")]
    assert not [n for n in names if re.search(r"\d", n) or n.startswith(("Dr.", "Mr.", "Mrs.", "Ms."))]


def test_medication_reference_prescriptions_keep_the_drug(main_set: Imported, main_facts: MainFacts) -> None:
    expected = main_facts.medication_reference_drugs
    assert expected and all(expected.values())
    stored = dict(rows(main_set.engine, "SELECT fhir_id, drug_display FROM prescription"))
    assert {fid: stored.get(fid) for fid in expected} == expected


# ---------------------------------------------------------------------------------------------------------- legacy


def test_legacy_set_imports_with_inline_practitioners_deduplicated(tmp_path: Path) -> None:
    need(LEGACY)
    expected = manifest(LEGACY)
    [reference] = LEGACY.glob("practitionerInformation*.json.gz")
    reference_ids = {p["id"] for p in resources(reference, "Practitioner")}

    engine = fresh_engine(tmp_path)
    report = import_paths(engine, [LEGACY])
    assert report.errors == []
    assert report.patients == len(expected)
    assert report.encounters == sum(int(r["Encounter"]) for r in expected)
    assert report.conditions == sum(int(r["Condition"]) for r in expected)
    assert report.prescriptions == sum(int(r["MedicationRequest"]) for r in expected)
    assert report.doctors == len(reference_ids)
    assert {fid for (fid,) in rows(engine, "SELECT fhir_id FROM doctor")} == reference_ids

    deceased = {r["patient_id"]: r["deceased"] for r in expected if r["deceased"]}
    stored = dict(rows(engine, "SELECT fhir_id, date(deceased_at) FROM patient WHERE deceased_at IS NOT NULL"))
    assert stored == deceased
    after_death = scalar(
        engine,
        "SELECT COUNT(*) FROM encounter e JOIN patient p ON p.id = e.patient_id "
        "WHERE p.deceased_at IS NOT NULL AND e.start_at > p.deceased_at",
    )
    assert after_death > 0  # encounters after death are kept, not rejected
    engine.dispose()

    # Without the reference bundles, the practitioners inlined in every patient bundle are created once each.
    engine = fresh_engine(tmp_path / "inline-only")
    files = patient_files(LEGACY)
    inline_ids = {p["id"] for path in files for p in resources(path, "Practitioner")}
    report = import_paths(engine, files)
    assert report.errors == []
    assert report.doctors == len(inline_ids) == scalar(engine, "SELECT COUNT(*) FROM doctor")
    assert scalar(engine, "SELECT COUNT(*) FROM encounter WHERE doctor_id IS NOT NULL") > 0
    again = import_paths(engine, [LEGACY])  # the reference run afterwards adds only the practitioners not seen yet
    assert again.errors == [] and again.patients == 0
    assert scalar(engine, "SELECT COUNT(*) FROM doctor") == len(reference_ids | inline_ids)
    engine.dispose()


# ---------------------------------------------------------------------------------------------------------- bad files


def test_files_that_are_not_bundles_are_errors_and_nothing_half_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    california = need(MAIN) / "california"
    first, second, third = patient_files(california)[:3]
    engine = fresh_engine(tmp_path)
    assert import_paths(engine, [*california.glob("*Information*.json.gz"), first]).errors == []
    before = table_counts(engine)

    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "junk.json").write_text("{ this is not json")
    (folder / "fake.json.gz").write_bytes(b"plain bytes, not gzip")
    patient = resources(first, "Patient")[0] | {"id": "not-in-a-bundle"}
    (folder / "patient.json").write_text(json.dumps(patient))
    shutil.copy(second, folder / second.name)

    report = import_paths(engine, [folder])
    assert len(report.errors) == 3
    for name in ("junk.json", "fake.json.gz", "patient.json"):
        assert sum(name in error for error in report.errors) == 1, report.errors
    assert report.files == 1 and report.patients == 1
    after = table_counts(engine)
    expected_patient = next(r for r in manifest(MAIN) if r["patient_id"] == second.name.split(".")[0])
    assert after["patient"] == before["patient"] + 1
    assert after["encounter"] == before["encounter"] + int(expected_patient["Encounter"])
    assert scalar(engine, "SELECT COUNT(*) FROM patient WHERE fhir_id = 'not-in-a-bundle'") == 0

    # A failure half-way through a bundle rolls the whole file back.
    real_insert = fhir_import._insert

    def failing_insert(conn: Any, table: sa.Table, rows: list[dict[str, Any]]) -> dict[str, int]:
        if table.name == "prescription" and rows:
            raise RuntimeError("disk on fire")
        return real_insert(conn, table, rows)

    monkeypatch.setattr(fhir_import, "_insert", failing_insert)
    report = import_paths(engine, [third])
    assert [third.name in e and "disk on fire" in e for e in report.errors] == [True]
    assert table_counts(engine) == after


# ---------------------------------------------------------------------------------------------------------- order


def test_reference_bundles_load_first_whatever_the_argument_order(tmp_path: Path) -> None:
    california = need(MAIN) / "california"
    picked = patient_files(california)[:4]
    folder = tmp_path / "patients"
    folder.mkdir()
    for path in picked[:2]:
        shutil.copy(path, folder / path.name)
    engine = fresh_engine(tmp_path)
    references = sorted(california.glob("*Information*.json.gz"), reverse=True)
    report = import_paths(engine, [folder, *picked[2:], *references])
    assert report.errors == []
    assert report.patients == 4

    by_npi = practitioners_by_npi("california")
    for path in picked:
        for encounter in resources(path, "Encounter"):
            npi = encounter["participant"][0]["individual"]["reference"].rsplit("|", 1)[1]
            found = rows(
                engine,
                "SELECT d.fhir_id FROM encounter e JOIN doctor d ON d.id = e.doctor_id "
                "JOIN appointment a ON a.id = e.appointment_id WHERE e.fhir_id = :fid",
                fid=encounter["id"],
            )
            assert found == [(by_npi[npi][0],)]
    engine.dispose()
