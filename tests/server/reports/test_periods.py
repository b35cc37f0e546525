"""The report calendar: China Standard Time months, in SQL on both backends."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, literal, select
from sqlmodel import Session

from server.core.errors import ApiError
from server.core.types import UTCDateTime
from server.reports.periods import local_iso, month_of_key, months_between, parse_month, sql_month

# (UTC moment, its month in Beijing)
MOMENTS = [
    (datetime(2026, 5, 31, 15, 59, 59, 999999, tzinfo=UTC), "2026-05"),
    (datetime(2026, 5, 31, 16, 0, tzinfo=UTC), "2026-06"),
    (datetime(2026, 5, 30, 23, 0, tzinfo=UTC), "2026-05"),  # 30th: not the last day
    (datetime(2026, 4, 30, 16, 0, tzinfo=UTC), "2026-05"),
    (datetime(2026, 2, 28, 16, 30, tzinfo=UTC), "2026-03"),
    (datetime(2028, 2, 28, 16, 30, tzinfo=UTC), "2028-02"),  # leap year: 29 days
    (datetime(2028, 2, 29, 20, 0, tzinfo=UTC), "2028-03"),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "2027-01"),
    (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "2026-01"),
    (datetime(2026, 1, 28, 17, 0, tzinfo=UTC), "2026-01"),
]


def test_sql_month_is_the_beijing_month(engine: Engine) -> None:
    dialect = engine.dialect.name
    with Session(engine) as session:
        for moment, expected in MOMENTS:
            key = session.execute(
                select(sql_month(dialect, literal(moment, type_=UTCDateTime())))
            ).scalar_one()
            assert month_of_key(key) == expected, (moment, key)


def test_parse_month() -> None:
    start, end = parse_month("2026-12")
    assert start == datetime(2026, 11, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    for bad in ("2026-13", "2026-1", "26-01", "2026-00", "", "2026-01-01"):
        with pytest.raises(ApiError) as caught:
            parse_month(bad)
        assert caught.value.status_code == 422
        assert caught.value.details[0]["field"] == "query.month"


def test_months_between_and_local_iso() -> None:
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-03", "2026-03") == ["2026-03"]
    assert local_iso(datetime(2026, 5, 31, 16, tzinfo=UTC)) == "2026-06-01T00:00:00+08:00"
    assert local_iso(None) == ""
