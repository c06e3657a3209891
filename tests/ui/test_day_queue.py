"""The doctor's tablet (#4): the day queue with its counters, the week view and the front desk's arrivals,
all live, through simulated browsers (two at once where something changes for the other one)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from nicegui import app, ui
from nicegui.testing import User
from sqlalchemy import text
from sqlmodel import Session

from data.db import make_engine
from data.seed import ADMIN, DOCTORS
from data.settings import Settings
from data.tables import AppointmentRow as AppointmentTable
from domain import events as ev
from domain.model import Actor, AppointmentStatus, Role
from tests.ui.conftest import DOCTOR_LOGIN, OTHER_PATIENT_LOGIN, PATIENT_LOGIN, sign_in
from tests.ui.test_booking_live import eventually, found

TZ = Settings().tz


def okafor(queries: Any) -> int:
    return int(queries.doctors(search=DOCTORS[0][0]).items[0].id)


def actor_of(demo_db: str, email: str) -> Actor:
    engine = make_engine(demo_db)
    with engine.connect() as conn:
        account_id = conn.execute(text("SELECT id FROM account WHERE email = :e"), {"e": email}).scalar_one()
    engine.dispose()
    return app.state.healthsync.services.actor_for(account_id)


def book_today(
    demo_db: str, doctor_id: int, patient_id: int, minutes_from_now: int = 0, at: datetime | None = None
) -> int:
    """A booked appointment today (by default started just now: every step of the workflow is open), stored
    directly."""
    start = at or datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=minutes_from_now)
    engine = make_engine(demo_db)
    with Session(engine) as s:
        row = AppointmentTable(
            doctor_id=doctor_id,
            patient_id=patient_id,
            start_at=start,
            end_at=start + timedelta(minutes=15),
            status="booked",
            reason="Persistent cough",
            created_at=start - timedelta(days=1),
        )
        s.add(row)
        s.commit()
        assert row.id is not None
        appointment_id = row.id
    engine.dispose()
    return appointment_id


def midnight() -> datetime:
    """Today 00:00 in the hospital's zone."""
    return datetime.combine(datetime.now(TZ).date(), time(0), tzinfo=TZ)


def element(user: User, marker: str) -> Any:
    """The element with this marker, or None."""
    try:
        return next(iter(user.find(marker=marker).elements))
    except (AssertionError, StopIteration):
        return None


def text_of(user: User, marker: str) -> str:
    found_element = element(user, marker)
    return str(getattr(found_element, "text", "")) if found_element is not None else ""


def count(user: User, key: str) -> int:
    value = text_of(user, f"count-{key}")
    return int(value) if value.isdigit() else -1


def counters(user: User) -> dict[str, int]:
    keys = ("to-come", "waiting", "in-consultation", "seen", "noshow", "cancelled")
    return {key: count(user, key) for key in keys}


def shown(user: User, marker: str) -> bool:
    """The element exists and it and every ancestor are visible."""
    node = element(user, marker)
    while node is not None:
        if not node.visible:
            return False
        node = node.parent_slot.parent if node.parent_slot is not None else None
    return element(user, marker) is not None


def next_line(user: User) -> str:
    box = element(user, "next-patient")
    return " ".join(d.text for d in box.descendants() if isinstance(d, ui.label)) if box is not None else ""


def card_badge(user: User, card_marker: str) -> str:
    cards = [c for c in found(user, ui.card) if card_marker in c._markers]
    badges = [b for b in cards[0].descendants() if isinstance(b, ui.badge)] if cards else []
    return str(badges[0].text) if badges else ""


def queue_order(user: User, prefix: str = "appointment-") -> list[int]:
    """The appointment ids of the list's cards (marked prefix + id), top to bottom as on screen."""
    listing = [c for c in found(user, ui.card) if any(m.startswith(prefix) for m in c._markers)]
    if not listing:
        return []
    parent = listing[0].parent_slot.parent
    return [
        int(m.removeprefix(prefix))
        for child in parent.default_slot.children
        for m in child._markers
        if m.startswith(prefix)
    ]


