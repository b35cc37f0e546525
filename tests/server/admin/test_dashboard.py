"""The dashboard page: the indicators as figures, tables and chart data, filters,
definitions, both languages, scope, and hostile names shown as text."""

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlmodel import Session, select
from starlette.datastructures import QueryParams

from server.accounts.models import User
from server.accounts.scope import scope_for
from server.admin.i18n import Translator
from server.admin.pages.dashboard_data import months_back, parse_query, period_range
from server.cases.models import Case
from server.reports.definitions import DEFINITIONS
from server.reports.indicators import compute_indicators
from server.reports.schemas import IndicatorFilters
from server.taxonomy.models import Category
from shared_schemas.enums import CaseStatus
from tests.server.admin.h6_helpers import cell, chart_json, kpi, sign_in_at, switch_to_english
from tests.world import T0, World, add_case

ALL = "/admin/dashboard?period=all"


@pytest.fixture
def cases(session: Session, world: World) -> World:
    """Besides each side's dispatched case: on A a closed one (on time) and a rejected
    one, a month later; on B nothing more."""
    reporter = session.exec(select(User).where(User.username == "inspector_a")).one()
    closed = add_case(
        session,
        area=world.a.compound,
        reporter=reporter,
        status=CaseStatus.CLOSED,
        department=world.a.department,
        category="GARBAGE",
        created_at=T0 + timedelta(days=31),
    )
    closed.rectified_at = closed.created_at + timedelta(days=3)
    closed.closed_at = closed.created_at + timedelta(days=4)
    add_case(
        session,
        area=world.a.compound,
        reporter=reporter,
        status=CaseStatus.REJECTED,
        category="GARBAGE",
        created_at=T0 + timedelta(days=32),
    )
    session.commit()
    return world


def test_admin_sees_the_figures_as_cards_tables_and_chart_data(
    client: TestClient, session: Session, cases: World
) -> None:
    sign_in_at(client, "admin", ALL)
    html = client.get(ALL).text
    assert kpi(html, "discovered") == "4"
    assert kpi(html, "registered") == "3"
    assert kpi(html, "registration_rate") == "75.0%"
    assert kpi(html, "closure_rate") == "33.3%"
    assert kpi(html, "avg_days_to_close") == "4.0"
    assert cell(html, "by_category", "GARBAGE", "discovered") == "2"
    assert cell(html, "by_category", "FIRE_LANE", "closure_rate") == "0.0%"
    assert cell(html, "by_month", "2026-06", "discovered") == "2"
    assert cell(html, "by_department", "FIRE_BRIGADE", "registered") == "2"
    # The charts draw the same numbers as compute_indicators.
    admin = session.exec(select(User).where(User.username == "admin")).one()
    expected = compute_indicators(
        session,
        scope=scope_for(session, admin),
        filters=IndicatorFilters(),
        now=datetime.now(UTC),
    )
    data = chart_json(html)
    assert data["month"]["labels"] == [r.key for r in expected.by_month]
    assert data["month"]["discovered"] == [r.discovered for r in expected.by_month]
    assert data["category"]["discovered"] == [r.discovered for r in expected.by_category]
    assert data["department"]["closure_rate"] == [
        None if r.closure_rate is None else round(r.closure_rate * 100, 1)
        for r in expected.by_department
    ]
    for name in ("month", "category", "department", "area"):
        assert f'data-chart="{name}"' in html
    assert "vendor/chart.js/chart.umd.min.js" in html


def test_definitions_are_written_on_the_page_in_the_users_language(
    client: TestClient, cases: World
) -> None:
    token = sign_in_at(client, "supervisor_a", ALL)
    html = client.get(ALL).text
    assert str(escape(DEFINITIONS["on_time_rate"][0])) in html
    assert "按期处置率" in html
    switch_to_english(client, token)
    english = client.get(ALL).text
    assert str(escape(DEFINITIONS["rework_rate"][1])) in english
    assert "On-time rectification rate" in english
    assert DEFINITIONS["rework_rate"][0] not in english


