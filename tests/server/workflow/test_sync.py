"""The workflow meets sync: transitions reach the tablets by pull, an ordered verification
is pulled by its inspector, and their inspection.create push closes the case or sends it
back for rework (counted). Everything through the real endpoints."""

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import UserArea
from server.sync.models import VerificationTask
from tests.server.sync.helpers import T, create_op, op, photo, pull_all, push, report
from tests.server.workflow.helpers import API, error, user
from tests.world import World

Headers = Callable[[str], dict[str, str]]


def _post(client: TestClient, headers: dict[str, str], case_id: Any, action: str, **f: Any) -> Any:
    r = client.post(
        f"{API}/cases/{case_id}/transitions", json={"action": action, **f}, headers=headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def _inspection(task_id: str, case_id: str, *, rectified: bool, note: str = "") -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "task_id": task_id,
        "case_id": case_id,
        "rectified": rectified,
        "note": note,
        "inspected_at": T.isoformat(),
        "photos": [photo()],
    }


def _to_rectified(client: TestClient, as_user: Headers, case_id: str) -> None:
    sup = as_user("supervisor_a")
    _post(client, sup, case_id, "register")
    _post(client, sup, case_id, "dispatch")
    _post(client, as_user("department_a"), case_id, "start_rectification")
    _post(client, as_user("department_a"), case_id, "mark_rectified", note="已清理")


def _order(client: TestClient, as_user: Headers, case_id: str) -> str:
    body = _post(client, as_user("supervisor_a"), case_id, "order_verification")
    task_id: str = body["timeline"][-1]["changes"]["task_id"]
    return task_id


