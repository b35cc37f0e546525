"""Indicator arithmetic against the hand-computed cohort (tests/server/reports/cohort.py).

Street A, all time, as its supervisor sees it (world case A + the cohort's A cases):
  discovered 9 (everything but the duplicate), registered 7, pending 1, rejected 1,
  duplicates 1, rectified 3 (on_time, late, extended), closed 2,
  on time 2 (on_time; extended thanks to its extension), overdue 2 (world A, rework_open),
  due 5 (3 rectified with a deadline + 2 overdue): on-time rate 2/5,
  failed verifications 3 (late 1 + rework_open 2) of 5 (+ 2 closed): rework rate 3/5,
  closure rate 2/7, registration rate 7/9, average days to close (10 + 12) / 2.
"""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from server.accounts.models import User
from server.accounts.scope import Scope, scope_for
from server.reports.definitions import DEFINITIONS, METRIC_NAMES, PERIOD_RULE
from server.reports.indicators import compute_indicators
from server.reports.schemas import IndicatorFilters, IndicatorRow, Indicators
from shared_schemas.enums import AreaLevel, CategoryGroup
from tests.server.reports.cohort import NOW, Cohort, build_cohort
from tests.world import World, login


@pytest.fixture
def cohort(engine: Engine, world: World) -> Cohort:
    return build_cohort(engine, world)


def scope_of(session: Session, world: World, username: str) -> Scope:
    user = session.exec(select(User).where(User.username == username)).one()
    return scope_for(session, user)


def indicators(session: Session, world: World, username: str, **filters: object) -> Indicators:
    return compute_indicators(
        session,
        scope=scope_of(session, world, username),
        filters=IndicatorFilters.model_validate(filters),
        now=NOW,
    )


def counts(row: IndicatorRow) -> dict[str, object]:
    return row.model_dump(exclude={"key", "name_zh", "name_en"})


STREET_A = {
    "discovered": 9,
    "registered": 7,
    "pending": 1,
    "rejected": 1,
    "duplicates": 1,
    "rectified": 3,
    "closed": 2,
    "due": 5,
    "on_time": 2,
    "overdue": 2,
    "verifications": 5,
    "failed_verifications": 3,
    "registration_rate": round(7 / 9, 4),
    "on_time_rate": 0.4,
    "closure_rate": round(2 / 7, 4),
    "rework_rate": 0.6,
    "avg_days_to_close": 11.0,
}


def test_street_a_totals_by_hand(session: Session, world: World, cohort: Cohort) -> None:
    result = indicators(session, world, "supervisor_a")
    assert counts(result.totals) == STREET_A
    assert result.computed_at == NOW


def test_breakdowns_add_up_and_match_hand_counts(
    session: Session, world: World, cohort: Cohort
) -> None:
    result = indicators(session, world, "supervisor_a")
    by_cat = {r.key: r for r in result.by_category}
    assert set(by_cat) == {"FIRE_LANE", "GARBAGE"}
    # FIRE_LANE: world A (overdue), on_time, not_due, rework_open (+ the duplicate).
    assert (by_cat["FIRE_LANE"].discovered, by_cat["FIRE_LANE"].duplicates) == (4, 1)
    assert (by_cat["FIRE_LANE"].on_time, by_cat["FIRE_LANE"].due) == (1, 3)
    assert by_cat["FIRE_LANE"].rework_rate == round(2 / 3, 4)
    assert by_cat["FIRE_LANE"].avg_days_to_close == 10.0
    # GARBAGE: pending, rejected, late, extended, june.
    assert (by_cat["GARBAGE"].discovered, by_cat["GARBAGE"].registered) == (5, 3)
    assert by_cat["GARBAGE"].on_time_rate == 0.5
    assert by_cat["GARBAGE"].overdue == 0
    assert by_cat["GARBAGE"].name_zh and by_cat["GARBAGE"].name_en

    groups = {r.key: r.discovered for r in result.by_group}
    assert groups == {CategoryGroup.FIRE_SAFETY.value: 4, CategoryGroup.ENVIRONMENT.value: 5}

    depts = {r.key: r.discovered for r in result.by_department}
    assert depts == {"FIRE_BRIGADE": 4, "HOUSING_BUREAU": 2, None: 3}
    assert result.by_department[-1].key is None  # "not dispatched" comes last
    assert result.by_department[-1].name_en == "Not dispatched"

    # The June case was reported at 18:00 UTC on 31 May: 02:00 on 1 June in Beijing.
    months = {r.key: (r.discovered, r.registered) for r in result.by_month}
    assert months == {"2026-05": (8, 6), "2026-06": (1, 1)}

    for breakdown in (result.by_category, result.by_group, result.by_department):
        for name in ("discovered", "registered", "overdue", "on_time", "due", "closed"):
            assert sum(getattr(r, name) for r in breakdown) == getattr(result.totals, name)


