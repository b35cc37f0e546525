"""The case page: facts, photos behind the admin session, timeline, the action forms this
user may use in this state, and refusals (409 shows the new state)."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from server.cases.models import Photo
from server.demo.photos import demo_jpeg
from shared_schemas.enums import CaseStatus, MediaType
from tests.server.admin.helpers import flashes, form_token, get_case, make_case, signed_in
from tests.world import T0, World


def _forms(html: str) -> list[str]:
    return re.findall(
        r'<form method="post" action="/admin/cases/[^"]+/transition" '
        r'data-action="(\w+)"',
        html,
    )


def _add_photo(app: FastAPI, engine: Engine, case_id: UUID, *, received: bool = True) -> UUID:
    data = demo_jpeg(7)
    key = app.state.storage.put_bytes(data) if received else None
    photo_id = uuid4()
    with Session(engine) as session:
        session.add(
            Photo(
                id=photo_id,
                case_id=case_id,
                sha256=hashlib.sha256(data).hexdigest(),
                size_bytes=len(data),
                media_type=MediaType.JPEG,
                width=640,
                height=480,
                taken_at=T0,
                received_at=T0 if received else None,
                storage_key=key,
            )
        )
        session.commit()
    return photo_id


def test_page_shows_facts_timeline_map_and_photos(
    client: TestClient, app: FastAPI, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, description="楼道堆放纸箱", address="2号楼2单元")
    arrived = _add_photo(app, engine, case_id)
    _add_photo(app, engine, case_id, received=False)
    signed_in(client, "supervisor_a")
    page = client.get(f"/admin/cases/{case_id}").text
    assert "楼道堆放纸箱" in page and "2号楼2单元" in page
    assert f'src="/admin/photos/{arrived}/thumb"' in page
    assert f'href="/admin/photos/{arrived}"' in page
    assert "照片尚未同步" in page  # the one still on its way
    assert 'id="minimap"' in page and 'data-lat="31.23"' in page
    assert "上报" in page.split('id="timeline"')[1]
    thumb = client.get(f"/admin/photos/{arrived}/thumb")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    full = client.get(f"/admin/photos/{arrived}")
    assert full.content.startswith(b"\xff\xd8")
    again = client.get(f"/admin/photos/{arrived}", headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304


def test_photos_need_the_session_and_the_scope(
    client: TestClient, app: FastAPI, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world)
    photo_id = _add_photo(app, engine, case_id)
    assert client.get(f"/admin/photos/{photo_id}", follow_redirects=False).status_code == 303
    signed_in(client, "supervisor_b")
    assert client.get(f"/admin/photos/{photo_id}").status_code == 404
    assert client.get(f"/admin/cases/{case_id}").status_code == 404


def test_forms_follow_the_role_and_the_state(
    client: TestClient, world: World, engine: Engine
) -> None:
    reported = make_case(engine, world)
    rectifying = make_case(engine, world, status=CaseStatus.RECTIFYING)
    signed_in(client, "supervisor_a")
    assert _forms(client.get(f"/admin/cases/{reported}").text) == [
        "register",
        "reject",
        "mark_duplicate",
    ]
    staff = _forms(client.get(f"/admin/cases/{rectifying}").text)
    assert staff == ["mark_rectified", "extend_deadline"]
    department = TestClient(client.app)
    signed_in(department, "department_a")
    assert _forms(department.get(f"/admin/cases/{rectifying}").text) == ["mark_rectified"]
    assert department.get(f"/admin/cases/{reported}").status_code == 404  # not theirs


def test_dispatch_form_prefills_and_dispatches(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.REGISTERED)
    signed_in(client, "supervisor_a")
    page = client.get(f"/admin/cases/{case_id}").text
    form = page.split('data-action="dispatch"')[1].split("</form>")[0]
    assert re.search(r'<option value="FIRE_BRIGADE" selected>', form)  # the category's default
    default_day = re.search(r'name="deadline" value="(\d{4}-\d\d-\d\d)"', form)
    assert default_day
    response = client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": form_token(page),
            "action": "dispatch",
            "expected_version": "1",
            "department": "HOUSING_BUREAU",
            "deadline": "2099-01-31",
        },
    )
    case = get_case(engine, case_id)
    assert case.status == CaseStatus.DISPATCHED
    assert case.deadline == datetime(2099, 1, 31, 15, 59, tzinfo=UTC)
    assert any("派遣完成" in m and "已派遣" in m for m in flashes(response.text))
    assert "已派遣" in response.text.split('id="timeline"')[1]


def test_department_marks_rectified(client: TestClient, world: World, engine: Engine) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")
    version = get_case(engine, case_id).version
    response = client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "mark_rectified",
            "expected_version": str(version),
            "note": "已清理",
        },
    )
    assert get_case(engine, case_id).status == CaseStatus.RECTIFIED
    assert "已清理" in response.text


def test_stale_version_shows_the_new_state(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.REGISTERED)
    token = signed_in(client, "supervisor_a")
    client.get(f"/admin/cases/{case_id}")  # the page is open at version 1 ...
    colleague = TestClient(client.app)
    colleague_token = signed_in(colleague, "admin")
    colleague.post(
        f"/admin/cases/{case_id}/transition",
        data={"csrf_token": colleague_token, "action": "dispatch", "expected_version": "1"},
    )
    response = client.post(  # ... and the supervisor acts on what they saw
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "dispatch",
            "expected_version": "1",
            "department": "HOUSING_BUREAU",
        },
    )
    case = get_case(engine, case_id)
    assert case.status == CaseStatus.DISPATCHED
    assert case.department_id is not None
    messages = flashes(response.text)
    assert any("刚被他人处理，现为「已派遣」" in m for m in messages), messages
    assert 'data-action="dispatch"' not in response.text  # the page shows the new state
    assert 'data-action="extend_deadline"' in response.text


def test_refusals_are_readable_and_change_nothing(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.DISPATCHED)
    before = get_case(engine, case_id)
    token = signed_in(client, "supervisor_a")
    bad_day = client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "extend_deadline",
            "deadline": "31/12/2099",
            "note": "天气",
        },
    )
    assert any("输入有误" in m and "deadline" in m for m in flashes(bad_day.text))
    earlier = (before.deadline or T0) - timedelta(days=3)
    not_later = client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "extend_deadline",
            "deadline": earlier.date().isoformat(),
            "note": "天气",
        },
    )
    assert any("未能延期" in m for m in flashes(not_later.text))
    wrong_state = client.post(
        f"/admin/cases/{case_id}/transition",
        data={"csrf_token": token, "action": "register"},
    )
    assert any("案件现为「已派遣」，不能立案" in m for m in flashes(wrong_state.text))
    no_token = client.post(
        f"/admin/cases/{case_id}/transition",
        data={"action": "start_rectification"},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    after = get_case(engine, case_id)
    assert (after.status, after.deadline, after.version) == (
        before.status,
        before.deadline,
        before.version,
    )


def test_missing_case_is_a_page(client: TestClient, world: World) -> None:
    signed_in(client, "supervisor_a")
    response = client.get(f"/admin/cases/{uuid4()}")
    assert response.status_code == 404
    assert "未找到" in response.text
    assert client.get("/admin/cases/not-a-uuid").status_code == 422
