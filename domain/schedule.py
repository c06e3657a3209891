"""Slot generation from a doctor's weekly hours, in the hospital's local time zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.model import WEEKDAY_NAMES, Leave, Slot, WeeklyTemplate, WorkingHours, template_on

ALLOWED_SLOT_MINUTES = (10, 15, 20, 30, 45, 60)


def check_slot_minutes(minutes: int) -> int:
    if minutes not in ALLOWED_SLOT_MINUTES:
        allowed = ", ".join(str(m) for m in ALLOWED_SLOT_MINUTES)
        raise ValidationError(f"Slot length must be one of {allowed} minutes.")
    return minutes


def check_no_overlap(hours: Iterable[WorkingHours]) -> list[WorkingHours]:
    ordered = sorted(hours, key=lambda h: (h.weekday, h.start))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.weekday == after.weekday and after.start < before.end:
            raise ValidationError(
                f"On {WEEKDAY_NAMES[after.weekday]}, {after.start:%H:%M}–{after.end:%H:%M} overlaps "
                f"{before.start:%H:%M}–{before.end:%H:%M}."
            )
    return ordered


def generate_slots(
    doctor_id: int,
    hours: Iterable[WorkingHours],
    slot_minutes: int,
    first_day: date,
    days: int,
    tz: ZoneInfo,
) -> list[Slot]:
    """Every slot of the given days. Wall-clock times are kept across DST changes
    (09:00 stays 09:00); a wall time that does not exist on a spring-forward day is skipped."""
    by_day: dict[int, list[WorkingHours]] = {}
    for h in hours:
        by_day.setdefault(h.weekday, []).append(h)
    step = timedelta(minutes=slot_minutes)
    slots: list[Slot] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for rng in sorted(by_day.get(day.weekday(), []), key=lambda h: h.start):
            cursor = datetime.combine(day, rng.start)
            stop = datetime.combine(day, rng.end)
            while cursor + step <= stop:
                local = cursor.replace(tzinfo=tz)
                if _exists(local, tz):
                    start = local.astimezone(UTC)
                    end = start + step  # a slot lasts slot_minutes, also in the repeated autumn hour
                    # across a spring-forward gap a slot can run into the next one: offer only the first
                    if not slots or slots[-1].end <= start:
                        slots.append(Slot(doctor_id, start, end))
                cursor += step
    return slots


def generate_grid(
    doctor_id: int, templates: list[WeeklyTemplate], first_day: date, days: int, tz: ZoneInfo
) -> list[Slot]:
    """The grid of the given local days, each day from the template in force on it."""
    slots: list[Slot] = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        template = template_on(templates, day)
        if template is not None:
            slots.extend(generate_slots(doctor_id, template.hours, template.slot_minutes, day, 1, tz))
    return slots


def within_hours(templates: list[WeeklyTemplate], start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Whether [start, end) lies inside one working range of its local day (not past the end, not into a
    break). Wall-clock times, so it holds on DST days too."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    template = template_on(templates, day)
    if template is None or local_end.date() != day:
        return False
    return any(
        rng.start <= local_start.time() and local_end.time() <= rng.end for rng in template.ranges_on(day.weekday())
    )


def leave_range(first_day: date, last_day: date, part: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC bounds of leave on local days: whole days ('full') from first to last day inclusive, or half of
    one day ('morning' until 12:00, 'afternoon' from 12:00)."""
    if last_day < first_day:
        raise ValidationError("The last day of the leave must not be before the first.")
    if (last_day - first_day).days > 366:
        raise ValidationError("Leave can cover at most a year at once.")
    noon = time(12, 0)
    if part == "full":
        start_local = datetime.combine(first_day, time(0), tzinfo=tz)
        end_local = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    elif part in ("morning", "afternoon"):
        if first_day != last_day:
            raise ValidationError("A half day is one day: choose the same first and last day.")
        start_local = datetime.combine(first_day, time(0) if part == "morning" else noon, tzinfo=tz)
        end_local = (
            datetime.combine(first_day, noon, tzinfo=tz)
            if part == "morning"
            else datetime.combine(first_day + timedelta(days=1), time(0), tzinfo=tz)
        )
    else:
        raise ValidationError("Please choose a whole day, a morning or an afternoon.")
    return start_local.astimezone(UTC), end_local.astimezone(UTC)


def on_leave(leaves: Iterable[Leave], start: datetime, end: datetime) -> Leave | None:
    return next((leave for leave in leaves if leave.covers(start, end)), None)


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    """False for wall times skipped by a spring-forward change."""
    round_trip = local.astimezone(UTC).astimezone(tz)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)
