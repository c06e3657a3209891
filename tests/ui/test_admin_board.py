"""The admin's statistics board, audit trail and appointment report, and a patient's "who opened my record"."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from nicegui import ui
from nicegui.testing import User

from data.db import make_engine
from data.seed import DOCTORS
from data.settings import Settings
from data.uow import SqlUnitOfWork
from domain.model import AuditEvent
from tests.ui.conftest import ADMIN_LOGIN, DOCTOR_LOGIN, OTHER_PATIENT_LOGIN, PATIENT_LOGIN, sign_in
from tests.ui.test_booking_live import book_first_free, doctor_id, eventually, notified

ADMIN_PAGES = ["/admin/board", "/admin/audit", "/admin/appointments"]


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


def horizon() -> tuple[str, str]:
    today = datetime.now(Settings().tz).date()
    return today.isoformat(), (today + timedelta(days=60)).isoformat()


@pytest.mark.parametrize("login", [PATIENT_LOGIN, DOCTOR_LOGIN])
async def test_only_admins_open_the_board_audit_and_report(user: User, demo_db: str, login) -> None:
    await sign_in(user, login[0], demo_db)
    for path in ADMIN_PAGES:
        await user.open(path)
        await user.should_see("Your account cannot open this page.")
        await user.should_not_see(marker="kpi-total")
        await user.should_not_see(marker="audit-table")
        await user.should_not_see(marker="report-table")


async def test_anonymous_visitors_are_sent_to_sign_in(user: User) -> None:
    for path in [*ADMIN_PAGES, "/patient/record-access"]:
        await user.open(path)
        await user.should_see("Sign in")


async def test_board_shows_the_figures_of_the_database(user: User, demo_db: str, queries) -> None:
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    first, last = horizon()
    await user.open(f"/admin/board?first={first}&last={last}")
    await user.should_see(marker="chart-utilisation")
    from data.stats_queries import StatsQueries
    from domain.model import Actor, Role
    from domain.stats import day_range

    stats = StatsQueries(queries.engine, Settings().tz)
    admin = Actor(1, Role.ADMIN)
    figures = stats.board(
        admin, day_range(*(datetime.fromisoformat(d).date() for d in (first, last))), datetime.now(Settings().tz).date()
    )
    assert text_of(user, "kpi-total") == str(figures.total)
    assert figures.total > 0  # the demo hospital has bookings ahead
    chart = user.find(marker="chart-utilisation").elements.pop()
    names = chart.options["yAxis"]["data"]  # type: ignore[attr-defined]
    assert set(names) == {d[0] for d in DOCTORS}  # names are values in a list, never keys


async def test_admins_open_board_moves_when_a_patient_books(user: User, create_user, demo_db: str, queries) -> None:
    admin = create_user()
    await sign_in(admin, ADMIN_LOGIN[0], demo_db)
    first, last = horizon()
    await admin.open(f"/admin/board?first={first}&last={last}")
    await admin.should_see(marker="kpi-total")
    before = int(text_of(admin, "kpi-total"))
    chart = admin.find(marker="chart-status").elements.pop()
    booked_before = dict(zip(chart.options["xAxis"]["data"], chart.options["series"][-1]["data"], strict=True))[  # type: ignore[attr-defined]
        "booked"
    ]

    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open(f"/patient/doctors/{doctor_id(queries, DOCTORS[0][0])}")
    await book_first_free(user)

    await eventually(lambda: text_of(admin, "kpi-total") == str(before + 1), why=lambda: text_of(admin, "kpi-total"))
    booked_after = dict(zip(chart.options["xAxis"]["data"], chart.options["series"][-1]["data"], strict=True))["booked"]  # type: ignore[attr-defined]
    assert booked_after == booked_before + 1  # the same chart element, its options changed in place


def add_audit(demo_db: str, *entries: AuditEvent) -> None:
    engine = make_engine(demo_db)
    with SqlUnitOfWork(engine) as uow:
        for entry in entries:
            uow.audit.add(entry)
        uow.commit()
    engine.dispose()


def ids(queries, email: str) -> tuple[int, int]:
    """(account id, patient id) of a demo patient."""
    patient = queries.patients(search=email).items[0]
    import sqlalchemy as sa

    with queries.engine.connect() as conn:
        account = conn.execute(sa.text("SELECT account_id FROM patient WHERE id = :p"), {"p": patient.id}).scalar_one()
    return account, patient.id


def doctor_account(queries) -> int:
    import sqlalchemy as sa

    with queries.engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM account WHERE email = :e"), {"e": DOCTOR_LOGIN[0]}).scalar_one()


async def test_patient_sees_who_opened_their_record_and_nobody_elses(user: User, demo_db: str, queries) -> None:
    me_account, me = ids(queries, PATIENT_LOGIN[0])
    _, other = ids(queries, OTHER_PATIENT_LOGIN[0])
    doctor = doctor_account(queries)
    now = datetime.now(UTC)
    add_audit(
        demo_db,
        AuditEvent(now - timedelta(hours=2), doctor, "doctor", "record.view", "patient", me, patient_id=me),
        AuditEvent(now - timedelta(hours=1), doctor, "doctor", "prescription.print", "prescription", 7, patient_id=me),
        AuditEvent(now, doctor, "doctor", "record.view", "patient", other, patient_id=other),
        AuditEvent(now, doctor, "doctor", "visit.sign", "encounter", 3, patient_id=other),
        AuditEvent(now, me_account, "patient", "appointment.status", "appointment", 1, patient_id=me),  # not a record
    )
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/record-access")
    await user.should_see("Who opened my record")
    table = user.find(marker="access-table").elements.pop()
    rows = table.rows  # type: ignore[attr-defined]
    assert [r["what"] for r in rows] == ["Printed a prescription", "Opened your record"]
    assert all(r["who"] == DOCTORS[0][0] and r["role"] == "Doctor" for r in rows)
    assert text_of(user, "access-summary") == "1–2 of 2"

    other_user_rows = []
    await sign_in(user, OTHER_PATIENT_LOGIN[0], demo_db)
    await user.open("/patient/record-access")
    await user.should_see("Who opened my record")
    other_user_rows = user.find(marker="access-table").elements.pop().rows  # type: ignore[attr-defined]
    assert sorted(r["what"] for r in other_user_rows) == ["Opened your record", "Signed a visit record"]


async def test_audit_viewer_filters_by_action_and_patient(user: User, demo_db: str, queries) -> None:
    _, me = ids(queries, PATIENT_LOGIN[0])
    doctor = doctor_account(queries)
    add_audit(
        demo_db,
        AuditEvent(datetime.now(UTC), doctor, "doctor", "record.view", "patient", me, patient_id=me, detail="=cmd"),
    )
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    await user.open("/admin/audit")
    await user.should_see(marker="audit-table")
    user.find(marker="audit-action").elements.pop().value = "record.view"  # type: ignore[attr-defined]

    def rows() -> list[dict]:
        return user.find(marker="audit-table").elements.pop().rows  # type: ignore[attr-defined]

    await eventually(lambda: len(rows()) == 1, why=lambda: str(rows()))
    [row] = rows()
    assert row["who"] == f"{DOCTORS[0][0]} (Doctor)"
    assert row["what"] == f"record.view · patient #{me}"
    assert row["patient"] == "Maria Schmidt" and row["detail"] == "=cmd"
    user.find(marker="audit-patient").type("Grace")
    await eventually(lambda: rows() == [], why=lambda: str(rows()))
    await user.should_see("No entries match.")


async def test_appointment_report_exports_what_matches(user: User, demo_db: str, queries) -> None:
    await sign_in(user, ADMIN_LOGIN[0], demo_db)
    first, last = horizon()
    await user.open("/admin/appointments")
    await user.should_see(marker="report-table")
    user.find(marker="report-from").clear().type(first)
    user.find(marker="report-to").clear().type(last)
    doc = doctor_id(queries, DOCTORS[1][0])
    user.find(marker="report-doctor").elements.pop().value = doc  # type: ignore[attr-defined]
    table = user.find(marker="report-table").elements.pop()
    await eventually(lambda: bool(table.rows) and all(r["doctor"] == DOCTORS[1][0] for r in table.rows))  # type: ignore[attr-defined]
    user.find(marker="report-export").click()
    response = await user.download.next(timeout=5)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "date", "start", "end", "status"]
    assert rows[1:] and {r[5] for r in rows[1:]} == {DOCTORS[1][0]}
    summary = text_of(user, "report-summary")
    assert summary.endswith(f"of {len(rows) - 1}")  # everything that matches, not just one page
    await user.should_see(kind=ui.button, content="Export CSV")
    # a range that cannot be used empties the table instead of leaving the last answer under it
    user.find(marker="report-to").clear().type("1999-12-31")
    user.find(marker="report-apply").click()
    await notified(user, "must not be before")
    await eventually(lambda: not table.rows, why=lambda: str(len(table.rows)))  # type: ignore[attr-defined]
    assert text_of(user, "report-summary") == "Nothing shown until the filter above is corrected."
