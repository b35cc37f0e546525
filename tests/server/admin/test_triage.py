"""The triage queue (待立案): what it lists, and register / reject / duplicate per row and
in bulk, with CSRF refusals and lost races said readably."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server.cases.models import CaseEvent
from shared_schemas.enums import CaseStatus
from tests.server.admin.helpers import flashes, get_case, make_case, shows, signed_in
from tests.world import T0, World


def test_queue_lists_reported_cases_in_scope_oldest_first(
    client: TestClient, world: World, engine: Engine
) -> None:
    newer = make_case(engine, world, created_at=T0 + timedelta(hours=2), photos_received=0)
    older = make_case(
        engine, world, created_at=T0 + timedelta(hours=1), photos_expected=3, photos_received=2
    )
    registered = make_case(engine, world, status=CaseStatus.REGISTERED)
    other_street = make_case(engine, world, side="b")
    signed_in(client, "supervisor_a")
    page = client.get("/admin/triage").text
    assert shows(page, older) and shows(page, newer)
    assert page.index(str(older)) < page.index(str(newer))
    assert not shows(page, registered)
    assert not shows(page, world.a.case_id)  # dispatched
    assert not shows(page, other_street)
    assert "照片 2/3" in page
    assert "占用堵塞消防车通道" in page  # the category's name, not its code
    assert "Inspector A" in page  # the reporter's display name
    assert "共 2 件" in page


def test_department_users_have_no_triage(client: TestClient, world: World) -> None:
    signed_in(client, "department_a")
    response = client.get("/admin/triage")
    assert response.status_code == 403
    assert "待立案" not in response.text.split("<main")[0]  # not in their navigation


def test_register_one_row(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    response = client.post(f"/admin/triage/{case_id}/register", data={"csrf_token": token})
    assert response.status_code == 200  # after the redirect back to the queue
    assert get_case(engine, case_id).status == CaseStatus.REGISTERED
    assert any("立案完成" in f for f in flashes(response.text))
    assert not shows(response.text, case_id)


def test_reject_needs_a_reason(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    response = client.post(f"/admin/triage/{case_id}/reject", data={"csrf_token": token})
    assert get_case(engine, case_id).status == CaseStatus.REPORTED
    assert any("未能不予立案" in f and "note" in f for f in flashes(response.text))
    response = client.post(
        f"/admin/triage/{case_id}/reject", data={"csrf_token": token, "note": "不在辖区"}
    )
    assert get_case(engine, case_id).status == CaseStatus.REJECTED
    with Session(engine) as session:
        event = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "reject")
        ).one()
        assert event.note == "不在辖区"


def test_mark_duplicate_offers_nearby_candidates(
    client: TestClient, world: World, engine: Engine
) -> None:
    original = make_case(engine, world, status=CaseStatus.REGISTERED, address="原案件地址")
    case_id = make_case(engine, world, created_at=T0 + timedelta(days=1))
    token = signed_in(client, "supervisor_a")
    fragment = client.get(
        f"/admin/triage/{case_id}/duplicates", headers={"HX-Request": "true"}
    ).text
    assert "<html" not in fragment
    assert f'value="{original}"' in fragment and "原案件地址" in fragment
    response = client.post(
        f"/admin/triage/{case_id}/duplicate",
        data={"csrf_token": token, "duplicate_of": str(original)},
    )
    assert response.status_code == 200
    case = get_case(engine, case_id)
    assert case.status == CaseStatus.DUPLICATE
    assert case.duplicate_of_id == original


def test_bulk_applies_each_case_and_reports_each_refusal(
    client: TestClient, world: World, engine: Engine
) -> None:
    first = make_case(engine, world)
    second = make_case(engine, world, created_at=T0 + timedelta(minutes=5))
    already = make_case(engine, world, status=CaseStatus.REGISTERED)
    token = signed_in(client, "supervisor_a")
    response = client.post(
        "/admin/triage/bulk",
        data={
            "csrf_token": token,
            "action": "register",
            "case_ids": [str(first), str(second), str(already)],
        },
    )
    assert response.status_code == 200
    assert get_case(engine, first).status == CaseStatus.REGISTERED
    assert get_case(engine, second).status == CaseStatus.REGISTERED
    messages = flashes(response.text)
    assert any("已对 2 件案件执行「立案」" in m for m in messages)
    assert any(str(already)[:8] in m and "已立案" in m for m in messages)


def test_bulk_reject_with_reason_and_nothing_selected(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    empty = client.post("/admin/triage/bulk", data={"csrf_token": token, "action": "reject"})
    assert any("请先勾选" in m for m in flashes(empty.text))
    client.post(
        "/admin/triage/bulk",
        data={"csrf_token": token, "action": "reject", "note": "重复上报", "case_ids": [case_id]},
    )
    assert get_case(engine, case_id).status == CaseStatus.REJECTED


def test_csrf_refusal_changes_nothing(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world)
    signed_in(client, "supervisor_a")
    with Session(engine) as session:
        events_before = session.exec(select(func.count()).select_from(CaseEvent)).one()
    for data, headers in (
        ({}, {}),
        ({"csrf_token": "wrong"}, {}),
        ({}, {"X-CSRF-Token": "wrong"}),
    ):
        response = client.post(
            f"/admin/triage/{case_id}/register", data=data, headers=headers, follow_redirects=False
        )
        assert response.status_code == 403
        assert "表单已过期" in response.text
    bulk = client.post(
        "/admin/triage/bulk", data={"action": "register", "case_ids": [str(case_id)]}
    )
    assert bulk.status_code == 403
    assert get_case(engine, case_id).status == CaseStatus.REPORTED
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(CaseEvent)).one() == events_before


def test_token_of_another_session_is_refused(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world)
    other = TestClient(client.app)
    foreign_token = signed_in(other, "supervisor_a")
    signed_in(client, "supervisor_a")
    response = client.post(
        f"/admin/triage/{case_id}/register",
        data={"csrf_token": foreign_token},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert get_case(engine, case_id).status == CaseStatus.REPORTED


def test_htmx_request_carries_the_token_in_a_header(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    response = client.post(
        f"/admin/triage/{case_id}/register",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert get_case(engine, case_id).status == CaseStatus.REGISTERED
    refused = client.post(
        f"/admin/triage/{case_id}/reject",
        headers={"X-CSRF-Token": "nope", "HX-Request": "true"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert refused.headers["HX-Retarget"] == "#htmx-error"
    assert "<html" not in refused.text


def test_a_lost_race_shows_the_new_state(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world)
    token = signed_in(client, "supervisor_a")
    page = client.get("/admin/triage").text
    assert shows(page, case_id)
    colleague = TestClient(client.app)
    colleague_token = signed_in(colleague, "admin")
    colleague.post(
        f"/admin/triage/{case_id}/reject", data={"csrf_token": colleague_token, "note": "重复"}
    )
    response = client.post(f"/admin/triage/{case_id}/register", data={"csrf_token": token})
    assert get_case(engine, case_id).status == CaseStatus.REJECTED
    assert any("案件现为「不予立案」，不能立案" in m for m in flashes(response.text))


def test_bulk_duplicate_and_bad_original_ids(
    client: TestClient, world: World, engine: Engine
) -> None:
    original = make_case(engine, world, status=CaseStatus.REGISTERED)
    copies = [make_case(engine, world) for _ in range(2)]
    token = signed_in(client, "supervisor_a")
    bad = client.post(
        f"/admin/triage/{copies[0]}/duplicate",
        data={"csrf_token": token, "duplicate_of": "not-a-case"},
    )
    assert bad.status_code == 200
    assert any("duplicate_of" in m for m in flashes(bad.text))
    bad_bulk = client.post(
        "/admin/triage/bulk",
        data={
            "csrf_token": token,
            "action": "mark_duplicate",
            "case_ids": copies,
            "duplicate_of": "12345",
        },
    )
    assert any("duplicate_of" in m for m in flashes(bad_bulk.text))
    assert {get_case(engine, c).status for c in copies} == {CaseStatus.REPORTED}
    client.post(
        "/admin/triage/bulk",
        data={
            "csrf_token": token,
            "action": "mark_duplicate",
            "case_ids": copies,
            "duplicate_of": str(original),
        },
    )
    assert {get_case(engine, c).duplicate_of_id for c in copies} == {original}
    not_triage = client.post(
        "/admin/triage/bulk", data={"csrf_token": token, "action": "close", "case_ids": copies}
    )
    assert not_triage.status_code == 422