def test_area_breakdown_rolls_up_to_the_chosen_level(
    session: Session, world: World, cohort: Cohort
) -> None:
    by_grid = indicators(session, world, "supervisor_a").by_area
    assert [(r.key, r.discovered) for r in by_grid] == [("G_A", 9)]
    assert by_grid[0].name_zh == "网格A"
    by_compound = indicators(session, world, "supervisor_a", area_level=AreaLevel.COMPOUND)
    # The June case lies in the grid itself (no compound above it): it stays the grid.
    assert [(r.key, r.discovered) for r in by_compound.by_area] == [("G_A", 1), ("CP_A", 8)]
    by_street = indicators(session, world, "admin", area_level=AreaLevel.STREET).by_area
    assert [(r.key, r.discovered) for r in by_street] == [("ST_A", 9), ("ST_B", 2)]


def test_extension_makes_a_late_rectification_on_time(
    session: Session, world: World, cohort: Cohort
) -> None:
    """`extended` was rectified on 20 May, after its first deadline (14 May) but before
    the extended one (28 May): it counts as on time."""
    garbage = indicators(session, world, "department_b", category=["GARBAGE"]).totals
    # HOUSING_BUREAU's GARBAGE cases on street A: late (late) and extended (on time).
    assert (garbage.discovered, garbage.due, garbage.on_time) == (2, 2, 1)


def test_failed_verification_is_not_on_time_until_rectified_again(
    session: Session, world: World, cohort: Cohort
) -> None:
    """rework_open was marked rectified on 25 May (before its deadline) but failed
    verification: it is rectifying and overdue, not on time."""
    fire = indicators(session, world, "department_a").totals
    # FIRE_BRIGADE: world A (overdue), on_time, not_due, rework_open (overdue).
    assert (fire.discovered, fire.on_time, fire.overdue, fire.due) == (4, 1, 2, 3)
    assert (fire.failed_verifications, fire.verifications) == (2, 3)


def test_no_cases_gives_null_rates_not_errors(
    session: Session, world: World, cohort: Cohort
) -> None:
    empty = compute_indicators(session, scope=Scope(), filters=IndicatorFilters(), now=NOW)
    row = empty.totals
    assert row.discovered == row.registered == row.overdue == row.verifications == 0
    assert row.registration_rate is None
    assert row.on_time_rate is None
    assert row.closure_rate is None
    assert row.rework_rate is None
    assert row.avg_days_to_close is None
    assert empty.by_category == empty.by_area == empty.by_department == empty.by_month == []


def test_empty_period_still_lists_its_months(
    session: Session, world: World, cohort: Cohort
) -> None:
    result = indicators(
        session, world, "supervisor_a", date_from=date(2025, 1, 1), date_to=date(2025, 3, 10)
    )
    assert result.totals.discovered == 0 and result.totals.on_time_rate is None
    assert [(r.key, r.discovered) for r in result.by_month] == [
        ("2025-01", 0),
        ("2025-02", 0),
        ("2025-03", 0),
    ]


def test_all_overdue(session: Session, world: World, cohort: Cohort) -> None:
    """Street B's dispatched case is past its deadline; filtered to it alone everything
    due is overdue: on-time rate 0 (not null: something was due), nothing verified."""
    result = indicators(session, world, "admin", area="ST_B", category=["FIRE_LANE"])
    assert result.totals.discovered == 2  # world B (overdue) and b_closed
    only_open = indicators(session, world, "admin", area="ST_B", department="HOUSING_BUREAU")
    assert only_open.totals.discovered == 2
    overdue_only = indicators(
        session, world, "department_b", area="ST_B", date_to=date(2026, 5, 2)
    ).totals
    assert counts(overdue_only) == {
        "discovered": 1,
        "registered": 1,
        "pending": 0,
        "rejected": 0,
        "duplicates": 0,
        "rectified": 0,
        "closed": 0,
        "due": 1,
        "on_time": 0,
        "overdue": 1,
        "verifications": 0,
        "failed_verifications": 0,
        "registration_rate": 1.0,
        "on_time_rate": 0.0,
        "closure_rate": 0.0,
        "rework_rate": None,
        "avg_days_to_close": None,
    }


