"""The slot grid: built from weekly hours in the hospital's local time, stored in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ValidationError
from domain.model import WorkingHours
from domain.schedule import check_no_overlap, check_slot_minutes, generate_slots
from tests.fakes import BERLIN

EVERY_DAY = range(7)


def local_starts(slots) -> list[str]:
    return [s.start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M %Z") for s in slots]


def test_nine_o_clock_stays_nine_o_clock_across_spring_dst_change() -> None:
    hours = [WorkingHours(day, time(9), time(10)) for day in EVERY_DAY]
    slots = generate_slots(7, hours, 60, date(2026, 3, 28), 3, BERLIN)

    assert local_starts(slots) == ["2026-03-28 09:00 CET", "2026-03-29 09:00 CEST", "2026-03-30 09:00 CEST"]
    assert [s.start for s in slots] == [
        datetime(2026, 3, 28, 8, tzinfo=UTC),
        datetime(2026, 3, 29, 7, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),
    ]
    assert all(s.start.utcoffset() == timedelta(0) for s in slots)


def test_nine_o_clock_stays_nine_o_clock_across_autumn_dst_change() -> None:
    hours = [WorkingHours(day, time(9), time(10)) for day in EVERY_DAY]
    slots = generate_slots(7, hours, 60, date(2026, 10, 24), 3, BERLIN)

    assert local_starts(slots) == ["2026-10-24 09:00 CEST", "2026-10-25 09:00 CET", "2026-10-26 09:00 CET"]
    assert [s.start for s in slots] == [
        datetime(2026, 10, 24, 7, tzinfo=UTC),
        datetime(2026, 10, 25, 8, tzinfo=UTC),
        datetime(2026, 10, 26, 8, tzinfo=UTC),
    ]


def test_wall_times_that_do_not_exist_on_spring_forward_day_are_skipped() -> None:
    # Sunday 2026-03-29: clocks jump from 02:00 to 03:00 in Berlin
    night = [WorkingHours(6, time(1), time(4))]
    slots = generate_slots(7, night, 30, date(2026, 3, 29), 1, BERLIN)

    assert [s.start.astimezone(BERLIN).strftime("%H:%M") for s in slots] == ["01:00", "01:30", "03:00", "03:30"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    for before, after in zip(slots, slots[1:], strict=False):
        assert before.end <= after.start


def test_every_slot_lasts_its_length_on_the_fall_back_night() -> None:
    # Sunday 2026-10-25: 02:00-03:00 happens twice; no slot may silently last 90 minutes
    night = [WorkingHours(6, time(1), time(4))]
    slots = generate_slots(7, night, 30, date(2026, 10, 25), 1, BERLIN)

    assert slots, "the night shift has slots"
    assert {s.end - s.start for s in slots} == {timedelta(minutes=30)}
    for before, after in zip(slots, slots[1:], strict=False):
        assert before.end <= after.start, "slots never overlap"
    assert slots[0].start.astimezone(BERLIN).strftime("%H:%M") == "01:00"
    assert slots[-1].start.astimezone(BERLIN).strftime("%H:%M") == "03:30"


def test_slots_follow_the_weekday_and_fit_inside_the_working_range() -> None:
    monday_only = [WorkingHours(0, time(9), time(10, 10))]
    slots = generate_slots(3, monday_only, 30, date(2026, 5, 4), 7, BERLIN)  # 2026-05-04 is a Monday

    assert local_starts(slots) == ["2026-05-04 09:00 CEST", "2026-05-04 09:30 CEST"]  # 10:00-10:30 would overrun
    assert {s.doctor_id for s in slots} == {3}


def test_two_ranges_on_one_day_with_a_break() -> None:
    hours = [WorkingHours(0, time(13), time(14)), WorkingHours(0, time(9), time(10))]
    slots = generate_slots(3, hours, 30, date(2026, 5, 4), 1, BERLIN)

    assert [s.start.astimezone(BERLIN).strftime("%H:%M") for s in slots] == ["09:00", "09:30", "13:00", "13:30"]


def test_overlapping_working_ranges_are_rejected() -> None:
    with pytest.raises(ValidationError, match="overlaps"):
        check_no_overlap([WorkingHours(2, time(9), time(12)), WorkingHours(2, time(11, 30), time(14))])


def test_adjacent_ranges_and_other_days_are_fine_and_come_back_ordered() -> None:
    hours = [
        WorkingHours(2, time(12), time(13)),
        WorkingHours(1, time(9), time(17)),
        WorkingHours(2, time(9), time(12)),
    ]
    assert check_no_overlap(hours) == [hours[1], hours[2], hours[0]]


def test_working_hours_must_end_after_they_start() -> None:
    with pytest.raises(ValidationError, match="must end after they start"):
        WorkingHours(0, time(12), time(9))
    with pytest.raises(ValidationError, match="Monday to Sunday"):
        WorkingHours(7, time(9), time(12))


def test_slot_length_must_be_one_of_the_offered_lengths() -> None:
    assert check_slot_minutes(15) == 15
    with pytest.raises(ValidationError, match="Slot length must be one of 10, 15, 20, 30, 45, 60 minutes"):
        check_slot_minutes(7)


@pytest.mark.parametrize(
    ("zone", "day", "minutes"),
    [("Europe/Berlin", date(2027, 3, 28), 45), ("America/New_York", date(2027, 3, 14), 45),
     ("Australia/Lord_Howe", date(2026, 10, 4), 20), ("Australia/Lord_Howe", date(2026, 10, 4), 60)],
)  # fmt: skip
def test_slots_never_overlap_across_a_spring_forward_gap(zone: str, day: date, minutes: int) -> None:
    hours = [WorkingHours(day.weekday(), time(0, 0), time(6, 0))]
    slots = generate_slots(1, hours, minutes, day, 1, ZoneInfo(zone))
    assert slots, "the day still offers slots"
    for before, after in zip(slots, slots[1:], strict=False):
        assert before.end <= after.start, f"{before} overlaps {after}"


@pytest.mark.parametrize(
    ("zone", "day"),
    [("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
     ("Europe/Berlin", date(2026, 3, 29)), ("Europe/Berlin", date(2026, 10, 25))],
)  # fmt: skip
def test_a_nine_to_five_template_gives_nine_to_five_local_on_dst_change_days(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    hours = [WorkingHours(day.weekday(), time(9), time(17))]
    slots = generate_slots(1, hours, 30, day, 1, tz)
    local = [(s.start.astimezone(tz).time(), s.end.astimezone(tz).time()) for s in slots]
    assert local[0] == (time(9), time(9, 30)) and local[-1] == (time(16, 30), time(17))
    assert len(slots) == 16  # every half hour from 09:00 to 17:00, none lost or doubled
