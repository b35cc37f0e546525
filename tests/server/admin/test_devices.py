"""The devices page: each tablet's backlog as reported by its last real push; silent
devices and devices with rejected operations are highlighted; scope applies."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from server.core.clock import utcnow
from server.sync.models import Device
from tests.server.admin.helpers import signed_in
from tests.server.sync.helpers import create_op, push, report
from tests.world import World, login


def _row(html: str, device_id: str) -> str:
    return html.split(f'data-device="{device_id}"')[1].split("</tr>")[0]


def test_devices_show_the_pushed_backlog(client: TestClient, world: World, engine: Engine) -> None:
    inspector = login(client, "inspector_a", device_id="tab-ok")
    status = {
        "app_version": "whistle-app 1.4.2",
        "queue_depth": 7,
        "oldest_pending_s": 7200,
        "photos_pending": 4,
        "last_error": "<b>timeout</b>",
        "free_bytes": 2_147_483_648,
    }
    push(client, inspector, [create_op(report())], device_id="tab-ok", status=status)
    other = login(client, "inspector_b", device_id="tab-b")
    push(client, other, [create_op(report(grid="G_B"))], device_id="tab-b")
    bad = push(
        client, inspector, [create_op(report(category="NOT_A_CATEGORY"))], device_id="tab-old"
    )
    assert bad[0]["status"] == "rejected"
    with Session(engine) as session:
        device = session.get(Device, "tab-old")
        assert device is not None
        device.last_seen_at = utcnow() - timedelta(hours=30)
        session.add(device)
        session.commit()
    signed_in(client, "supervisor_a")
    page = client.get("/admin/devices").text
    ok = _row(page, "tab-ok")
    assert "whistle-app 1.4.2" in ok and ">7<" in ok and "2 小时" in ok and ">4<" in ok
    assert "&lt;b&gt;timeout&lt;/b&gt;" in ok  # the tablet's text is escaped
    assert "2.0 GB" in ok
    assert 'class="attention"' not in page.split('data-device="tab-ok"')[0].rsplit("<tr", 1)[1]
    old = page.split('data-device="tab-old"')[0].rsplit("<tr", 1)[1]
    assert 'class="attention"' in old
    assert "未同步" in _row(page, "tab-old") and "badge-warn" in _row(page, "tab-old")
    assert 'data-device="tab-b"' not in page  # street B's inspector: not this supervisor's
    assert "1 台需关注" in page


def test_devices_page_is_for_staff(client: TestClient, world: World) -> None:
    signed_in(client, "department_a")
    assert client.get("/admin/devices").status_code == 403
    admin = TestClient(client.app)
    signed_in(admin, "admin")
    assert "还没有设备同步过" in admin.get("/admin/devices").text
