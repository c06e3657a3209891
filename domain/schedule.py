"""Slot generation from a doctor's weekly hours, in the hospital's local time zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.model import WEEKDAY_NAMES, Slot, WorkingHours

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


def _exists(local: datetime, tz: ZoneInfo) -> bool:
    """False for wall times skipped by a spring-forward change."""
    round_trip = local.astimezone(UTC).astimezone(tz)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def is_on_grid(slot_start: datetime, slots: Iterable[Slot]) -> Slot | None:
    for slot in slots:
        if slot.start == slot_start:
            return slot
    return None
