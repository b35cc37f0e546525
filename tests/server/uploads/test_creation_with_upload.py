"""tus creation-with-upload: a POST that carries the file (one request per photo), or its
first part; every refusal leaves nothing behind (no row, no partial file, no count), and
the finished file is moved (renamed) into storage, not copied."""

import hashlib
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.core.config import Settings
from server.storage.local import LocalPhotoStorage
from server.uploads.models import Upload
from server.uploads.partial import partial_dir
from shared_schemas.enums import Role
from tests.server.uploads.helpers import (
    PATCH,
    TUS,
    checksum,
    creation_headers,
    declare_photo,
    make_jpeg,
    photo_state,
    sha256_hex,
)
from tests.world import World, login

DATA = make_jpeg(seed=11)
BODY = "application/offset+octet-stream"


@pytest.fixture
def inspector(client: TestClient, world: World) -> dict[str, str]:
    return login(client, world.a.users[Role.INSPECTOR])


def _post(
    client: TestClient,
    auth: dict[str, str],
    photo: UUID,
    case: UUID,
    *,
    data: bytes = DATA,
    body: bytes | None = None,
    extra: dict[str, str] | None = None,
) -> Response:
    headers = {**auth, **creation_headers(photo, case, data), "Content-Type": BODY, **(extra or {})}
    response: Response = client.post(
        "/api/v1/uploads", headers=headers, content=data if body is None else body
    )
    return response


def _uploads(engine: Engine, photo: UUID) -> list[Upload]:
    with Session(engine) as session:
        return list(session.exec(select(Upload).where(Upload.photo_id == photo)).all())


def _nothing_left(engine: Engine, settings: Settings, photo: UUID) -> None:
    assert _uploads(engine, photo) == []
    assert photo_state(engine, photo)[0].received_at is None
    directory = partial_dir(settings.storage_dir)
    assert not directory.exists() or list(directory.iterdir()) == []