async def test_patient_checks_in_from_the_portal_and_the_doctors_queue_changes_live(
    user: User, create_user, queries, demo_db: str
) -> None:
    maria = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    appointment_id = book_today(demo_db, okafor(queries), maria.id)

    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open("/doctor")
    await doctor.should_see(marker=f"appointment-{appointment_id}")
    before = counters(doctor)
    assert before["to-come"] >= 1 and before["waiting"] == 0
    assert card_badge(doctor, f"appointment-{appointment_id}") == "booked"
    assert not shown(doctor, f"next-{appointment_id}")
    # the name opens the patient's record, "Open visit" the visit
    assert element(doctor, f"open-visit-{appointment_id}")._props["href"] == f"/doctor/visit/{appointment_id}"
    links = [e for e in found(doctor, ui.link) if e.text == "Maria Schmidt"]
    assert links and links[0]._props["href"] == f"/doctor/patients/{maria.id}"

    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    await user.open("/patient")
    await user.should_see(marker=f"checkin-{appointment_id}")
    user.find(marker=f"checkin-{appointment_id}").click()

    await eventually(
        lambda: card_badge(doctor, f"appointment-{appointment_id}") == "arrived",
        why=lambda: card_badge(doctor, f"appointment-{appointment_id}"),
    )
    await eventually(lambda: count(doctor, "waiting") == 1, why=lambda: str(counters(doctor)))
    after = counters(doctor)
    assert after["to-come"] == before["to-come"] - 1
    assert queries.appointment(appointment_id).status == "arrived"
    # the only waiting patient is the next one, with the time waited since the recorded check-in
    assert shown(doctor, f"next-{appointment_id}")
    assert text_of(doctor, f"waited-{appointment_id}").startswith("Waiting under a minute (since ")
    assert next_line(doctor).startswith("Next: Maria Schmidt, ")

    # the doctor starts the visit: "in consultation" counts it, nobody waits any more
    doctor.find(marker=f"start-{appointment_id}").click()
    await eventually(lambda: count(doctor, "in-consultation") == after["in-consultation"] + 1)
    assert count(doctor, "waiting") == 0
    assert card_badge(doctor, f"appointment-{appointment_id}") == "in consultation"
    assert text_of(doctor, f"waited-{appointment_id}").startswith("In consultation since ")


async def test_a_booking_by_another_user_appears_in_the_open_queue_in_order_and_the_counters_change(
    user: User, queries, demo_db: str
) -> None:
    doc = okafor(queries)
    services = app.state.healthsync.services
    # a day of the doctor's that has appointments already, and a free time before the last of them
    upcoming = [a for a in queries.doctor_day(doc, services.clock.today(), TZ) if a.start > datetime.now(UTC)]
    day = services.clock.today()
    if not upcoming:
        maria = queries.patients(search=PATIENT_LOGIN[0]).items[0]
        theirs = queries.patient_appointments(maria.id, datetime.now(UTC), upcoming=True)
        day = min(a.start for a in theirs if a.doctor_id == doc).astimezone(TZ).date()
    last = max(a.start for a in queries.doctor_day(doc, day, TZ))
    free = [slot.start for slot, ok in services.slots(doc, day, 1) if ok]
    start = max((f for f in free if f < last), default=free[0])

    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    await user.open(f"/doctor?day={day.isoformat()}")
    await user.should_see(marker="queue-counters")
    doctor = user
    before, ids_before = counters(doctor), queue_order(doctor)

    # another user (a patient, on their own device) books that time
    tomas = actor_of(demo_db, OTHER_PATIENT_LOGIN[0])
    await asyncio_io(services.book, tomas, doc, start, "Sore throat")

    await eventually(lambda: len(queue_order(doctor)) == len(ids_before) + 1, why=lambda: str(queue_order(doctor)))
    (new_id,) = set(queue_order(doctor)) - set(ids_before)
    await eventually(lambda: count(doctor, "to-come") == before["to-come"] + 1, why=lambda: str(counters(doctor)))
    # the new card sits at its place in time, not at the end
    starts = [queries.appointment(i).start for i in queue_order(doctor)]
    assert starts == sorted(starts)
    assert card_badge(doctor, f"appointment-{new_id}") == "booked"

    assert queue_order(doctor).index(new_id) < len(ids_before)  # not at the end: before a later card
    # the patient phones to cancel and the desk does it: the card turns cancelled and the counters follow
    await asyncio_io(services.cancel, actor_of(demo_db, ADMIN[0]), new_id, "pat", "Phoned the desk")
    await eventually(lambda: card_badge(doctor, f"appointment-{new_id}") == "cancelled")
    await eventually(lambda: count(doctor, "cancelled") == before["cancelled"] + 1)
    assert count(doctor, "to-come") == before["to-come"]


