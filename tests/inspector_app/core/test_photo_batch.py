"""Photo batches (POST /photos/batch), the tablet's side.

Planning, the manifest and the local file checks need no server. An httpx MockTransport
stands in for the server only where a real one cannot be made to answer so: an older
server without the endpoint (404/405) and garbled answers. Everything else runs against
the real server on loopback (SQLite and PostgreSQL): photos arrive byte-identical, a
refused photo does not hold up the others, a photo whose report the server lacks waits,
damaged bytes are sent again, interrupted batches resume without duplicates, large
photos and servers without batches go by tus.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector_app.core.api_client import KV_AUTH, ApiClient, NetworkError
from inspector_app.core.capture import Capture
from inspector_app.core.photo_batch import (
    BATCH_PATH,
    PhotoBatchUploader,
    changed_locally,
    read_checked,
)
from inspector_app.core.store import Photo, Store
from inspector_app.core.sync_engine import KV_PHOTO_ERRORS, SyncProgress
from inspector_app.core.tus_client import LocalPhotoError
from server.core.config import Settings
from tests.inspector_app.core import sync_fixtures as fx
from tests.inspector_app.core.conftest import LOCATION, complete_draft
from tests.inspector_app.core.test_sync_stateful import RestartableServer
from tests.live_server import LiveServer
from tests.server.uploads.helpers import make_jpeg
from tests.world import World

MiB = 1024 * 1024

# ---------------------------------------------------------------- helpers (no server)


def _photo(size: int | None) -> Photo:
    return Photo(
        id=str(uuid4()),
        report_id=None,
        inspection_id=None,
        kind="report",
        position=0,
        original_path="originals/x.jpg",
        original_sha256="0" * 64,
        original_size=size or 0,
        processed_path="processed/x.jpg",
        thumb_path=None,
        sha256="1" * 64,
        size_bytes=size,
        media_type="image/jpeg",
        width=10,
        height=10,
        taken_at=datetime(2026, 5, 1, tzinfo=UTC),
        processed=True,
        process_error=None,
        upload_url=None,
        uploaded=False,
    )


Handler = Callable[[httpx.Request], httpx.Response]


def _mock_client(store: Store, handler: Handler) -> ApiClient:
    """A signed-in client whose requests go to ``handler`` (no server)."""
    with store.transaction() as tx:
        tx.kv_set(KV_AUTH, {"access_token": "access", "refresh_token": "refresh"})
    return ApiClient(
        store=store, base_url="http://server.test", transport=httpx.MockTransport(handler)
    )


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected request {request.method} {request.url}")


def _parts(request: httpx.Request) -> list[tuple[str, str | None, str, bytes]]:
    """The multipart body as (field name, filename, content type, bytes), in order."""
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    out: list[tuple[str, str | None, str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="Content-Disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        out.append((name, filename, part.get_content_type(), payload))
    return out


def _local_photos(capture: Capture, store: Store, count: int) -> list[tuple[Photo, str]]:
    report_id = complete_draft(capture, photos=count)
    return [(p, report_id) for p in store.photos_of(report_id=report_id)]


# ---------------------------------------------------------------- planning


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    sizes=st.lists(st.one_of(st.none(), st.integers(1, 3 * MiB)), max_size=60),
    max_photos=st.integers(1, 20),
    max_bytes=st.integers(MiB, 8 * MiB),
)
def test_planning_keeps_every_photo_once_in_order_within_the_limits(
    store: Store, sizes: list[int | None], max_photos: int, max_bytes: int
) -> None:
    batcher = PhotoBatchUploader(
        _mock_client(store, _never), max_photos=max_photos, max_bytes=max_bytes
    )
    items = [(_photo(size), f"report-{i}") for i, size in enumerate(sizes)]
    plan = batcher.plan(items)
    batched = [item for batch in plan.batches for item in batch]
    # every photo once: the small ones in batches (in their order), the rest for tus
    assert [i for i in items if i in batched] == batched
    assert [i for i in items if i in plan.by_tus] == plan.by_tus
    assert len(batched) + len(plan.by_tus) == len(items)
    for photo, _ in plan.by_tus:
        assert photo.size_bytes is None or photo.size_bytes > MiB
    for batch in plan.batches:
        assert 1 <= len(batch) <= max_photos
        assert sum(p.size_bytes or 0 for p, _ in batch) <= max_bytes
        assert all(p.size_bytes is not None and p.size_bytes <= MiB for p, _ in batch)
    # greedy: a batch closes only when the next photo would not fit
    for batch, after in zip(plan.batches, plan.batches[1:], strict=False):
        size = sum(p.size_bytes or 0 for p, _ in batch)
        nxt = after[0][0].size_bytes or 0
        assert len(batch) == max_photos or size + nxt > max_bytes


def test_default_batches_hold_16_photos_or_6_mib(store: Store) -> None:
    batcher = PhotoBatchUploader(_mock_client(store, _never))
    small = [(_photo(100_000), "r") for _ in range(40)]
    assert [len(b) for b in batcher.plan(small).batches] == [16, 16, 8]
    big = [(_photo(MiB), "r") for _ in range(13)]
    assert [len(b) for b in batcher.plan(big).batches] == [6, 6, 1]
    huge = [(_photo(MiB + 1), "r")]
    assert batcher.plan(huge).batches == [] and batcher.plan(huge).by_tus == huge


def test_limits_must_make_sense(store: Store) -> None:
    client = _mock_client(store, _never)
    for kw in ({"max_photos": 0}, {"max_photo_bytes": 0}, {"max_bytes": MiB - 1}):
        with pytest.raises(ValueError, match="max_photos >= 1"):
            PhotoBatchUploader(client, **kw)


# ---------------------------------------------------------------- the request


def test_the_request_carries_the_manifest_first_then_one_part_per_photo(
    store: Store, capture: Capture, app_dir: Path
) -> None:
    items = _local_photos(capture, store, 3)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        results = [
            {"photo_id": p.id, "status": "received", "code": None, "message": None}
            for p, _ in items
        ]
        return httpx.Response(200, json={"results": results})

    batcher = PhotoBatchUploader(_mock_client(store, handler))
    result = batcher.upload(items, app_dir / "photos")
    assert [o.status for o in result.outcomes] == ["received"] * 3
    assert result.by_tus == [] and result.refusal is None
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/api/v1" + BATCH_PATH
    assert request.headers["Authorization"] == "Bearer access"
    assert int(request.headers["Content-Length"]) == len(request.content)
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    parts = _parts(request)
    assert parts[0][0] == "manifest" and parts[0][1] is None
    manifest = json.loads(parts[0][3])
    assert manifest == {
        "photos": [
            {"photo_id": p.id, "report_id": r, "sha256": p.sha256, "size": p.size_bytes}
            for p, r in items
        ]
    }
    assert [name for name, *_ in parts[1:]] == [p.id for p, _ in items]
    for (photo, _), (_, filename, content_type, data) in zip(items, parts[1:], strict=True):
        assert filename == f"{photo.id}.jpg" and content_type == "image/jpeg"
        local = (app_dir / "photos" / (photo.processed_path or "")).read_bytes()
        assert data == local and hashlib.sha256(data).hexdigest() == photo.sha256
    # one commit marked all three uploaded
    assert all(store.get_photo(p.id).uploaded for p, _ in items)  # type: ignore[union-attr]


def test_local_files_are_checked_like_the_tus_client_does(
    store: Store, capture: Capture, app_dir: Path
) -> None:
    (missing, _), (short, _), (changed, _), (good, report_id) = _local_photos(capture, store, 4)
    photos = app_dir / "photos"
    (photos / (missing.processed_path or "")).unlink()
    short_path = photos / (short.processed_path or "")
    short_path.write_bytes(short_path.read_bytes()[:-10])
    changed_path = photos / (changed.processed_path or "")
    data = bytearray(changed_path.read_bytes())
    data[-3] ^= 0xFF
    changed_path.write_bytes(bytes(data))
    with pytest.raises(LocalPhotoError, match="is missing"):
        read_checked(missing, photos / (missing.processed_path or ""))
    with pytest.raises(LocalPhotoError, match=r"has \d+ bytes, the report declared \d+"):
        read_checked(short, short_path)
    # A changed file of the right size is sent (not hashed first); when the server finds
    # its sha256 wrong, the tablet checks its own copy and sets it aside.
    assert changed_locally(changed, read_checked(changed, changed_path)) is not None
    assert changed_locally(good, read_checked(good, photos / (good.processed_path or ""))) is None

    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        sent.append([name for name, *_ in _parts(request)])
        damaged = {"status": "refused", "code": "sha256_mismatch", "message": "bytes differ"}
        return httpx.Response(
            200,
            json={
                "results": [
                    {"photo_id": changed.id, **damaged},
                    {"photo_id": good.id, "status": "already_received"},
                ]
            },
        )

    batcher = PhotoBatchUploader(_mock_client(store, handler))
    items = [(p, report_id) for p in (missing, short, changed, good)]
    result = batcher.upload(items, photos)
    assert sent == [["manifest", changed.id, good.id]]  # the readable ones went
    statuses = {o.photo.id: (o.status, o.message) for o in result.outcomes}
    assert statuses[good.id] == ("already_received", "")
    for photo in (missing, short, changed):
        status, message = statuses[photo.id]
        assert status == "local_error" and photo.id in message
    assert [p.id for p in store.all_photos() if p.uploaded] == [good.id]


def test_a_batch_of_local_errors_only_sends_nothing(
    store: Store, capture: Capture, app_dir: Path
) -> None:
    ((photo, report_id),) = _local_photos(capture, store, 1)
    (app_dir / "photos" / (photo.processed_path or "")).unlink()
    result = PhotoBatchUploader(_mock_client(store, _never)).upload(
        [(photo, report_id)], app_dir / "photos"
    )
    assert [o.status for o in result.outcomes] == ["local_error"]


def test_a_photo_marked_uploaded_meanwhile_is_not_sent_again(
    store: Store, capture: Capture, app_dir: Path
) -> None:
    items = _local_photos(capture, store, 1)
    store.record_uploads([items[0][0].id])
    result = PhotoBatchUploader(_mock_client(store, _never)).upload(items, app_dir / "photos")
    assert [o.status for o in result.outcomes] == ["already_received"]


# ---------------------------------------------------------------- older servers, garbled answers


@pytest.mark.parametrize("status", [404, 405])
def test_a_server_without_batches_sends_everything_by_tus_from_then_on(
    store: Store, capture: Capture, app_dir: Path, status: int
) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(status, json={"detail": "Not Found"})

    items = _local_photos(capture, store, 2)
    batcher = PhotoBatchUploader(_mock_client(store, handler))
    assert batcher.supported is None
    result = batcher.upload(items, app_dir / "photos")
    assert result.by_tus == items and result.outcomes == []
    assert result.refusal is not None and f"HTTP {status}" in result.refusal
    assert batcher.supported is False
    # remembered: no batch is planned or sent again
    assert batcher.plan(items).batches == [] and batcher.plan(items).by_tus == items
    assert batcher.upload(items, app_dir / "photos").by_tus == items
    assert len(calls) == 1
    assert not any(p.uploaded for p in store.all_photos())


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(200, content=b'{"results": [{"photo'), id="cut_off"),
        pytest.param(httpx.Response(200, json={"result": []}), id="no_results"),
        pytest.param(httpx.Response(200, json=[1, 2]), id="not_an_object"),
        pytest.param("one_missing", id="one_result_missing"),
        pytest.param("other_photo", id="another_photos_result"),
        pytest.param("bad_status", id="unknown_status"),
        pytest.param("doubled", id="a_result_twice"),
    ],
)
def test_a_garbled_answer_is_a_network_error_and_marks_nothing(
    store: Store, capture: Capture, app_dir: Path, answer: Any
) -> None:
    items = _local_photos(capture, store, 2)
    ids = [p.id for p, _ in items]

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, httpx.Response):
            return answer
        results = [{"photo_id": i, "status": "received"} for i in ids]
        if answer == "one_missing":
            results = results[:1]
        elif answer == "other_photo":
            results[1]["photo_id"] = str(uuid4())
        elif answer == "bad_status":
            results[0]["status"] = "stored"
        elif answer == "doubled":
            results[1] = results[0]
        return httpx.Response(200, json={"results": results})

    batcher = PhotoBatchUploader(_mock_client(store, handler))
    with pytest.raises(NetworkError) as caught:
        batcher.upload(items, app_dir / "photos")
    assert caught.value.code == "bad_response"
    assert "photo batch answer" in caught.value.message or "cut off" in caught.value.message
    assert not any(p.uploaded for p in store.all_photos())


def test_record_uploads_is_one_non_durable_commit(store: Store, capture: Capture) -> None:
    items = _local_photos(capture, store, 3)
    store.record_uploads([])  # nothing to do
    store.record_uploads([p.id for p, _ in items[:2]])
    assert [store.get_photo(p.id).uploaded for p, _ in items] == [True, True, False]  # type: ignore[union-attr]
    with store.transaction() as tx:  # the store is back to synchronous=FULL
        assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2
    with store.transaction(), pytest.raises(RuntimeError, match="nested"):
        store.record_uploads([items[2][0].id])


# ---------------------------------------------------------------- against the real server

live_server = fx.live_server
tablet = fx.tablet

WORKERS = 4


def _together(count: int) -> fx.Rule:
    """Holds the first ``count`` batch requests until all are there: proof that they
    were in flight at once (one at a time, the barrier breaks after its timeout)."""
    barrier = threading.Barrier(count, timeout=20)
    seen = itertools.count()

    def rule(request: httpx.Request) -> fx.Fault | None:
        if request.url.path.endswith(BATCH_PATH) and next(seen) < count:
            barrier.wait()
        return None

    return rule


def _batches(tablet: fx.Tablet) -> int:
    return tablet.transport.count("POST", BATCH_PATH)


def _answered_batches(tablet: fx.Tablet) -> int:
    return sum(1 for s in tablet.transport.seen if s.path.endswith(BATCH_PATH) and s.status == 200)


def _pushed(tablet: fx.Tablet, reports: int, *, photos: int = 2) -> list[str]:
    """Reports pushed (their photos not yet: Wi-Fi-only without Wi-Fi)."""
    report_ids = [tablet.report(photos=photos, seed=i) for i in range(reports)]
    held = tablet.engine(wifi_only=lambda: True, on_wifi=lambda: False).sync_once()
    assert held.applied == reports and held.photos_sent == 0
    return report_ids


def _assert_delivered_once(
    tablet: fx.Tablet, app: FastAPI, report_ids: list[str], *, nothing_left: bool = True
) -> None:
    """Every photo of these reports received once (the case's count not moved twice),
    byte-identical, marked uploaded on the tablet; and nothing left to send."""
    engine = app.state.engine
    for report_id in report_ids:
        case = fx.server_case(engine, report_id)
        local = tablet.store.photos_of(report_id=report_id)
        assert case is not None and case.photos_received == case.photos_expected == len(local)
        remote = fx.server_photos(engine, report_id)
        assert {str(p.id) for p in remote} == {p.id for p in local}
        for photo in remote:
            assert photo.received_at is not None
            assert fx.stored_sha256(app, photo) == fx.local_sha256(tablet, str(photo.id))
        assert all(p.uploaded for p in local)
    if nothing_left:
        assert tablet.store.queue_stats().photos_pending == 0


def _photo_progress_is_monotonic(seen: list[SyncProgress]) -> None:
    for before, after in itertools.pairwise(seen):
        assert after.bytes_done >= before.bytes_done
    assert all(p.bytes_done <= p.bytes_total for p in seen)


def test_small_photos_go_in_batches_in_flight_at_once_and_arrive_byte_identical(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(8)]
    tablet.transport.add(_together(WORKERS))
    seen: list[SyncProgress] = []
    batcher = PhotoBatchUploader(tablet.client, max_photos=4)
    engine = tablet.engine(photo_workers=WORKERS, batcher=batcher, on_progress=seen.append)
    outcome = engine.sync_once()
    assert outcome.ok and outcome.error is None, outcome
    assert (outcome.applied, outcome.photos_sent) == (8, 16)
    _assert_delivered_once(tablet, live_server.app, report_ids)
    assert _batches(tablet) == 4  # 16 photos, 4 a batch, 4 in flight at once
    assert tablet.transport.count("POST", "/uploads") == 0
    assert batcher.supported is True
    _photo_progress_is_monotonic(seen)
    total = sum(p.size_bytes or 0 for p in tablet.store.all_photos())
    assert (seen[-1].phase, seen[-1].bytes_done, seen[-1].bytes_total) == ("done", total, total)
    again = engine.sync_once()
    assert again.ok and again.photos_sent == 0 and _batches(tablet) == 4


def test_a_refused_photo_does_not_hold_up_the_others(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = _pushed(tablet, 2)
    # A bug on the tablet: the photo's file and row changed after the report declared
    # it; the server refuses it (photo_mismatch), the three others arrive.
    wrong = tablet.store.photos_of(report_id=report_ids[0])[1]
    data = make_jpeg(seed=99, size=(40, 30))
    (tablet.photos_dir / (wrong.processed_path or "")).write_bytes(data)
    with tablet.store.transaction() as tx:
        tx.execute(
            "UPDATE photos SET sha256 = ?, size_bytes = ? WHERE id = ?",
            (hashlib.sha256(data).hexdigest(), len(data), wrong.id),
        )
    outcome = tablet.engine().sync_once()
    assert outcome.ok and outcome.error is None and outcome.photos_sent == 3, outcome
    assert _batches(tablet) == 1
    error = tablet.store.kv_get(KV_PHOTO_ERRORS)[wrong.id]
    assert error.startswith("photo_mismatch: the manifest does not match"), error
    assert not tablet.store.get_photo(wrong.id).uploaded  # type: ignore[union-attr]
    engine = live_server.app.state.engine
    case = fx.server_case(engine, report_ids[0])
    assert case is not None and case.photos_received == 1
    _assert_delivered_once(tablet, live_server.app, report_ids[1:], nothing_left=False)
    # the user's "sync now" offers it again: refused again, the reason kept
    again = tablet.engine().sync_once()
    assert again.photos_sent == 0 and _batches(tablet) == 2
    assert tablet.store.kv_get(KV_PHOTO_ERRORS)[wrong.id] == error


def test_a_photo_whose_report_the_server_lacks_waits_for_it(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    sent_id = _pushed(tablet, 1)[0]
    # A report the tablet believes applied but the server does not know (say, a
    # server restored from an older backup): its photos are offered, the server
    # answers photo_not_declared, and they wait without being set aside.
    waiting_id = tablet.report(photos=2, seed=7)
    (op,) = tablet.store.ops_for(waiting_id)
    with tablet.store.transaction() as tx:
        tx.set_op_state(op.op_id, "done")
    seen: list[SyncProgress] = []
    outcome = tablet.engine(on_progress=seen.append).sync_once()
    assert outcome.error is None and not outcome.ok  # the two still wait
    assert outcome.photos_sent == 2
    waiting = tablet.store.photos_of(report_id=waiting_id)
    assert not any(p.uploaded for p in waiting)
    assert not (tablet.store.kv_get(KV_PHOTO_ERRORS) or {})
    for photo in waiting:
        assert f"photo {photo.id} waits for its report" in seen[-1].message
    _assert_delivered_once(tablet, live_server.app, [sent_id], nothing_left=False)
    # the report goes after all: then its photos
    with tablet.store.transaction() as tx:
        tx.set_op_state(op.op_id, "pending")
    final = tablet.engine().sync_once()
    assert final.ok and final.applied == 1 and final.photos_sent == 2
    _assert_delivered_once(tablet, live_server.app, [sent_id, waiting_id])


def _damage(original: bytes) -> Callable[[httpx.Request], httpx.Request]:
    """A rewrite that flips one byte inside the photo's file part (same length)."""

    def rewrite(request: httpx.Request) -> httpx.Request:
        body = request.read()
        start = body.index(original)
        damaged = bytearray(body)
        damaged[start + len(original) // 2] ^= 0xFF
        return httpx.Request(
            request.method, request.url, headers=request.headers, content=bytes(damaged)
        )

    return rewrite


def test_a_photo_damaged_in_transit_is_sent_again_not_refused(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = _pushed(tablet, 2)
    victim = tablet.store.photos_of(report_id=report_ids[1])[0]
    original = (tablet.photos_dir / (victim.processed_path or "")).read_bytes()
    tablet.transport.fail(
        "POST",
        BATCH_PATH,
        fx.Fault("rewrite", rewrite=_damage(original)),
    )
    seen: list[SyncProgress] = []
    engine = tablet.engine(on_progress=seen.append)
    first = engine.sync_once()
    assert first.error is None and not first.ok and first.photos_sent == 3, first
    assert "1 photos arrived damaged and will be sent again" in seen[-1].message
    assert not (tablet.store.kv_get(KV_PHOTO_ERRORS) or {})  # not a refusal
    assert not tablet.store.get_photo(victim.id).uploaded  # type: ignore[union-attr]
    second = engine.sync_once()
    assert second.ok and second.photos_sent == 1
    assert _batches(tablet) == 2
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_a_lost_answer_to_a_batch_delivers_every_photo_once(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = _pushed(tablet, 3)
    tablet.transport.fail("POST", BATCH_PATH, fx.Fault("drop_response"))
    batcher = PhotoBatchUploader(tablet.client, max_photos=2)
    engine = tablet.engine(photo_workers=1, batcher=batcher)
    first = engine.sync_once()
    # the server stored the first batch; the tablet never heard, and stopped there
    assert not first.ok and first.error is not None and "ReadError" in first.error
    assert first.photos_sent == 0 and _batches(tablet) == 1
    assert first.retry_in_s is not None
    second = engine.sync_once()  # offered again: already_received, nothing counted twice
    assert second.ok and second.photos_sent == 6
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_batches_cut_off_by_a_server_that_stops_resume_next_cycle_without_duplicates(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    server = RestartableServer(settings)
    server.start()
    tab = fx.make_tablet(
        LiveServer(url=f"http://127.0.0.1:{server.port}", app=server.app_now), tmp_path / "t"
    )
    try:
        report_ids = _pushed(tab, 3)
        calls = itertools.count()

        def stop_at_second_batch(request: httpx.Request) -> fx.Fault | None:
            if request.url.path.endswith(BATCH_PATH) and next(calls) == 1:
                server.stop()  # the server goes down as the second batch sets out
            return None

        tab.transport.add(stop_at_second_batch)
        batcher = PhotoBatchUploader(tab.client, max_photos=2)
        engine = tab.engine(photo_workers=1, batcher=batcher)
        first = engine.sync_once()
        assert not first.ok and first.error is not None, first
        assert first.photos_sent == 2  # the first batch; no third batch was started
        assert _answered_batches(tab) == 1
        server.start()
        second = engine.sync_once()
        assert second.ok and second.photos_sent == 4, second
        assert _answered_batches(tab) == 3  # the first batch's photos were not sent again
        _assert_delivered_once(tab, server.app_now, report_ids)
    finally:
        tab.client.close()
        tab.store.close()
        server.stop()


def test_large_photos_go_by_tus_small_ones_in_a_batch(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_id = tablet.capture.create_draft(category="FIRE_LANE", grid=fx.GRID)
    tablet.capture.set_location(report_id, **LOCATION)
    tablet.capture.attach_photo(report_id, make_jpeg(seed=3, size=(1600, 1200)))
    for seed in (4, 5):
        tablet.capture.attach_photo(report_id, make_jpeg(seed=seed, size=(320, 240)))
    tablet.capture.submit(report_id)
    sizes = sorted(p.size_bytes or 0 for p in tablet.store.photos_of(report_id=report_id))
    assert sizes[-1] > MiB >= sizes[1]
    seen: list[SyncProgress] = []
    outcome = tablet.engine(on_progress=seen.append).sync_once()
    assert outcome.ok and outcome.photos_sent == 3, outcome
    assert _batches(tablet) == 1
    assert tablet.transport.count("POST", "/uploads") == 1  # the large one: POST + PATCH
    assert tablet.transport.count("PATCH", "/uploads/") >= 1
    _assert_delivered_once(tablet, live_server.app, [report_id])
    _photo_progress_is_monotonic(seen)
    assert (seen[-1].bytes_done, seen[-1].bytes_total) == (sum(sizes), sum(sizes))


def test_a_server_without_batches_gets_every_photo_by_tus_for_the_engines_lifetime(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    first_ids = [tablet.report(photos=2, seed=i) for i in range(2)]
    older = fx.Fault("status", status=404, body={"detail": "Not Found"})
    tablet.transport.fail("POST", BATCH_PATH, older, times=99)
    engine = tablet.engine()
    outcome = engine.sync_once()
    assert outcome.ok and outcome.photos_sent == 4, outcome
    assert tablet.transport.count("POST", "/uploads") == 4
    more_ids = [tablet.report(photos=2, seed=i) for i in range(2, 4)]
    assert engine.sync_once().photos_sent == 4
    assert _batches(tablet) == 1  # asked once
    assert tablet.transport.count("POST", "/uploads") == 8
    _assert_delivered_once(tablet, live_server.app, first_ids + more_ids)


def test_a_batch_over_the_servers_limit_goes_by_tus(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    app = live_server.app
    app.state.settings = app.state.settings.model_copy(update={"photo_batch_max_bytes": 64 * 1024})
    report_id = tablet.capture.create_draft(category="FIRE_LANE", grid=fx.GRID)
    tablet.capture.set_location(report_id, **LOCATION)
    for seed in range(3):
        tablet.capture.attach_photo(report_id, make_jpeg(seed=seed, size=(320, 240)))
    tablet.capture.submit(report_id)
    seen: list[SyncProgress] = []
    batcher = PhotoBatchUploader(tablet.client)
    outcome = tablet.engine(batcher=batcher, on_progress=seen.append).sync_once()
    assert outcome.ok and outcome.photos_sent == 3, outcome
    assert "photos sent one by one: HTTP 413 too_large" in seen[-1].message
    assert tablet.transport.count("POST", "/uploads") == 3
    assert batcher.max_bytes == MiB  # as small as a batch may get
    _assert_delivered_once(tablet, app, [report_id])


def test_a_failure_with_batches_in_flight_ends_the_phase_and_loses_nothing(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = _pushed(tablet, 6)
    tablet.transport.add(_together(WORKERS))  # the failing batch is one of four in flight
    tablet.transport.fail("POST", BATCH_PATH, fx.Fault("status", status=503))
    batcher = PhotoBatchUploader(tablet.client, max_photos=2)
    engine = tablet.engine(photo_workers=WORKERS, batcher=batcher)
    broken = engine.sync_once()
    assert not broken.ok and broken.error is not None and "503" in broken.error
    assert broken.retry_in_s is not None
    # the three in flight with it finished; no batch starts after the failure
    assert 2 * (WORKERS - 1) <= broken.photos_sent < 12
    assert len([p for p in tablet.store.all_photos() if p.uploaded]) == broken.photos_sent
    assert tablet.transport.count("POST", "/uploads") == 0  # no tus after a halt either
    healed = engine.sync_once()
    assert healed.ok and healed.photos_sent == 12 - broken.photos_sent
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_one_token_refresh_for_all_batches_in_flight(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = _pushed(tablet, 4)

    def expire_token(progress: SyncProgress) -> None:  # as the photo phase starts
        if progress.phase == "photos" and progress.bytes_done == 0:
            auth = dict(tablet.store.kv_get(KV_AUTH))
            auth["access_token"] = "expired-" + auth["access_token"][8:]
            with tablet.store.transaction() as tx:
                tx.kv_set(KV_AUTH, auth)

    tablet.transport.add(_together(WORKERS))  # four batches meet the 401 at once
    refreshes = tablet.transport.count("POST", "/auth/refresh")
    batcher = PhotoBatchUploader(tablet.client, max_photos=2)
    engine = tablet.engine(photo_workers=WORKERS, batcher=batcher, on_progress=expire_token)
    outcome = engine.sync_once()
    assert outcome.ok and outcome.photos_sent == 8, outcome
    assert tablet.transport.count("POST", "/auth/refresh") == refreshes + 1
    statuses = [s.status for s in tablet.transport.seen if s.path.endswith(BATCH_PATH)]
    assert statuses.count(401) == WORKERS and statuses.count(200) == WORKERS
    _assert_delivered_once(tablet, live_server.app, report_ids)


def test_a_refused_sign_in_stops_the_batches_and_keeps_the_photos(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    _pushed(tablet, 1)
    with tablet.store.transaction() as tx:  # the refresh token was revoked meanwhile
        tx.kv_set(KV_AUTH, {"access_token": "expired", "refresh_token": "revoked"})
    engine = tablet.engine()
    outcome = engine.sync_once()
    assert not outcome.ok and engine.auth_required
    assert outcome.error is not None and outcome.error.startswith("sign-in ended")
    assert not any(p.uploaded for p in tablet.store.all_photos())
    assert tablet.store.queue_stats().photos_pending == 2


def test_a_failure_recording_a_result_stops_the_batches_not_yet_started(
    tablet: fx.Tablet, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    report_ids = _pushed(tablet, 3)
    wrong = tablet.store.photos_of(report_id=report_ids[0])[0]
    data = make_jpeg(seed=98, size=(40, 30))
    (tablet.photos_dir / (wrong.processed_path or "")).write_bytes(data)
    with tablet.store.transaction() as tx:
        tx.execute(
            "UPDATE photos SET sha256 = ?, size_bytes = ? WHERE id = ?",
            (hashlib.sha256(data).hexdigest(), len(data), wrong.id),
        )
    engine = tablet.engine(photo_workers=1, batcher=PhotoBatchUploader(tablet.client, max_photos=2))

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "_photo_refused", disk_full)
    outcome = engine.sync_once()
    assert not outcome.ok and outcome.error is not None and "No space left" in outcome.error
    # recording the first batch's refusal failed: a batch the worker had already taken
    # up finishes, the third never starts
    assert _batches(tablet) in (1, 2)
    monkeypatch.undo()
    healed = engine.sync_once()
    assert healed.error is None
    assert len([p for p in tablet.store.all_photos() if p.uploaded]) == 5
    assert "photo_mismatch" in tablet.store.kv_get(KV_PHOTO_ERRORS)[wrong.id]
    _assert_delivered_once(tablet, live_server.app, report_ids[1:], nothing_left=False)
