"""End to end in a real Chromium against a real uvicorn: the closed loop from a tablet's
report to closing the case, and CSRF and XSS as a browser meets them.

The tablet's side goes through the real JSON API (/sync/push, tus /uploads, /sync/pull);
the office side only through the admin pages, clicking as a person would.
"""

import base64
import hashlib
import io
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from PIL import Image
from playwright.sync_api import BrowserContext, Dialog, Page, expect
from sqlalchemy import Engine

from shared_schemas.enums import CaseStatus
from tests.live_server import LiveServer
from tests.server.admin.helpers import get_case
from tests.world import PASSWORD, World

NewContext = Callable[[], BrowserContext]
NOW = datetime.now(UTC).isoformat()
XSS_DESCRIPTION = '<img src=x onerror="window.__xss=1">楼道<b>堆物</b>'
XSS_ADDRESS = "<script>window.__xss=2</script>3号楼"


# ---------------------------------------------------------------- the tablet (JSON API)


class Tablet:
    """An inspector's tablet: signs in, pushes operations, uploads photos, pulls."""

    def __init__(self, server: LiveServer, username: str, device_id: str) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.device_id = device_id
        token = self.http.post(
            "/api/v1/auth/login",
            json={"username": username, "password": PASSWORD, "device_id": device_id},
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.seq = 0

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        body = {
            "device_id": self.device_id,
            "schema_version": 1,
            "ops": [
                {
                    "op_id": str(uuid4()),
                    "seq": self.seq,
                    "kind": kind,
                    "entity_id": payload["id"],
                    "payload": payload,
                    "created_at": NOW,
                }
            ],
            "device_status": {
                "app_version": "e2e",
                "queue_depth": 0,
                "oldest_pending_s": 0,
                "photos_pending": 0,
            },
        }
        response = self.http.post("/api/v1/sync/push", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["results"][0]
        assert result["status"] == "applied", result
        return result

    def report(self, *, description: str, address: str, upload: bool = False) -> UUID:
        """A report with one photo, uploaded by tus or (upload=False) still on its way."""
        report_id = uuid4()
        photo = _jpeg()
        photos: list[dict[str, Any]] = [
            {
                "id": str(uuid4()),
                "sha256": hashlib.sha256(photo).hexdigest(),
                "size_bytes": len(photo),
                "media_type": "image/jpeg",
                "width": 320,
                "height": 240,
                "taken_at": NOW,
            }
        ]
        self.push(
            "report.create",
            {
                "id": str(report_id),
                "category": "HALLWAY_CLUTTER",
                "severity": "general",
                "description": description,
                "observed_at": NOW,
                "location": {
                    "lat": 31.2301,
                    "lon": 121.4702,
                    "accuracy_m": 5,
                    "source": "gps",
                    "captured_at": NOW,
                },
                "grid": "G_A",
                "address": address,
                "photos": photos,
            },
        )
        if upload:
            self.upload(UUID(photos[0]["id"]), report_id, photo)
        return report_id

    def upload(self, photo_id: UUID, report_id: UUID, data: bytes) -> None:
        """tus: create, then one PATCH with the whole file."""

        def b64(value: str) -> str:
            return base64.b64encode(value.encode()).decode()

        meta = (
            f"photo_id {b64(str(photo_id))},report_id {b64(str(report_id))},"
            f"sha256 {b64(hashlib.sha256(data).hexdigest())}"
        )
        created = self.http.post(
            "/api/v1/uploads",
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Length": str(len(data)),
                "Upload-Metadata": meta,
            },
        )
        assert created.status_code == 201, created.text
        patched = self.http.patch(
            created.headers["Location"],
            content=data,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert patched.status_code == 204, patched.text

    def verification_task(self, case_id: UUID) -> str:
        cursor, task_id = 0, None
        while True:
            page = self.http.get("/api/v1/sync/pull", params={"cursor": cursor}).json()
            for change in page["changes"]:
                data = change["data"]
                mine = change["entity"] == "task" and data.get("case_id") == str(case_id)
                if mine and data.get("status") == "open":
                    task_id = change["entity_id"]
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        assert task_id, "the verification task never reached the tablet"
        return str(task_id)


def _jpeg() -> bytes:
    rng = random.Random(5)
    image = Image.frombytes("RGB", (320, 240), rng.randbytes(320 * 240 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


# ---------------------------------------------------------------- the office (browser)


def sign_in(new_context: NewContext, server: LiveServer, username: str) -> Page:
    page = new_context().new_page()
    page.goto(f"{server.url}/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/(triage|cases)"))
    return page


def act(page: Page, action: str, **fields: str) -> None:
    """Fill and submit the case page's form for one action; expect it to succeed."""
    form = page.locator(f'form[data-action="{action}"]')
    for name, value in fields.items():
        field = form.locator(f'[name="{name}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("domcontentloaded")
    expect(page.locator(".flash-ok")).to_be_visible()


def test_closed_loop_from_tablet_to_closed_case(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    url = live_server.url
    tablet = Tablet(live_server, "inspector_a", "e2e-tablet")
    case_id = tablet.report(description="楼道堆放纸箱", address="5号楼2单元", upload=True)

    # Triage: the synced report waits, with its photo received; register it.
    office = sign_in(new_context, live_server, "supervisor_a")
    row = office.locator(f"#row-{case_id}")
    expect(row).to_contain_text("照片 1/1")
    expect(row).to_contain_text("5号楼2单元")
    row.locator(f'form[action^="/admin/triage/{case_id}/register"] button').click()
    expect(office.locator(".flash-ok")).to_contain_text("已立案")
    expect(office.locator(f"#row-{case_id}")).to_have_count(0)

    # The case page: the photo loads (through the admin session), the map shows the pin.
    office.goto(f"{url}/admin/cases/{case_id}")
    thumb = office.locator(".photos img").first
    expect(thumb).to_be_visible()
    office.wait_for_function("() => document.querySelector('.photos img').naturalWidth > 0")
    expect(office.locator("#minimap .pin")).to_have_count(1)
    thumb.click()  # full size in the viewer
    expect(office.locator("dialog#photo-viewer")).to_be_visible()
    office.wait_for_function(
        "() => document.querySelector('#photo-viewer img').naturalWidth === 320"
    )
    office.keyboard.press("Escape")

    act(office, "dispatch", department="FIRE_BRIGADE", deadline="2099-12-31")
    expect(office.locator(".pagehead .badge").first).to_have_text("已派遣")

    # The department starts and finishes the rectification.
    dept = sign_in(new_context, live_server, "department_a")
    dept.goto(f"{url}/admin/cases/{case_id}")
    act(dept, "start_rectification")
    act(dept, "mark_rectified", note="纸箱已清走")
    expect(dept.locator("#timeline")).to_contain_text("纸箱已清走")
    expect(dept.locator("form[data-action]")).to_have_count(0)  # nothing more for them

    # The supervisor orders the on-site verification; the inspector's tablet answers.
    office.reload()
    act(office, "order_verification")
    task_id = tablet.verification_task(case_id)
    tablet.push(
        "inspection.create",
        {
            "id": str(uuid4()),
            "task_id": task_id,
            "case_id": str(case_id),
            "rectified": True,
            "note": "现场已核实",
            "inspected_at": NOW,
        },
    )
    office.reload()
    expect(office.locator(".pagehead .badge").first).to_have_text("已结案")
    expect(office.locator("#timeline")).to_contain_text("现场已核实")
    assert get_case(engine, case_id).status == CaseStatus.CLOSED

    # H6: XLSX download step — download /admin/exports progress.xlsx for this month here
    # (office.expect_download()) and check the closed case's compound row.


def test_csrf_and_refusals_in_the_browser(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    tablet = Tablet(live_server, "inspector_a", "e2e-csrf")
    case_id = tablet.report(description="消防通道堵塞", address="1号楼")
    office = sign_in(new_context, live_server, "supervisor_a")
    # A script without the token (what another site's script could at most try).
    status = office.evaluate(
        """async (id) => (await fetch('/admin/triage/' + id + '/register',
                                      {method: 'POST'})).status""",
        str(case_id),
    )
    assert status == 403
    # A form whose token was stripped: refused with a readable page, nothing changed.
    office.locator(f'#row-{case_id} form[action*="/register"] input[name=csrf_token]').evaluate(
        "el => el.remove()"
    )
    office.locator(f'#row-{case_id} form[action*="/register"] button').click()
    expect(office.locator("[data-error-code=csrf_failed]")).to_contain_text("表单已过期")
    # htmx requests carry the token from <body hx-headers>: the filter swap works.
    office.goto(f"{live_server.url}/admin/cases")
    office.evaluate("() => { window.__sameDocument = true; }")
    office.select_option("select[name=status]", "reported")
    expect(office).to_have_url(re.compile(r"status=reported"))
    expect(office.locator("#case-table tbody tr")).to_have_count(1)
    assert office.evaluate("() => window.__sameDocument") is True  # swapped, not reloaded
    # An htmx request the server refuses shows its reason in the page's error box.
    office.evaluate(
        "id => htmx.ajax('GET', '/admin/triage/' + id + '/duplicates', {target: '#case-results'})",
        str(uuid4()),
    )
    expect(office.locator("#htmx-error [data-error-code=not_found]")).to_contain_text("未找到")
    expect(office.locator("#case-table tbody tr")).to_have_count(1)  # the table is intact
    assert get_case(engine, case_id).status == CaseStatus.REPORTED


def test_user_text_never_runs_in_the_browser(
    live_server: LiveServer, world: World, new_context: NewContext
) -> None:
    tablet = Tablet(live_server, "inspector_a", "e2e-xss")
    case_id = tablet.report(description=XSS_DESCRIPTION, address=XSS_ADDRESS)
    office = sign_in(new_context, live_server, "supervisor_a")
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    office.on("dialog", on_dialog)
    url = live_server.url
    for path in ("/admin/triage", "/admin/cases", f"/admin/cases/{case_id}"):
        office.goto(url + path)
        expect(office.locator("main")).to_contain_text("<script>window.__xss=2</script>3号楼")
        assert office.evaluate("() => window.__xss") is None, path
    expect(office.locator("#case-facts .description")).to_have_text(XSS_DESCRIPTION)
    # htmx partial swap of the list (search) and the map's popup (built from GeoJSON).
    office.goto(f"{url}/admin/cases")
    office.fill("input[name=q]", "3号楼")
    office.locator("form.filters button[type=submit]").click()
    expect(office.locator("#case-table tbody tr")).to_have_count(1)
    office.goto(f"{url}/admin/map?q=3号楼")
    office.wait_for_selector("#map[data-loaded='1']")
    office.locator("#map .pin").first.click()
    expect(office.locator(".leaflet-popup-content")).to_contain_text(XSS_ADDRESS)
    assert office.evaluate("() => window.__xss") is None
    assert dialogs == []
