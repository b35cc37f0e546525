"""The tablet's tus client against the real server: chunks with sha1 checksums, resume
after an interrupted PATCH, 409 offset mismatch, 460 damaged chunk, expired or lost
uploads, 423 upload_locked, and a photo the server already has."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from inspector_app.core.api_client import NetworkError, Refused
from inspector_app.core.store import Photo
from inspector_app.core.tus_client import LocalPhotoError, TusUploader
from server.cases.models import Photo as ServerPhoto
from server.core.clock import utcnow
from server.core.config import Settings
from server.uploads.models import Upload
from server.uploads.partial import PartialFile, partial_dir
from tests.inspector_app.core import sync_fixtures as fx
from tests.inspector_app.core.conftest import LOCATION
from tests.live_server import LiveServer
from tests.server.uploads.helpers import declare_photo, make_jpeg

live_server = fx.live_server
tablet = fx.tablet

CHUNK = 16 * 1024


def pushed_photo(tablet: fx.Tablet, *, seed: int = 7) -> tuple[Photo, Path, str]:
    """A report with one noisy photo (several chunks), pushed without its photo."""
    report_id = tablet.capture.create_draft(category="FIRE_LANE", grid=fx.GRID)
    tablet.capture.set_location(report_id, **LOCATION)
    tablet.capture.attach_photo(report_id, make_jpeg(seed=seed, size=(640, 480)))
    tablet.capture.submit(report_id)
    outcome = tablet.engine(wifi_only=lambda: True, on_wifi=lambda: False).sync_once()
    assert outcome.error is None and outcome.applied >= 1, outcome
    assert tablet.store.get_report(report_id).state == "synced"  # type: ignore[union-attr]
    (photo,) = tablet.store.photos_of(report_id=report_id)
    assert photo.processed_path is not None and (photo.size_bytes or 0) > 4 * CHUNK
    return photo, tablet.photos_dir / photo.processed_path, report_id


def received(app: FastAPI, photo_id: str) -> ServerPhoto:
    with Session(app.state.engine) as session:
        row = session.get(ServerPhoto, UUID(photo_id))
        assert row is not None
        return row


def assert_delivered(tablet: fx.Tablet, app: FastAPI, photo: Photo) -> None:
    row = received(app, photo.id)
    assert row.received_at is not None
    assert fx.stored_sha256(app, row) == photo.sha256 == fx.local_sha256(tablet, photo.id)
    local = tablet.store.get_photo(photo.id)
    assert local is not None and local.uploaded and local.upload_url


def statuses(tablet: fx.Tablet, method: str) -> list[int | None]:
    return [s.status for s in tablet.transport.seen if s.method == method and "/uploads" in s.path]


class Bytes:
    """Collects on_bytes calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, count: int) -> None:
        assert count > 0
        self.calls.append(count)


def test_upload_in_checksummed_chunks(tablet: fx.Tablet, live_server: LiveServer) -> None:
    photo, path, report_id = pushed_photo(tablet)
    checksums: list[str] = []

    def look(request: httpx.Request) -> None:
        if request.method == "PATCH":
            checksums.append(request.headers["Upload-Checksum"])

    tablet.transport.add(look)
    progress = Bytes()
    TusUploader(tablet.client, chunk_size=CHUNK).upload(
        photo, path, report_id=report_id, on_bytes=progress
    )
    assert_delivered(tablet, live_server.app, photo)
    size = photo.size_bytes or 0
    assert len(checksums) == math.ceil(size / CHUNK)
    assert all(c.startswith("sha1 ") for c in checksums)
    assert sum(progress.calls) == size


