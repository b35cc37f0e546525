"""The photo phase's tus path with several uploads in flight, against a real server on
loopback (SQLite and PostgreSQL): every photo arrives once and byte-identical, one upload
failing while others are in flight, one sign-in refresh for all, progress totals,
creation-with-upload and the fallback to POST + PATCH, and the upload bookkeeping commits.

The engines here send every photo by tus (``photo_batches=False``), as they do on a
server without photo batches; test_photo_batch.py covers batches the same way."""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from inspector_app.core.api_client import KV_AUTH, Refused
from inspector_app.core.sync_engine import KV_PHOTO_ERRORS, SyncEngine, SyncProgress
from inspector_app.core.tus_client import TusUploader
from server.uploads.models import Upload
from tests.inspector_app.core import sync_fixtures as fx
from tests.inspector_app.core.conftest import LOCATION
from tests.live_server import LiveServer
from tests.server.uploads.helpers import make_jpeg

live_server = fx.live_server
tablet = fx.tablet

WORKERS = 4


def _together(count: int, method: str = "POST", path: str = "/uploads") -> fx.Rule:
    """A rule that holds the first ``count`` matching requests until all of them are
    there: proof that they were in flight at once (one at a time, the barrier breaks
    after its timeout and the uploads fail)."""
    barrier = threading.Barrier(count, timeout=20)
    seen = itertools.count()

    def rule(request: httpx.Request) -> fx.Fault | None:
        if request.method == method and request.url.path.endswith(path) and next(seen) < count:
            barrier.wait()
        return None

    return rule


def _tus(tablet: fx.Tablet, **kw: Any) -> SyncEngine:
    """An engine that sends every photo by tus (no photo batches)."""
    return tablet.engine(photo_batches=False, **kw)


def _of_photo(photo_id: str) -> Callable[[httpx.Request], bool]:
    encoded = base64.b64encode(photo_id.encode()).decode()
    return lambda request: encoded in request.headers.get("Upload-Metadata", "")


def _upload_rows(app: FastAPI) -> dict[UUID, int]:
    with Session(app.state.engine) as session:
        rows = session.exec(select(Upload)).all()
    counts: dict[UUID, int] = {}
    for row in rows:
        counts[row.photo_id] = counts.get(row.photo_id, 0) + 1
    return counts


def _assert_delivered_once(tablet: fx.Tablet, app: FastAPI, report_ids: list[str]) -> None:
    engine = app.state.engine
    photo_ids: list[UUID] = []
    for report_id in report_ids:
        case = fx.server_case(engine, report_id)
        assert case is not None and case.photos_received == case.photos_expected
        for photo in fx.server_photos(engine, report_id):
            assert photo.received_at is not None
            assert fx.stored_sha256(app, photo) == fx.local_sha256(tablet, str(photo.id))
            photo_ids.append(photo.id)
        assert all(p.uploaded for p in tablet.store.photos_of(report_id=report_id))
    completed = _upload_rows(app)
    assert all(completed.get(photo_id) == 1 for photo_id in photo_ids), completed
    assert tablet.store.queue_stats().photos_pending == 0


def test_uploads_in_flight_at_once_deliver_every_photo_once(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(6)]
    tablet.transport.add(_together(WORKERS))
    seen: list[SyncProgress] = []
    outcome = _tus(tablet, photo_workers=WORKERS, on_progress=seen.append).sync_once()
    assert outcome.ok and outcome.error is None, outcome
    assert (outcome.applied, outcome.photos_sent) == (6, 12)
    _assert_delivered_once(tablet, live_server.app, report_ids)
    # creation-with-upload: one request per photo, the server asked once
    assert tablet.transport.count("POST", "/uploads") == 12
    assert tablet.transport.count("PATCH", "/uploads/") == 0
    assert tablet.transport.count("OPTIONS", "/uploads") == 1
    # progress: bytes only grow, never past the total, and end at the photos' bytes
    photos = [p for p in seen if p.phase == "photos"]
    for before, after in itertools.pairwise(photos):
        assert after.bytes_done >= before.bytes_done
    assert all(p.bytes_done <= p.bytes_total for p in seen)
    total = sum(p.size_bytes or 0 for p in tablet.store.all_photos())
    assert (seen[-1].phase, seen[-1].bytes_done, seen[-1].bytes_total) == ("done", total, total)
    assert len({p.bytes_done for p in photos}) == 12 + 1  # one step per photo, from zero


