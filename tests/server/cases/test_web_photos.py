"""POST /api/v1/cases/{id}/photos: photos from the web, then named in a transition's
photo_ids (a department's "after" photos). Both databases, real local storage."""

import io
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from server.cases.models import Case, CaseEvent, Photo
from server.cases.web_photos import MAX_FILES, PHOTO_KIND_STEP, _display_name
from shared_schemas.enums import CaseStatus
from tests.server.uploads.helpers import make_jpeg, sha256_hex
from tests.world import World, login

Files = list[tuple[str, tuple[str, bytes, str]]]


def make_png(seed: int = 1, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, 90, 160)).save(out, "PNG")
    return out.getvalue()


def files(*items: tuple[str, bytes]) -> Files:
    return [("files", (name, data, "image/jpeg")) for name, data in items]


def set_status(engine: Engine, case_id: UUID, status: CaseStatus) -> None:
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status = status
        session.add(case)
        session.commit()


def photo_rows(engine: Engine, case_id: UUID) -> list[Photo]:
    with Session(engine) as session:
        return list(session.exec(select(Photo).where(Photo.case_id == case_id)))


def stored_objects(storage_dir: Path) -> list[Path]:
    return [p for p in storage_dir.rglob("*") if p.is_file() and len(p.name) == 64]


@pytest.fixture
def rectifying(engine: Engine, world: World) -> UUID:
    """Street A's case, dispatched to department_a's department, now being rectified."""
    set_status(engine, world.a.case_id, CaseStatus.RECTIFYING)
    return world.a.case_id


def post(client: TestClient, username: str | None, case_id: UUID, body: Files) -> Any:
    headers = login(client, username) if username else {}
    return client.post(f"/api/v1/cases/{case_id}/photos", files=body, headers=headers)


def error(response: Any) -> dict[str, Any]:
    assert set(response.json()) == {"error"}, response.text
    body: dict[str, Any] = response.json()["error"]
    return body


def test_added_photos_become_the_after_photos_of_mark_rectified(
    client: TestClient, engine: Engine, rectifying: UUID, app: FastAPI
) -> None:
    png, jpeg = make_png(), make_jpeg(seed=3, size=(64, 48))
    headers = login(client, "department_a")
    response = client.post(
        f"/api/v1/cases/{rectifying}/photos",
        files=[
            ("files", ("after-1.png", png, "image/png")),
            ("files", ("after-2.jpg", jpeg, "image/jpeg")),
        ],
        headers=headers,
    )
    assert response.status_code == 201, response.text
    added = response.json()["photos"]
    assert [
        (p["sha256"], p["size_bytes"], p["media_type"], p["width"], p["height"]) for p in added
    ] == [
        (sha256_hex(png), len(png), "image/png", 40, 30),
        (sha256_hex(jpeg), len(jpeg), "image/jpeg", 64, 48),
    ]
    assert {p["kind"] for p in added} == {PHOTO_KIND_STEP}
    rows = {p.id: p for p in photo_rows(engine, rectifying)}
    ids = [UUID(p["id"]) for p in added]
    assert all(rows[i].received_at and rows[i].event_id is None for i in ids)
    assert app.state.storage.read_bytes(rows[ids[0]].storage_key) == png
    with Session(engine) as session:
        version = session.get(Case, rectifying).version  # type: ignore[union-attr]
    assert version == 1  # unattached photos do not change the case

    done = client.post(
        f"/api/v1/cases/{rectifying}/transitions",
        json={"action": "mark_rectified", "photo_ids": [str(i) for i in ids]},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "rectified"
    detail = {p["id"]: p for p in done.json()["photos"]}
    assert [detail[str(i)]["kind"] for i in ids] == ["after", "after"]
    with Session(engine) as session:
        event = session.exec(
            select(CaseEvent).where(
                CaseEvent.case_id == rectifying, CaseEvent.action == "mark_rectified"
            )
        ).one()
        attached = session.exec(select(Photo).where(col(Photo.id).in_(ids))).all()
    assert {p.event_id for p in attached} == {event.id}
    assert event.changes["photo_ids"] == [str(i) for i in ids]
    # Attached once: a second step cannot take them again.
    again = client.post(
        f"/api/v1/cases/{rectifying}/transitions",
        json={"action": "rework", "note": "still blocked", "photo_ids": [str(ids[0])]},
        headers=login(client, "supervisor_a"),
    )
    assert again.status_code == 422 and "another step" in error(again)["message"]


def test_supervisor_and_admin_may_add_and_the_same_bytes_are_stored_once(
    client: TestClient, engine: Engine, rectifying: UUID, settings: Any
) -> None:
    jpeg = make_jpeg(seed=8, size=(32, 32))
    first = post(client, "supervisor_a", rectifying, files(("a.jpg", jpeg), ("b.jpg", jpeg)))
    second = post(client, "admin", rectifying, files(("c.jpg", jpeg)))
    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    rows = photo_rows(engine, rectifying)
    assert len({p.id for p in rows}) == 3
    assert {p.sha256 for p in rows} == {sha256_hex(jpeg)}
    assert len({p.storage_key for p in rows}) == 1
    assert [p.name for p in stored_objects(settings.storage_dir)] == [sha256_hex(jpeg)]


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("notes.jpg", b"this is a text file, renamed\n" * 20, 415, "not_an_image"),
        ("cut.jpg", make_jpeg(seed=5, size=(64, 48))[:-400], 415, "not_an_image"),
        ("empty.png", b"", 415, "not_an_image"),
        ("huge.jpg", make_jpeg(seed=6, size=(200, 200)), 413, "too_large"),
    ],
    ids=["renamed-text", "truncated", "empty", "over-limit"],
)
def test_a_refused_file_refuses_the_request_and_writes_nothing(
    client: TestClient,
    engine: Engine,
    rectifying: UUID,
    app: FastAPI,
    settings: Any,
    name: str,
    data: bytes,
    status: int,
    code: str,
) -> None:
    app.state.settings.upload_max_bytes = 4096  # the noisy 200x200 JPEG is far larger
    good = make_png(seed=2)
    response = post(client, "department_a", rectifying, files(("good.png", good), (name, data)))
    assert response.status_code == status, response.text
    body = error(response)
    assert body["code"] == code
    assert name in body["message"] and body["details"]["file"] == name
    if status == 413:
        assert "4096" in body["message"] and body["details"]["limit"] == 4096
    assert photo_rows(engine, rectifying) == []
    assert stored_objects(settings.storage_dir) == []  # checked before anything is stored