@pytest.mark.parametrize("fault", ["drop_response", "refuse"])
def test_interrupted_patch_resumes_from_the_servers_offset(
    tablet: fx.Tablet, live_server: LiveServer, fault: str
) -> None:
    photo, path, report_id = pushed_photo(tablet)
    tablet.transport.fail("PATCH", "/uploads/", fx.Fault(fault), times=1)
    # the first two PATCHes pass, the third is interrupted
    tablet.transport.rules.insert(0, _pass_first("PATCH", 2))
    with pytest.raises(NetworkError):
        TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
    stored = tablet.store.get_photo(photo.id)
    assert stored is not None and stored.upload_url and not stored.uploaded

    # after a restart: a new uploader resumes from the stored URL with HEAD
    progress = Bytes()
    TusUploader(tablet.client, chunk_size=CHUNK).upload(
        photo, path, report_id=report_id, on_bytes=progress
    )
    assert_delivered(tablet, live_server.app, photo)
    assert tablet.transport.count("POST", "/uploads") == 1
    assert tablet.transport.count("HEAD", "/uploads/") == 1
    assert sum(progress.calls) == photo.size_bytes
    done_before = 3 * CHUNK if fault == "drop_response" else 2 * CHUNK
    assert progress.calls[0] == done_before  # what HEAD said the server already had


def _pass_first(method: str, count: int) -> fx.Rule:
    """A rule that lets the first `count` requests of `method` through untouched (rules
    after it see only later ones)."""
    seen = [0]

    def rule(request: httpx.Request) -> fx.Fault | None:
        if request.method == method and seen[0] < count:
            seen[0] += 1
            return fx.Fault("rewrite", rewrite=lambda r: r)
        return None

    return rule


def _with(
    request: httpx.Request, *, headers: dict[str, str], content: bytes | None = None
) -> httpx.Request:
    """The request as it arrives after being changed on the way."""
    body = request.content if content is None else content
    merged = {**dict(request.headers), **{k.lower(): v for k, v in headers.items()}}
    merged.pop("content-length", None)
    return httpx.Request(request.method, request.url, headers=merged, content=body)


