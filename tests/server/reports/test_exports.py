"""CSV and GeoJSON exports: the list's cases and filters, the caller's scope, streamed."""

import csv
import io
import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from server.accounts.models import User
from server.accounts.scope import Scope
from server.cases.models import Case
from server.cases.schemas import CaseFilters
from server.reports.exports import CSV_COLUMNS, UTF8_BOM, iter_cases_csv, iter_cases_geojson
from shared_schemas.enums import CaseStatus, LocationSource, Severity
from tests.server.reports.cohort import NOW, Cohort, at, build_cohort
from tests.world import World, login

API = "/api/v1"


@pytest.fixture
def cohort(engine: Engine, world: World, time_machine: Any) -> Cohort:
    time_machine.move_to(NOW, tick=False)
    return build_cohort(engine, world)


def list_ids(client: TestClient, headers: dict[str, str], params: dict[str, Any]) -> list[str]:
    """Every id the case list shows, page by page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = client.get(
            f"{API}/cases", params={**params, "limit": 200, "cursor": cursor}, headers=headers
        )
        assert page.status_code == 200, page.text
        ids += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


def csv_rows(content: bytes) -> list[dict[str, str]]:
    text = content.decode("utf-8")
    assert text.startswith(UTF8_BOM)
    return list(csv.DictReader(io.StringIO(text[1:])))


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": ["closed", "rectified"]},
    {"category": "GARBAGE"},
    {"group": "fire_safety"},
    {"overdue": "true"},
    {"overdue": "false"},
    {"area": "CP_A"},
    {"department": "FIRE_BRIGADE"},
    {"created_from": "2026-05-05T00:00:00+00:00", "created_to": "2026-05-08T00:00:00+00:00"},
    {"q": "东侧"},
]


def test_csv_and_geojson_hold_exactly_the_lists_cases(
    client: TestClient, world: World, cohort: Cohort
) -> None:
    headers = login(client, "supervisor_a")
    for params in FILTERS:
        expected = list_ids(client, headers, params)
        assert expected, params  # every filter here matches something
        csv_response = client.get(f"{API}/exports/cases.csv", params=params, headers=headers)
        assert csv_response.status_code == 200, csv_response.text
        assert [r["编号 id"] for r in csv_rows(csv_response.content)] == expected, params
        geo = client.get(f"{API}/exports/cases.geojson", params=params, headers=headers)
        assert geo.status_code == 200, geo.text
        assert [f["id"] for f in geo.json()["features"]] == expected, params


def test_csv_content(client: TestClient, world: World, cohort: Cohort) -> None:
    response = client.get(
        f"{API}/exports/cases.csv", params={"status": "closed"}, headers=login(client, "admin")
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="cases-')
    rows = csv_rows(response.content)
    assert list(rows[0]) == [header for header, _ in CSV_COLUMNS]
    by_id = {r["编号 id"]: r for r in rows}
    assert set(by_id) == {str(cohort.ids[n]) for n in ("on_time", "late", "b_closed")}
    on_time = by_id[str(cohort.ids["on_time"])]
    assert on_time["类别代码 category"] == "FIRE_LANE"
    assert on_time["类别 category_name"] == "占用堵塞消防车通道"
    assert on_time["状态 status"] == "closed"
    assert on_time["状态名称 status_name"] == "已结案"
    assert on_time["区域代码 area_code"] == "CP_A"
    assert on_time["区域 area_name"] == "小区A"
    assert on_time["责任部门代码 department"] == "FIRE_BRIGADE"
    assert on_time["上报人 reporter"] == "inspector_a"
    # Times in Beijing time with their offset; 00:00 UTC is 08:00 there.
    assert on_time["上报时间 created_at"] == "2026-05-05T08:00:00+08:00"
    assert on_time["期限 deadline"] == "2026-05-20T08:00:00+08:00"
    assert on_time["结案时间 closed_at"] == "2026-05-15T08:00:00+08:00"
    assert on_time["超期 overdue"] == "否 no"
    assert on_time["返工次数 rework_count"] == "0"
    assert float(on_time["纬度 lat"]) == 31.23 and float(on_time["经度 lon"]) == 121.47

    overdue = client.get(
        f"{API}/exports/cases.csv", params={"overdue": "true"}, headers=login(client, "admin")
    )
    assert {r["超期 overdue"] for r in csv_rows(overdue.content)} == {"是 yes"}


def test_csv_cells_never_start_a_formula(
    client: TestClient, engine: Engine, world: World, cohort: Cohort
) -> None:
    with Session(engine) as session:
        case = session.get(Case, cohort.ids["pending"])
        assert case is not None
        case.description = '=HYPERLINK("http://evil.example","click")'
        case.address = '+1 东门, "quoted"\nsecond line'
        session.add(case)
        session.commit()
    response = client.get(
        f"{API}/exports/cases.csv", params={"status": "reported"}, headers=login(client, "admin")
    )
    (row,) = csv_rows(response.content)
    assert row["描述 description"] == "'" + '=HYPERLINK("http://evil.example","click")'
    assert row["地址 address"] == '\'+1 东门, "quoted"\nsecond line'


def test_geojson_content(client: TestClient, world: World, cohort: Cohort) -> None:
    response = client.get(
        f"{API}/exports/cases.geojson",
        params={"department": "HOUSING_BUREAU"},
        headers=login(client, "supervisor_a"),
    )
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    features = {f["id"]: f for f in body["features"]}
    assert set(features) == {str(cohort.ids["late"]), str(cohort.ids["extended"])}
    late = features[str(cohort.ids["late"])]
    assert late["type"] == "Feature"
    assert late["geometry"] == {"type": "Point", "coordinates": [121.47, 31.23]}
    props = late["properties"]
    assert props["status"] == "closed" and props["rework_count"] == 1
    assert props["department_name"] == world.b.department.name_zh
    assert props["overdue"] is False and props["deadline"] == "2026-05-10T08:00:00+08:00"
    assert "lat" not in props and "lon" not in props


def test_exports_stay_inside_the_scope(client: TestClient, world: World, cohort: Cohort) -> None:
    street_b = {str(world.b.case_id), str(cohort.ids["b_closed"])}
    for username in ("supervisor_a", "department_a", "supervisor_b"):
        headers = login(client, username)
        everything = list_ids(client, headers, {})
        csv_body = client.get(f"{API}/exports/cases.csv", headers=headers).content
        csv_ids = [r["编号 id"] for r in csv_rows(csv_body)]
        geo_body = client.get(f"{API}/exports/cases.geojson", headers=headers).json()
        geo_ids = [f["id"] for f in geo_body["features"]]
        assert csv_ids == geo_ids == everything
        if username == "supervisor_b":
            assert set(csv_ids) == street_b
        else:
            assert not street_b & set(csv_ids)
        # Naming the other street's area in a filter shows nothing of it either.
        other = "ST_A" if username == "supervisor_b" else "ST_B"
        filtered = client.get(f"{API}/exports/cases.csv", params={"area": other}, headers=headers)
        rows = csv_rows(filtered.content)
        if username == "department_a":  # departments see their own cases anywhere
            assert {r["区域代码 area_code"] for r in rows} <= {"CP_B"}
        else:
            assert rows == []


def test_empty_exports_are_still_well_formed(
    client: TestClient, world: World, cohort: Cohort
) -> None:
    headers = login(client, "supervisor_a")
    params = {"q": "no such text anywhere"}
    text = client.get(f"{API}/exports/cases.csv", params=params, headers=headers).content
    assert csv_rows(text) == []
    assert text.decode("utf-8").count("\r\n") == 1  # the header line
    geo = client.get(f"{API}/exports/cases.geojson", params=params, headers=headers)
    assert geo.json() == {"type": "FeatureCollection", "features": []}


BAD_FILTERS = [
    ({"status": "lost"}, "query.status"),
    ({"overdue": "maybe"}, "query.overdue"),
    ({"created_from": "last week"}, "query.created_from"),
    ({"q": "x" * 101}, "query.q"),
]


def test_bad_filters_are_named(client: TestClient, world: World) -> None:
    headers = login(client, "admin")
    for params, field in BAD_FILTERS:
        for path in ("cases.csv", "cases.geojson"):
            response = client.get(f"{API}/exports/{path}", params=params, headers=headers)
            assert response.status_code == 422
            assert response.json()["error"]["details"][0]["field"].startswith(field)


def test_export_filters_are_the_lists_filters(app: Any) -> None:
    """The export endpoints take the list's query parameters, no more and no fewer."""
    paths = app.openapi()["paths"]

    def params(path: str) -> dict[str, Any]:
        return {
            p["name"]: p["schema"] for p in paths[path]["get"]["parameters"] if p["in"] == "query"
        }

    listing = {k: v for k, v in params(f"{API}/cases").items() if k not in ("cursor", "limit")}
    assert params(f"{API}/exports/cases.csv") == listing
    assert params(f"{API}/exports/cases.geojson") == listing