def test_period_is_in_china_time(session: Session, world: World, cohort: Cohort) -> None:
    june = indicators(
        session, world, "supervisor_a", date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)
    )
    assert june.totals.discovered == 1
    assert [r.key for r in june.by_month] == ["2026-06"]
    may = indicators(
        session, world, "supervisor_a", date_from=date(2026, 5, 1), date_to=date(2026, 5, 31)
    )
    assert may.totals.discovered == 8


def test_scope_decides_what_is_counted(session: Session, world: World, cohort: Cohort) -> None:
    seen = {
        username: indicators(session, world, username).totals.discovered
        for username in ("supervisor_a", "supervisor_b", "department_a", "admin")
    }
    assert seen == {"supervisor_a": 9, "supervisor_b": 2, "department_a": 4, "admin": 11}


def test_supervisor_a_filtering_on_street_b_sees_nothing(
    session: Session, world: World, cohort: Cohort
) -> None:
    result = indicators(session, world, "supervisor_a", area="ST_B")
    assert result.totals.discovered == 0 and result.by_area == []


def test_definitions_cover_every_metric_in_both_languages() -> None:
    assert set(DEFINITIONS) == set(METRIC_NAMES)
    for zh, en in [*DEFINITIONS.values(), *METRIC_NAMES.values(), PERIOD_RULE]:
        assert zh.strip() and en.strip()
    for metric in METRIC_NAMES:
        assert metric in IndicatorRow.model_fields


# --- the endpoint -----------------------------------------------------------------------


def test_endpoint_returns_the_same_figures(
    client: TestClient, world: World, cohort: Cohort, time_machine: object
) -> None:
    time_machine.move_to(NOW, tick=False)  # type: ignore[attr-defined]
    headers = login(client, "supervisor_a")
    response = client.get(
        "/api/v1/indicators", params={"from": "2026-05-01", "to": "2026-06-30"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body["totals"][k] for k in STREET_A} == STREET_A
    assert body["date_from"] == "2026-05-01" and body["date_to"] == "2026-06-30"
    assert [m["key"] for m in body["by_month"]] == ["2026-05", "2026-06"]

    filtered = client.get(
        "/api/v1/indicators",
        params={"category": "GARBAGE", "department": "HOUSING_BUREAU", "area_level": "compound"},
        headers=headers,
    ).json()
    assert filtered["totals"]["discovered"] == 2
    assert [a["key"] for a in filtered["by_area"]] == ["CP_A"]


BAD_PARAMS = [
    ({"from": "2026-06-02", "to": "2026-06-01"}, "query.to"),
    ({"from": "yesterday"}, "query.from"),
    ({"group": "nonsense"}, "query.group"),
    ({"area_level": "planet"}, "query.area_level"),
]


def test_endpoint_names_the_bad_parameter(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    for params, field in BAD_PARAMS:
        response = client.get("/api/v1/indicators", params=params, headers=headers)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert field in error["message"]
        assert error["details"][0]["field"] == field


def test_case_ids_are_not_in_indicators(session: Session, world: World, cohort: Cohort) -> None:
    """Indicators are counts only: nothing about single cases leaks into them."""
    dumped = indicators(session, world, "admin").model_dump_json()
    for case_id in cohort.ids.values():
        assert str(case_id) not in dumped


def test_planner_settings_do_not_outlive_the_computation(
    session: Session, world: World, cohort: Cohort
) -> None:
    """On PostgreSQL the two scans run with JIT and sorting discouraged; the rest of the
    request's transaction gets the defaults back."""
    if session.get_bind().dialect.name != "postgresql":
        indicators(session, world, "admin")
        return
    show = {name: f"SHOW {name}" for name in ("enable_sort", "jit")}
    before = {name: session.execute(text(sql)).scalar() for name, sql in show.items()}
    indicators(session, world, "admin")
    after = {name: session.execute(text(sql)).scalar() for name, sql in show.items()}
    assert after == before
