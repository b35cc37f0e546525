"""The SQL measures against the definitions (docs/reports.md), for any mix of cases.

compute_indicators counts cheaply (e.g. registered = all - pending - rejected -
duplicates; days to close summed per group): here random cases are counted once more in
plain Python, straight from the definitions, and both must agree.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope
from server.cases.models import Case, CaseEvent
from server.reports.indicators import (
    RECTIFIED_STATES,
    REGISTERED_STATES,
    UNREGISTERED_STATES,
    compute_indicators,
)
from server.reports.schemas import IndicatorFilters
from shared_schemas.enums import CaseStatus
from tests.server.reports.cohort import put_case
from tests.world import World

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
START = datetime(2026, 4, 1, tzinfo=UTC)
CATEGORY = "GARBAGE"  # the world's own two cases are FIRE_LANE: left out by the filter
OPEN_WORK = (CaseStatus.DISPATCHED, CaseStatus.RECTIFYING)


def test_every_state_is_either_registered_or_not() -> None:
    registered, unregistered = set(REGISTERED_STATES), set(UNREGISTERED_STATES)
    assert registered | unregistered == set(CaseStatus)
    assert not registered & unregistered
    assert set(RECTIFIED_STATES) <= registered


def moment(minutes: int | None) -> datetime | None:
    return None if minutes is None else START + timedelta(minutes=minutes)


offsets = st.none() | st.integers(0, 120 * 24 * 60)  # whole minutes, until after NOW
case_fields = st.fixed_dictionaries(
    {
        "status": st.sampled_from(CaseStatus),
        "created": st.integers(0, 70 * 24 * 60),
        "deadline": offsets,
        "rectified_at": offsets,
        "closed_at": offsets,
        "rework_count": st.integers(0, 3),
    }
)


def by_definition(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """docs/reports.md, "The indicators", one case at a time."""

    def count(test: Any) -> int:
        return sum(1 for c in cases if test(c))

    def overdue(c: dict[str, Any]) -> bool:
        return c["status"] in OPEN_WORK and c["deadline"] is not None and c["deadline"] < NOW

    def rectified(c: dict[str, Any]) -> bool:
        return bool(c["status"] in RECTIFIED_STATES)

    closed = [c for c in cases if c["status"] == CaseStatus.CLOSED]
    days = [
        (c["closed_at"] - c["created_at"]).total_seconds() / 86400
        for c in closed
        if c["closed_at"] is not None
    ]
    return {
        "discovered": count(lambda c: c["status"] != CaseStatus.DUPLICATE),
        "registered": count(lambda c: c["status"] in REGISTERED_STATES),
        "pending": count(lambda c: c["status"] == CaseStatus.REPORTED),
        "rejected": count(lambda c: c["status"] == CaseStatus.REJECTED),
        "duplicates": count(lambda c: c["status"] == CaseStatus.DUPLICATE),
        "rectified": count(rectified),
        "closed": len(closed),
        "due": count(lambda c: (rectified(c) and c["deadline"] is not None) or overdue(c)),
        "on_time": count(
            lambda c: (
                rectified(c)
                and c["deadline"] is not None
                and c["rectified_at"] is not None
                and c["rectified_at"] <= c["deadline"]
            )
        ),
        "overdue": count(overdue),
        "failed_verifications": sum(c["rework_count"] for c in cases),
        "days": sum(days),
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=st.lists(case_fields, max_size=8))
def test_sql_counts_match_the_definitions(
    session: Session, world: World, drawn: list[dict[str, Any]]
) -> None:
    reporter = session.exec(select(User).where(User.username == "inspector_a")).one()
    cases = []
    for d in drawn:
        fields = {
            "status": d["status"],
            "created_at": moment(d["created"]),
            "deadline": moment(d["deadline"]),
            "rectified_at": moment(d["rectified_at"]),
            "closed_at": moment(d["closed_at"]),
            "rework_count": d["rework_count"],
        }
        put_case(session, area=world.a.compound, reporter=reporter, category=CATEGORY, **fields)
        cases.append(fields)
    session.commit()
    try:
        result = compute_indicators(
            session,
            scope=Scope(everything=True, all_areas_visible=True),
            filters=IndicatorFilters(category=[CATEGORY]),
            now=NOW,
        )
    finally:
        ids = select(Case.id).where(Case.category_code == CATEGORY)
        session.execute(delete(CaseEvent).where(col(CaseEvent.case_id).in_(ids)))
        session.execute(delete(Case).where(col(Case.category_code) == CATEGORY))
        session.commit()
    expected = by_definition(cases)
    totals = result.totals
    days = expected.pop("days")
    assert {name: getattr(totals, name) for name in expected} == expected
    assert totals.verifications == expected["failed_verifications"] + expected["closed"]
    if expected["closed"]:
        assert totals.avg_days_to_close is not None
        assert abs(totals.avg_days_to_close - days / expected["closed"]) <= 0.0051
    else:
        assert totals.avg_days_to_close is None
    months = result.by_month
    assert sum(m.discovered for m in months) == totals.discovered