async def test_admin_marks_arrival_at_the_front_desk_and_the_doctors_queue_changes(
    user: User, create_user, queries, demo_db: str
) -> None:
    grace = queries.patients(search="Grace").items[0]
    appointment_id = book_today(demo_db, okafor(queries), grace.id)
    maria = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    marias = book_today(demo_db, okafor(queries), maria.id, minutes_from_now=20)

    doctor = create_user()
    await sign_in(doctor, DOCTOR_LOGIN[0], demo_db)
    await doctor.open("/doctor")
    await doctor.should_see(marker=f"appointment-{appointment_id}")
    waiting_before = count(doctor, "waiting")

    await sign_in(user, ADMIN[0], demo_db)
    await user.open("/admin/arrivals")
    await user.should_see(marker=f"arrival-{appointment_id}")
    assert card_badge(user, f"arrival-{appointment_id}") == "booked"
    assert element(user, f"arrival-{marias}") is not None
    # live on the desk too: the doctor cancels one (its row changes in place), a new booking appears in its place
    cancelled_before = count(user, "cancelled")
    okafor_actor = actor_of(demo_db, DOCTOR_LOGIN[0])
    await asyncio_io(app.state.healthsync.services.cancel, okafor_actor, marias, "prov-hosp", "")
    await eventually(lambda: card_badge(user, f"arrival-{marias}") == "cancelled")
    await eventually(lambda: count(user, "cancelled") == cancelled_before + 1)
    assert not shown(user, f"mark-arrived-{marias}")
    early = book_today(demo_db, okafor(queries), maria.id, at=midnight() + timedelta(minutes=3))
    new = queries.appointment(early)
    app.state.healthsync.live.publish(
        ev.SlotBooked(early, new.doctor_id, new.patient_id, new.start, new.end)  # as the booking path would
    )
    await eventually(
        lambda: queue_order(user, "arrival-")[:1] == [early], why=lambda: str(queue_order(user, "arrival-"))
    )
    # the name search narrows the list on the server
    user.find(marker="arrivals-search").type("o'neill")
    expected = queries.arrivals(datetime.now(TZ).date(), TZ, search="o'neill").total
    await eventually(lambda: text_of(user, "arrivals-shown") == f"Showing {expected} of {expected}")
    assert element(user, f"arrival-{marias}") is None and element(user, f"arrival-{appointment_id}") is not None
    rows = [c for c in found(user, ui.card) if any(m.startswith("arrival-") for m in c._markers)]
    assert len(rows) == expected and all(
        "Grace O'Neill" in [d.text for d in card.descendants() if isinstance(d, ui.label)] for card in rows
    )
    user.find(marker=f"mark-arrived-{appointment_id}").click()

    await eventually(lambda: card_badge(doctor, f"appointment-{appointment_id}") == "arrived")
    await eventually(lambda: count(doctor, "waiting") == waiting_before + 1)
    assert queries.appointment(appointment_id).status == "arrived"
    # the desk's own row changed in place: arrived, no more button, and its counter too
    await eventually(lambda: card_badge(user, f"arrival-{appointment_id}") == "arrived")
    assert not shown(user, f"mark-arrived-{appointment_id}")
    await eventually(lambda: count(user, "waiting") >= 1)
    # marked by mistake: "Undo" puts it back, on the desk and in the doctor's open queue
    user.find(marker=f"undo-arrived-{appointment_id}").click()
    await eventually(lambda: card_badge(doctor, f"appointment-{appointment_id}") == "booked")
    await eventually(lambda: count(doctor, "waiting") == waiting_before)
    await eventually(lambda: card_badge(user, f"arrival-{appointment_id}") == "booked")
    assert shown(user, f"mark-arrived-{appointment_id}") and not shown(user, f"undo-arrived-{appointment_id}")


