"""Random sequences of scheduling commands on the fakes (book, book_any, cancel, reschedule, leave, closures,
template changes, the waiting list, time passing). After every step the rules a patient relies on hold:

- no doctor has two active appointments that overlap, and no patient overlaps themselves;
- every active appointment lies on the grid and inside the hours of its doctor's templates as they were when it
  was booked, and was not on leave nor held for somebody else then;
- a booking succeeds exactly when the booking page offered the time as free (and the patient is free then);
- every freed time is bookable by another patient, when it is inside the hours, not on leave, not held, not
  overlapped by another appointment and within the booking window;
- a template change returns exactly the appointments outside the new hours and changes no appointment;
- a refused command changes nothing and announces nothing.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.model import Actor, Appointment, Role, VisitType, WeeklyTemplate
from domain.schedule import generate_grid, on_leave, within_hours
from domain.services import Services
from tests.fakes import BERLIN, FakeStore, FixedClock, make_services, weekdays

TZ = BERLIN
NOW = datetime(2026, 3, 16, 10, 30, tzinfo=TZ).astimezone(UTC)  # Monday 10:30, on the grid: "now" is a slot start
DAYS = [date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)]
HOURS = [
    weekdays(time(9), time(12)) + weekdays(time(13), time(16)),
    weekdays(time(10), time(14)),
    weekdays(time(8), time(11), range(3)) + weekdays(time(14), time(17)),
]
CONSULT, FOLLOW_UP, PROCEDURE = (
    VisitType("consultation", "Consultation", 15),
    VisitType("follow-up", "Follow-up", 30),
    VisitType("procedure", "Procedure", 60),
)
MINUTES = [0, 10, 15, 20, 30, 40, 45, 50]

day_i = st.integers(0, len(DAYS) - 1)
hour = st.integers(8, 16)
minute = st.sampled_from(MINUTES)
pick = st.sampled_from(range(48))
doctor_i = st.integers(0, 2)
patient_i = st.integers(0, 3)

#: a time: mostly a cell of the doctor's grid that day (an index into it), sometimes any wall time
when = st.one_of(st.tuples(st.just("cell"), pick), st.tuples(st.just("wall"), hour, minute))
BOOK = st.tuples(st.just("book"), patient_i, doctor_i, day_i, when, st.integers(0, 1))

OPS = st.one_of(
    BOOK,
    BOOK,
    BOOK,
    BOOK,
    st.tuples(st.just("book_any"), patient_i, day_i, when),
    st.tuples(st.just("cancel"), pick, st.sampled_from(["patient", "doctor", "admin"])),
    st.tuples(st.just("reschedule"), pick, day_i, when),
    st.tuples(
        st.just("leave"),
        st.sampled_from([0, 1, 2, None]),
        day_i,
        st.sampled_from(["full", "morning", "afternoon", "two days"]),
        st.sampled_from(["own", "admin", "other"]),
    ),
    st.tuples(st.just("remove_leave"), pick),
    st.tuples(st.just("template"), doctor_i, st.integers(0, len(HOURS) - 1), st.sampled_from([15, 20, 30]), day_i),
    st.tuples(st.just("wait"), patient_i, st.sampled_from([0, 1, 2, "department"])),
    st.tuples(st.just("offer"), pick, st.booleans()),
    st.tuples(st.just("later"), st.sampled_from([3, 6])),
)


class World:
    """One hospital on the fakes, plus what the checks remember (the templates in force at each booking)."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.clock = FixedClock(NOW, TZ)
        self.svc: Services = make_services(self.store, self.clock)
        department = self.store.add_department("General medicine")
        assert department.id is not None
        self.department_id: int = department.id
        specs = [
            (HOURS[0], 15, (CONSULT, FOLLOW_UP), 0),
            (HOURS[1], 30, (CONSULT, FOLLOW_UP), 0),
            (HOURS[0], 20, (VisitType("consultation", "Consultation", 20), PROCEDURE), 1),
        ]
        self.doctors: list[tuple[int, Actor]] = []
        for i, (hours, grid, types, notice) in enumerate(specs):
            doctor, actor = self.store.add_doctor(
                f"Dr {i}", hours, grid, department_id=department.id, visit_types=types, min_notice_hours=notice
            )
            assert doctor.id is not None
            self.doctors.append((doctor.id, actor))
        self.patients = [self.store.add_patient(f"Patient {i}")[1] for i in range(4)]
        self.probe = self.store.add_patient("Probe")[1]  # never keeps a booking: checks that a time is free
        self.admin = self.store.add_admin()
        self.booked_with: dict[int, list[WeeklyTemplate]] = {}
        self.seen_offers: set[int] = set()

    # ---- reading the committed state ---------------------------------------------------------
    def active(self) -> list[Appointment]:
        return sorted(self.store.active_appointments(), key=lambda a: a.id or 0)

    def templates(self, doctor_id: int) -> list[WeeklyTemplate]:
        return list(self.store.tables.templates[doctor_id])

    def patient_actor(self, patient_id: int) -> Actor:
        return next(p for p in [*self.patients, self.probe] if p.patient_id == patient_id)

    def doctor_actor(self, doctor_id: int) -> Actor:
        return next(a for d, a in self.doctors if d == doctor_id)

    def at(self, day: int, hh: int, mm: int) -> datetime:
        return datetime.combine(DAYS[day], time(hh, mm), tzinfo=TZ).astimezone(UTC)

    def time_for(self, doctor_ids: list[int], day: int, spec: tuple[Any, ...]) -> datetime:
        if spec[0] == "wall":
            return self.at(day, spec[1], spec[2])
        soon = self.clock.now() - timedelta(minutes=30)  # the last past cell, "now" and what follows
        cells = sorted(
            {
                s.start
                for d in doctor_ids
                for s in generate_grid(d, self.templates(d), DAYS[day], 1, TZ)
                if s.start >= soon
            }
        )
        cells = [c for c in cells if c > self.clock.now()] + [c for c in cells if c <= self.clock.now()]
        return cells[spec[1] % len(cells)] if cells else self.at(day, 9, 0)

    def offered(self, doctor_id: int, start: datetime, code: str | None, patient_id: int | None) -> bool | None:
        """What the booking page shows: True free, False busy, None not offered."""
        day = start.astimezone(TZ).date()
        return dict((s.start, f) for s, f in self.svc.slots(doctor_id, day, 1, code, patient_id)).get(start)

    def patient_busy(self, patient_id: int, start: datetime, end: datetime) -> bool:
        return any(a.patient_id == patient_id and a.overlaps(start, end) for a in self.active())

    def bookable_for_probe(self, doctor_id: int, start: datetime, code: str) -> bool:
        """Book it as the probe patient and undo: True when the booking went through."""
        saved, told = copy.deepcopy(self.store.tables), len(self.store.published)
        try:
            self.svc.book(self.probe, doctor_id, start, visit_type=code)
            return True
        except DomainError:
            return False
        finally:
            self.store.tables = saved
            del self.store.published[told:]

    # ---- the rules -------------------------------------------------------------------------------
    def check_invariants(self) -> None:
        active = self.active()
        for i, a in enumerate(active):
            for b in active[i + 1 :]:
                if a.overlaps(b.start, b.end):
                    assert a.doctor_id != b.doctor_id, f"doctor double booked: {a} / {b}"
                    assert a.patient_id != b.patient_id, f"patient in two places: {a} / {b}"
        for a in active:
            assert a.id is not None
            templates = self.booked_with[a.id]
            grid = generate_grid(a.doctor_id, templates, a.start.astimezone(TZ).date(), 1, TZ)
            assert any(s.start == a.start for s in grid), f"off the grid it was booked on: {a}"
            assert within_hours(templates, a.start, a.end, TZ), f"outside the hours it was booked in: {a}"

    def record_new_bookings(self) -> None:
        """Remember the templates in force for every appointment that was just booked, and check that it was
        not on leave, not held for another patient and not in the past."""
        now = self.clock.now()
        for a in self.store.tables.appointments.values():
            if a.id in self.booked_with:
                continue
            assert a.id is not None and a.is_active
            self.booked_with[a.id] = self.templates(a.doctor_id)
            assert a.start > now
            leaves = list(self.store.tables.leaves.values())
            mine = [lv for lv in leaves if lv.doctor_id in (None, a.doctor_id)]
            assert on_leave(mine, a.start, a.end) is None, f"booked on leave: {a}"
            for o in self.store.tables.offers.values():
                if o.doctor_id == a.doctor_id and o.is_open(now) and o.start < a.end and a.start < o.end:
                    assert o.patient_id == a.patient_id, f"booked a time held for somebody else: {a}"

    def check_new_offers(self) -> None:
        """A waiting patient is offered only a time that could be booked: inside the hours, on the grid, not on
        leave, not taken, and while the patient is free then."""
        now = self.clock.now()
        for o in self.store.tables.offers.values():
            if o.id in self.seen_offers:
                continue
            assert o.id is not None
            self.seen_offers.add(o.id)
            templates = self.templates(o.doctor_id)
            grid = generate_grid(o.doctor_id, templates, o.start.astimezone(TZ).date(), 1, TZ)
            leaves = [lv for lv in self.store.tables.leaves.values() if lv.doctor_id in (None, o.doctor_id)]
            assert any(s.start == o.start for s in grid) and within_hours(templates, o.start, o.end, TZ), o
            assert on_leave(leaves, o.start, o.end) is None, o
            assert not any(a.doctor_id == o.doctor_id and a.overlaps(o.start, o.end) for a in self.active()), o
            assert not self.patient_busy(o.patient_id, o.start, o.end), o
            assert o.start > now and o.expires > now, o

    def check_freed(self, doctor_id: int, start: datetime, end: datetime, code: str) -> None:
        """A time that just became free is bookable by another patient, unless a rule says it is not."""
        now = self.clock.now()
        doctor = self.store.tables.doctors[doctor_id]
        try:
            vt = doctor.visit_type(code)
        except DomainError:
            return
        end = start + timedelta(minutes=vt.minutes)
        templates = self.templates(doctor_id)
        grid = generate_grid(doctor_id, templates, start.astimezone(TZ).date(), 1, TZ)
        leaves = [lv for lv in self.store.tables.leaves.values() if lv.doctor_id in (None, doctor_id)]
        expected = (
            any(s.start == start for s in grid)
            and within_hours(templates, start, end, TZ)
            and on_leave(leaves, start, end) is None
            and not any(
                o.doctor_id == doctor_id and o.is_open(now) and o.start < end and start < o.end
                for o in self.store.tables.offers.values()
            )
            and not any(a.doctor_id == doctor_id and a.overlaps(start, end) for a in self.active())
            and now < start
            and now + timedelta(hours=doctor.min_notice_hours) <= start <= now + timedelta(days=doctor.horizon_days)
        )
        if expected:
            assert self.offered(doctor_id, start, vt.code, self.probe.patient_id) is True, (doctor_id, start)
            assert self.bookable_for_probe(doctor_id, start, vt.code), (doctor_id, start)

    # ---- one step --------------------------------------------------------------------------------
    def step(self, op: tuple[Any, ...]) -> None:
        kind = op[0]
        before_tables, told = copy.deepcopy(self.store.tables), len(self.store.published)
        freed: list[tuple[int, datetime, datetime, str]] = []
        try:
            freed = self.run(op)
        except DomainError:
            assert self.store.tables == before_tables, f"a refused {kind} changed something"
            assert len(self.store.published) == told, f"a refused {kind} announced something"
        self.record_new_bookings()
        self.check_new_offers()
        self.check_invariants()
        for f in freed:
            self.check_freed(*f)

    def run(self, op: tuple[Any, ...]) -> list[tuple[int, datetime, datetime, str]]:
        kind = op[0]
        svc, now = self.svc, self.clock.now()
        if kind == "book":
            _, p, d, day, spec, t = op
            actor, (doctor_id, _) = self.patients[p], self.doctors[d]
            types = self.store.tables.doctors[doctor_id].offered_types()
            vt = types[t % len(types)]
            start = self.time_for([doctor_id], day, spec)
            assert actor.patient_id is not None
            shown = self.offered(doctor_id, start, vt.code, actor.patient_id)
            should = shown is True and not self.patient_busy(
                actor.patient_id, start, start + timedelta(minutes=vt.minutes)
            )
            try:
                svc.book(actor, doctor_id, start, visit_type=vt.code)
            except DomainError as e:
                assert not should, f"the page offered {start} with {doctor_id} as free, booking said {e.message}"
                raise
            assert should, f"booked {start} with {doctor_id} although the page showed {shown}"
            return []
        if kind == "book_any":
            _, p, day, spec = op
            actor, start = self.patients[p], self.time_for([d for d, _ in self.doctors], day, spec)
            assert actor.patient_id is not None
            listed = svc.department_slots(self.department_id, DAYS[day], 1, actor.patient_id)
            free = next((f for s, f in listed if s.start == start), None)
            idle = not self.patient_busy(actor.patient_id, start, start + timedelta(minutes=60))
            try:
                got = svc.book_any(actor, self.department_id, start)
            except DomainError as e:
                assert not (free is True and idle), f"any doctor was shown free at {start}: {e.message}"
                raise
            assert free is True, f"any-doctor booking at {start} although the page showed {free}"
            assert got.doctor_id in {d for d, _ in self.doctors}
            return []
        if kind == "cancel":
            _, i, who = op
            active = self.active()
            if not active:
                return []
            a = active[i % len(active)]
            assert a.id is not None
            if who == "patient":
                svc.cancel(self.patient_actor(a.patient_id), a.id)
            elif who == "doctor":
                svc.cancel(self.doctor_actor(a.doctor_id), a.id, code="prov")
            else:
                svc.cancel(self.admin, a.id, code="other")
            return [(a.doctor_id, a.start, a.end, a.visit_type)]
        if kind == "reschedule":
            _, i, day, spec = op
            active = self.active()
            if not active:
                return []
            a = active[i % len(active)]
            assert a.id is not None
            new = svc.reschedule(self.patient_actor(a.patient_id), a.id, self.time_for([a.doctor_id], day, spec))
            assert new.rescheduled_from == a.id and new.doctor_id == a.doctor_id
            assert new.end - new.start == a.end - a.start
            return [(a.doctor_id, a.start, a.end, a.visit_type)]
        if kind == "leave":
            _, d, day, part, who = op
            doctor_id = None if d is None else self.doctors[d][0]
            if who == "admin":
                actor = self.admin
            elif who == "own" and doctor_id is not None:
                actor = self.doctor_actor(doctor_id)
            else:
                actor = self.doctors[((d or 0) + 1) % 3][1]  # another doctor (or a doctor for a closure)
            first = DAYS[day]
            last = first + timedelta(days=1) if part == "two days" else first
            leave, cancelled = svc.add_leave(actor, doctor_id, first, last, "full" if part == "two days" else part)
            assert who == "admin" or (who == "own" and doctor_id is not None), "leave entered by the wrong person"
            for a in self.active():  # nobody is left booked in it, except for what is already over
                if a.doctor_id == doctor_id or doctor_id is None:
                    assert not (leave.covers(a.start, a.end) and a.end > now), f"booked on leave: {a}"
            for a in cancelled:
                assert self.store.tables.appointments[a.id or 0].cancel_reason
            return []
        if kind == "remove_leave":
            _, i = op
            leaves = sorted(self.store.tables.leaves.values(), key=lambda lv: lv.id or 0)
            if not leaves:
                return []
            leave = leaves[i % len(leaves)]
            assert leave.id is not None
            actor = self.admin if leave.doctor_id is None else self.doctor_actor(leave.doctor_id)
            svc.remove_leave(actor, leave.id)
            return []
        if kind == "template":
            _, d, h, grid, day = op
            doctor_id, actor = self.doctors[d]
            appointments_before = copy.deepcopy(self.store.tables.appointments)
            conflicts = svc.set_availability(actor, doctor_id, HOURS[h], grid, effective_from=DAYS[day])
            assert self.store.tables.appointments == appointments_before, "a template change moved appointments"
            templates = self.templates(doctor_id)
            outside = {
                a.id
                for a in self.active()
                if a.doctor_id == doctor_id and a.end > now and not within_hours(templates, a.start, a.end, TZ)
            }
            assert {c.id for c in conflicts} == outside
            return []
        if kind == "wait":
            _, p, target = op
            if target == "department":
                svc.join_waitlist(self.patients[p], DAYS[0], DAYS[-1], department_id=self.department_id)
            else:
                svc.join_waitlist(self.patients[p], DAYS[0], DAYS[-1], doctor_id=self.doctors[target][0])
            return []
        if kind == "offer":
            _, i, accept = op
            open_offers = sorted(
                (o for o in self.store.tables.offers.values() if o.is_open(now)), key=lambda o: o.id or 0
            )
            if not open_offers:
                return []
            offer = open_offers[i % len(open_offers)]
            assert offer.id is not None
            actor = self.patient_actor(offer.patient_id)
            if accept:
                got = svc.accept_offer(actor, offer.id)
                assert (got.patient_id, got.doctor_id, got.start) == (offer.patient_id, offer.doctor_id, offer.start)
                return []
            svc.decline_offer(actor, offer.id)
            return [(offer.doctor_id, offer.start, offer.end, offer.visit_type)]
        if kind == "later":
            _, minutes = op
            ending = [o for o in self.store.tables.offers.values() if o.is_open(now)]
            self.clock.set(now + timedelta(minutes=minutes))
            svc.expire_offers()
            return [(o.doctor_id, o.start, o.end, o.visit_type) for o in ending if not o.is_open(self.clock.now())]
        raise AssertionError(kind)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(OPS, min_size=10, max_size=40))
def test_random_scheduling_keeps_every_rule(ops: list[tuple[Any, ...]]) -> None:
    world = World()
    for op in ops:
        world.step(op)


def test_the_probe_check_can_tell_a_free_time_from_a_taken_one() -> None:
    """The property test's own tool: the probe books on a copy, so a free time stays free after the check."""
    world = World()
    doctor_id, _ = world.doctors[0]
    start = world.at(1, 9, 0)
    assert world.bookable_for_probe(doctor_id, start, "consultation")
    assert world.bookable_for_probe(doctor_id, start, "consultation")  # undone: still free
    world.svc.book(world.patients[0], doctor_id, start)
    assert not world.bookable_for_probe(doctor_id, start, "consultation")
    assert world.probe.role == Role.PATIENT and not world.store.active_appointments()[1:]
