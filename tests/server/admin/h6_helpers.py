"""Helpers for the dashboard, exports and management page tests."""

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.server.admin.helpers import admin_login, form_token


def sign_in_at(client: TestClient, username: str, path: str) -> str:
    """Sign in through the real page, open `path`, return the session's CSRF token."""
    assert admin_login(client, username).status_code == 303
    page = client.get(path)
    assert page.status_code == 200, page.text
    return form_token(page.text)


def switch_to_english(client: TestClient, token: str) -> None:
    response = client.post(
        "/admin/locale",
        data={"locale": "en", "next": "/admin/dashboard", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303


def post(client: TestClient, path: str, token: str, **data: Any) -> Response:
    response: Response = client.post(
        path, data={**data, "csrf_token": token}, follow_redirects=False
    )
    return response


def chart_json(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S
    )
    assert match, "no chart data block"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def field_error(html: str, name: str) -> str:
    """The error text shown next to a form field ('' when none)."""
    match = re.search(rf'<span class="field-error" id="err-{name}">(.*?)</span>', html, re.S)
    return match.group(1).strip() if match else ""


def cell(html: str, table: str, key: str, metric: str) -> str:
    """A figure from a dashboard table: the row with data-key `key`, column `metric`."""
    section = html.split(f'id="table-{table}"', 1)[1].split("</section>", 1)[0]
    row = section.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    match = re.search(rf'data-metric="{metric}"[^>]*>([^<]*)<', row)
    assert match, f"no {metric} in row {key}"
    return match.group(1)


def kpi(html: str, metric: str) -> str:
    match = re.search(
        rf'class="kpi[^"]*" data-metric="{metric}">\s*<div class="kpi-value"[^>]*>([^<]*)<', html
    )
    assert match, f"no key figure {metric}"
    return match.group(1)
