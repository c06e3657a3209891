"""The figures of the admin board, as rules: which days a range covers, what counts as booked, the rates,
and how many minutes a doctor offered. Standard library only; the counting itself happens in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import ValidationError
from domain.model import HOLDS_TIME, AppointmentStatus, Leave, WeeklyTemplate, template_on
from domain.schedule import generate_grid, on_leave

#: the longest range the board and the reports accept at once (a year, leap years included)
MAX_RANGE_DAYS = 366

#: appointments that take up the doctor's time: still to come, in progress, held, or missed by the patient
USES_TIME: frozenset[AppointmentStatus] = HOLDS_TIME
#: appointments that were due and not cancelled: the base of the no-show rate
WAS_DUE: frozenset[AppointmentStatus] = frozenset(
    {
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.FULFILLED,
        AppointmentStatus.NOSHOW,
    }
)
#: not real appointments (a mistake, or a wish on a waiting list): left out of every rate
NOT_COUNTED: frozenset[AppointmentStatus] = frozenset({AppointmentStatus.ENTERED_IN_ERROR, AppointmentStatus.WAITLIST})


@dataclass(frozen=True)
class DayRange:
    """Local days first..last (inclusive) in the hospital's zone."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from local midnight of the first day to local midnight after the last."""
        return local_midnight(self.first, tz), local_midnight(self.last + timedelta(days=1), tz)

    def day_starts(self, tz: ZoneInfo) -> list[datetime]:
        """UTC start of every local day, plus the end of the last one (days + 1 boundaries; DST-safe)."""
        return [local_midnight(self.first + timedelta(days=i), tz) for i in range(self.days + 1)]

    def label(self) -> str:
        if self.first == self.last:
            return self.first.strftime("%a %d %b %Y")
        if self.first.year == self.last.year:
            return f"{self.first:%a %d %b} – {self.last:%a %d %b %Y}"
        return f"{self.first:%a %d %b %Y} – {self.last:%a %d %b %Y}"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


#: the calendar the board, reports and audit filters accept (beyond it there is nothing to show, and the
#: edges of Python's calendar cannot be turned into UTC)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


def day_range(first: date, last: date) -> DayRange:
    for day in (first, last):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(
                f"{day.isoformat()} is outside the calendar HealthSync keeps ({FIRST_DAY.year}–{LAST_DAY.year})."
            )
    if last < first:
        raise ValidationError("The last day must not be before the first.")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"Please choose at most {MAX_RANGE_DAYS} days at once.")
    return DayRange(first, last)


def today_range(today: date) -> DayRange:
    return DayRange(today, today)


def week_range(today: date) -> DayRange:
    """Monday to Sunday of the week holding `today`."""
    monday = today - timedelta(days=today.weekday())
    return DayRange(monday, monday + timedelta(days=6))


def month_range(today: date) -> DayRange:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return DayRange(first, following - timedelta(days=1))


@dataclass(frozen=True)
class Rates:
    """Shares in 0..1, None when there is nothing to divide by."""

    total: int  # appointments that count (not entered in error, not on a waiting list)
    cancelled: int
    due: int  # were due and not cancelled
    noshow: int

    @property
    def cancellation(self) -> float | None:
        return self.cancelled / self.total if self.total else None

    @property
    def noshow_rate(self) -> float | None:
        return self.noshow / self.due if self.due else None


def rates(by_status: Mapping[str, int]) -> Rates:
    """Cancellation rate: cancelled of all appointments in the range. No-show rate: no-shows of the
    appointments that were due and not cancelled (arrived, in consultation, fulfilled or no-show); booked
    ones still to come count for neither."""
    ignored = {s.value for s in NOT_COUNTED}
    total = sum(n for status, n in by_status.items() if status not in ignored)
    due = sum(by_status.get(s.value, 0) for s in WAS_DUE)
    return Rates(
        total=total,
        cancelled=by_status.get(AppointmentStatus.CANCELLED.value, 0),
        due=due,
        noshow=by_status.get(AppointmentStatus.NOSHOW.value, 0),
    )


def offered_minutes(
    doctor_id: int, templates: list[WeeklyTemplate], leaves: Iterable[Leave], period: DayRange, tz: ZoneInfo
) -> int:
    """Slot-minutes the doctor offered on these days: the grid of the template in force each day (the same
    grid bookings are checked against), without the slots that fall into the doctor's leave or a closure.

    An ordinary day offers what its template's weekday offers, so that is worked out once per template and
    weekday; only days with leave or a change of clock (DST) get their own grid."""
    relevant = [leave for leave in leaves if leave.doctor_id in (None, doctor_id)]
    by_weekday: dict[tuple[int, int], float] = {}
    total = 0.0
    for offset in range(period.days):
        day = period.first + timedelta(days=offset)
        template = template_on(templates, day)
        if template is None:
            continue
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        special = end - start != timedelta(days=1) or any(leave.start < end and start < leave.end for leave in relevant)
        key = (id(template), day.weekday())
        if not special and key in by_weekday:
            total += by_weekday[key]
            continue
        minutes = sum(
            (slot.end - slot.start).total_seconds() / 60
            for slot in generate_grid(doctor_id, [template], day, 1, tz)
            if on_leave(relevant, slot.start, slot.end) is None
        )
        if not special:
            by_weekday[key] = minutes
        total += minutes
    return round(total)


def utilisation(booked_minutes: int, offered: int) -> float | None:
    """Booked of offered minutes (can pass 1.0 when bookings lie outside today's hours); None: nothing offered."""
    return booked_minutes / offered if offered > 0 else None


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"
