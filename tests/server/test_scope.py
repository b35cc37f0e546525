"""Scope rules through the real endpoints: each role sees its side of the world only."""

import pytest
from fastapi.testclient import TestClient

from shared_schemas.enums import Role
from tests.world import World, login

SCOPED_ROLES = (Role.SUPERVISOR, Role.INSPECTOR, Role.PATROL, Role.DEPARTMENT)


def case_ids(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


@pytest.mark.parametrize("role", SCOPED_ROLES, ids=lambda r: r.value)
def test_case_list_shows_only_own_side(client: TestClient, world: World, role: Role) -> None:
    for side, other in ((world.a, world.b), (world.b, world.a)):
        seen = case_ids(client, login(client, side.users[role]))
        assert str(side.case_id) in seen
        assert str(other.case_id) not in seen


def test_admin_sees_both_sides(client: TestClient, world: World) -> None:
    seen = case_ids(client, login(client, world.admin))
    assert {str(world.a.case_id), str(world.b.case_id)} <= seen


@pytest.mark.parametrize(
    "role", (Role.SUPERVISOR, Role.INSPECTOR, Role.PATROL), ids=lambda r: r.value
)
def test_areas_exclude_the_other_street(client: TestClient, world: World, role: Role) -> None:
    response = client.get("/api/v1/areas", headers=login(client, world.a.users[role]))
    assert response.status_code == 200
    codes = {a["code"] for a in response.json()["areas"]}
    assert {world.a.compound.code, "D1"} <= codes  # own compound and its ancestors
    assert not codes & {world.b.street.code, world.b.grid.code, world.b.compound.code}


def test_out_of_scope_case_is_indistinguishable_from_missing(
    client: TestClient, world: World
) -> None:
    headers = login(client, world.a.users[Role.INSPECTOR])
    hidden = client.get(f"/api/v1/cases/{world.b.case_id}", headers=headers)
    missing = client.get("/api/v1/cases/00000000-0000-4000-8000-000000000000", headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_department_sees_cases_dispatched_to_it_in_any_area(
    client: TestClient, world: World
) -> None:
    headers = login(client, world.b.users[Role.DEPARTMENT])
    response = client.get(f"/api/v1/cases/{world.b.case_id}", headers=headers)
    assert response.status_code == 200
    assert response.json()["department"] == world.b.department.code
