"""POST /cases/{id}/transitions, GET /cases/{id}/actions through the real app: the
closed loop, and every row of the failure table of issue 5 that concerns the workflow."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from server.core.clock import utcnow
from shared_schemas.enums import CaseStatus
from tests.server.workflow.helpers import API, FUTURE, error, put_in_state, user
from tests.world import World, add_case

Headers = Callable[[str], dict[str, str]]


def post(
    client: TestClient, headers: dict[str, str], case_id: UUID, action: str, **fields: Any
) -> Any:
    return client.post(
        f"{API}/cases/{case_id}/transitions", json={"action": action, **fields}, headers=headers
    )


def new_case(engine: Engine, world: World, *, category: str = "FIRE_LANE", side: str = "a") -> UUID:
    with Session(engine) as s:
        area = world.a.compound if side == "a" else world.b.compound
        reporter = user(s, f"inspector_{side}")
        case = add_case(s, area=area, reporter=reporter, category=category)
        s.commit()
        return case.id


def test_the_loop_through_the_api(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    sup, dept = as_user("supervisor_a"), as_user("department_a")
    case_id = new_case(engine, world)
    before = utcnow()
    r = post(client, sup, case_id, "register")
    assert (r.status_code, r.json()["status"]) == (200, "registered"), r.text
    r = post(client, sup, case_id, "dispatch")
    detail = r.json()
    # Defaults: the category's department, and now + its days for the severity (general).
    assert (detail["status"], detail["department"]) == ("dispatched", "FIRE_BRIGADE")
    deadline = datetime.fromisoformat(detail["deadline"])
    assert before + timedelta(days=7) <= deadline <= utcnow() + timedelta(days=7)
    assert post(client, dept, case_id, "start_rectification").json()["status"] == "rectifying"
    r = post(client, dept, case_id, "mark_rectified", note="杂物已清理")
    assert r.json()["status"] == "rectified"
    r = post(client, sup, case_id, "order_verification")
    assert r.json()["status"] == "rectified"
    r = post(client, sup, case_id, "close", note="电话确认，现场照片清楚")
    body = r.json()
    assert body["status"] == "closed"
    steps = [(e["action"], e["actor"], e["from_status"], e["to_status"]) for e in body["timeline"]]
    assert steps == [
        ("report", "inspector_a", None, "reported"),
        ("register", "supervisor_a", "reported", "registered"),
        ("dispatch", "supervisor_a", "registered", "dispatched"),
        ("start_rectification", "department_a", "dispatched", "rectifying"),
        ("mark_rectified", "department_a", "rectifying", "rectified"),
        ("order_verification", "supervisor_a", "rectified", "rectified"),
        ("close", "supervisor_a", "rectified", "closed"),
    ]
    close = body["timeline"][-1]
    assert close["changes"]["override"] is True
    assert close["changes"]["cancelled_tasks"] == [body["timeline"][-2]["changes"]["task_id"]]
    dispatch = body["timeline"][2]["changes"]
    assert dispatch["before"] == {
        "status": "registered",
        "department": None,
        "deadline": None,
        "dispatched_at": None,
    }
    assert dispatch["after"]["department"] == "FIRE_BRIGADE"
    # Reopen, then dispatch again: to the previous department by default.
    r = post(client, sup, case_id, "reopen")
    assert error(r)["details"][0]["field"] == "note"
    assert post(client, sup, case_id, "reopen", note="回头看：又堵上了").json()["status"] == (
        "reopened"
    )
    r = post(client, sup, case_id, "dispatch", department="HOUSING_BUREAU")
    assert (r.json()["status"], r.json()["department"]) == ("dispatched", "HOUSING_BUREAU")
    assert r.json()["version"] == 9  # one per step since the report


def test_not_allowed_from_this_state_is_409_naming_the_allowed_actions(
    client: TestClient, world: World, as_user: Headers
) -> None:
    r = post(client, as_user("supervisor_a"), world.a.case_id, "register")
    assert r.status_code == 409
    err = error(r)
    assert err["code"] == "invalid_transition"
    assert err["details"]["status"] == "dispatched"
    assert err["details"]["allowed_actions"] == ["start_rectification", "extend_deadline"]
    assert "start_rectification, extend_deadline" in err["message"]


def test_a_role_that_may_not_is_403_naming_what_it_may(
    client: TestClient, world: World, as_user: Headers
) -> None:
    r = post(client, as_user("department_a"), world.a.case_id, "register")
    assert r.status_code == 403
    assert error(r)["details"]["allowed_actions"] == ["start_rectification"]
    assert "only supervisor, admin" in error(r)["message"]
    r = post(client, as_user("inspector_a"), world.a.case_id, "start_rectification")
    assert (r.status_code, error(r)["details"]["allowed_actions"]) == (403, [])
    # Inspectors close only through their verification result from the tablet.
    r = post(client, as_user("inspector_a"), world.a.case_id, "close", note="好了")
    assert r.status_code == 403
    assert "from the tablet" in error(r)["message"]


def test_out_of_scope_is_404_like_missing(
    client: TestClient, world: World, as_user: Headers
) -> None:
    for case_id in (world.b.case_id, uuid4()):
        for who in ("supervisor_a", "department_a", "inspector_a"):
            r = post(client, as_user(who), case_id, "start_rectification")
            assert (r.status_code, error(r)["code"]) == (404, "not_found")
            actions = client.get(f"{API}/cases/{case_id}/actions", headers=as_user(who))
            assert actions.status_code == 404


def test_dispatch_needs_a_department_and_a_future_deadline(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    sup = as_user("supervisor_a")
    case_id = new_case(engine, world, category="OTHER")  # no default department
    post(client, sup, case_id, "register")
    r = post(client, sup, case_id, "dispatch")
    assert r.status_code == 422
    assert [d["field"] for d in error(r)["details"]] == ["department"]
    assert "no default department" in error(r)["message"]
    r = post(client, sup, case_id, "dispatch", department="NO_SUCH_DEPT")
    assert [d["field"] for d in error(r)["details"]] == ["department"]
    r = post(client, sup, case_id, "dispatch", department="PC_A")  # a company, not a department
    assert [d["field"] for d in error(r)["details"]] == ["department"]
    past = (utcnow() - timedelta(hours=1)).isoformat()
    r = post(client, sup, case_id, "dispatch", department="HOUSING_BUREAU", deadline=past)
    assert (r.status_code, [d["field"] for d in error(r)["details"]]) == (422, ["deadline"])
    r = post(client, sup, case_id, "dispatch", deadline="2099-01-01T12:00:00")  # no offset
    assert r.status_code == 422 and error(r)["details"][0]["field"] == "deadline"
    r = post(
        client, sup, case_id, "dispatch", department="HOUSING_BUREAU", deadline=FUTURE.isoformat()
    )
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["deadline"]) == FUTURE


def test_fields_an_action_does_not_use_are_refused(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    case_id = new_case(engine, world)
    sup = as_user("supervisor_a")
    r = post(client, sup, case_id, "register", department="FIRE_BRIGADE")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "department")
    r = post(client, sup, case_id, "register", colour="red")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "colour")
    r = post(client, sup, case_id, "fly")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "action")
    # Blank form fields count as not given.
    assert post(client, sup, case_id, "register", department="", note="").status_code == 200


def test_reasons_notes_and_photos(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    sup = as_user("supervisor_a")
    case_id = new_case(engine, world)
    r = post(client, sup, case_id, "reject", note="   ")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "note")
    assert (
        post(client, sup, case_id, "reject", note="<b>非隐患</b>").json()["timeline"][-1]["note"]
        == "<b>非隐患</b>"
    )  # kept as text; the admin escapes it
    # mark_rectified: a note or after photos.
    with Session(engine) as s:
        put_in_state(s, world.a.case_id, CaseStatus.RECTIFYING)
        s.commit()
    r = post(client, as_user("department_a"), world.a.case_id, "mark_rectified")
    assert r.status_code == 422
    assert [d["field"] for d in error(r)["details"]] == ["note", "photo_ids"]
    dept = as_user("department_a")
    r = post(client, dept, world.a.case_id, "mark_rectified", photo_ids=[str(uuid4())])
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "photo_ids")


def test_close_without_verification_is_an_override_with_a_reason(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    with Session(engine) as s:
        put_in_state(s, world.a.case_id, CaseStatus.RECTIFIED)
        s.commit()
    sup = as_user("supervisor_a")
    r = post(client, sup, world.a.case_id, "close")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "note")
    assert "override" in error(r)["message"]
    r = post(client, sup, world.a.case_id, "rework")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "note")
    r = post(client, sup, world.a.case_id, "rework", note="照片显示仍有杂物")
    assert (r.json()["status"], r.json()["rework_count"]) == ("rectifying", 1)
    assert r.json()["timeline"][-1]["changes"]["override"] is True


def test_deadline_extension(client: TestClient, world: World, as_user: Headers) -> None:
    sup = as_user("supervisor_a")
    case_id = world.a.case_id  # dispatched; its deadline (T0 + 30 days) has passed
    detail = client.get(f"{API}/cases/{case_id}", headers=sup).json()
    assert detail["overdue"] is True
    old = detail["deadline"]
    later = (utcnow() + timedelta(days=14)).isoformat()
    r = post(client, sup, case_id, "extend_deadline", deadline=later)
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "note")
    r = post(client, sup, case_id, "extend_deadline", note="需协调产权单位")
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "deadline")
    r = post(client, sup, case_id, "extend_deadline", note="x", deadline=old)
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "deadline")
    r = post(client, sup, case_id, "extend_deadline", note="需协调产权单位", deadline=later)
    body = r.json()
    assert (body["status"], body["overdue"]) == ("dispatched", False)
    step = body["timeline"][-1]
    assert step["action"] == "extend_deadline" and step["note"] == "需协调产权单位"
    assert step["changes"]["before"]["deadline"] == datetime.fromisoformat(old).isoformat()
    assert datetime.fromisoformat(step["changes"]["after"]["deadline"]) == datetime.fromisoformat(
        later
    )
    # Each extension must be later than the deadline it replaces.
    even_later = (datetime.fromisoformat(later) + timedelta(days=1)).isoformat()
    r = post(client, sup, case_id, "extend_deadline", note="再延", deadline=even_later)
    assert r.status_code == 200
    r = post(client, sup, case_id, "extend_deadline", note="再延", deadline=even_later)
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "deadline")


def test_allowed_actions_endpoint(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    case_id = new_case(engine, world)
    post(client, as_user("supervisor_a"), case_id, "register")
    r = client.get(f"{API}/cases/{case_id}/actions", headers=as_user("supervisor_a"))
    body = r.json()
    assert (body["status"], body["version"]) == ("registered", 2)
    [dispatch] = body["actions"]
    assert (dispatch["action"], dispatch["label_zh"], dispatch["to_status"]) == (
        "dispatch",
        "派遣",
        "dispatched",
    )
    assert dispatch["fields"] == ["deadline", "department"]
    assert dispatch["defaults"]["department"] == "FIRE_BRIGADE"
    assert datetime.fromisoformat(dispatch["defaults"]["deadline"]) > utcnow() + timedelta(days=6)
    r = client.get(f"{API}/cases/{world.a.case_id}/actions", headers=as_user("department_a"))
    assert [a["action"] for a in r.json()["actions"]] == ["start_rectification"]
    r = client.get(f"{API}/cases/{world.a.case_id}/actions", headers=as_user("patrol_a"))
    assert r.json()["actions"] == []