def test_one_post_delivers_the_whole_photo(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    response = _post(
        client,
        inspector,
        photo,
        world.a.case_id,
        extra={"Upload-Checksum": checksum("sha256", DATA)},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Offset"] == str(len(DATA))
    assert "Upload-Expires" not in response.headers  # finished: nothing expires
    row, case = photo_state(engine, photo)
    assert row.received_at is not None and case.photos_received == 1
    assert row.storage_key is not None
    assert sha256_hex(client.app.state.storage.read_bytes(row.storage_key)) == sha256_hex(DATA)  # type: ignore[attr-defined]
    (upload,) = _uploads(engine, photo)
    assert upload.offset == upload.length == len(DATA) and upload.completed_at is not None
    assert response.headers["Location"].endswith(str(upload.id))
    head = client.head(response.headers["Location"], headers={**inspector, **TUS})
    assert head.headers["Upload-Offset"] == str(len(DATA))
    assert list(partial_dir(settings.storage_dir).iterdir()) == []
    # The same photo again (the tablet lost its note that it was sent): nothing changes.
    again = _post(client, inspector, photo, world.a.case_id)
    assert again.status_code == 201 and again.headers["Upload-Offset"] == str(len(DATA))
    assert photo_state(engine, photo)[1].photos_received == 1
    assert len(_uploads(engine, photo)) == 1


def test_a_post_with_part_of_the_file_is_resumed_by_patch(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    first = DATA[:5000]
    response = _post(
        client,
        inspector,
        photo,
        world.a.case_id,
        body=first,
        extra={"Upload-Checksum": checksum("sha1", first)},
    )
    assert response.status_code == 201, response.text
    assert response.headers["Upload-Offset"] == "5000"
    assert "Upload-Expires" in response.headers
    url = response.headers["Location"]
    assert client.head(url, headers={**inspector, **TUS}).headers["Upload-Offset"] == "5000"
    rest = client.patch(
        url, headers={**inspector, **PATCH, "Upload-Offset": "5000"}, content=DATA[5000:]
    )
    assert rest.status_code == 204, rest.text
    row, case = photo_state(engine, photo)
    assert row.received_at is not None and case.photos_received == 1


def test_a_damaged_body_is_460_and_leaves_nothing(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    damaged = DATA[:100] + bytes([DATA[100] ^ 1]) + DATA[101:]
    by_chunk = _post(
        client,
        inspector,
        photo,
        world.a.case_id,
        body=damaged,
        extra={"Upload-Checksum": checksum("sha1", DATA)},
    )
    assert by_chunk.status_code == 460
    assert by_chunk.json()["error"]["code"] == "checksum_mismatch"
    _nothing_left(engine, settings, photo)
    # Without Upload-Checksum the whole file's sha256 (declared) still catches it.
    by_file = _post(client, inspector, photo, world.a.case_id, body=damaged)
    assert by_file.status_code == 460
    assert by_file.json()["error"]["code"] == "sha256_mismatch"
    _nothing_left(engine, settings, photo)
    good = _post(client, inspector, photo, world.a.case_id)
    assert good.status_code == 201 and photo_state(engine, photo)[1].photos_received == 1


def test_non_images_are_415_and_leave_nothing(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    text = b"just some notes, renamed IMG_0001.jpg\n" * 50
    truncated = DATA[: len(DATA) // 2]
    for data in (text, truncated):
        photo = declare_photo(engine, world.a.case_id, data)
        response = _post(client, inspector, photo, world.a.case_id, data=data)
        assert response.status_code == 415, response.text
        assert response.json()["error"]["code"] == "not_an_image"
        _nothing_left(engine, settings, photo)


def test_refusals_before_the_body(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    longer = _post(client, inspector, photo, world.a.case_id, body=DATA + b"extra")
    assert longer.status_code == 413
    assert longer.json()["error"]["code"] == "too_large"
    undeclared = _post(client, inspector, UUID(int=7), world.a.case_id)
    assert undeclared.status_code == 409
    assert undeclared.json()["error"]["code"] == "photo_not_declared"
    bad_sum = _post(
        client, inspector, photo, world.a.case_id, extra={"Upload-Checksum": "md5 AAAA"}
    )
    assert bad_sum.status_code == 400
    outsider = login(client, world.b.users[Role.INSPECTOR])
    assert _post(client, outsider, photo, world.a.case_id).status_code == 404
    _nothing_left(engine, settings, photo)


def test_a_post_body_of_another_type_is_a_plain_creation(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    response = client.post(
        "/api/v1/uploads",
        headers={
            **inspector,
            **creation_headers(photo, world.a.case_id, DATA),
            "Content-Type": "application/json",
        },
        content=b'{"not": "the file"}',
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "0"
    assert photo_state(engine, photo)[0].received_at is None


def test_the_finished_file_is_moved_into_storage_not_copied(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, settings: Settings
) -> None:
    photo = declare_photo(engine, world.a.case_id, DATA)
    created = client.post(
        "/api/v1/uploads", headers={**inspector, **creation_headers(photo, world.a.case_id, DATA)}
    )
    url = created.headers["Location"]
    partial = partial_dir(settings.storage_dir) / url.rsplit("/", 1)[1]
    assert (
        client.patch(
            url, headers={**inspector, **PATCH, "Upload-Offset": "0"}, content=DATA[:1000]
        ).status_code
        == 204
    )
    inode = partial.stat().st_ino
    last = client.patch(
        url, headers={**inspector, **PATCH, "Upload-Offset": "1000"}, content=DATA[1000:]
    )
    assert last.status_code == 204
    storage = client.app.state.storage  # type: ignore[attr-defined]
    assert isinstance(storage, LocalPhotoStorage)
    row, _ = photo_state(engine, photo)
    assert row.storage_key is not None
    stored = storage.path_for(row.storage_key)
    assert stored.stat().st_ino == inode  # the same file, renamed
    assert not partial.exists()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha256_hex(DATA)
