"""The permission matrix: every endpoint x every role, from one table.

Each row says what each role gets on its own side of the world (street A) and, for
endpoints that name one object, on the other side's object (street B): out of scope must
look exactly like "does not exist" (404). A test checks that the table covers every
endpoint in the OpenAPI document, so a new endpoint cannot be forgotten.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

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


def _login_body(_w: World, username: str | None) -> dict[str, Any]:
    return {"username": username or "nobody", "password": PASSWORD, "device_id": "matrix"}


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
)


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
    response = client.request(row.method, fill(row.path, world, side), headers=headers, json=body)
    if response.status_code >= 400:
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