def test_a_transition_reaches_the_reporter_and_the_department_by_pull(
    client: TestClient, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    cursor = pull_all(client, inspector)["cursor"]
    dept_cursor = pull_all(client, as_user("department_a"))["cursor"]
    _post(client, as_user("supervisor_a"), case_id, "register")
    _post(client, as_user("supervisor_a"), case_id, "dispatch")
    page = pull_all(client, inspector, cursor)
    data = page["changes"][case_id]["data"]
    assert (data["status"], data["department"], data["version"]) == (
        "dispatched",
        "FIRE_BRIGADE",
        3,
    )
    assert data["deadline"] is not None
    # The department sees the case once it is dispatched to them; street B's does not.
    assert case_id in pull_all(client, as_user("department_a"), dept_cursor)["changes"]
    assert case_id not in pull_all(client, as_user("department_b"))["changes"]
    # Redispatched elsewhere (after a reopen): the first department's pull drops it.
    sup = as_user("supervisor_a")
    _post(client, sup, case_id, "start_rectification")
    _post(client, sup, case_id, "mark_rectified", note="已清理")
    _post(client, sup, case_id, "close", note="主管确认")
    _post(client, sup, case_id, "reopen", note="回头看复现")
    dept_cursor = pull_all(client, as_user("department_a"))["cursor"]
    _post(client, sup, case_id, "dispatch", department="HOUSING_BUREAU")
    gone = pull_all(client, as_user("department_a"), dept_cursor)["changes"][case_id]
    assert (gone["op"], gone["data"]) == ("delete", {})
    assert case_id in pull_all(client, as_user("department_b"))["changes"]
    # Sync rule 6: once registered the observation belongs to the server.
    amend = {"id": case_id, "description": "改一下"}
    [refused] = push(client, inspector, [op("report.amend", amend)])
    assert (refused["status"], refused["code"]) == ("rejected", "already_registered")


def test_a_verification_result_closes_the_case(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    _to_rectified(client, as_user, case_id)
    task_id = _order(client, as_user, case_id)
    pulled = pull_all(client, inspector)["changes"]
    task = pulled[task_id]["data"]
    assert (task["case_id"], task["kind"], task["status"]) == (case_id, "verification", "open")
    [result] = push(
        client, inspector, [op("inspection.create", _inspection(task_id, case_id, rectified=True))]
    )
    assert result["status"] == "applied", result
    detail = client.get(f"{API}/cases/{case_id}", headers=as_user("supervisor_a")).json()
    assert detail["status"] == "closed"
    verification, close = detail["timeline"][-2:]
    assert (verification["action"], verification["changes"]["outcome"]) == (
        "verification",
        "close",
    )
    assert (close["action"], close["actor"], close["from_status"], close["to_status"]) == (
        "close",
        "inspector_a",
        "rectified",
        "closed",
    )
    assert close["changes"]["verification_task"] == task_id
    assert "override" not in close["changes"]
    # The verification photo is on the case, linked to the verification step.
    kinds = {p["kind"] for p in detail["photos"]}
    assert kinds == {"before", "verification"}
    # The reporter's tablet learns the case is closed and the task done.
    changes = pull_all(client, inspector)["changes"]
    assert changes[case_id]["data"]["status"] == "closed"
    assert changes[task_id]["data"]["status"] == "done"


def test_a_failed_verification_sends_the_case_back_and_counts_the_rework(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    _to_rectified(client, as_user, case_id)
    task_id = _order(client, as_user, case_id)
    failed = _inspection(task_id, case_id, rectified=False, note="楼道仍有纸箱")
    [result] = push(client, inspector, [op("inspection.create", failed)])
    assert result["status"] == "applied"
    detail = client.get(f"{API}/cases/{case_id}", headers=as_user("supervisor_a")).json()
    assert (detail["status"], detail["rework_count"]) == ("rectifying", 1)
    rework = detail["timeline"][-1]
    assert (rework["action"], rework["actor"], rework["note"]) == (
        "rework",
        "inspector_a",
        "楼道仍有纸箱",
    )
    # Round two: rectified again, verified, closed; the rework count stays.
    _post(client, as_user("department_a"), case_id, "mark_rectified", note="已全部清走")
    second = _order(client, as_user, case_id)
    assert second != task_id
    ok = _inspection(second, case_id, rectified=True)
    push(client, inspector, [op("inspection.create", ok)])
    detail = client.get(f"{API}/cases/{case_id}", headers=as_user("supervisor_a")).json()
    assert (detail["status"], detail["rework_count"]) == ("closed", 1)


def test_an_override_cancels_the_open_task_and_a_late_result_is_refused(
    client: TestClient, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    _to_rectified(client, as_user, case_id)
    task_id = _order(client, as_user, case_id)
    cursor = pull_all(client, inspector)["cursor"]
    body = _post(client, as_user("supervisor_a"), case_id, "close", note="区领导现场确认")
    assert body["timeline"][-1]["changes"]["cancelled_tasks"] == [task_id]
    assert pull_all(client, inspector, cursor)["changes"][task_id]["data"]["status"] == (
        "cancelled"
    )
    late = _inspection(task_id, case_id, rectified=False)
    [result] = push(client, inspector, [op("inspection.create", late)])
    assert (result["status"], result["code"]) == ("rejected", "task_closed")


def test_a_result_for_a_case_that_moved_on_is_only_recorded(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    """A task made outside the loop (the world's case is still being rectified): the
    result is kept on the timeline, the case stays where it is."""
    from server.cases.models import Case
    from server.sync.tasks import create_verification_task

    with Session(engine) as s:
        case = s.get(Case, world.a.case_id)
        assert case is not None
        task = create_verification_task(s, case=case, assignee=user(s, "inspector_a"))
        s.commit()
        task_id = str(task.id)
    result = _inspection(task_id, str(world.a.case_id), rectified=True)
    [applied] = push(client, as_user("inspector_a"), [op("inspection.create", result)])
    assert applied["status"] == "applied"
    detail = client.get(f"{API}/cases/{world.a.case_id}", headers=as_user("admin")).json()
    assert detail["status"] == "dispatched"
    assert detail["timeline"][-1]["changes"]["outcome"].startswith("recorded only")


def test_order_verification_chooses_or_names_an_inspector(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    _to_rectified(client, as_user, case_id)
    sup = as_user("supervisor_a")
    url = f"{API}/cases/{case_id}/transitions"
    r = client.post(
        url, json={"action": "order_verification", "assignee": "inspector_b"}, headers=sup
    )
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "assignee")
    r = client.post(
        url,
        json={"action": "order_verification", "deadline": "2020-01-01T00:00:00+00:00"},
        headers=sup,
    )
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "deadline")
    body = _post(client, sup, case_id, "order_verification", assignee="inspector_a")
    assert body["timeline"][-1]["changes"]["assignee"] == "inspector_a"
    # Ordering again re-sends it: the first task is cancelled.
    first = body["timeline"][-1]["changes"]["task_id"]
    body = _post(client, sup, case_id, "order_verification")
    assert body["timeline"][-1]["changes"]["cancelled_tasks"] == [first]
    with Session(engine) as s:
        tasks = s.exec(
            select(VerificationTask.status).where(VerificationTask.case_id == UUID(case_id))
        ).all()
        assert sorted(tasks) == ["cancelled", "open"]
        # Without an inspector for the grid: say so.
        for link in s.exec(
            select(UserArea).where(UserArea.user_id == user(s, "inspector_a").id)
        ).all():
            s.delete(link)
        s.commit()
    r = client.post(url, json={"action": "order_verification"}, headers=sup)
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "assignee")
    assert "no active inspector" in error(r)["message"]