def test_409_offset_mismatch_resumes_at_the_servers_offset(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    photo, path, report_id = pushed_photo(tablet)
    tablet.transport.rules.insert(0, _pass_first("PATCH", 2))
    tablet.transport.fail(
        "PATCH",
        "/uploads/",
        fx.Fault("rewrite", rewrite=lambda r: _with(r, headers={"Upload-Offset": "0"})),
    )
    TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
    assert 409 in statuses(tablet, "PATCH")
    assert_delivered(tablet, live_server.app, photo)


def test_460_damaged_chunk_is_sent_again(tablet: fx.Tablet, live_server: LiveServer) -> None:
    photo, path, report_id = pushed_photo(tablet)

    def damage(request: httpx.Request) -> httpx.Request:
        body = bytearray(request.content)
        body[len(body) // 2] ^= 0xFF
        return _with(request, headers={}, content=bytes(body))

    tablet.transport.rules.insert(0, _pass_first("PATCH", 1))
    tablet.transport.fail("PATCH", "/uploads/", fx.Fault("rewrite", rewrite=damage), times=2)
    TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
    assert statuses(tablet, "PATCH")[1:3] == [460, 460]
    assert_delivered(tablet, live_server.app, photo)


def test_a_chunk_that_keeps_arriving_damaged_is_left_for_later(tablet: fx.Tablet) -> None:
    photo, path, report_id = pushed_photo(tablet)

    def damage(request: httpx.Request) -> httpx.Request:
        return _with(request, headers={}, content=b"\0" + request.content[1:])

    tablet.transport.fail("PATCH", "/uploads/", fx.Fault("rewrite", rewrite=damage), times=99)
    with pytest.raises(Exception, match="damaged") as caught:
        TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
    assert type(caught.value).__name__ == "RetryableError"


def _interrupted(tablet: fx.Tablet) -> tuple[Photo, Path, str, str]:
    """A photo whose upload stopped after two chunks; returns it and the upload id."""
    photo, path, report_id = pushed_photo(tablet)
    tablet.transport.rules.insert(0, _pass_first("PATCH", 2))
    tablet.transport.fail("PATCH", "/uploads/", fx.Fault("refuse"))
    with pytest.raises(NetworkError):
        TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
    stored = tablet.store.get_photo(photo.id)
    assert stored is not None and stored.upload_url
    return photo, path, report_id, stored.upload_url.rsplit("/", 1)[1]


def test_expired_or_lost_upload_starts_a_new_one(
    tablet: fx.Tablet, live_server: LiveServer, settings: Settings
) -> None:
    engine: Engine = live_server.app.state.engine
    for how in ("expired", "forgotten", "bytes_lost"):
        tablet.transport.rules.clear()
        tablet.transport.seen.clear()
        photo, path, report_id, upload_id = _interrupted(tablet)
        with Session(engine) as session:
            upload = session.get(Upload, UUID(upload_id))
            assert upload is not None
            if how == "expired":
                upload.expires_at = utcnow() - timedelta(minutes=1)
                session.add(upload)
            elif how == "forgotten":
                session.delete(upload)
            session.commit()
        if how == "bytes_lost":
            (partial_dir(settings.storage_dir) / upload_id).unlink()
        TusUploader(tablet.client, chunk_size=CHUNK).upload(photo, path, report_id=report_id)
        assert_delivered(tablet, live_server.app, photo)
        assert tablet.transport.count("POST", "/uploads") == 2, how
        if how == "bytes_lost":
            assert 410 in statuses(tablet, "PATCH")
        else:
            assert statuses(tablet, "HEAD")[-1] == (410 if how == "expired" else 404)


def test_423_upload_locked_is_retried_after_a_short_wait(
    tablet: fx.Tablet, live_server: LiveServer, settings: Settings
) -> None:
    photo, path, report_id, upload_id = _interrupted(tablet)
    lock = PartialFile(partial_dir(settings.storage_dir) / upload_id)  # a dead PATCH's lock
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            lock.close()

    try:
        TusUploader(tablet.client, chunk_size=CHUNK, sleep=sleep).upload(
            photo, path, report_id=report_id
        )
    finally:
        lock.close()
    assert len(waits) == 2 and statuses(tablet, "PATCH").count(423) == 2
    assert_delivered(tablet, live_server.app, photo)


def test_a_photo_the_server_already_has_is_a_no_op(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    photo, path, report_id = pushed_photo(tablet)
    uploader = TusUploader(tablet.client, chunk_size=CHUNK)
    uploader.upload(photo, path, report_id=report_id)
    patches = tablet.transport.count("PATCH", "/uploads/")
    with tablet.store.transaction() as tx:  # the tablet lost track (e.g. restored backup)
        tx.set_upload(photo.id, upload_url=None, uploaded=False)
    progress = Bytes()
    uploader.upload(photo, path, report_id=report_id, on_bytes=progress)
    assert tablet.transport.count("PATCH", "/uploads/") == patches
    assert sum(progress.calls) == photo.size_bytes
    assert_delivered(tablet, live_server.app, photo)
    uploader.upload(photo, path, report_id=report_id)  # marked uploaded: nothing sent
    assert tablet.transport.count("POST", "/uploads") == 2


def test_unknown_photo_refused_and_a_changed_or_missing_file_is_a_local_error(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    queued = tablet.report(photos=1)  # not pushed: the server does not know its photo
    (unknown,) = tablet.store.photos_of(report_id=queued)
    with pytest.raises(Refused) as caught:
        TusUploader(tablet.client).upload(
            unknown, tablet.photos_dir / (unknown.processed_path or ""), report_id=queued
        )
    assert caught.value.code == "photo_not_declared"
    posts = tablet.transport.count("POST", "/uploads")

    photo, path, report_id = pushed_photo(tablet)
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))  # same size, other bytes
    with pytest.raises(LocalPhotoError, match="changed"):
        TusUploader(tablet.client).upload(photo, path, report_id=report_id)
    path.unlink()
    with pytest.raises(LocalPhotoError, match="missing"):
        TusUploader(tablet.client).upload(photo, path, report_id=report_id)
    assert tablet.transport.count("POST", "/uploads") == posts

    # in a cycle: that photo is set aside with its reason, the others still go
    path.write_bytes(original[:100])
    other = tablet.report(photos=1, seed=5)
    outcome = tablet.engine().sync_once()
    assert outcome.photos_sent == 2 and outcome.error is None  # the other two photos
    assert "file has 100 bytes" in tablet.store.kv_get("photo_upload_errors")[photo.id]
    (sent,) = tablet.store.photos_of(report_id=other)
    assert sent.uploaded


def _clone_photo(tablet: fx.Tablet, app: FastAPI, photo: Photo, report_id: str) -> Photo:
    """Another photo of the same report with the same bytes (declared on the server
    directly), so each example uploads afresh."""
    data = (tablet.photos_dir / (photo.processed_path or "")).read_bytes()
    photo_id = str(declare_photo(app.state.engine, UUID(report_id), data))
    with tablet.store.transaction() as tx:
        tx.insert_photo(
            photo_id=photo_id,
            report_id=report_id,
            inspection_id=None,
            kind="before",
            original_path=photo.original_path,
            original_sha256=photo.original_sha256,
            original_size=photo.original_size,
            taken_at=photo.taken_at,
        )
        tx.mark_photo_processed(
            photo_id,
            processed_path=photo.processed_path or "",
            thumb_path=photo.thumb_path or "",
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            media_type="image/jpeg",
            width=640,
            height=480,
        )
    made = tablet.store.get_photo(photo_id)
    assert made is not None
    return made


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_chunk_size_and_interruptions_deliver_the_exact_bytes(
    tablet: fx.Tablet, live_server: LiveServer, data: st.DataObject
) -> None:
    if not hasattr(tablet, "_seed_photo"):
        tablet._seed_photo = pushed_photo(tablet)  # type: ignore[attr-defined]
    seed, path, report_id = tablet._seed_photo  # type: ignore[attr-defined]
    photo = _clone_photo(tablet, live_server.app, seed, report_id)
    size = photo.size_bytes or 0
    # chunk sizes around the boundaries: exactly size/n, one byte less or more, or larger
    # than the whole file
    pieces = data.draw(st.integers(1, 8), "pieces")
    chunk = max(1, math.ceil(size / pieces) + data.draw(st.sampled_from([-1, 0, 1, 999])))
    chunks = math.ceil(size / chunk)
    drops = data.draw(st.sets(st.integers(0, chunks - 1), max_size=3), "dropped patches")
    kinds = data.draw(st.sampled_from(["drop_response", "refuse"]), "fault")
    patch_no = [0]

    def rule(request: httpx.Request) -> fx.Fault | None:
        if request.method != "PATCH" or UUID(request.url.path.rsplit("/", 1)[1]) is None:
            return None
        patch_no[0] += 1
        return fx.Fault(kinds) if patch_no[0] - 1 in drops else None

    tablet.transport.rules[:] = [rule]
    posts_before = tablet.transport.count("POST", "/uploads")
    reported = 0
    for _ in range(len(drops) + 1):
        progress = Bytes()
        try:
            TusUploader(tablet.client, chunk_size=chunk).upload(
                photo, path, report_id=report_id, on_bytes=progress
            )
            reported = sum(progress.calls)
            break
        except NetworkError:
            assert sum(progress.calls) <= size
    assert reported == size
    assert tablet.transport.count("POST", "/uploads") == posts_before + 1
    assert_delivered(tablet, live_server.app, photo)
    with Session(live_server.app.state.engine) as session:
        uploads = session.exec(select(Upload).where(Upload.photo_id == UUID(photo.id))).all()
    assert len(uploads) == 1 and uploads[0].offset == size
    assert uuid.UUID(photo.id)
