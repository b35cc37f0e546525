"""The case list (filters, orders, keyset pages, htmx partials, bulk dispatch), the map's
GeoJSON, and user text always shown as text."""

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from shared_schemas.enums import CaseStatus
from tests.server.admin.helpers import flashes, get_case, make_case, shows, signed_in
from tests.world import T0, World

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _listed(html: str) -> list[UUID]:
    ids = re.findall(r'<td><a class="mono" href="/admin/cases/([0-9a-f-]{36})"', html)
    return [UUID(i) for i in ids]


@pytest.fixture
def cases(engine: Engine, world: World) -> dict[str, UUID]:
    """A small spread of cases on street A (plus world's dispatched case A)."""
    now = datetime.now(UTC)
    return {
        "reported": make_case(engine, world, created_at=T0 + timedelta(days=1)),
        "garbage": make_case(
            engine,
            world,
            category="GARBAGE",
            status=CaseStatus.REGISTERED,
            created_at=T0 + timedelta(days=2),
            description="垃圾房外堆积",
            address="7号楼垃圾房",
        ),
        "overdue": make_case(
            engine,
            world,
            status=CaseStatus.RECTIFYING,
            created_at=T0 + timedelta(days=3),
            deadline=now - timedelta(days=1),
        ),
        "closed": make_case(
            engine, world, status=CaseStatus.CLOSED, created_at=T0 + timedelta(days=4)
        ),
        "other_street": make_case(engine, world, side="b", created_at=T0 + timedelta(days=5)),
    }


FILTER_CASES: list[tuple[str, set[str]]] = [
    ("", {"reported", "garbage", "overdue", "closed", "world"}),
    ("status=registered", {"garbage"}),
    ("category=GARBAGE", {"garbage"}),
    ("group=environment", {"garbage"}),
    ("group=fire_safety&status=reported", {"reported"}),
    ("overdue=1", {"overdue", "world"}),  # world's deadline (May 2026) has passed
    ("overdue=0&status=rectifying", set()),
    ("area=CP_A&status=closed", {"closed"}),
    ("area=CP_B", set()),  # the other street: outside the supervisor's areas
    ("department=FIRE_BRIGADE", {"overdue", "closed", "world"}),
    ("q=垃圾房", {"garbage"}),
    ("q=7号楼", {"garbage"}),
    ("from=2026-05-03&to=2026-05-04", {"garbage", "overdue"}),
    ("status=nonsense", {"reported", "garbage", "overdue", "closed", "world"}),
]


def test_filters(client: TestClient, world: World, cases: dict[str, UUID]) -> None:
    """Each query against one set of cases (one world: cheaper than a test per query)."""
    signed_in(client, "supervisor_a")
    ids = {**cases, "world": world.a.case_id}
    for query, expected in FILTER_CASES:
        page = client.get(f"/admin/cases?{query}", headers={"HX-Request": "true"})
        assert page.status_code == 200, query
        assert set(_listed(page.text)) == {ids[name] for name in expected}, query
        if "nonsense" in query:
            assert "已忽略" in page.text


def test_htmx_gets_only_the_results(
    client: TestClient, world: World, cases: dict[str, UUID]
) -> None:
    signed_in(client, "supervisor_a")
    partial = client.get("/admin/cases?status=registered", headers={"HX-Request": "true"})
    assert "<html" not in partial.text
    assert 'id="case-table"' in partial.text
    assert _listed(partial.text) == [cases["garbage"]]
    full = client.get("/admin/cases?status=registered")
    assert "<html" in full.text and 'id="case-results"' in full.text
    assert 'hx-get="/admin/cases"' in full.text


