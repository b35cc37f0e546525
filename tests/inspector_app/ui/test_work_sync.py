"""End to end through the work screens against a real server on loopback: a report made on
the New report screen is listed as waiting, syncs and shows synced; the supervisor's
registration shows up after the next pull; a verification task ordered by the supervisor
arrives, is completed with an "after" photo and reaches the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from server.sync.models import VerificationTask
from shared_schemas.enums import Role
from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.inspector_app.ui.work_support import no_tiles, photo, touch  # noqa: F401
from tests.live_server import LiveServer
from tests.world import PASSWORD, World

pytestmark = pytest.mark.usefixtures("no_tiles")


def _supervisor(live: LiveServer, world: World) -> httpx.Client:
    client = httpx.Client(base_url=f"{live.url}/api/v1", timeout=30)
    body = {"username": world.a.users[Role.SUPERVISOR], "password": PASSWORD}
    token = client.post("/auth/login", json=body).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _act(client: httpx.Client, case_id: str, **body: Any) -> None:
    response = client.post(f"/cases/{case_id}/transitions", json=body)
    assert response.status_code == 200, response.text


def _sync(d: UiDriver) -> None:
    d.app.ctx.processor.wait_idle()  # photos processed before their upload
    d.app.sync_now()
    d.wait_idle(timeout=60)
    assert not d.app.syncing


def _rows(d: UiDriver, state: str) -> list[dict[str, Any]]:
    d.show("my_reports", filter=state)
    d.wait_idle()
    return list(d.screen.ids.rv.data)


def test_report_sync_pull_and_verification(
    ui_factory: AppFactory, live_server: LiveServer, world: World, engine: Any, tmp_path: Path
) -> None:
    from inspector_app.platform.fake import fix

    d = ui_factory(server_url=live_server.url)
    d.app.ctx.sign_in(
        server=live_server.url, username=world.a.users[Role.INSPECTOR], password=PASSWORD
    )
    d.app.reset_to("home")
    _sync(d)

    # -- a report through the screen
    d.platform.location.fixes = [fix(31.2301, 121.4702, 5.0)]
    d.platform.camera.photos = [photo(tmp_path / "IMG_1.jpg")]
    d.tap(d.ids().new_report)
    s = d.screen
    d.tap(next(t for t in s._tiles if t.code == "GARBAGE"))
    # the first sync fetched the visible area tree (GET /areas): the grid and its compound
    assert {a.code for a in s.form.areas} == {"G_A", "CP_A"}
    assert s.form.area_code is None  # two choices: none preselected
    label = next(text for text, area in s._area_by_label.items() if area.code == "G_A")
    s.ids.area.text = label  # as picking it from the spinner
    assert s.form.area_code == "G_A"
    d.tap(s.ids.take_photo)
    d.wait_idle()
    d.wait_until(lambda: s.location_state == "accepted", what="the fix")
    report_id = s.form.report_id
    d.tap(s.ids.save)
    assert d.screen_name == "home"
    [waiting] = _rows(d, "waiting")
    assert waiting["report_id"] == report_id and waiting["sync_text"] == "Waiting to sync"

    _sync(d)
    [synced] = _rows(d, "synced")
    assert synced["report_id"] == report_id  # pushed, photo uploaded
    # (a cycle pulls before it pushes: the case's own state comes with the next pull)

    # -- the supervisor registers it: seen after the next pull
    supervisor = _supervisor(live_server, world)
    _act(supervisor, report_id, action="register")
    _sync(d)
    [row] = _rows(d, "synced")
    assert row["case_text"] == "Registered"
    touch(d, next(w for w in d.screen.ids.rv.layout_manager.children if w.report_id))
    assert d.screen_name == "report_detail"
    d.wait_idle()  # the case's timeline from the server
    assert d.screen.timeline_note == ""
    assert "Case status changed: Registered" in [r.what for r in d.screen.ids.timeline.children]

    # -- a verification task ordered on the world's dispatched case
    case_id = str(world.a.case_id)
    _act(supervisor, case_id, action="start_rectification")
    _act(supervisor, case_id, action="mark_rectified", note="已清理")
    _act(
        supervisor,
        case_id,
        action="order_verification",
        assignee=world.a.users[Role.INSPECTOR],
    )
    _sync(d)
    d.show("tasks")
    [task_row] = d.screen.ids.list.children
    d.tap(task_row)
    assert d.screen_name == "task_detail"
    d.platform.camera.photos = [photo(tmp_path / "AFTER.jpg", colour=(40, 160, 60))]
    d.tap(d.screen.ids.take_photo)
    d.wait_idle()
    d.type_text(d.screen.ids.note, "通道已清空")
    d.tap(d.screen.ids.rectified)
    d.wait_idle()
    assert d.screen_name == "tasks"
    _sync(d)

    with Session(engine) as session:
        task = session.get(VerificationTask, task_row_id(task_row))
        assert task is not None and task.status == "done" and task.result_rectified is True
    stats = d.app.ctx.store.queue_stats()
    assert stats.queue_depth == 0 and stats.photos_pending == 0


def task_row_id(row: Any) -> Any:
    from uuid import UUID

    return UUID(row.task_id)