# --- streaming ---------------------------------------------------------------------------


def add_many(engine: Engine, world: World, count: int) -> None:
    """`count` plain cases on street A in one multi-row INSERT (fast on both backends)."""
    with Session(engine) as session:
        reporter = session.exec(select(User).where(User.username == "inspector_a")).one()
        rows = [
            {
                "id": uuid4(),
                "category_code": "GARBAGE",
                "severity": Severity.MINOR,
                "description": f"第{i}号 garbage",
                "observed_at": at(4, 1) + timedelta(minutes=i),
                "lat": 31.2,
                "lon": 121.4,
                "accuracy_m": 5.0,
                "location_source": LocationSource.GPS,
                "location_captured_at": at(4, 1),
                "area_id": world.a.compound.pk,
                "area_path": world.a.compound.path,
                "address": "",
                "reporter_id": reporter.id,
                "status": CaseStatus.REPORTED,
                "created_at": at(4, 1) + timedelta(minutes=i),
                "updated_at": at(4, 1),
            }
            for i in range(count)
        ]
        session.execute(insert(Case), rows)
        session.commit()


def test_csv_streams_one_chunk_per_batch(client: TestClient, engine: Engine, world: World) -> None:
    add_many(engine, world, 1200)
    # Through the endpoint too: the request's session serves every batch of the stream.
    response = client.get(f"{API}/exports/cases.csv", headers=login(client, "admin"))
    assert len(csv_rows(response.content)) == 1202
    with Session(engine) as session:
        chunks = list(
            iter_cases_csv(session, scope=Scope(everything=True), filters=CaseFilters(), now=NOW)
        )
        # 1,202 cases (with the world's two) in batches of 500: header + 3 chunks.
        assert len(chunks) == 4
        assert all(isinstance(c, bytes) and c for c in chunks)
        assert max(len(c) for c in chunks) < sum(len(c) for c in chunks) / 2
        rows = csv_rows(b"".join(chunks))
        assert len(rows) == 1202 and len({r["编号 id"] for r in rows}) == 1202
        # Batch size does not change the content, only how it is cut.
        small = list(
            iter_cases_csv(
                session,
                scope=Scope(everything=True),
                filters=CaseFilters(status=[CaseStatus.DISPATCHED]),
                now=NOW,
                batch_size=1,
            )
        )
        assert len(small) == 1 + 2
        whole = iter_cases_csv(
            session,
            scope=Scope(everything=True),
            filters=CaseFilters(status=[CaseStatus.DISPATCHED]),
            now=NOW,
        )
        assert b"".join(small) == b"".join(whole)


def test_geojson_streams_one_chunk_per_batch(engine: Engine, world: World) -> None:
    add_many(engine, world, 7)
    with Session(engine) as session:
        chunks = list(
            iter_cases_geojson(
                session,
                scope=Scope(everything=True),
                filters=CaseFilters(),
                now=NOW,
                batch_size=3,
            )
        )
    # opening + ceil(9 / 3) batches + closing
    assert len(chunks) == 5
    body = json.loads(b"".join(chunks))
    assert len(body["features"]) == 9
    assert len({f["id"] for f in body["features"]}) == 9
