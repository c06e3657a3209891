"""CSV exports (Python's csv module) of the appointment report and of the board's figures.

Cells that a spreadsheet would run as a formula (starting with = + - @, or a tab / carriage return that some
programs skip before looking) get a leading apostrophe, so a patient called "=HYPERLINK(...)" stays text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import timedelta
from zoneinfo import ZoneInfo

from data.stats_queries import AppointmentFilter, BoardFigures, StatsQueries
from domain.model import Actor
from domain.stats import percent

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: an export larger than this is refused with a clear message (narrow the filter)
MAX_EXPORT_ROWS = 500_000
APPOINTMENT_HEADER = [
    "id",
    "date",
    "start",
    "end",
    "status",
    "doctor",
    "department",
    "patient",
    "visit type",
    "reason",
    "cancellation",
    "booked at",
]


class ExportTooLarge(Exception):
    pass


def csv_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _write(rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    # a byte-order mark, so spreadsheet programs read names like "Fernández" as UTF-8
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def appointments_csv(stats: StatsQueries, actor: Actor, f: AppointmentFilter, tz: ZoneInfo) -> bytes:
    """Every appointment matching the filter, oldest first; times in the hospital's zone."""

    def rows() -> Iterable[Sequence[object]]:
        yield APPOINTMENT_HEADER
        for n, r in enumerate(stats.iter_appointments(actor, f), start=1):
            if n > MAX_EXPORT_ROWS:
                raise ExportTooLarge(
                    f"More than {MAX_EXPORT_ROWS:,} appointments match; please choose a shorter range or a filter."
                )
            start, end = r.start.astimezone(tz), r.end.astimezone(tz)
            yield [
                r.id,
                start.date().isoformat(),
                start.strftime("%H:%M"),
                end.strftime("%H:%M"),
                r.status,
                r.doctor,
                r.department,
                r.patient,
                r.visit_type,
                r.reason,
                r.cancellation,
                r.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            ]

    return _write(rows())


def board_csv(board: BoardFigures, tz_name: str) -> bytes:
    """The board's figures for its range, one section after another (section, item, measure, value)."""
    p = board.period
    out: list[list[object]] = [["section", "item", "measure", "value"]]
    out.append(["range", f"{p.first.isoformat()} to {p.last.isoformat()}", "time zone", tz_name])
    out.append(["summary", "appointments", "count", board.total])
    out.append(["summary", "cancellation rate", "percent", percent(board.rates.cancellation)])
    out.append(["summary", "no-show rate", "percent", percent(board.rates.noshow_rate)])
    out.append(["summary", "utilisation", "percent", percent(board.utilisation)])
    out.append(["summary", "new patient accounts", "count", board.new_patients])
    for status, n in sorted(board.by_status.items()):
        out.append(["by status", status, "count", n])
    for status, n in sorted(board.today_by_status.items()):
        out.append(["today by status", status, "count", n])
    for dept in board.departments:
        out.append(["by department", dept.name, "total", dept.total])
        for status, n in sorted(dept.by_status.items()):
            out.append(["by department", dept.name, status, n])
    for doc in board.doctors:
        out.append(["utilisation", doc.name, "department", doc.department])
        out.append(["utilisation", doc.name, "offered minutes", doc.offered_minutes])
        out.append(["utilisation", doc.name, "booked minutes", doc.booked_minutes])
        out.append(["utilisation", doc.name, "percent", percent(doc.utilisation)])
    for i, n in enumerate(board.registrations_by_day):
        out.append(["new patient accounts", (p.first + timedelta(days=i)).isoformat(), "count", n])
    return _write(out)