def test_a_failure_with_uploads_in_flight_ends_the_phase_and_loses_nothing(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(5)]
    _tus(tablet, wifi_only=lambda: True, on_wifi=lambda: False).sync_once()  # reports only
    (first, *_rest) = tablet.store.photos_to_upload()
    failing = _of_photo(first[0].id)
    tablet.transport.add(_together(WORKERS))  # the failing POST is one of four in flight
    tablet.transport.add(
        lambda r: fx.Fault("status", status=503) if failing(r) and r.method == "POST" else None
    )
    engine = _tus(tablet, photo_workers=WORKERS)
    broken = engine.sync_once()
    assert not broken.ok and broken.error is not None and "503" in broken.error
    assert broken.retry_in_s is not None
    # the three in flight with it finished (no new upload starts after the failure);
    # nothing was sent twice
    assert WORKERS - 1 <= broken.photos_sent < 10
    uploaded = [p for p in tablet.store.all_photos() if p.uploaded]
    assert len(uploaded) == broken.photos_sent
    assert all(n == 1 for n in _upload_rows(live_server.app).values())

    tablet.transport.rules.clear()
    healed = engine.sync_once()
    assert healed.ok and healed.photos_sent == 10 - broken.photos_sent
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_a_refused_photo_is_set_aside_while_the_others_go(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(3)]
    _tus(tablet, wifi_only=lambda: True, on_wifi=lambda: False).sync_once()
    refused_photo = tablet.store.photos_to_upload()[2][0]
    refused = _of_photo(refused_photo.id)
    body = {"error": {"code": "not_an_image", "message": "not a JPEG, PNG or WebP"}}
    tablet.transport.add(
        lambda r: fx.Fault("status", status=415, body=body) if refused(r) else None
    )
    outcome = _tus(tablet, photo_workers=WORKERS).sync_once()
    assert outcome.ok and outcome.error is None and outcome.photos_sent == 5
    assert "not_an_image" in tablet.store.kv_get(KV_PHOTO_ERRORS)[refused_photo.id]
    tablet.transport.rules.clear()
    retried = _tus(tablet, photo_workers=WORKERS).sync_once()  # the user's "sync now"
    assert retried.ok and retried.photos_sent == 1
    assert refused_photo.id not in tablet.store.kv_get(KV_PHOTO_ERRORS)
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_one_token_refresh_for_all_uploads_in_flight(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(4)]

    def expire_token(progress: SyncProgress) -> None:
        if progress.phase == "photos" and progress.bytes_done == 0:
            auth = dict(tablet.store.kv_get(KV_AUTH))
            auth["access_token"] = "expired-" + auth["access_token"][8:]
            with tablet.store.transaction() as tx:
                tx.kv_set(KV_AUTH, auth)

    tablet.transport.add(_together(WORKERS))  # four uploads meet the 401 at once
    refreshes_before = tablet.transport.count("POST", "/auth/refresh")
    outcome = _tus(tablet, photo_workers=WORKERS, on_progress=expire_token).sync_once()
    assert outcome.ok and outcome.photos_sent == 8, outcome
    assert tablet.transport.count("POST", "/auth/refresh") == refreshes_before + 1
    statuses = [s.status for s in tablet.transport.seen if s.method == "POST"]
    assert statuses.count(401) >= 1
    _assert_delivered_once(tablet, live_server.app, report_ids)


@pytest.mark.parametrize("how", ["server_lacks_it", "switched_off"])
def test_without_creation_with_upload_photos_go_by_post_and_patch(
    tablet: fx.Tablet, live_server: LiveServer, how: str
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(2)]
    kw: dict[str, object] = {}
    if how == "server_lacks_it":
        tablet.transport.fail(
            "OPTIONS",
            "/uploads",
            fx.Fault(
                "respond",
                respond=lambda r: httpx.Response(
                    204, headers={"Tus-Extension": "creation,checksum"}, request=r
                ),
            ),
            times=99,
        )
    else:
        kw["uploader"] = TusUploader(tablet.client, creation_with_upload=False)
    outcome = _tus(tablet, photo_workers=2, **kw).sync_once()
    assert outcome.ok and outcome.photos_sent == 4
    assert tablet.transport.count("PATCH", "/uploads/") == 4
    assert tablet.transport.count("OPTIONS", "/uploads") == (1 if how == "server_lacks_it" else 0)
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_a_lost_answer_to_a_post_with_the_photo_delivers_it_once(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_id = tablet.report(photos=2)
    # Both POSTs meet before either answer is dropped: otherwise, on a busy machine, the
    # first failure can stop the cycle before the second photo's POST is sent, and the
    # second dropped answer would fall on the next cycle instead.
    tablet.transport.add(_together(2))
    tablet.transport.fail("POST", "/uploads", fx.Fault("drop_response"), times=2)
    engine = _tus(tablet, photo_workers=WORKERS)
    first = engine.sync_once()
    assert not first.ok and first.photos_sent < 2
    second = engine.sync_once()  # offered again: the server has it, nothing changes
    assert second.ok
    _assert_delivered_once(tablet, live_server.app, [report_id])


def test_a_refusal_arrives_intact_after_a_large_body(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    """The server answers 409 before reading a large body; the tablet still reads the
    answer (not a broken connection), so the photo just waits for its report."""
    report_id = tablet.capture.create_draft(category="FIRE_LANE", grid=fx.GRID)
    tablet.capture.set_location(report_id, **LOCATION)
    tablet.capture.attach_photo(report_id, make_jpeg(seed=3, size=(2048, 1536)))
    tablet.capture.submit(report_id)  # not pushed: the server does not know the photo
    (photo,) = tablet.store.photos_of(report_id=report_id)
    assert (photo.size_bytes or 0) > 2 * 1024 * 1024
    uploader = TusUploader(tablet.client, chunk_size=16 * 1024 * 1024)
    with pytest.raises(Refused) as caught:
        uploader.upload(
            photo, tablet.photos_dir / (photo.processed_path or ""), report_id=report_id
        )
    assert caught.value.code == "photo_not_declared"


def test_upload_bookkeeping_is_committed_without_changing_the_stores_durability(
    tablet: fx.Tablet,
) -> None:
    report_id = tablet.report(photos=1)
    (photo,) = tablet.store.photos_of(report_id=report_id)
    tablet.store.record_upload(photo.id, upload_url="http://server/u/1", uploaded=True)
    stored = tablet.store.get_photo(photo.id)
    assert stored is not None and stored.uploaded and stored.upload_url == "http://server/u/1"
    with tablet.store.transaction() as tx:  # every other commit stays synchronous=FULL
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2
    with tablet.store.transaction(), pytest.raises(RuntimeError, match="nested"):
        tablet.store.record_upload(photo.id, upload_url=None, uploaded=False)
    assert tablet.store.get_photo(photo.id).uploaded  # type: ignore[union-attr]