async def test_front_desk_lists_today_across_doctors_filters_and_pages(user: User, queries, demo_db: str) -> None:
    patients = queries.patients().items
    doctors = queries.doctors().items
    # more than a page, all today between 00:07 and 06:24 (before anyone's working hours: no clash)
    made = [
        book_today(
            demo_db,
            doctors[i % len(doctors)].id,
            patients[i % len(patients)].id,
            at=midnight() + timedelta(minutes=7 + 13 * i),
        )
        for i in range(30)
    ]
    await sign_in(user, ADMIN[0], demo_db)
    await user.open("/admin/arrivals")
    await user.should_see(marker="arrivals-shown")
    total = queries.arrivals(datetime.now(TZ).date(), TZ, limit=1).total
    assert total >= 30
    assert text_of(user, "arrivals-shown") == f"Showing 25 of {total}"
    user.find(marker="arrivals-more").click()
    await eventually(lambda: text_of(user, "arrivals-shown") == f"Showing {min(total, 50)} of {total}")
    listed = queue_order(user, "arrival-")
    assert len(listed) == min(total, 50) and listed[:30] == made  # the earliest of the day first, in time order

    # one doctor only: every row names that doctor
    weber = [d for d in doctors if d.name == DOCTORS[1][0]][0]
    select = user.find(marker="arrivals-doctor").elements.pop()
    with user.client:  # type: ignore[union-attr]
        select.value = weber.id  # type: ignore[attr-defined]
    expected = queries.arrivals(datetime.now(TZ).date(), TZ, doctor_id=weber.id).total
    await eventually(lambda: text_of(user, "arrivals-shown") == f"Showing {min(expected, 25)} of {expected}")
    rows = [c for c in found(user, ui.card) if any(m.startswith("arrival-") for m in c._markers)]
    assert rows and all(any(weber.name in d.text for d in c.descendants() if isinstance(d, ui.label)) for c in rows)


