"""POST /sync/push: applying reports, amends and inspections; replays; refusals."""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.cases.models import Case, CaseEvent, Photo
from server.sync import operations
from server.sync.models import ChangeLog, ProcessedOperation, TaskKind, VerificationTask
from server.sync.tasks import create_verification_task
from server.taxonomy.models import Category
from shared_schemas.enums import CaseStatus
from shared_schemas.sync import MAX_OPS_PER_PUSH
from tests.server.sync.helpers import (
    T,
    counts,
    create_op,
    op,
    photo,
    pull_all,
    push,
    push_raw,
    report,
    set_status,
)
from tests.world import World

Headers = Callable[[str], dict[str, str]]


def test_push_applies_a_report(
    client: TestClient, engine: Engine, world: World, as_user: Headers, inspector_a: dict[str, str]
) -> None:
    payload = report(photos=2)
    [result] = push(client, inspector_a, [create_op(payload)])
    assert result["status"] == "applied"
    assert result["case_id"] == payload["id"]
    case_id = UUID(payload["id"])
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert case.status == CaseStatus.REPORTED
        assert case.area_path == world.a.grid.path
        assert (case.photos_expected, case.photos_received) == (2, 0)
        assert case.device_id == "tablet-a"
        photos = s.exec(select(Photo).where(Photo.case_id == case_id)).all()
        assert {str(p.id) for p in photos} == {p["id"] for p in payload["photos"]}
        assert all(p.received_at is None for p in photos)
        [event] = s.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        assert event.action == "report"
        assert event.to_status == CaseStatus.REPORTED
        [change] = s.exec(select(ChangeLog).where(ChangeLog.entity_id == str(case_id))).all()
        assert change.entity == "case"
        assert change.area_path == world.a.grid.path
    # The report is pulled by its inspector and the street's supervisor, not by street B.
    for username in ("inspector_a", "supervisor_a", "admin"):
        changes = pull_all(client, as_user(username))["changes"]
        assert changes[payload["id"]]["data"]["status"] == "reported", username
        assert changes[payload["id"]]["data"]["photos_expected"] == 2
        assert changes[payload["id"]]["data"]["photos_received"] == 0
    for username in ("inspector_b", "supervisor_b", "patrol_b", "department_a"):
        assert payload["id"] not in pull_all(client, as_user(username))["changes"], username


def test_patrol_reports_in_its_compound(client: TestClient, as_user: Headers) -> None:
    patrol = as_user("patrol_a")
    ok, outside = report(grid="CP_A"), report(grid="G_A")
    results = push(client, patrol, [create_op(ok, 1), create_op(outside, 2)])
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert results[1]["code"] == "area_out_of_scope"


