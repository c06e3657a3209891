"""/healthz, and an imported patient's history once they can sign in."""

from __future__ import annotations

from pathlib import Path

import pytest
from nicegui.testing import User
from sqlalchemy import text

from data.db import make_engine
from data.security import Argon2Hasher
from tests.ui.conftest import login

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


async def test_healthz_reports_ok(user: User) -> None:
    response = await user.http_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_pages_refuse_to_be_framed_by_other_sites(user: User) -> None:
    response = await user.http_client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_healthz_reports_503_when_the_database_is_gone(user: User, demo_db: str) -> None:
    path = demo_db.removeprefix("sqlite:///")
    for _ in range(50):  # the background job may reopen (and so recreate) the file between the two steps
        Path(path).unlink(missing_ok=True)
        try:
            Path(path).mkdir()  # a directory where the database file was: the engine cannot open it
            break
        except FileExistsError:
            continue
    try:
        response = await user.http_client.get("/healthz")
    finally:
        Path(path).rmdir()
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "unreachable" in response.json()["database"]


async def test_imported_patient_sees_visits_diagnoses_and_prescriptions(user: User, demo_db: str) -> None:
    bundle_dir = SHARED / "synthea" / "california"
    if not bundle_dir.exists():
        import os

        if os.environ.get("HEALTHSYNC_REQUIRE_SHARED") == "1":
            pytest.fail(f"{bundle_dir} is missing")
        pytest.skip("../shared/data is missing")
    from data.fhir_import import import_paths

    engine = make_engine(demo_db)
    patient_file = sorted(bundle_dir.glob("*.json.gz"))[0]
    refs = list(bundle_dir.glob("*Information*.json.gz"))
    report = import_paths(engine, [*refs, patient_file])
    assert report.patients == 1 and not report.errors
    # an admin's invite is a later feature: give the imported account a password directly
    with engine.begin() as conn:
        account_id, status = conn.execute(
            text("SELECT a.id, a.status FROM account a JOIN patient p ON p.account_id = a.id WHERE p.fhir_id = :fid"),
            {"fid": patient_file.name.removesuffix(".json.gz")},
        ).one()
        assert status == "invited"
        conn.execute(
            text(
                "UPDATE account SET email = 'imported@example.org', password_hash = :h, status = 'active' WHERE id = :i"
            ),
            {"h": Argon2Hasher().hash("imported-pass-1"), "i": account_id},
        )
        encounter = conn.execute(
            text(
                "SELECT e.type_display, d.display FROM encounter e JOIN diagnosis d ON d.encounter_id = e.id "
                "WHERE e.patient_id = (SELECT id FROM patient WHERE account_id = :i) "
                "ORDER BY e.start_at DESC LIMIT 1"
            ),
            {"i": account_id},
        ).first()
    engine.dispose()
    await login(user, "imported@example.org", "imported-pass-1")
    await user.open("/patient/history")
    await user.should_see("My history")
    assert encounter is not None
    # shown as a patient reads it: without SNOMED's semantic tag such as "(disorder)"
    await user.should_see(encounter[1].rsplit(" (", 1)[0])
    await user.should_not_see(encounter[1])
