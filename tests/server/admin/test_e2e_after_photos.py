"""In Debian's Chromium against a real uvicorn: a department attaches an "after" photo
to the rectified form, and the timeline shows it."""

from playwright.sync_api import FilePayload, expect
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.cases.models import Photo
from shared_schemas.enums import CaseStatus
from tests.live_server import LiveServer
from tests.server.admin.helpers import get_case, make_case
from tests.server.admin.test_e2e_browser import NewContext, sign_in
from tests.server.cases.test_web_photos import make_png
from tests.world import World


def test_department_rectifies_with_an_after_photo(
    live_server: LiveServer, world: World, engine: Engine, new_context: NewContext
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    page = sign_in(new_context, live_server, "department_a")
    page.goto(f"{live_server.url}/admin/cases/{case_id}")
    form = page.locator('form[data-action="mark_rectified"]')
    upload: FilePayload = {
        "name": "清理后.png",
        "mimeType": "image/png",
        "buffer": make_png(seed=6, size=(120, 90)),
    }
    form.locator('input[type="file"][name="files"]').set_input_files([upload])
    form.locator("button[type=submit]").click()  # no note: the photo is enough
    expect(page.locator(".flash-ok")).to_contain_text("已整改")
    expect(page.locator(".pagehead .badge").first).to_contain_text("已整改")
    step_photo = page.locator("#timeline .step-photos img")
    expect(step_photo).to_have_count(1)
    page.wait_for_function(
        "() => document.querySelector('#timeline .step-photos img').naturalWidth > 0"
    )
    assert get_case(engine, case_id).status == CaseStatus.RECTIFIED
    with Session(engine) as session:
        photo = session.exec(select(Photo).where(Photo.case_id == case_id)).one()
    assert (photo.kind, photo.width, photo.height) == ("after", 120, 90)
    assert photo.event_id is not None