def test_each_user_sees_only_their_cases(app: FastAPI, cases: World) -> None:
    for username, discovered in (
        ("supervisor_a", "3"),
        ("supervisor_b", "1"),
        ("department_b", "1"),
    ):
        with TestClient(app) as client:
            sign_in_at(client, username, ALL)
            assert kpi(client.get(ALL).text, "discovered") == discovered, username


def test_filters_narrow_the_figures(client: TestClient, cases: World) -> None:
    sign_in_at(client, "admin", ALL)
    for query, discovered in (
        ("&category=GARBAGE", "2"),
        ("&group=fire_safety", "2"),
        ("&area=CP_B", "1"),
        ("&department=FIRE_BRIGADE", "2"),
        ("&area=NOWHERE", "0"),
        ("&period=custom&date_from=2026-06-01&date_to=2026-06-30", "2"),
    ):
        html = client.get(ALL + query).text
        assert kpi(html, "discovered") == discovered, query
        assert ('id="dashboard-empty"' in html) == (discovered == "0")


def test_bad_filters_are_named_and_ignored(client: TestClient, cases: World) -> None:
    sign_in_at(client, "admin", ALL)
    response = client.get(
        "/admin/dashboard?period=custom&date_from=yesterday&date_to=2026-12-31"
        "&group=weather&area_level=planet"
    )
    assert response.status_code == 200
    warnings = response.text.split('id="dashboard-errors"', 1)[1].split("</div>", 1)[0]
    for name in ("date_from", "group", "area_level"):
        assert f'<span class="mono">{name}</span>' in warnings
    assert kpi(response.text, "discovered") == "4"
    reversed_dates = client.get(
        "/admin/dashboard?period=custom&date_from=2026-07-01&date_to=2026-06-01"
    ).text
    assert '<span class="mono">date_to</span>' in reversed_dates


def test_names_with_markup_are_shown_as_text(
    client: TestClient, session: Session, cases: World
) -> None:
    category = session.get(Category, "GARBAGE")
    assert category is not None
    category.name_zh = "<script>alert(1)</script>"
    session.add(category)
    session.commit()
    sign_in_at(client, "admin", ALL)
    html = client.get(ALL).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\u003cscript\\u003e" in html  # inside the JSON block, escaped as well


def test_not_signed_in_goes_to_the_sign_in_page(client: TestClient, world: World) -> None:
    response = client.get("/admin/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=/admin/dashboard")


def test_an_empty_database_shows_zeros_not_errors(client: TestClient, world: World) -> None:
    sign_in_at(client, "supervisor_a", ALL)
    html = client.get("/admin/dashboard?period=month").text
    assert kpi(html, "discovered") == "0"
    assert kpi(html, "on_time_rate") == "—"


def test_period_presets() -> None:
    today = date(2026, 3, 15)
    assert period_range("month", today) == (date(2026, 3, 1), today)
    assert period_range("3m", today) == (date(2026, 1, 1), today)
    assert period_range("12m", today) == (date(2025, 4, 1), today)
    assert period_range("year", today) == (date(2026, 1, 1), today)
    assert period_range("all", today) == (None, None)
    assert months_back(date(2026, 1, 31), 1) == date(2025, 12, 1)
    # 2026-03-31 16:30 UTC is already April 1st in China Standard Time.
    query = parse_query(
        QueryParams("period=month"),
        now=datetime(2026, 3, 31, 16, 30, tzinfo=UTC),
        t=Translator("en"),
    )
    assert (query.filters.date_from, query.filters.date_to) == (date(2026, 4, 1), date(2026, 4, 1))


def test_department_user_counts_match_the_case_table(
    client: TestClient, session: Session, cases: World
) -> None:
    sign_in_at(client, "department_a", ALL)
    html = client.get(ALL).text
    dept_id = cases.a.department.id
    count = len(session.exec(select(Case).where(Case.department_id == dept_id)).all())
    assert kpi(html, "discovered") == str(count)
