"""The doctor's side of scheduling (dated weekly hours, visit types, booking window, leave, the visit
workflow) and the admin's closures and reset, through the simulated browser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import app, ui
from nicegui.testing import User
from sqlmodel import Session

from data.db import make_engine
from data.seed import DOCTORS
from data.settings import Settings
from data.tables import AppointmentRow as AppointmentTable
from domain.model import Doctor
from tests.ui.conftest import ADMIN_LOGIN, DOCTOR_LOGIN, PATIENT_LOGIN, login, sign_in
from tests.ui.test_booking_live import dialog_open, eventually, found, notified

TZ = Settings().tz


def okafor(queries: Any) -> int:
    return int(queries.doctors(search=DOCTORS[0][0]).items[0].id)


def record(doctor_id: int) -> Doctor:
    """The doctor as stored (visit types and booking window have no read DTO)."""
    with app.state.healthsync.services.uow(readonly=True) as uow:
        doctor = uow.doctors.get(doctor_id)
    assert doctor is not None
    return doctor


def set_value(user: User, marker: str, value: Any, index: int = 0) -> None:
    elements = sorted(user.find(marker=marker).elements, key=lambda e: e.id)
    with user.client:  # type: ignore[union-attr]
        elements[index].value = value  # type: ignore[attr-defined]


def local_today() -> Any:
    return datetime.now(TZ).date()


def badge_of(user: User, appointment_id: int) -> str:
    cards = [e for e in found(user, ui.card) if f"appointment-{appointment_id}" in e._markers]
    if not cards:
        return ""
    badges = [b for b in cards[0].descendants() if isinstance(b, ui.badge)]
    return badges[0].text if badges else ""


def visible(user: User, marker: str) -> bool:
    try:
        user.find(marker=marker)
    except AssertionError:
        return False
    return True


async def test_doctor_saves_a_dated_week_with_a_new_visit_type_and_sees_it_planned(
    user: User, queries, demo_db: str
) -> None:
    doc = okafor(queries)
    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    await user.open("/doctor/availability")
    await user.should_see("Your weeks")
    starts = local_today() + timedelta(days=30)
    set_value(user, "effective-from", starts.isoformat())
    user.find(kind=ui.button, content="Add visit type").click()
    set_value(user, "vt-name-3", "Long consultation")  # the demo doctor has three visit types already
    set_value(user, "vt-minutes-3", 45)
    set_value(user, "min-notice", 4)
    set_value(user, "horizon", 60)
    user.find(kind=ui.button, content="Save availability").click()
    await notified(user, "Your new week takes effect on")

    await user.should_see(marker=f"template-{starts.isoformat()}")
    assert starts in [t.effective_from for t in queries.templates(doc)]
    stored = record(doc)
    assert [(t.code, t.name, t.minutes) for t in stored.visit_types if t.code == "long-consultation"] == [
        ("long-consultation", "Long consultation", 45)
    ]
    assert {"consultation", "follow-up", "procedure"} <= {t.code for t in stored.visit_types}  # codes kept
    assert (stored.min_notice_hours, stored.horizon_days) == (4, 60)
    # a week from an earlier date would replace that plan: the page says so before saving
    set_value(user, "effective-from", local_today().isoformat())
    warning = starts.strftime("%a %d %b %Y")
    await eventually(lambda: warning in user.find(marker="replaces").elements.pop().text)  # type: ignore[attr-defined]


async def test_bad_schedule_input_is_refused_with_a_message_and_changes_nothing(
    user: User, queries, demo_db: str
) -> None:
    doc = okafor(queries)
    before_templates, before = queries.templates(doc), record(doc)
    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    await user.open("/doctor/availability")
    await user.should_see("Your weeks")
    save = user.find(kind=ui.button, content="Save availability")

    set_value(user, "until-0", "08:00")  # Monday 08:30 until 08:00
    save.click()
    await notified(user, "must end after they start")
    set_value(user, "until-0", "12:00")

    set_value(user, "vt-name-0", "   ")
    save.click()
    await notified(user, "The name of a visit type is required.")
    set_value(user, "vt-name-0", "Consultation")

    set_value(user, "effective-from", "2026-02-30")
    save.click()
    await notified(user, "is not a real date")

    assert queries.templates(doc) == before_templates
    after = record(doc)
    assert (after.visit_types, after.min_notice_hours, after.horizon_days) == (
        before.visit_types,
        before.min_notice_hours,
        before.horizon_days,
    )


async def test_leave_cancels_the_booked_patient_who_sees_it_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    upcoming = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    theirs = [a for a in upcoming if a.doctor == DOCTORS[0][0] and a.start.astimezone(TZ).date() > local_today()][0]
    day = theirs.start.astimezone(TZ).date()
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.should_see(marker=f"appointment-{theirs.id}")

    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open("/doctor/leave")
    await doctor.should_see("Upcoming leave and closures")
    set_value(doctor, "leave-first", day.isoformat())
    set_value(doctor, "leave-last", day.isoformat())
    set_value(doctor, "leave-reason", "Medical conference")
    doctor.find(marker="add-leave").click()
    await dialog_open(doctor)
    doctor.find(kind=ui.button, content="Yes, add it").click()

    await doctor.should_see(marker=f"affected-{theirs.id}", retries=100)
    await doctor.should_see("Maria Schmidt")
    assert queries.appointment(theirs.id).status == "cancelled"
    leave = [x for x in queries.leaves(okafor(queries), datetime.now(UTC)) if x.doctor_id is not None][0]
    assert leave.reason == "Medical conference"
    await doctor.should_see(marker=f"leave-{leave.id}")
    # the patient's open page follows without a reload: told why, and the row is now cancelled
    await user.should_see(marker=f"cancelled-{theirs.id}", retries=100)
    await user.should_see("Medical conference")
    await eventually(lambda: badge_of(user, theirs.id) == "cancelled", why=lambda: badge_of(user, theirs.id))

    # the same days cannot be entered twice; removing the leave frees them again
    set_value(doctor, "leave-first", day.isoformat())
    set_value(doctor, "leave-last", day.isoformat())
    doctor.find(marker="add-leave").click()
    await dialog_open(doctor)
    doctor.find(kind=ui.button, content="Yes, add it").click()
    await notified(doctor, "overlaps leave")
    doctor.find(marker=f"remove-leave-{leave.id}").click()
    await dialog_open(doctor)
    doctor.find(kind=ui.button, content="Remove").click()
    await eventually(lambda: not visible(doctor, f"leave-{leave.id}"))
    assert all(x.id != leave.id for x in queries.leaves(okafor(queries), datetime.now(UTC)))


async def test_doctor_walks_a_visit_through_arrived_started_finished_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    doc = okafor(queries)
    patient = queries.patients(search="Grace").items[0]
    start = datetime.now(UTC).replace(second=0, microsecond=0)  # today, started: every step is open
    engine = make_engine(demo_db)
    with Session(engine) as s:
        row = AppointmentTable(
            doctor_id=doc,
            patient_id=patient.id,
            start_at=start,
            end_at=start + timedelta(minutes=15),
            status="booked",
            reason="Knee pain",
            created_at=start - timedelta(days=1),
        )
        s.add(row)
        s.commit()
        assert row.id is not None
        appointment_id: int = row.id
    engine.dispose()

    watcher = create_user()  # the same doctor's day open on a second device
    await sign_in(watcher, DOCTOR_LOGIN[0], demo_db)
    await watcher.open("/doctor")
    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    await user.open("/doctor")
    await user.should_see(marker=f"appointment-{appointment_id}")
    assert badge_of(user, appointment_id) == "booked"
    assert visible(user, f"noshow-{appointment_id}")  # the start has passed
    assert not visible(user, f"start-{appointment_id}") and not visible(user, f"finish-{appointment_id}")

    steps = (
        ("arrive", "arrived", "arrived", "Grace O'Neill has arrived."),
        ("start", "checked-in", "in consultation", "Visit with Grace O'Neill started."),
        ("finish", "fulfilled", "fulfilled", "Visit with Grace O'Neill finished."),
    )
    for marker, status, label, told in steps:
        user.find(marker=f"{marker}-{appointment_id}").click()

        def confirmed(text: str = told) -> bool:
            return text in user.notify.messages

        def watcher_sees(text: str = label) -> bool:  # the other device follows live
            return badge_of(watcher, appointment_id) == text

        await eventually(confirmed)
        assert badge_of(user, appointment_id) == label
        await eventually(watcher_sees)
        assert queries.appointment(appointment_id).status == status
    # a finished visit offers no more steps
    for marker in ("arrive", "start", "finish", "noshow", "cancel"):
        assert not visible(user, f"{marker}-{appointment_id}")


async def test_admin_closes_the_hospital_then_undoes_it_and_resets_the_appointment(
    user: User, queries, demo_db: str
) -> None:
    patient = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    upcoming = queries.patient_appointments(patient.id, datetime.now(UTC), upcoming=True)
    theirs = [a for a in upcoming if a.start.astimezone(TZ).date() > local_today()][0]
    day = theirs.start.astimezone(TZ).date()
    await login(user, *ADMIN_LOGIN)
    await user.open("/admin/closures")
    await user.should_see("Upcoming closures")
    set_value(user, "closure-first", day.isoformat())
    set_value(user, "closure-last", day.isoformat())
    set_value(user, "closure-reason", "Public holiday")
    user.find(marker="add-closure").click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Yes, close").click()

    await user.should_see(marker=f"affected-{theirs.id}", retries=100)
    cancelled = user.find(marker="closure-cancelled").elements.pop().text  # type: ignore[attr-defined]
    assert "cancelled" in cancelled and int(cancelled.split()[0]) >= 1
    assert queries.appointment(theirs.id).status == "cancelled"
    closure = queries.leaves(None, datetime.now(UTC))[0]
    assert closure.reason == "Public holiday"
    await user.should_see(marker=f"closure-{closure.id}")

    user.find(marker=f"remove-closure-{closure.id}").click()
    await dialog_open(user)
    user.find(kind=ui.button, content="Remove").click()
    await eventually(lambda: not visible(user, f"closure-{closure.id}"))

    # the closure was a mistake: the admin restores the appointment, with a reason
    await user.open(f"/admin/appointments/{theirs.id}")
    await user.should_see("Reset a final state")
    user.find(marker="reset-button").click()
    await notified(user, "choose the status")
    set_value(user, "reset-to", "booked")
    user.find(marker="reset-button").click()
    await notified(user, "A reason for the reset is required.")
    assert queries.appointment(theirs.id).status == "cancelled"
    set_value(user, "reset-reason", "Closure entered for the wrong day")
    user.find(marker="reset-button").click()
    await notified(user, "Reset to booked")
    assert queries.appointment(theirs.id).status == "booked"
    await eventually(lambda: user.find(marker="status").elements.pop().text == "booked")  # type: ignore[attr-defined]
    assert not visible(user, "reset-button")  # no longer in a final state


async def test_other_roles_cannot_open_the_schedule_pages(user: User, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    for path in ("/doctor/leave", "/doctor/availability", "/admin/closures", "/admin/appointments/1"):
        await user.open(path)
        await user.should_see("Not allowed")
