"""The monthly progress report (摸排整治进度表), read back with openpyxl."""

import io
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Engine
from sqlmodel import Session

from server.cases.models import Case, Photo
from server.reports.xlsx import CASE_HEADERS, SUMMARY_HEADERS, XLSX_MEDIA_TYPE
from shared_schemas.enums import MediaType
from tests.server.reports.cohort import NOW, Cohort, at, build_cohort
from tests.world import World, login

URL = "/api/v1/exports/progress.xlsx"


@pytest.fixture
def cohort(engine: Engine, world: World, time_machine: Any) -> Cohort:
    time_machine.move_to(NOW, tick=False)
    return build_cohort(engine, world)


def add_photo(engine: Engine, case_id: UUID, kind: str, *, received: bool) -> UUID:
    photo_id = uuid4()
    with Session(engine) as session:
        session.add(
            Photo(
                id=photo_id,
                case_id=case_id,
                kind=kind,
                sha256="ab" * 32,
                size_bytes=1000,
                media_type=MediaType.JPEG,
                width=64,
                height=48,
                taken_at=at(5, 5),
                received_at=at(5, 5) if received else None,
                created_at=at(5, 5, 1 if kind == "before" else 2),
            )
        )
        session.commit()
    return photo_id


def workbook(client: TestClient, username: str, month: str) -> tuple[Worksheet, Worksheet]:
    response = client.get(URL, params={"month": month}, headers=login(client, username))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    assert response.headers["content-disposition"] == (
        f'attachment; filename="progress-{month}.xlsx"'
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["进度表 progress", "明细 cases"]
    return book["进度表 progress"], book["明细 cases"]


def summary_rows(sheet: Worksheet) -> list[tuple[Any, ...]]:
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[3] == SUMMARY_HEADERS
    return rows[4:]


def test_summary_per_compound_and_category(
    client: TestClient, world: World, cohort: Cohort
) -> None:
    summary, _ = workbook(client, "supervisor_a", "2026-05")
    assert summary["A1"].value == "摸排整治进度表 2026-05"
    assert summary["A2"].value == "生成时间 generated 2026-06-15T20:00:00+08:00"
    # FIRE_LANE: world A (dispatched, overdue), on_time (closed), not_due, rework_open
    # (overdue); the duplicate is left out. GARBAGE: pending, rejected, late, extended.
    # The June case (02:00 on 1 June in Beijing) is not in May.
    assert summary_rows(summary) == [
        ("街道A", "社区A", "网格A", "小区A", "占用堵塞消防车通道", 4, 1, 3, 2, 0),
        ("街道A", "社区A", "网格A", "小区A", "垃圾堆积、清运不及时", 4, 2, 1, 0, 1),
        (None, None, None, None, "合计 total", 8, 3, 4, 2, 1),
    ]


def test_a_case_outside_any_compound_has_an_empty_compound_cell(
    client: TestClient, world: World, cohort: Cohort
) -> None:
    summary, cases = workbook(client, "supervisor_a", "2026-06")
    assert summary_rows(summary) == [
        ("街道A", "社区A", "网格A", None, "垃圾堆积、清运不及时", 1, 0, 1, 0, 0),
        (None, None, None, None, "合计 total", 1, 0, 1, 0, 0),
    ]
    rows = list(cases.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [str(cohort.ids["june"])]


def test_case_sheet_links_the_received_photos(
    client: TestClient, engine: Engine, world: World, cohort: Cohort
) -> None:
    case_id = cohort.ids["on_time"]
    before = add_photo(engine, case_id, "before", received=True)
    after = add_photo(engine, case_id, "after", received=True)
    add_photo(engine, case_id, "after", received=False)  # not arrived: no link
    _, cases = workbook(client, "supervisor_a", "2026-05")
    header = next(cases.iter_rows(values_only=True))
    assert header == (*CASE_HEADERS, "照片1 photo 1", "照片2 photo 2")
    rows = {row[0].value: row for row in cases.iter_rows(min_row=2)}
    # Every May case of street A but the duplicate, and nothing else.
    may = {"pending", "rejected", "on_time", "late", "extended", "not_due", "rework_open"}
    assert set(rows) == {str(cohort.ids[n]) for n in may} | {str(world.a.case_id)}
    row = rows[str(case_id)]
    assert [c.value for c in row[1:4]] == ["小区A", "占用堵塞消防车通道", "已结案"]
    assert row[6].value == "2026-05-05T08:00:00+08:00"
    links = [c for c in row[len(CASE_HEADERS) :] if c.value]
    assert [c.value for c in links] == ["照片1 before", "照片2 after"]
    assert [c.hyperlink.target if c.hyperlink else None for c in links] == [
        f"http://testserver/api/v1/photos/{before}",
        f"http://testserver/api/v1/photos/{after}",
    ]
    overdue = rows[str(world.a.case_id)]
    assert overdue[8].value == "是 yes"


def test_text_that_looks_like_a_formula_stays_text(
    client: TestClient, engine: Engine, world: World, cohort: Cohort
) -> None:
    with Session(engine) as session:
        case = session.get(Case, cohort.ids["pending"])
        assert case is not None
        case.description = '=HYPERLINK("http://evil.example","x")\x07'
        session.add(case)
        session.commit()
    _, cases = workbook(client, "supervisor_a", "2026-05")
    row = next(r for r in cases.iter_rows(min_row=2) if r[0].value == str(cohort.ids["pending"]))
    assert row[4].data_type == "s"
    assert row[4].value == '=HYPERLINK("http://evil.example","x")'  # the bell is dropped


def test_other_street_never_appears(client: TestClient, world: World, cohort: Cohort) -> None:
    summary, cases = workbook(client, "supervisor_b", "2026-05")
    assert summary_rows(summary) == [
        ("街道B", "社区B", "网格B", "小区B", "占用堵塞消防车通道", 2, 1, 1, 1, 0),
        (None, None, None, None, "合计 total", 2, 1, 1, 1, 0),
    ]
    ids = {r[0] for r in cases.iter_rows(min_row=2, values_only=True)}
    assert ids == {str(world.b.case_id), str(cohort.ids["b_closed"])}


def test_department_sees_only_its_cases(client: TestClient, world: World, cohort: Cohort) -> None:
    summary, _ = workbook(client, "department_b", "2026-05")  # HOUSING_BUREAU
    assert summary_rows(summary)[-1] == (None, None, None, None, "合计 total", 4, 3, 1, 1, 0)


def test_empty_month(client: TestClient, world: World) -> None:
    summary, cases = workbook(client, "admin", "2031-02")
    assert summary_rows(summary) == [(None, None, None, None, "合计 total", 0, 0, 0, 0, 0)]
    assert list(cases.iter_rows(values_only=True)) == [CASE_HEADERS]


def test_bad_month_is_named(client: TestClient, world: World) -> None:
    headers = login(client, "supervisor_a")
    for month in ("2026-13", "2026-5", "202605", "2026-00", "may"):
        response = client.get(URL, params={"month": month}, headers=headers)
        assert response.status_code == 422, month
        error = response.json()["error"]
        assert error["details"][0]["field"] == "query.month"
        assert error["message"].startswith("query.month")
    missing = client.get(URL, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "query.month"
