"""The case page's "after" photos: the mark_rectified form takes files (multipart, with
the CSRF token), photos and transition land in one transaction, refusals are said in the
user's language and leave no photo behind; the timeline shows the step's photos."""

import re
from typing import Any
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import User
from server.cases.models import Case, CaseEvent, Photo
from shared_schemas.enums import CaseStatus
from tests.server.admin.helpers import flashes, get_case, make_case, signed_in
from tests.server.cases.test_web_photos import make_png, stored_objects
from tests.server.uploads.helpers import make_jpeg
from tests.world import World

Files = list[tuple[str, tuple[str, bytes, str]]]


def _photos(engine: Engine, case_id: UUID) -> list[Photo]:
    with Session(engine) as session:
        return list(session.exec(select(Photo).where(Photo.case_id == case_id)))


def _rectified(
    client: TestClient, token: str, case_id: UUID, files: Files, *, note: str = "", version: int = 1
) -> Any:
    return client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "mark_rectified",
            "expected_version": str(version),
            "note": note,
        },
        files=files,
    )


def _form(html: str, action: str) -> str:
    return html.split(f'data-action="{action}"')[1].split("</form>")[0]


def test_the_rectified_form_takes_photos_and_others_do_not(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    signed_in(client, "supervisor_a")
    page = client.get(f"/admin/cases/{case_id}").text
    form = _form(page, "mark_rectified")
    assert form.startswith(' enctype="multipart/form-data"')
    file_input = re.search(r'<input type="file"[^>]*>', form)
    assert file_input, form
    for attribute in (
        'name="files"',
        "multiple",
        'accept="image/jpeg,image/png,image/webp"',
    ):
        assert attribute in file_input.group(0)
    # No `capture`: on Android it forces the camera; a department may upload from the gallery.
    assert "capture" not in file_input.group(0)
    assert re.search(r'<input name="note" maxlength="2000">', form)  # a note OR photos
    assert "整改说明（或上传整改后照片）" in form and "最多 9 张" in form and "15 MB" in form
    extend = _form(page, "extend_deadline")
    assert 'type="file"' not in extend and "multipart" not in extend


def test_department_rectifies_with_photos_shown_in_the_timeline(
    client: TestClient, app: FastAPI, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")
    png, jpeg = make_png(seed=4), make_jpeg(seed=9, size=(48, 32))
    response = _rectified(
        client,
        token,
        case_id,
        [("files", ("清理后.png", png, "image/png")), ("files", ("b.jpg", jpeg, "image/jpeg"))],
    )
    assert response.status_code == 200, response.text
    assert any("现为「已整改" in m for m in flashes(response.text)), flashes(response.text)
    assert get_case(engine, case_id).status == CaseStatus.RECTIFIED
    photos = _photos(engine, case_id)
    assert {p.kind for p in photos} == {"after"} and len(photos) == 2
    with Session(engine) as session:
        event = session.exec(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.action == "mark_rectified"
            )
        ).one()
    assert {p.event_id for p in photos} == {event.id}
    timeline = response.text.split('id="timeline"')[1].split("</ol>")[0]
    for photo in photos:
        assert f'src="/admin/photos/{photo.id}/thumb"' in timeline
        assert f'src="/admin/photos/{photo.id}/thumb"' in response.text.split('id="timeline"')[0]
    thumb = client.get(f"/admin/photos/{photos[0].id}/thumb")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")


def test_an_empty_file_input_is_no_photo(client: TestClient, world: World, engine: Engine) -> None:
    """What a browser sends when no file was chosen: one part, no name, no bytes."""
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")

    def browser_post(case: UUID, note: str) -> Any:
        # Built by hand: httpx leaves out an empty filename, a browser sends filename="".
        boundary = "----hd-empty-file-input"
        fields = {"csrf_token": token, "action": "mark_rectified", "note": note}
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
            "Content-Type: application/octet-stream\r\n\r\n\r\n"
        )
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        return client.post(
            f"/admin/cases/{case}/transition",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    response = browser_post(case_id, "已清理")
    assert get_case(engine, case_id).status == CaseStatus.RECTIFIED
    assert _photos(engine, case_id) == []
    assert "已清理" in response.text
    # Neither a note nor a photo: the service says what is missing.
    other = make_case(engine, world, status=CaseStatus.RECTIFYING)
    missing = browser_post(other, "")
    assert any("未能整改完成" in m and "note" in m for m in flashes(missing.text))
    assert get_case(engine, other).status == CaseStatus.RECTIFYING


def test_a_refused_file_is_named_in_the_users_language_and_nothing_is_kept(
    client: TestClient, app: FastAPI, world: World, engine: Engine, settings: Any
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")
    good = ("files", ("good.png", make_png(), "image/png"))
    not_image = ("files", ("notes.jpg", b"plain text, renamed" * 10, "image/jpeg"))
    response = _rectified(client, token, case_id, [good, not_image], note="已清理")
    messages = flashes(response.text)
    assert any("「notes.jpg」不是完整的 JPEG、PNG 或 WebP 图片" in m for m in messages), messages
    app.state.settings.upload_max_bytes = 4096
    big = ("files", ("big.jpg", make_jpeg(seed=3, size=(200, 200)), "image/jpeg"))
    too_large = _rectified(client, token, case_id, [good, big], note="已清理")
    assert any("照片「big.jpg」超过 4 KB 的上限" in m for m in flashes(too_large.text))
    many = _rectified(client, token, case_id, [good] * 10, note="已清理")
    assert any("一次最多上传 9 张照片" in m for m in flashes(many.text))
    with Session(engine) as session:  # the same refusal in English
        user = session.exec(select(User).where(User.username == "department_a")).one()
        user.locale = "en"
        session.add(user)
        session.commit()
    english = _rectified(client, token, case_id, [good, not_image], note="done")
    assert any(
        "notes.jpg is not a whole JPEG, PNG or WebP image; no photo was saved" in m
        for m in flashes(english.text)
    )
    case = get_case(engine, case_id)
    assert (case.status, case.version) == (CaseStatus.RECTIFYING, 1)
    assert _photos(engine, case_id) == []
    assert stored_objects(settings.storage_dir) == []


def test_a_version_conflict_keeps_no_photo(
    client: TestClient, world: World, engine: Engine, settings: Any
) -> None:
    """The photos are flushed, then the transition is refused (409): both roll back. Their
    stored bytes stay (content-addressed: harmless, and reused if sent again)."""
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")
    with Session(engine) as session:  # someone else acted after the page was shown
        case = session.get(Case, case_id)
        assert case is not None
        case.version = 2
        session.add(case)
        session.commit()
    response = _rectified(
        client, token, case_id, [("files", ("a.png", make_png(), "image/png"))], version=1
    )
    assert any("刚被他人处理" in m for m in flashes(response.text))
    assert get_case(engine, case_id).status == CaseStatus.RECTIFYING
    assert _photos(engine, case_id) == []
    assert len(stored_objects(settings.storage_dir)) == 1


def test_files_on_an_action_without_photos_are_refused(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "supervisor_a")
    response = client.post(
        f"/admin/cases/{case_id}/transition",
        data={
            "csrf_token": token,
            "action": "extend_deadline",
            "deadline": "2099-01-31",
            "note": "天气",
        },
        files=[("files", ("a.png", make_png(), "image/png"))],
    )
    assert any("「延期」不带照片" in m for m in flashes(response.text))
    assert get_case(engine, case_id).version == 1 and _photos(engine, case_id) == []


def test_the_multipart_form_needs_the_csrf_token(
    client: TestClient, world: World, engine: Engine
) -> None:
    case_id = make_case(engine, world, status=CaseStatus.RECTIFYING)
    token = signed_in(client, "department_a")
    png: Files = [("files", ("a.png", make_png(), "image/png"))]
    base = {"action": "mark_rectified", "note": "已清理"}
    for data in (base, {**base, "csrf_token": "wrong"}):
        refused = client.post(
            f"/admin/cases/{case_id}/transition", data=data, files=png, follow_redirects=False
        )
        assert refused.status_code == 403
        assert 'data-error-code="csrf_failed"' in refused.text
    # A file part named like the field is not a token.
    smuggled = client.post(
        f"/admin/cases/{case_id}/transition",
        data=base,
        files=[*png, ("csrf_token", ("t.txt", token.encode(), "text/plain"))],
        follow_redirects=False,
    )
    assert smuggled.status_code == 403
    assert get_case(engine, case_id).status == CaseStatus.RECTIFYING
    assert _photos(engine, case_id) == []
    # The header works for multipart too (a script's fetch with FormData).
    accepted = client.post(
        f"/admin/cases/{case_id}/transition",
        data=base,
        files=png,
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    assert get_case(engine, case_id).status == CaseStatus.RECTIFIED
    assert [p.kind for p in _photos(engine, case_id)] == ["after"]
