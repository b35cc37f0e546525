"""Calendar arithmetic for reports: months and days are those of the district (China
Standard Time, UTC+8, no daylight saving), whatever the server's own time zone is.

The SQL helpers give the same answer on SQLite (text timestamps in UTC) and PostgreSQL
(timestamptz), so grouping by month happens in the database, not in Python.
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, func, literal_column
from sqlalchemy.orm import Mapped

from server.core.errors import ApiError

REPORT_TZ = timezone(timedelta(hours=8), "CST")
_OFFSET_HOURS = 8
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTH_PATTERN = _MONTH.pattern


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the report time zone, as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=REPORT_TZ).astimezone(UTC)


def parse_month(value: str, *, field: str = "query.month") -> tuple[datetime, datetime]:
    """'2026-11' -> [start, end) of that month in the report time zone (UTC datetimes)."""
    match = _MONTH.match(value)
    if not match:
        raise ApiError(
            422,
            "validation_error",
            f"{field}: expected a month as YYYY-MM, got {value!r}",
            [{"field": field, "message": "expected YYYY-MM", "type": "value_error"}],
        )
    year, month = int(match.group(1)), int(match.group(2))
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return day_start(start), day_start(end)


def month_key(moment: datetime) -> str:
    return moment.astimezone(REPORT_TZ).strftime("%Y-%m")


def months_between(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from first to last inclusive."""
    year, month = int(first[:4]), int(first[5:])
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def local_iso(moment: datetime | None) -> str:
    """ISO 8601 in the report time zone ('2026-05-01T17:00:00+08:00'); '' for None."""
    if moment is None:
        return ""
    return moment.astimezone(REPORT_TZ).isoformat(timespec="seconds")


def sql_month(dialect: str, column: Any) -> ColumnElement[Any]:
    """A key for the report-time-zone month of a UTC timestamp column; `month_of_key`
    turns it into 'YYYY-MM'. GROUP BY it, then normalise the (few) keys in Python.

    On SQLite the column is text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), and parsing it with
    strftime for every row costs five times more than cutting substrings. The local month
    is the UTC month except from 16:00 UTC on the month's last day (00:00 the next day in
    Beijing): rows from 16:00 on the 28th to 31st keep their day ('YYYY-MM-DD'), all other
    rows just the month."""
    if dialect == "sqlite":
        return case(
            (
                and_(
                    func.substr(column, 12, 2, type_=String) >= "16",
                    func.substr(column, 9, 2, type_=String) >= "28",
                ),
                func.substr(column, 1, 10, type_=String),
            ),
            else_=func.substr(column, 1, 7, type_=String),
        )
    # PostgreSQL: the first moment of the local month (date_trunc is cheaper than to_char),
    # constants inline so the expression reads the same in every query (statistics
    # created on it, CREATE STATISTICS ... ON (expr), then apply to the GROUP BY).
    shifted = func.timezone(literal_column("'UTC'"), column) + literal_column(
        f"interval '{_OFFSET_HOURS} hours'"
    )
    return func.date_trunc(literal_column("'month'"), shifted)


def month_of_key(key: str | datetime) -> str:
    """'YYYY-MM' from a `sql_month` key: PostgreSQL's is the local month's first moment;
    SQLite's is 'YYYY-MM', or 'YYYY-MM-DD' (16:00 UTC or later on that day), which
    belongs to the next month when the day is the month's last."""
    if isinstance(key, datetime):
        return key.strftime("%Y-%m")
    if len(key) == 7:
        return key
    day = date.fromisoformat(key)
    return month_key(datetime(day.year, day.month, day.day, 16, tzinfo=UTC))


def sql_sum_days(
    dialect: str,
    start: Mapped[datetime],
    end: Mapped[datetime | None],
    *,
    where: ColumnElement[bool],
) -> ColumnElement[float]:
    """An aggregate: the sum of (end - start) in days, fractional, over the rows matching
    `where` (rows whose `end` is NULL add nothing).

    PostgreSQL sums the intervals and converts the total once per group: EXTRACT(epoch)
    returns numeric, and running it on every row cost more than the seven counts on the
    state together. The sum of intervals is exact (microseconds), so the total is the same
    as summing each case's days, up to float rounding."""
    if dialect == "sqlite":
        days = func.julianday(end) - func.julianday(start)
        return cast(func.sum(days).filter(where), Float)
    total = func.sum(end - start).filter(where)
    return cast(func.extract("epoch", total) / 86400.0, Float)
