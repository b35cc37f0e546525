"""The tus 1.0.0 server through the TestClient: every refusal the protocol and the
design ask for, and that a refused or interrupted upload never marks a photo received."""

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
import time_machine
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.core.clock import utcnow
from server.core.config import Settings
from server.uploads import service
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
    metadata,
    photo_state,
    sha256_hex,
)
from tests.world import World, login

DATA = make_jpeg(seed=3)


@pytest.fixture
def inspector(client: TestClient, world: World) -> dict[str, str]:
    return login(client, world.a.users[Role.INSPECTOR])


@pytest.fixture
def photo_id(engine: Engine, world: World) -> UUID:
    return declare_photo(engine, world.a.case_id, DATA)


def _create(
    client: TestClient, auth: dict[str, str], photo: UUID, case: UUID, data: bytes = DATA
) -> str:
    response = client.post(
        "/api/v1/uploads", headers={**auth, **creation_headers(photo, case, data)}
    )
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    location: str = response.headers["Location"]
    return location


def _patch(
    client: TestClient, auth: dict[str, str], url: str, offset: int, chunk: bytes, **extra: str
) -> Response:
    headers = {**auth, **PATCH, "Upload-Offset": str(offset), **extra}
    response: Response = client.patch(url, headers=headers, content=chunk)
    return response


def _head(client: TestClient, auth: dict[str, str], url: str) -> Response:
    response: Response = client.head(url, headers={**auth, **TUS})
    return response


def test_options_advertises_the_protocol(client: TestClient, settings: Settings) -> None:
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "checksum",
        "termination",
        "expiration",
    }
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert response.headers["Tus-Max-Size"] == str(settings.upload_max_bytes)


def test_upload_in_chunks_marks_the_photo_received_once(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, photo_id: UUID
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    head = _head(client, inspector, url)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(DATA))
    assert head.headers["Cache-Control"] == "no-store"
    assert "Upload-Expires" in head.headers
    offset = 0
    for i, start in enumerate(range(0, len(DATA), 10_000)):
        chunk = DATA[start : start + 10_000]
        algorithm = "sha1" if i % 2 else "sha256"
        response = _patch(
            client, inspector, url, offset, chunk, **{"Upload-Checksum": checksum(algorithm, chunk)}
        )
        assert response.status_code == 204, response.text
        offset += len(chunk)
        assert response.headers["Upload-Offset"] == str(offset)
    photo, case = photo_state(engine, photo_id)
    assert photo.received_at is not None
    assert case.photos_received == 1
    # Finished: the offset is the length, and there is nothing more to send.
    assert _head(client, inspector, url).headers["Upload-Offset"] == str(len(DATA))
    again = _patch(client, inspector, url, 0, DATA[:10])
    assert again.status_code == 409
    assert photo_state(engine, photo_id)[1].photos_received == 1