def test_keyset_pages_cover_every_case_once(
    client: TestClient, world: World, engine: Engine
) -> None:
    made = {world.a.case_id}
    for n in range(57):
        made.add(
            make_case(
                engine,
                world,
                status=CaseStatus.DISPATCHED if n % 3 else CaseStatus.REPORTED,
                # Some share a timestamp: the id breaks the tie.
                created_at=T0 + timedelta(minutes=n // 2),
                deadline=(T0 + timedelta(days=10 + n % 7)) if n % 3 else None,
            )
        )
    signed_in(client, "supervisor_a")
    for sort in ("newest", "oldest", "updated", "deadline"):
        seen = _walk(client, f"/admin/cases?sort={sort}")
        assert len(seen) == len(set(seen)) == len(made), sort
        assert set(seen) == made, sort
        if sort == "oldest":
            created = [get_case(engine, i).created_at for i in seen]
            assert created == sorted(created)
        if sort == "deadline":
            deadlines = [get_case(engine, i).deadline for i in seen]
            real = [d for d in deadlines if d is not None]
            assert real == sorted(real)
            assert deadlines[len(real) :] == [None] * (len(deadlines) - len(real))


def _walk(client: TestClient, url: str) -> list[UUID]:
    """Follow the "next page" links to the end; there must be two pages (50 + 8)."""
    seen: list[UUID] = []
    pages = 0
    while url:
        page = client.get(url, headers={"HX-Request": "true"}).text
        seen += _listed(page)
        pages += 1
        found = re.search(r'<a href="(/admin/cases\?[^"]*cursor=[^"]*)"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert pages == 2
    return seen


def test_a_cursor_from_elsewhere_starts_at_the_top(
    client: TestClient, world: World, cases: dict[str, UUID]
) -> None:
    signed_in(client, "supervisor_a")
    page = client.get("/admin/cases?cursor=not-a-cursor")
    assert page.status_code == 200
    assert len(_listed(page.text)) == 5


def test_bulk_dispatch(client: TestClient, world: World, engine: Engine) -> None:
    first = make_case(engine, world, status=CaseStatus.REGISTERED)
    second = make_case(engine, world, status=CaseStatus.REGISTERED, category="GARBAGE")
    reported = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    response = client.post(
        "/admin/cases/bulk-dispatch?back=status%3Dregistered",
        data={
            "csrf_token": token,
            "case_ids": [str(first), str(second), str(reported)],
            "department": "HOUSING_BUREAU",
            "deadline": "2099-06-30",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/cases?status=registered"
    page = client.get(response.headers["location"])
    for case_id in (first, second):
        case = get_case(engine, case_id)
        assert case.status == CaseStatus.DISPATCHED
        assert case.deadline is not None
        # 23:59 on that day in Asia/Shanghai (UTC+8).
        assert case.deadline == datetime(2099, 6, 30, 15, 59, tzinfo=UTC)
    assert get_case(engine, reported).status == CaseStatus.REPORTED
    messages = flashes(page.text)
    assert any("已对 2 件案件执行「派遣」" in m for m in messages)
    assert any(str(reported)[:8] in m and "已上报" in m for m in messages)


def test_bulk_dispatch_defaults_from_the_category(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.REGISTERED)
    token = signed_in(client, "supervisor_a")
    client.post("/admin/cases/bulk-dispatch", data={"csrf_token": token, "case_ids": [case_id]})
    case = get_case(engine, case_id)
    assert case.status == CaseStatus.DISPATCHED
    assert case.department_id is not None and case.deadline is not None


def test_bulk_dispatch_without_token_changes_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.REGISTERED)
    signed_in(client, "supervisor_a")
    response = client.post("/admin/cases/bulk-dispatch", data={"case_ids": [case_id]})
    assert response.status_code == 403
    assert get_case(engine, case_id).status == CaseStatus.REGISTERED


def test_department_sees_only_its_cases_and_no_bulk_dispatch(
    client: TestClient, world: World, cases: dict[str, UUID]
) -> None:
    signed_in(client, "department_a")
    page = client.get("/admin/cases").text
    assert set(_listed(page)) == {cases["overdue"], cases["closed"], world.a.case_id}
    assert "bulk-dispatch" not in page.split('<form method="post" action="/admin/cases/bulk')[0]
    assert 'name="case_ids"' not in page


def test_user_text_is_escaped_everywhere(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world, description=XSS, address=XSS[:150])
    token = signed_in(client, "supervisor_a")
    client.post(f"/admin/triage/{case_id}/reject", data={"csrf_token": token, "note": XSS})
    for path in ("/admin/cases", "/admin/cases?status=rejected", f"/admin/cases/{case_id}"):
        page = client.get(path).text
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page, path
    case_page = client.get(f"/admin/cases/{case_id}")
    assert "script-src 'self'" in case_page.headers["content-security-policy"]
    triage_case = make_case(engine, world, description=XSS)
    triage = client.get("/admin/triage").text
    assert shows(triage, triage_case) and "<script>alert" not in triage
    geo = client.get("/admin/map/cases.geojson?status=rejected").json()
    assert geo["features"][0]["properties"]["description"] == XSS  # data, shown as text by JS


def test_search_text_is_escaped_in_the_form(client: TestClient, world: World) -> None:
    signed_in(client, "supervisor_a")
    page = client.get('/admin/cases?q="><script>alert(1)</script>').text
    assert "<script>alert(1)" not in page
    assert "&#34;&gt;&lt;script&gt;" in page


def test_map_geojson_follows_filters_and_scope(
    client: TestClient, world: World, cases: dict[str, UUID]
) -> None:
    signed_in(client, "supervisor_a")
    everything = client.get("/admin/map/cases.geojson")
    assert everything.headers["content-type"].startswith("application/geo+json")
    data = everything.json()
    assert data["type"] == "FeatureCollection" and data["truncated"] is False
    ids = {UUID(f["properties"]["id"]) for f in data["features"]}
    assert cases["other_street"] not in ids
    assert cases["reported"] in ids
    feature = next(f for f in data["features"] if f["properties"]["id"] == str(cases["overdue"]))
    assert feature["geometry"] == {"type": "Point", "coordinates": [121.47, 31.23]}
    assert feature["properties"]["overdue"] is True
    assert feature["properties"]["status_label"] == "整改中"
    assert feature["properties"]["url"] == f"/admin/cases/{cases['overdue']}"
    only = client.get("/admin/map/cases.geojson?status=registered").json()
    assert [f["properties"]["id"] for f in only["features"]] == [str(cases["garbage"])]
    page = client.get("/admin/map?status=registered").text
    assert 'data-query="status=registered"' in page
    assert 'data-tiles="https://tile.openstreetmap.org/{z}/{x}/{y}.png"' in page


def test_map_geojson_errors_stay_json(client: TestClient, world: World) -> None:
    response = client.get("/admin/map/cases.geojson", follow_redirects=False)
    assert response.status_code == 303  # not signed in: to the sign-in page