def test_too_many_or_no_files(client: TestClient, engine: Engine, rectifying: UUID) -> None:
    png = make_png()
    many = post(
        client,
        "department_a",
        rectifying,
        files(*[(f"{i}.png", png) for i in range(MAX_FILES + 1)]),
    )
    assert many.status_code == 422
    assert error(many)["details"][0]["field"] == "files"
    assert str(MAX_FILES) in error(many)["message"]
    none = client.post(
        f"/api/v1/cases/{rectifying}/photos",
        data={"other": "x"},
        headers=login(client, "department_a"),
    )
    assert none.status_code == 422 and error(none)["details"][0]["field"] == "files"
    flood = post(
        client,
        "department_a",
        rectifying,
        files(*[(f"{i}.png", png) for i in range(4 * MAX_FILES + 1)]),
    )
    assert flood.status_code == 400 and error(flood)["code"] == "bad_request"  # the parser's cap
    assert photo_rows(engine, rectifying) == []


def test_scope_role_and_state(client: TestClient, engine: Engine, world: World) -> None:
    png = files(("p.png", make_png()))
    # Dispatched, not yet being rectified: those who may rectify get 409, with the state.
    dispatched = post(client, "department_a", world.a.case_id, png)
    assert dispatched.status_code == 409
    assert error(dispatched)["code"] == "invalid_transition"
    assert error(dispatched)["details"]["status"] == "dispatched"
    assert "rectifying" in error(dispatched)["message"]
    set_status(engine, world.a.case_id, CaseStatus.RECTIFYING)
    set_status(engine, world.b.case_id, CaseStatus.RECTIFYING)
    for username in ("inspector_a", "patrol_a"):  # they see the case, may not add
        refused = post(client, username, world.a.case_id, png)
        assert refused.status_code == 403, username
        message = error(refused)["message"]
        assert "department the case is dispatched to" in message and "supervisors" in message
    for username in ("supervisor_a", "department_a", "inspector_a"):  # street B: not theirs
        hidden = post(client, username, world.b.case_id, png)
        assert hidden.status_code == 404 and error(hidden)["code"] == "not_found", username
    assert post(client, "admin", uuid4(), png).status_code == 404
    assert post(client, None, world.a.case_id, png).status_code == 401
    assert photo_rows(engine, world.a.case_id) == photo_rows(engine, world.b.case_id) == []


@given(st.text(max_size=300), st.integers(min_value=0, max_value=20))
def test_file_names_in_messages_are_short_and_without_directories(text: str, index: int) -> None:
    class Named:
        filename = text
        file = io.BytesIO()

    name = _display_name(Named(), index)
    assert name and len(name) <= 80
    assert "/" not in name and "\\" not in name