def test_tus_resumable_is_required(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    headers = creation_headers(photo_id, world.a.case_id, DATA)
    del headers["Tus-Resumable"]
    response = client.post("/api/v1/uploads", headers={**inspector, **headers})
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.json()["error"]["code"] == "tus_version_unsupported"
    wrong = client.post(
        "/api/v1/uploads", headers={**inspector, **headers, "Tus-Resumable": "0.2.2"}
    )
    assert wrong.status_code == 412


def test_wrong_offset_is_409_with_the_current_offset(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA[:1000]).status_code == 204
    response = _patch(client, inspector, url, 500, DATA[500:1500])
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == "1000"
    assert response.json()["error"]["code"] == "offset_mismatch"
    assert response.json()["error"]["details"] == {"offset": 1000}


def test_patch_needs_the_offset_content_type(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    response = _patch(
        client, inspector, url, 0, DATA[:100], **{"Content-Type": "application/octet-stream"}
    )
    assert response.status_code == 415


def test_chunk_checksum_mismatch_is_460_and_the_chunk_is_dropped(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA[:1000]).status_code == 204
    bad = _patch(
        client,
        inspector,
        url,
        1000,
        DATA[1000:2000],
        **{"Upload-Checksum": checksum("sha1", b"something else")},
    )
    assert bad.status_code == 460
    assert bad.json()["error"]["code"] == "checksum_mismatch"
    assert _head(client, inspector, url).headers["Upload-Offset"] == "1000"
    unsupported = _patch(
        client, inspector, url, 1000, DATA[1000:2000], **{"Upload-Checksum": "md5 AAAA"}
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"]["code"] == "checksum_algorithm_unsupported"
    good = _patch(
        client,
        inspector,
        url,
        1000,
        DATA[1000:2000],
        **{"Upload-Checksum": checksum("sha256", DATA[1000:2000])},
    )
    assert good.status_code == 204
    assert good.headers["Upload-Offset"] == "2000"


def test_whole_file_sha256_mismatch_is_refused_and_the_photo_keeps_waiting(
    client: TestClient,
    inspector: dict[str, str],
    world: World,
    engine: Engine,
    settings: Settings,
) -> None:
    other = make_jpeg(seed=99)[: len(DATA)].ljust(len(DATA), b"\0")
    photo = declare_photo(engine, world.a.case_id, DATA)
    url = _create(client, inspector, photo, world.a.case_id)
    response = _patch(client, inspector, url, 0, other)
    assert response.status_code == 460
    assert response.json()["error"]["code"] == "sha256_mismatch"
    assert photo_state(engine, photo)[0].received_at is None
    assert _head(client, inspector, url).status_code == 404  # discarded: start anew
    assert list(partial_dir(settings.storage_dir).iterdir()) == []
    # A good copy still goes through afterwards.
    url = _create(client, inspector, photo, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA).status_code == 204
    assert photo_state(engine, photo)[1].photos_received == 1


def test_a_non_image_is_refused_with_415(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine
) -> None:
    fake = b"%PDF-1.4 this is not a photo, whatever its name says\n" * 40
    photo = declare_photo(engine, world.a.case_id, fake)
    url = _create(client, inspector, photo, world.a.case_id, fake)
    response = _patch(client, inspector, url, 0, fake)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "not_an_image"
    assert photo_state(engine, photo)[0].received_at is None
    # Magic bytes alone are not enough: Pillow must read it.
    truncated = DATA[:2000]
    photo = declare_photo(engine, world.a.case_id, truncated)
    url = _create(client, inspector, photo, world.a.case_id, truncated)
    assert _patch(client, inspector, url, 0, truncated).status_code == 415


def test_too_large_is_413_before_reading_the_body(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID, engine: Engine
) -> None:
    consumed: list[bool] = []

    def body() -> Iterator[bytes]:
        consumed.append(True)
        yield b"x" * 100

    headers = {
        **inspector,
        **creation_headers(photo_id, world.a.case_id, DATA),
        "Upload-Length": str(10**9),
    }
    response = client.post("/api/v1/uploads", headers=headers, content=body())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert consumed == []
    with Session(engine) as session:
        assert session.exec(select(Upload)).all() == []
    # A PATCH announcing more than the rest of the upload is refused before its body too.
    url = _create(client, inspector, photo_id, world.a.case_id)
    long = _patch(client, inspector, url, 0, DATA + b"more")
    assert long.status_code == 413
    assert _head(client, inspector, url).headers["Upload-Offset"] == "0"


def test_declaration_must_exist_and_match(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    undeclared = client.post(
        "/api/v1/uploads",
        headers={**inspector, **creation_headers(uuid4(), world.a.case_id, DATA)},
    )
    assert undeclared.status_code == 409
    assert undeclared.json()["error"]["code"] == "photo_not_declared"
    wrong_report = client.post(
        "/api/v1/uploads", headers={**inspector, **creation_headers(photo_id, uuid4(), DATA)}
    )
    assert wrong_report.json()["error"]["code"] == "photo_not_declared"
    other_bytes = make_jpeg(seed=5)
    mismatch = client.post(
        "/api/v1/uploads",
        headers={**inspector, **creation_headers(photo_id, world.a.case_id, other_bytes)},
    )
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["code"] == "photo_mismatch"
    no_meta = client.post(
        "/api/v1/uploads", headers={**inspector, **TUS, "Upload-Length": str(len(DATA))}
    )
    assert no_meta.status_code == 400
    bad_meta = client.post(
        "/api/v1/uploads",
        headers={**inspector, **TUS, "Upload-Length": "10", "Upload-Metadata": "photo_id !!"},
    )
    assert bad_meta.status_code == 400
    assert bad_meta.json()["error"]["code"] == "bad_metadata"


def test_termination_removes_the_partial_data(
    client: TestClient,
    inspector: dict[str, str],
    world: World,
    photo_id: UUID,
    settings: Settings,
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA[:3000]).status_code == 204
    partial = partial_dir(settings.storage_dir) / url.rsplit("/", 1)[1]
    assert partial.stat().st_size == 3000
    response = client.delete(url, headers={**inspector, **TUS})
    assert response.status_code == 204
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert not partial.exists()
    assert _head(client, inspector, url).status_code == 404
    assert _patch(client, inspector, url, 3000, DATA[3000:4000]).status_code == 404


def test_expired_uploads_are_gone_and_cleaned_up(
    client: TestClient,
    inspector: dict[str, str],
    world: World,
    photo_id: UUID,
    settings: Settings,
    engine: Engine,
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA[:3000]).status_code == 204
    partial = partial_dir(settings.storage_dir) / url.rsplit("/", 1)[1]
    later = utcnow() + timedelta(hours=settings.upload_expiry_hours, minutes=1)
    with time_machine.travel(later, tick=False):
        inspector = login(client, world.a.users[Role.INSPECTOR])  # the old token expired
        assert _head(client, inspector, url).status_code == 410
        assert _patch(client, inspector, url, 3000, DATA[3000:4000]).status_code == 410
        # The next creation sweeps expired uploads away, bytes and all.
        _create(client, inspector, photo_id, world.a.case_id)
        assert not partial.exists()
        with Session(engine) as session:
            assert session.get(Upload, UUID(url.rsplit("/", 1)[1])) is None
            # And the sweep is callable on its own (for a periodic command).
            assert service.expire_uploads(session, settings=settings, now=utcnow()) == 0
    with time_machine.travel(later + timedelta(hours=settings.upload_expiry_hours), tick=False):
        with Session(engine) as session:
            assert service.expire_uploads(session, settings=settings, now=utcnow()) == 1
        assert list(partial_dir(settings.storage_dir).iterdir()) == []


def test_second_upload_of_a_received_photo_is_a_no_op(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, photo_id: UUID
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA).status_code == 204
    received_at = photo_state(engine, photo_id)[0].received_at
    again = client.post(
        "/api/v1/uploads",
        headers={**inspector, **creation_headers(photo_id, world.a.case_id, DATA)},
    )
    assert again.status_code == 201
    assert again.headers["Upload-Offset"] == str(len(DATA))
    assert _head(client, inspector, again.headers["Location"]).headers["Upload-Offset"] == str(
        len(DATA)
    )
    photo, case = photo_state(engine, photo_id)
    assert photo.received_at == received_at
    assert case.photos_received == 1


def test_two_uploads_of_one_photo_count_it_once(
    client: TestClient, inspector: dict[str, str], world: World, engine: Engine, photo_id: UUID
) -> None:
    first = _create(client, inspector, photo_id, world.a.case_id)
    second = _create(client, inspector, photo_id, world.a.case_id)
    assert first != second
    assert _patch(client, inspector, first, 0, DATA).status_code == 204
    assert _patch(client, inspector, second, 0, DATA).status_code == 204
    assert photo_state(engine, photo_id)[1].photos_received == 1


def test_only_the_reporter_or_an_admin_uploads(
    client: TestClient, inspector: dict[str, str], world: World, photo_id: UUID
) -> None:
    headers = creation_headers(photo_id, world.a.case_id, DATA)
    outsider = login(client, world.b.users[Role.INSPECTOR])
    assert client.post("/api/v1/uploads", headers={**outsider, **headers}).status_code == 404
    supervisor = login(client, world.a.users[Role.SUPERVISOR])
    refused = client.post("/api/v1/uploads", headers={**supervisor, **headers})
    assert refused.status_code == 403
    admin = login(client, world.admin)
    assert client.post("/api/v1/uploads", headers={**admin, **headers}).status_code == 201
    # Someone else's upload URL is not found, whatever the method.
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _head(client, outsider, url).status_code == 404
    assert _patch(client, outsider, url, 0, DATA[:10]).status_code == 404
    assert client.delete(url, headers={**outsider, **TUS}).status_code == 404
    assert client.post("/api/v1/uploads", headers=headers).status_code == 401


def test_head_after_a_patch_crashed_midway_reports_a_consistent_offset(
    client: TestClient,
    inspector: dict[str, str],
    world: World,
    engine: Engine,
    photo_id: UUID,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = _create(client, inspector, photo_id, world.a.case_id)
    assert _patch(client, inspector, url, 0, DATA[:4000]).status_code == 204

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("power cut between the write and the offset update")

    monkeypatch.setattr(service, "append_committed", crash)
    with TestClient(client.app, raise_server_exceptions=False) as crashing:
        assert _patch(crashing, inspector, url, 4000, DATA[4000:9000]).status_code == 500
    monkeypatch.undo()
    partial = partial_dir(settings.storage_dir) / url.rsplit("/", 1)[1]
    assert partial.stat().st_size == 9000  # the bytes are on disk, the offset never moved
    assert _head(client, inspector, url).headers["Upload-Offset"] == "4000"
    response = _patch(client, inspector, url, 4000, DATA[4000:])
    assert response.status_code == 204
    photo, case = photo_state(engine, photo_id)
    assert photo.received_at is not None and case.photos_received == 1
    storage = client.app.state.storage  # type: ignore[attr-defined]
    assert sha256_hex(storage.read_bytes(photo.storage_key)) == sha256_hex(DATA)


def test_metadata_helper_round_trips() -> None:
    from server.uploads.tus import parse_metadata

    photo, report = uuid4(), uuid4()
    parsed = parse_metadata(metadata(photo, report, "ab" * 32))
    assert parsed == {"photo_id": str(photo), "report_id": str(report), "sha256": "ab" * 32}
