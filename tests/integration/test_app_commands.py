"""The commands a person runs: seeding, importing, health, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError as SettingsError

from data.settings import DEV_SECRET, Settings

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def run_cli(*args: str, db: Path, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "HEALTHSYNC_DATABASE_URL": f"sqlite:///{db}", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_seed_demo_only_seeds_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    first = run_cli("seed-demo", db=db)
    assert first.returncode == 0, first.stderr
    assert "patient@healthsync.example" in first.stdout
    second = run_cli("seed-demo", db=db)
    assert second.returncode == 0
    assert "already has data" in second.stdout
    assert "patient@healthsync.example" not in second.stdout


def test_import_cli_prints_one_json_line_and_fails_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-bundle.json"
    bad.write_text('{"resourceType": "Patient", "id": "x"}')
    result = run_cli("import-fhir", str(bad), db=tmp_path / "i.db")
    assert result.returncode == 1
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(report) == [
        "patients", "doctors", "encounters", "conditions", "prescriptions", "files", "skipped", "errors"
    ]  # fmt: skip
    assert report["patients"] == 0
    assert any("not-a-bundle.json" in e for e in report["errors"])


def test_import_cli_succeeds_on_real_bundles(tmp_path: Path) -> None:
    folder = SHARED / "synthea" / "california"
    if not folder.exists():
        import os

        if os.environ.get("HEALTHSYNC_REQUIRE_SHARED") == "1":
            pytest.fail(f"{folder} is missing")
        pytest.skip(f"{folder} is missing (../shared not present)")
    result = run_cli("import-fhir", str(folder), db=tmp_path / "ca.db")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["patients"] > 0 and report["errors"] == []


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="HEALTHSYNC_STORAGE_SECRET must be set"):
        Settings(mode="production", storage_secret="")
    with pytest.raises(SettingsError, match="too weak"):
        Settings(mode="production", storage_secret=DEV_SECRET)
    assert Settings(mode="development").storage_secret == DEV_SECRET
    result = run_cli("migrate", db=tmp_path / "p.db", env_extra={"HEALTHSYNC_MODE": "production"})
    assert result.returncode == 2
    assert "HEALTHSYNC_STORAGE_SECRET must be set" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(SettingsError, match="not a known IANA time zone"):
        Settings(timezone="Mars/Olympus_Mons")
