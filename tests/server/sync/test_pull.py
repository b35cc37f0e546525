"""GET /sync/pull: cursor, pages, visibility, current state, record_change ordering."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.areas.models import Area
from server.cases.models import Case
from server.sync.changes import (
    current_seq,
    record_area_change,
    record_case_change,
    record_taxonomy_change,
)
from shared_schemas.enums import CaseStatus
from tests.server.sync.helpers import create_op, pull, pull_all, push, report, set_status
from tests.world import World

Headers = Callable[[str], dict[str, str]]


def test_pages_advance_the_cursor(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    reports = [report(photos=1) for _ in range(5)]
    push(client, inspector_a, [create_op(r, i) for i, r in enumerate(reports)])
    first = pull(client, inspector_a, 0, limit=2)
    assert first["has_more"] is True
    assert [c["entity_id"] for c in first["changes"]] == [r["id"] for r in reports[:2]]
    seqs = [c["seq"] for c in first["changes"]]
    assert seqs == sorted(seqs)
    assert first["cursor"] == seqs[-1]
    # Applying the same page twice is harmless: the same cursor gives the same page.
    assert pull(client, inspector_a, 0, limit=2) == first
    second = pull(client, inspector_a, first["cursor"], limit=2)
    assert [c["entity_id"] for c in second["changes"]] == [r["id"] for r in reports[2:4]]
    third = pull(client, inspector_a, second["cursor"], limit=2)
    assert [c["entity_id"] for c in third["changes"]] == [reports[4]["id"]]
    assert third["has_more"] is False
    with Session(engine) as s:
        assert third["cursor"] == current_seq(s)
    empty = pull(client, inspector_a, third["cursor"])
    assert empty == {"changes": [], "cursor": third["cursor"], "has_more": False}


def test_invisible_changes_advance_the_cursor(
    client: TestClient, as_user: Headers, inspector_a: dict[str, str]
) -> None:
    b = as_user("inspector_b")
    push(client, b, [create_op(report(grid="G_B"), i) for i in range(3)])
    page = pull(client, inspector_a, 0, limit=2)
    assert page["changes"] == []
    assert page["has_more"] is False
    assert page["cursor"] == 3


def test_a_page_holds_the_latest_state_once(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    created = report()
    push(client, inspector_a, [create_op(created)])
    set_status(engine, created["id"], CaseStatus.REGISTERED, record=True)
    page = pull(client, inspector_a)
    [change] = page["changes"]
    assert change["seq"] == 2
    assert change["data"]["status"] == "registered"
    assert change["data"]["version"] == 2


def test_a_case_moved_away_is_a_delete_for_the_old_area(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    with Session(engine) as s:
        case = s.get(Case, world.a.case_id)
        assert case is not None
        old = case.area_path
        case.area_id, case.area_path = world.b.compound.pk, world.b.compound.path
        s.add(case)
        record_case_change(s, case, old_area_path=old)
        s.commit()
    [change] = pull(client, as_user("inspector_a"))["changes"]
    assert (change["entity_id"], change["op"], change["data"]) == (
        str(world.a.case_id),
        "delete",
        {},
    )
    [change] = pull(client, as_user("inspector_b"))["changes"]
    assert change["op"] == "upsert"


def test_taxonomy_and_area_changes(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    with Session(engine) as s:
        record_taxonomy_change(s, "STREET_LIGHT")
        for code in ("D1", "G_A", "CP_B"):
            record_area_change(s, s.exec(select(Area).where(Area.code == code)).one())
        s.commit()
    changes = pull_all(client, as_user("inspector_a"))["changes"]
    assert set(changes) == {"STREET_LIGHT", "D1", "G_A"}
    assert changes["STREET_LIGHT"]["data"]["deadline_days"]["minor"] >= 1
    assert changes["G_A"]["data"]["parent_code"] == "CM_A"
    assert set(pull_all(client, as_user("department_a"))["changes"]) == {
        "STREET_LIGHT",
        "D1",
        "G_A",
        "CP_B",
    }


def test_a_stale_cursor_from_a_restored_database_falls_back(
    client: TestClient, inspector_a: dict[str, str]
) -> None:
    page = pull(client, inspector_a, 10_000)
    assert page == {"changes": [], "cursor": 0, "has_more": False}


def test_limit_is_bounded(client: TestClient, inspector_a: dict[str, str]) -> None:
    response = client.get("/api/v1/sync/pull?limit=100000", headers=inspector_a)
    assert response.status_code == 422