async def test_week_view_puts_appointments_on_their_days_and_follows_a_cancellation_live(
    user: User, queries, demo_db: str
) -> None:
    doc = okafor(queries)
    maria = queries.patients(search=PATIENT_LOGIN[0]).items[0]
    theirs = [
        a for a in queries.patient_appointments(maria.id, datetime.now(UTC), upcoming=True) if a.doctor_id == doc
    ][0]
    day = theirs.start.astimezone(TZ).date()
    monday = day - timedelta(days=day.weekday())
    week = queries.doctor_week(doc, monday, TZ)
    assert theirs.id in [a.id for a in week]

    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    await user.open(f"/doctor/week?start={day.isoformat()}")  # any day of the week opens its Monday
    await user.should_see(marker=f"week-appointment-{theirs.id}")
    assert text_of(user, "week-title").startswith(monday.strftime("%a %d %b"))
    for offset in range(7):
        column = monday + timedelta(days=offset)
        cards = [c for c in found(user, ui.card) if f"day-{column.isoformat()}" in c._markers]
        assert len(cards) == 1
        inside = [
            int(m.removeprefix("week-appointment-"))
            for d in cards[0].descendants()
            for m in d._markers
            if m.startswith("week-appointment-")
        ]
        expected = [a.id for a in week if a.start.astimezone(TZ).date() == column]
        assert inside == expected, column  # on the right day, in time order
    entry = element(user, f"week-appointment-{theirs.id}")
    assert entry._props["href"] == f"/doctor/visit/{theirs.id}"
    assert card_badge(user, f"day-{day.isoformat()}") != ""
    cancelled_before = count(user, "cancelled")

    doctor = actor_of(demo_db, DOCTOR_LOGIN[0])
    await asyncio_io(app.state.healthsync.services.cancel, doctor, theirs.id, "prov-hosp", "")
    await eventually(lambda: count(user, "cancelled") == cancelled_before + 1, why=lambda: str(counters(user)))
    badges = [b.text for b in entry.descendants() if isinstance(b, ui.badge)]
    assert badges == ["cancelled"]
    assert entry._props["href"] == f"/doctor?day={day.isoformat()}"  # nothing to open any more: its day

    # a new booking in that week appears in its day column without a reload
    free = [
        s
        for s, ok in app.state.healthsync.services.slots(doc, monday, 7)
        if ok and s.start.astimezone(TZ).date() >= datetime.now(TZ).date()
    ]
    assert free, "the cancelled visit's time at least is free again"
    booked = await asyncio_io(
        app.state.healthsync.services.book, actor_of(demo_db, PATIENT_LOGIN[0]), doc, free[0].start
    )
    await eventually(lambda: element(user, f"week-appointment-{booked.id}") is not None)
    column = free[0].start.astimezone(TZ).date()
    cards = [c for c in found(user, ui.card) if f"day-{column.isoformat()}" in c._markers]
    assert any(f"week-appointment-{booked.id}" in d._markers for d in cards[0].descendants())


async def test_visit_times_come_from_the_recorded_workflow_steps(user: User, queries, demo_db: str) -> None:
    """On the real database: no arrival recorded -> none shown (nothing invented); then the check-in's time."""
    grace = queries.patients(search="Grace").items[0]
    appointment_id = book_today(demo_db, okafor(queries), grace.id)
    assert queries.visit_times([appointment_id], midnight()) == {}
    patient = actor_of(demo_db, "grace@healthsync.example")
    await asyncio_io(app.state.healthsync.services.set_status, patient, appointment_id, AppointmentStatus.ARRIVED)
    arrived, started = queries.visit_times([appointment_id], midnight())[appointment_id]
    assert arrived is not None and abs((datetime.now(UTC) - arrived).total_seconds()) < 60
    assert started is None


async def test_only_doctors_open_the_week_and_only_admins_the_arrivals(user: User, demo_db: str) -> None:
    await sign_in(user, PATIENT_LOGIN[0], demo_db)
    for path in ("/doctor/week", "/admin/arrivals"):
        await user.open(path)
        await user.should_see("Not allowed")


async def asyncio_io(fn: Any, *args: Any) -> Any:
    """A service call off the event loop, as pages make it (its events reach the open pages after commit)."""
    from nicegui import run

    return await run.io_bound(fn, *args)


