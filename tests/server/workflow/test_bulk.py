"""Bulk actions: each case succeeds or fails on its own; the successes are kept."""

from collections.abc import Callable
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from server.accounts.scope import scope_for
from server.cases.models import Case
from server.core.errors import ApiError
from server.workflow.service import apply_bulk
from shared_schemas.enums import CaseStatus
from tests.server.workflow.helpers import API, request, timeline, user
from tests.world import World, add_case

Headers = Callable[[str], dict[str, str]]


def _reported(engine: Engine, world: World, n: int) -> list[UUID]:
    with Session(engine) as s:
        reporter = user(s, "inspector_a")
        ids = [add_case(s, area=world.a.compound, reporter=reporter).id for _ in range(n)]
        s.commit()
        return ids


def test_bulk_register_keeps_the_successes(engine: Engine, world: World) -> None:
    fresh = _reported(engine, world, 3)
    mixed = [fresh[0], world.a.case_id, fresh[1], world.b.case_id, uuid4(), fresh[2], fresh[0]]
    with Session(engine) as s:
        sup = user(s, "supervisor_a")
        results = apply_bulk(
            s, user=sup, scope=scope_for(s, sup), case_ids=mixed, request=request("register")
        )
        s.commit()
    # Once per case, in the order given.
    assert [r.case_id for r in results] == mixed[:-1]
    outcome = [(r.ok, r.status, r.error.code if r.error else None) for r in results]
    assert outcome == [
        (True, CaseStatus.REGISTERED, None),
        (False, None, "invalid_transition"),  # already dispatched
        (True, CaseStatus.REGISTERED, None),
        (False, None, "not_found"),  # street B: out of scope
        (False, None, "not_found"),
        (True, CaseStatus.REGISTERED, None),
    ]
    failed = results[1].error
    assert failed is not None and isinstance(failed.details, dict)
    assert failed.details["allowed_actions"] == ["start_rectification", "extend_deadline"]
    with Session(engine) as s:
        for case_id in fresh:
            case = s.get(Case, case_id)
            assert case is not None and case.status == CaseStatus.REGISTERED
            assert [e.action for e in timeline(s, case_id)] == ["report", "register"]
        untouched = s.get(Case, world.a.case_id)
        assert untouched is not None and untouched.version == 1


def test_bulk_dispatch_over_the_api(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    ids = _reported(engine, world, 2)
    sup = as_user("supervisor_a")
    body = {"case_ids": [str(i) for i in ids], "transition": {"action": "register"}}
    r = client.post(f"{API}/cases/bulk-transitions", json=body, headers=sup)
    assert [x["ok"] for x in r.json()["results"]] == [True, True]
    body["transition"] = {"action": "dispatch", "department": "HOUSING_BUREAU"}
    r = client.post(f"{API}/cases/bulk-transitions", json=body, headers=sup)
    assert [(x["ok"], x["status"], x["version"]) for x in r.json()["results"]] == [
        (True, "dispatched", 3),
        (True, "dispatched", 3),
    ]
    listed = client.get(
        f"{API}/cases", params={"department": "HOUSING_BUREAU"}, headers=sup
    ).json()["items"]
    assert {c["id"] for c in listed} == {str(i) for i in ids}
    # A department user may bulk-start their own cases; field roles may not bulk at all.
    body = {"case_ids": [str(world.a.case_id)], "transition": {"action": "start_rectification"}}
    r = client.post(f"{API}/cases/bulk-transitions", json=body, headers=as_user("department_a"))
    assert r.json()["results"][0]["status"] == "rectifying"
    r = client.post(f"{API}/cases/bulk-transitions", json=body, headers=as_user("inspector_a"))
    assert r.status_code == 403


def test_bulk_refuses_what_makes_no_sense(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    sup = as_user("supervisor_a")
    url = f"{API}/cases/bulk-transitions"
    r = client.post(url, json={"case_ids": [], "transition": {"action": "register"}}, headers=sup)
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (422, "case_ids")
    body = {
        "case_ids": [str(world.a.case_id)],
        "transition": {"action": "register", "expected_version": 1},
    }
    r = client.post(url, json=body, headers=sup)
    assert (r.status_code, r.json()["error"]["details"][0]["field"]) == (
        422,
        "transition.expected_version",
    )
    with Session(engine) as s, pytest.raises(ApiError):
        sup_user = user(s, "supervisor_a")
        apply_bulk(
            s,
            user=sup_user,
            scope=scope_for(s, sup_user),
            case_ids=[world.a.case_id],
            request=request("register", expected_version=1),
        )
