"""The exports page and its downloads in the admin: CSV and GeoJSON of the case list
with its filters, the monthly XLSX, scope, and bad filters answered with the page."""

import csv
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.server.admin.h6_helpers import sign_in_at
from tests.world import World

PAGE = "/admin/exports"


def _csv_rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese right with a BOM
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_page_offers_the_three_downloads(client: TestClient, world: World) -> None:
    sign_in_at(client, "supervisor_a", PAGE)
    html = client.get(PAGE).text
    assert 'action="/admin/exports/progress.xlsx"' in html
    assert 'action="/admin/exports/cases.csv"' in html
    assert 'formaction="/admin/exports/cases.geojson"' in html
    assert 'name="month"' in html


def test_csv_download_is_scoped_and_filtered(client: TestClient, world: World) -> None:
    sign_in_at(client, "supervisor_a", PAGE)
    response = client.get(f"{PAGE}/cases.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="cases-')
    rows = _csv_rows(response.content)
    assert len(rows) == 2  # the header and street A's case only
    assert str(world.a.case_id) in rows[1]
    closed = _csv_rows(client.get(f"{PAGE}/cases.csv?status=closed").content)
    assert len(closed) == 1
    dated = client.get(f"{PAGE}/cases.csv?created_from=2026-05-01&created_to=2026-05-01")
    assert len(_csv_rows(dated.content)) == 2  # both ends of the range are included
    later = client.get(f"{PAGE}/cases.csv?created_from=2026-05-02")
    assert len(_csv_rows(later.content)) == 1


def test_geojson_download(client: TestClient, world: World) -> None:
    sign_in_at(client, "admin", PAGE)
    response = client.get(f"{PAGE}/cases.geojson?department=HOUSING_BUREAU")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    assert [f["id"] for f in data["features"]] == [str(world.b.case_id)]
    assert data["features"][0]["geometry"]["coordinates"] == [121.47, 31.23]


def test_progress_workbook_opens_in_openpyxl(client: TestClient, world: World) -> None:
    sign_in_at(client, "admin", PAGE)
    response = client.get(f"{PAGE}/progress.xlsx?month=2026-05")
    assert response.status_code == 200
    assert "progress-2026-05.xlsx" in response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    summary = workbook.worksheets[0]
    text = " ".join(str(c) for row in summary.iter_rows(values_only=True) for c in row if c)
    assert "摸排整治进度表 2026-05" in text
    assert "小区A" in text and "小区B" in text


def test_bad_filters_answer_with_the_page_naming_the_field(
    client: TestClient, world: World
) -> None:
    sign_in_at(client, "admin", PAGE)
    month = client.get(f"{PAGE}/progress.xlsx?month=2026-13")
    assert month.status_code == 422
    assert month.headers["content-type"].startswith("text/html")
    assert "请按 YYYY-MM 格式填写月份。" in month.text
    dates = client.get(f"{PAGE}/cases.csv?created_from=2026-02-30")
    assert dates.status_code == 422
    assert 'id="export-errors"' in dates.text and "上报日期从" in dates.text
    order = client.get(f"{PAGE}/cases.csv?created_from=2026-06-01&created_to=2026-05-01")
    assert order.status_code == 422 and "结束日期早于开始日期" in order.text
    status = client.get(f"{PAGE}/cases.geojson?status=lost&q=" + "x" * 101)
    assert status.status_code == 422
    assert "状态" in status.text and "描述或地址包含" in status.text


def test_downloads_need_a_sign_in(client: TestClient, world: World) -> None:
    for path in ("cases.csv", "cases.geojson", "progress.xlsx?month=2026-05"):
        response = client.get(f"{PAGE}/{path}", follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/admin/login")