def test_same_batch_twice_returns_the_same_results(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    first_report = report()
    amend = {"id": first_report["id"], "description": "已清理一半"}
    ops = [
        create_op(first_report, 1),
        op("report.amend", amend, seq=2),
        create_op(report(grid="NOPE"), 3),
        create_op(report(), 4),
    ]
    first = push(client, inspector_a, ops)
    assert [r["status"] for r in first] == ["applied", "applied", "rejected", "applied"]
    before = counts(engine)
    second = push(client, inspector_a, ops)
    assert second == first
    assert counts(engine) == before
    # The same report under a new op id: duplicate, nothing changes either.
    [again] = push(client, inspector_a, [create_op(first_report, 5)])
    assert again["status"] == "duplicate"
    assert again["case_id"] == first_report["id"]
    after = counts(engine)
    assert after["hazard_case"] == before["hazard_case"]
    assert after["sync_operation"] == before["sync_operation"] + 1


def test_one_invalid_op_does_not_block_the_others(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    good1, bad, good2 = report(), report(), report()
    del bad["location"]["lat"]
    nul = report(description="bad\x00text")
    results = push(
        client,
        inspector_a,
        [create_op(good1, 1), create_op(bad, 2), create_op(good2, 3), create_op(nul, 4)],
    )
    assert [r["status"] for r in results] == ["applied", "rejected", "applied", "rejected"]
    assert results[1]["code"] == "invalid_payload"
    assert "location.lat" in results[1]["message"]
    assert results[3]["code"] == "invalid_payload"
    assert "payload.description" in results[3]["message"]
    with Session(engine) as s:
        ids = {good1["id"], good2["id"], bad["id"], nul["id"]}
        stored = s.exec(select(Case.id).where(col(Case.id).in_([UUID(i) for i in ids]))).all()
        assert {str(i) for i in stored} == {good1["id"], good2["id"]}
        rows = s.exec(select(ProcessedOperation)).all()
        assert {r.status.value for r in rows} == {"applied", "rejected"}
        assert len(rows) == 4


def test_nul_text_is_named_and_backslash_u0000_is_plain_text(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    """The NUL check first looks for \\u0000 in the payload's JSON; text that merely reads
    like that escape (a backslash, then u0000) is ordinary and applies; a NUL is named."""
    looks_like = report(address="1号楼 \\u0000 东侧")
    nul = report(address="1号楼\x00东侧")
    results = push(client, inspector_a, [create_op(looks_like, 1), create_op(nul, 2)])
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert results[1]["code"] == "invalid_payload"
    assert "payload.address" in results[1]["message"]
    with Session(engine) as s:
        case = s.get(Case, UUID(looks_like["id"]))
        assert case is not None
        assert case.address == "1号楼 \\u0000 东侧"


def test_ops_apply_in_seq_order(client: TestClient, inspector_a: dict[str, str]) -> None:
    created = report()
    amend = op("report.amend", {"id": created["id"], "address": "2号楼"}, seq=8)
    results = push(client, inspector_a, [amend, create_op(created, 7)])
    assert [r["status"] for r in results] == ["applied", "applied"]


@pytest.mark.parametrize(
    ("grid", "code"),
    [("G_B", "area_out_of_scope"), ("CP_B", "area_out_of_scope"), ("ZZZ", "unknown_area")],
)
def test_area_refused(
    client: TestClient, inspector_a: dict[str, str], grid: str, code: str
) -> None:
    [result] = push(client, inspector_a, [create_op(report(grid=grid))])
    assert (result["status"], result["code"]) == ("rejected", code)
    assert grid in result["message"]


def test_inactive_category_refused(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    with Session(engine) as s:
        category = s.get(Category, "ZOMBIE_CAR")
        assert category is not None
        category.active = False
        s.add(category)
        s.commit()
    [result] = push(client, inspector_a, [create_op(report(category="ZOMBIE_CAR"))])
    assert (result["status"], result["code"]) == ("rejected", "unknown_category")


def test_amend_before_registration_is_applied_with_before_and_after(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    created = report(photos=2)
    new_photo = photo()
    amend = {
        "id": created["id"],
        "description": "占用已扩大",
        "grid": "CP_A",
        "photos": [created["photos"][0], new_photo],
    }
    results = push(client, inspector_a, [create_op(created, 1), op("report.amend", amend, seq=2)])
    assert [r["status"] for r in results] == ["applied", "applied"]
    with Session(engine) as s:
        case = s.get(Case, UUID(created["id"]))
        assert case is not None
        assert case.description == "占用已扩大"
        assert case.version == 2
        assert case.photos_expected == 2
        event = s.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id).where(CaseEvent.action == "amend")
        ).one()
        assert event.changes["before"]["description"] == "消防通道被占用"
        assert event.changes["after"]["description"] == "占用已扩大"
        assert event.changes["before"]["grid"] == "G_A"
        assert event.changes["after"]["grid"] == "CP_A"
        assert new_photo["id"] in event.changes["after"]["photo_ids"]
        kinds = {str(p.id): p.kind for p in s.exec(select(Photo).where(Photo.case_id == case.id))}
        assert kinds == {
            created["photos"][0]["id"]: "before",
            created["photos"][1]["id"]: "withdrawn",
            new_photo["id"]: "before",
        }


def test_amend_after_registration_is_rejected_with_the_reason(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    created = report()
    push(client, inspector_a, [create_op(created)])
    set_status(engine, created["id"], CaseStatus.REGISTERED)
    [result] = push(
        client, inspector_a, [op("report.amend", {"id": created["id"], "address": "x"})]
    )
    assert (result["status"], result["code"]) == ("rejected", "already_registered")
    assert "已立案" in result["message"]
    assert "already registered" in result["message"]
    with Session(engine) as s:
        case = s.get(Case, UUID(created["id"]))
        assert case is not None
        assert case.address == "1号楼东侧"
        assert case.version == 1


def test_amend_of_someone_elses_report_is_unknown(
    client: TestClient, world: World, as_user: Headers
) -> None:
    amend = {"id": str(world.a.case_id), "address": "x"}
    [result] = push(client, as_user("patrol_a"), [op("report.amend", amend)])
    assert (result["status"], result["code"]) == ("rejected", "unknown_case")


def test_report_id_of_another_reporter_is_a_conflict(
    client: TestClient, world: World, as_user: Headers
) -> None:
    [result] = push(client, as_user("patrol_a"), [create_op(report(world.a.case_id, grid="CP_A"))])
    assert (result["status"], result["code"]) == ("conflict", "id_in_use")


def _task(engine: Engine, world: World, username: str) -> UUID:
    with Session(engine) as s:
        case = s.get(Case, world.a.case_id)
        user = s.exec(select(User).where(User.username == username)).one()
        assert case is not None
        task = create_verification_task(
            s, case=case, assignee=user, kind=TaskKind.VERIFICATION, due_at=T
        )
        s.commit()
        return task.id


def _inspection(task_id: UUID, case_id: UUID, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "task_id": str(task_id),
        "case_id": str(case_id),
        "rectified": True,
        "note": "已清理",
        "inspected_at": T.isoformat(),
        "photos": [photo()],
        **extra,
    }


def test_inspection_completes_the_task(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    task_id = _task(engine, world, "inspector_a")
    # The task is pulled by its assignee only.
    assert str(task_id) in pull_all(client, as_user("inspector_a"))["changes"]
    assert str(task_id) not in pull_all(client, as_user("supervisor_a"))["changes"]
    inspection = _inspection(task_id, world.a.case_id)
    [result] = push(client, as_user("patrol_a"), [op("inspection.create", inspection)])
    assert (result["status"], result["code"]) == ("rejected", "unknown_task")
    [result] = push(client, as_user("inspector_a"), [op("inspection.create", inspection)])
    assert result["status"] == "applied"
    with Session(engine) as s:
        task = s.get(VerificationTask, task_id)
        assert task is not None
        assert (task.status, task.result_rectified, task.result_note) == ("done", True, "已清理")
        event = s.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == world.a.case_id)
            .where(CaseEvent.action == "verification")
        ).one()
        assert event.changes["rectified"] is True
        [pic] = s.exec(select(Photo).where(Photo.event_id == event.id)).all()
        assert pic.kind == "verification"
    change = pull_all(client, as_user("inspector_a"))["changes"][str(task_id)]
    assert change["data"]["status"] == "done"
    # Sent again under a new op id: duplicate; another inspection of the done task: closed.
    [again] = push(client, as_user("inspector_a"), [op("inspection.create", inspection)])
    assert again["status"] == "duplicate"
    other = _inspection(task_id, world.a.case_id)
    [closed] = push(client, as_user("inspector_a"), [op("inspection.create", other)])
    assert (closed["status"], closed["code"]) == ("rejected", "task_closed")


def test_unsupported_schema_version_is_422(client: TestClient, inspector_a: dict[str, str]) -> None:
    response = push_raw(client, inspector_a, [create_op(report())], schema_version=99)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_schema_version"


def test_too_many_ops_is_422(client: TestClient, inspector_a: dict[str, str]) -> None:
    one = create_op(report(photos=1))
    ops = [{**one, "op_id": str(uuid4()), "seq": i} for i in range(MAX_OPS_PER_PUSH + 1)]
    response = push_raw(client, inspector_a, ops)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_database_outage_mid_batch_writes_nothing(
    client: TestClient, engine: Engine, inspector_a: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(engine)
    real = operations.create_report
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(*args, **kwargs)

    # The per-op path (test_push_bulk.py has the bulk path's outage).
    monkeypatch.setattr("server.sync.bulk_create.FAST_CREATES", False)
    monkeypatch.setattr("server.sync.service.create_report", flaky)
    response = push_raw(client, inspector_a, [create_op(report(), 1), create_op(report(), 2)])
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert counts(engine) == before


def test_a_refused_amend_leaves_no_trace(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    created = report()
    push(client, inspector_a, [create_op(created)])
    # The description changes in memory before the grid is found out of scope.
    amend = {"id": created["id"], "description": "changed", "grid": "G_B"}
    follow = create_op(report(), 3)
    results = push(client, inspector_a, [op("report.amend", amend, seq=2), follow])
    assert [r["status"] for r in results] == ["rejected", "applied"]
    with Session(engine) as s:
        case = s.get(Case, UUID(created["id"]))
        assert case is not None
        assert (case.description, case.version) == ("消防通道被占用", 1)
        assert s.exec(select(CaseEvent).where(CaseEvent.action == "amend")).all() == []
