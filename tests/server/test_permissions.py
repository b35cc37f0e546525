"""The permission matrix: every endpoint x every role, from one table.

Each row says what each role gets on its own side of the world (street A) and, for
endpoints that name one object, on the other side's object (street B): out of scope must
look exactly like "does not exist" (404). A test checks that the table covers every
endpoint in the OpenAPI document, so a new endpoint cannot be forgotten.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from server.cases.models import Case
from shared_schemas.enums import CaseStatus
from tests.server.uploads.helpers import (
    PATCH,
    TUS,
    creation_headers,
    declare_photo,
    make_jpeg,
    open_upload,
    received_photo,
)
from tests.world import PASSWORD, World, login

ROLES = ("anonymous", "admin", "supervisor", "inspector", "patrol", "department")
SIGNED_IN = ROLES[1:]


def all_roles(status: int, anonymous: int = 401) -> dict[str, int]:
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, status)}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    own: dict[str, int]
    # For paths naming an object: what each role gets for street B's object.
    other: dict[str, int] | None = None
    body: Callable[[World, str | None], dict[str, Any]] | None = None
    ok_statuses: frozenset[int] = field(default=frozenset({200}))
    headers: dict[str, str] = field(default_factory=dict)
    # Makes the object the path names (beyond the world's cases) on the given side's case
    # and returns {placeholder: value}, applied to the path and the header values.
    prepare: Callable[[TestClient, World, str], dict[str, str]] | None = None
    params: dict[str, str] = field(default_factory=dict)  # the query string
    # A multipart body instead of JSON: [(field, (filename, bytes, content type)), ...]
    files: Callable[[], list[tuple[str, tuple[str, bytes, str]]]] | None = None


def _login_body(_w: World, username: str | None) -> dict[str, Any]:
    return {"username": username or "nobody", "password": PASSWORD, "device_id": "matrix"}


def _push_body(_w: World, _u: str | None) -> dict[str, Any]:
    status = {"app_version": "1.0.0", "queue_depth": 0, "oldest_pending_s": 0, "photos_pending": 0}
    return {"device_id": "matrix", "schema_version": 1, "ops": [], "device_status": status}


MATRIX: tuple[Row, ...] = (
    Row("GET", "/api/v1/health", all_roles(200, anonymous=200)),
    Row("POST", "/api/v1/auth/login", all_roles(200, anonymous=401), body=_login_body),
    # A refresh token is the credential here; garbage is refused the same for everyone.
    Row(
        "POST",
        "/api/v1/auth/refresh",
        all_roles(401, anonymous=401),
        body=lambda _w, _u: {"refresh_token": "not-a-real-refresh-token"},
    ),
    Row("POST", "/api/v1/auth/logout", all_roles(204), body=lambda _w, _u: {}),
    Row("GET", "/api/v1/me", all_roles(200)),
    Row("GET", "/api/v1/taxonomy", all_roles(200)),
    Row("GET", "/api/v1/areas", all_roles(200)),
    Row("GET", "/api/v1/cases", all_roles(200)),
    Row(
        "GET",
        "/api/v1/cases/{case_id}",
        all_roles(200),
        other={
            "anonymous": 401,
            "admin": 200,
            "supervisor": 404,
            "inspector": 404,
            "patrol": 404,
            "department": 404,
        },
    ),
    # Sync: only field roles push; everyone signed in pulls what they may see.
    Row(
        "POST",
        "/api/v1/sync/push",
        {
            "anonymous": 401,
            "admin": 403,
            "supervisor": 403,
            "inspector": 200,
            "patrol": 200,
            "department": 403,
        },
        body=_push_body,
    ),
    Row("GET", "/api/v1/sync/pull", all_roles(200)),
    Row(
        "GET",
        "/api/v1/devices",
        {
            "anonymous": 401,
            "admin": 200,
            "supervisor": 200,
            "inspector": 403,
            "patrol": 403,
            "department": 403,
        },
    ),
)


def _side_case(world: World, side: str) -> UUID:
    return world.a.case_id if side == "own" else world.b.case_id


def _received_photo(client: TestClient, world: World, side: str) -> dict[str, str]:
    return {"{photo_id}": str(received_photo(client.app, _side_case(world, side)))}  # type: ignore[arg-type]


def _open_upload(client: TestClient, world: World, side: str) -> dict[str, str]:
    return {"{upload_id}": str(open_upload(client.app, _side_case(world, side)))}  # type: ignore[arg-type]


def _declared_photo(client: TestClient, world: World, side: str) -> dict[str, str]:
    case_id = _side_case(world, side)
    data = make_jpeg(seed=6, size=(64, 48))
    photo_id = declare_photo(client.app.state.engine, case_id, data)  # type: ignore[attr-defined]
    return dict(creation_headers(photo_id, case_id, data))


# Uploads: the case's reporter (street A's inspector) or an admin; a role that can see the
# case gets 403, one that cannot 404. Upload URLs answer only their owner (and admins).
_UPLOAD_OWN = {
    "anonymous": 401,
    "admin": 201,
    "supervisor": 403,
    "inspector": 201,
    "patrol": 403,
    "department": 403,
}


def _owner_only(status: int) -> dict[str, int]:
    return {**all_roles(404), "admin": status, "inspector": status}


def _admin_only(status: int) -> dict[str, int]:
    return {**all_roles(404), "admin": status}


UPLOAD_ROWS: tuple[Row, ...] = (
    Row("OPTIONS", "/api/v1/uploads", all_roles(204, anonymous=204)),
    Row(
        "POST",
        "/api/v1/uploads",
        _UPLOAD_OWN,
        other=_admin_only(201),
        prepare=_declared_photo,
        ok_statuses=frozenset({201}),
    ),
    Row(
        "HEAD",
        "/api/v1/uploads/{upload_id}",
        _owner_only(200),
        other=_admin_only(200),
        headers=TUS,
        prepare=_open_upload,
    ),
    Row(
        "PATCH",
        "/api/v1/uploads/{upload_id}",
        _owner_only(204),
        other=_admin_only(204),
        headers={**PATCH, "Upload-Offset": "0"},
        prepare=_open_upload,
        ok_statuses=frozenset({204}),
    ),
    Row(
        "DELETE",
        "/api/v1/uploads/{upload_id}",
        _owner_only(204),
        other=_admin_only(204),
        headers=TUS,
        prepare=_open_upload,
        ok_statuses=frozenset({204}),
    ),
    # Photo batches: the sign-in is checked before the body (here: none, so 415); who may
    # upload which photo is decided per photo, in the answer: tests/server/uploads/
    # test_photo_batch.py checks it for every role.
    Row("POST", "/api/v1/photos/batch", all_roles(415)),
    # Photos: anyone who can see the case.
    Row(
        "GET",
        "/api/v1/photos/{photo_id}",
        all_roles(200),
        other=_admin_only(200),
        prepare=_received_photo,
    ),
    Row(
        "GET",
        "/api/v1/photos/{photo_id}/thumb",
        all_roles(200),
        other=_admin_only(200),
        prepare=_received_photo,
    ),
)
MATRIX = MATRIX + UPLOAD_ROWS


def _rectifying(client: TestClient, world: World, side: str) -> dict[str, str]:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        case = session.get(Case, _side_case(world, side))
        assert case is not None
        case.status = CaseStatus.RECTIFYING
        session.add(case)
        session.commit()
    return {}


def _one_png() -> list[tuple[str, tuple[str, bytes, str]]]:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(out, "PNG")
    return [("files", ("after.png", out.getvalue(), "image/png"))]


# The workflow (street A's case is dispatched to street A's department). A role that sees
# the case but may not act gets 403; one that cannot see it 404, like a missing case.
_SEEN_ONLY_BY_ADMIN = {**all_roles(404), "admin": 200}
WORKFLOW_ROWS: tuple[Row, ...] = (
    Row(
        "POST",
        "/api/v1/cases/{case_id}/transitions",
        {**all_roles(200), "inspector": 403, "patrol": 403},
        other=_SEEN_ONLY_BY_ADMIN,
        body=lambda _w, _u: {"action": "start_rectification"},
    ),
    Row(
        "POST",
        "/api/v1/cases/bulk-transitions",
        {**all_roles(200), "inspector": 403, "patrol": 403},
        body=lambda w, _u: {
            "case_ids": [str(w.a.case_id)],
            "transition": {"action": "start_rectification"},
        },
    ),
    Row("GET", "/api/v1/cases/{case_id}/actions", all_roles(200), other=_SEEN_ONLY_BY_ADMIN),
    # Photos from the web: who may take an action that takes photos now (the case is
    # being rectified: its department, supervisors, admins).
    Row(
        "POST",
        "/api/v1/cases/{case_id}/photos",
        {**all_roles(201), "inspector": 403, "patrol": 403},
        other=_admin_only(201),
        prepare=_rectifying,
        files=_one_png,
        ok_statuses=frozenset({201}),
    ),
    Row("GET", "/api/v1/cases/{case_id}/duplicates", all_roles(200), other=_SEEN_ONLY_BY_ADMIN),
)
MATRIX = MATRIX + WORKFLOW_ROWS

# Indicators and exports: supervisors, departments and admins (each in their scope).
_REPORT_READERS = {**all_roles(200), "inspector": 403, "patrol": 403}
REPORT_ROWS: tuple[Row, ...] = (
    Row("GET", "/api/v1/indicators", _REPORT_READERS),
    Row("GET", "/api/v1/exports/cases.csv", _REPORT_READERS),
    Row("GET", "/api/v1/exports/cases.geojson", _REPORT_READERS),
    Row("GET", "/api/v1/exports/progress.xlsx", _REPORT_READERS, params={"month": "2026-05"}),
)
MATRIX = MATRIX + REPORT_ROWS


def username_for(world: World, role: str) -> str | None:
    if role == "anonymous":
        return None
    if role == "admin":
        return world.admin
    return world.a.users[next(r for r in world.a.users if r.value == role)]


def fill(path: str, world: World, side: str) -> str:
    case_id = world.a.case_id if side == "own" else world.b.case_id
    return path.replace("{case_id}", str(case_id))


def call(client: TestClient, world: World, row: Row, role: str, side: str) -> int:
    username = username_for(world, role)
    headers = login(client, username) if username and row.path != "/api/v1/auth/login" else {}
    body = row.body(world, username) if row.body else None
    params = row.prepare(client, world, side) if row.prepare else {}
    path = fill(row.path, world, side)
    extra = dict(row.headers)
    for placeholder, value in params.items():
        if placeholder.startswith("{"):
            path = path.replace(placeholder, value)
        else:
            extra[placeholder] = value
    headers = {**headers, **extra}
    response = client.request(
        row.method,
        path,
        headers=headers,
        json=body,
        files=row.files() if row.files else None,
        params=row.params or None,
    )
    if response.status_code >= 400 and row.method != "HEAD":  # HEAD answers have no body
        # Every refusal is in the error envelope, with a code a client can act on.
        assert set(response.json()) == {"error"}, response.text
        assert response.json()["error"]["code"], response.text
    status: int = response.status_code
    return status


CASES = [(row, role, "own") for row in MATRIX for role in ROLES] + [
    (row, role, "other") for row in MATRIX if row.other for role in ROLES
]


@pytest.mark.parametrize(
    ("row", "role", "side"),
    CASES,
    ids=[f"{r.method} {r.path} {role} {side}" for r, role, side in CASES],
)
def test_permission_matrix(
    client: TestClient, world: World, row: Row, role: str, side: str
) -> None:
    expected = (row.own if side == "own" else row.other or {})[role]
    assert call(client, world, row, role, side) == expected


def test_matrix_covers_every_endpoint(app: Any) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    in_matrix = {(row.method, row.path) for row in MATRIX}
    assert documented - in_matrix == set(), "endpoints missing from the permission matrix"
    assert in_matrix - documented == set(), "matrix rows for endpoints that do not exist"
    for row in MATRIX:
        assert set(row.own) == set(ROLES)
        assert row.other is None or set(row.other) == set(ROLES)