def test_queue_queries_on_sqlite_and_postgres(db_url: str) -> None:
    """The reads behind the queue, the week and the desk on a real database (Postgres when configured)."""
    from data.queries import Queries
    from data.seed import _services, seed_demo

    settings = Settings(database_url=db_url)
    assert seed_demo(settings) is not None
    services = _services(settings)
    engine = make_engine(db_url)
    queries = Queries(engine)
    try:
        doc = okafor(queries)
        weber = int(queries.doctors(search=DOCTORS[1][0]).items[0].id)
        grace, maria = queries.patients(search="Grace").items[0], queries.patients(search="Maria").items[0]
        today = services.clock.today()
        first = datetime.combine(today, time(0), tzinfo=TZ)
        a = book_today(db_url, doc, grace.id, at=first + timedelta(minutes=7))
        b = book_today(db_url, weber, maria.id, at=first + timedelta(minutes=9))
        c = book_today(db_url, doc, maria.id, at=first + timedelta(days=1, minutes=7))  # tomorrow

        # the desk: today only, in time order, filtered by doctor, department, name words and status
        listed = queries.arrivals(today, TZ, limit=100)
        assert [x.id for x in listed.items][:2] == [a, b] and c not in [x.id for x in listed.items]
        assert listed.total == len(queries.arrivals(today, TZ, limit=1000).items)
        assert {x.doctor_id for x in queries.arrivals(today, TZ, doctor_id=weber, limit=100).items} == {weber}
        dept = queries.doctor(weber).department_id  # type: ignore[union-attr]
        in_dept = queries.arrivals(today, TZ, department_id=dept, limit=100).items
        assert b in [x.id for x in in_dept] and a not in [x.id for x in in_dept]
        assert [x.id for x in queries.arrivals(today, TZ, search="o'neill GRACE", limit=100).items][0] == a
        assert all(x.patient == "Grace O'Neill" for x in queries.arrivals(today, TZ, search="o'neill").items)
        page = queries.arrivals(today, TZ, limit=1, offset=1)
        assert page.total == listed.total and [x.id for x in page.items] == [b]
        before = queries.arrival_counts(today, TZ)

        admin = Actor(queries_admin_account(engine), Role.ADMIN)
        services.set_status(admin, a, AppointmentStatus.ARRIVED)
        after = queries.arrival_counts(today, TZ)
        assert after.get("arrived", 0) == before.get("arrived", 0) + 1
        assert after.get("booked", 0) == before.get("booked", 0) - 1
        assert [x.id for x in queries.arrivals(today, TZ, statuses=("arrived",), limit=100).items] == [a]
        assert queries.arrival_counts(today, TZ, doctor_id=weber).get("arrived", 0) == 0

        # arrival and start times from the recorded steps; nothing for an appointment without them
        services.set_status(admin, a, AppointmentStatus.CHECKED_IN)
        times = queries.visit_times([a, b], first)
        arrived, started = times[a]
        assert arrived is not None and started is not None and arrived <= started
        assert b not in times
        assert queries.visit_times([a], first + timedelta(days=1)) == {}  # steps before `since` are not read

        # the week: Monday to Sunday in the hospital's zone
        monday = today - timedelta(days=today.weekday())
        week = queries.doctor_week(doc, monday, TZ)
        assert a in [x.id for x in week] and b not in [x.id for x in week]
        assert all(monday <= x.start.astimezone(TZ).date() < monday + timedelta(days=7) for x in week)
        assert [x.start for x in week] == sorted(x.start for x in week)
        assert (c in [x.id for x in week]) == (today.weekday() < 6)  # tomorrow is in this week unless today is Sunday
    finally:
        engine.dispose()


def queries_admin_account(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT id FROM account WHERE role = 'admin'")).scalar_one())


async def test_odd_addresses_show_a_sensible_page_not_an_error(user: User, create_user, demo_db: str) -> None:
    await sign_in(user, DOCTOR_LOGIN[0], demo_db)
    today = datetime.now(TZ).date()
    monday = today - timedelta(days=today.weekday())
    for start in ("not-a-date", "2026-02-30", "99999-01-01"):
        await user.open(f"/doctor/week?start={start}")
        await user.should_see(marker="week-title")
        assert text_of(user, "week-title").startswith(monday.strftime("%a %d %b"))
    await user.open("/doctor/week?start=2026-03-04")  # a Wednesday: its week from Monday
    assert text_of(user, "week-title") == "Mon 02 Mar – Sun 08 Mar 2026"

    admin = create_user()
    await sign_in(admin, ADMIN[0], demo_db)
    await admin.open("/admin/arrivals?department=abc&doctor=99999999999999999999999&q=%3Cb%3E")
    await admin.should_see(marker="arrivals-shown")
    assert text_of(admin, "arrivals-shown") == "Showing 0 of 0"  # nobody is called "<b>"
