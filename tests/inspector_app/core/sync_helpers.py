"""Shared pieces of the sync robustness tests (chaos, kill, stateful): a tablet (store,
capture, client, engine) in a directory, reports with unique photos, and the end checks
"nothing lost, nothing duplicated, photos byte-identical, queue empty, store sound"."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from inspector_app.core.api_client import ApiClient
from inspector_app.core.capture import PHOTO_SUBDIRS, Capture
from inspector_app.core.files import is_temp_name
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import SyncEngine
from server.cases.models import Case, CaseEvent, Photo
from server.storage.base import PhotoStorage
from server.sync.models import ProcessedOperation
from tests.world import PASSWORD

INSPECTOR = "inspector_a"
GRID = "G_A"  # inspector_a's grid in tests/world.py
DB_NAME = "whistle.db"  # the sync command line's layout: DIR/whistle.db, DIR/photos
PHOTOS = "photos"


@contextmanager
def fast_directory(fallback: Path) -> Iterator[Path]:
    """A fresh directory on tmpfs (/dev/shm) when there is one, else under ``fallback``.

    The tablet fsyncs every photo and commit (~12 fsyncs a report, ~7 ms each on the CI
    disk): on tmpfs fsync is free. These tests kill processes, not the power, so what
    they check does not depend on the disk honouring fsync (test_kill covers saving)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="whistle-sync-", dir=shm))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return
    path = fallback / "fast"
    path.mkdir(parents=True, exist_ok=True)
    yield path


def unique_jpeg(index: int, which: int, *, edge: int = 48) -> bytes:
    """A small JPEG whose bytes differ for every (index, which), even after processing:
    noise from a seeded generator (uniform colours could collide after re-encoding)."""
    rng = random.Random(index * 16 + which)
    img = Image.frombytes("RGB", (edge, edge), rng.randbytes(edge * edge * 3))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class Tablet:
    """The app's sync side in ``root`` (``root/whistle.db``, ``root/photos``)."""

    root: Path
    store: Store
    client: ApiClient
    capture: Capture
    engine: SyncEngine

    @classmethod
    def open(
        cls,
        root: Path,
        server_url: str,
        *,
        seed: int = 0,
        timeout_s: float = 10.0,
        chunk_size: int = 8 * 1024,
        batch_size: int = 100,
    ) -> Tablet:
        store = Store(root / DB_NAME)
        capture = Capture(store, root / PHOTOS, PhotoProcessor(background=False))
        capture.recover()  # as the app does at start-up
        client = ApiClient(store=store, base_url=server_url, timeout_s=timeout_s)
        engine = SyncEngine(
            store=store,
            client=client,
            photos_dir=root / PHOTOS,
            rng=random.Random(seed),
            chunk_size=chunk_size,
            batch_size=batch_size,
        )
        return cls(root=root, store=store, client=client, capture=capture, engine=engine)

    def sign_in(self, username: str = INSPECTOR) -> None:
        self.client.login(username=username, password=PASSWORD)

    def close(self) -> None:
        self.engine.stop()
        self.client.close()
        self.store.close()

    def save_report(self, index: int, *, photos: int = 2, grid: str = GRID) -> str:
        """A submitted report with ``photos`` unique photos (processed inline)."""
        return save_report(self.capture, index, photos=photos, grid=grid)


def save_report(capture: Capture, index: int, *, photos: int = 2, grid: str = GRID) -> str:
    report_id = capture.create_draft(
        category="FIRE_LANE", grid=grid, description=f"消防通道堵塞 #{index}"
    )
    capture.set_location(
        report_id,
        lat=31.23 + index * 1e-5,
        lon=121.47,
        accuracy_m=6.0,
        source="gps",
        captured_at=datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
    )
    for which in range(photos):
        capture.attach_photo(report_id, unique_jpeg(index, which))
    capture.submit(report_id)
    return report_id


# ---------------------------------------------------------------- checks


def check_store_sound(store: Store, photos_root: Path) -> None:
    """The tablet's store after any crash: integrity, foreign keys, no orphan or temporary
    files, every photo row with its files."""
    assert store.integrity_check() == "ok"
    assert store.foreign_key_problems() == []
    photos = store.all_photos()
    known = {p.id for p in photos}
    for sub in PHOTO_SUBDIRS:
        directory = photos_root / sub
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            assert not is_temp_name(path.name), f"temporary file left: {path}"
            assert path.name.split(".", 1)[0] in known, f"orphan file: {path}"
    for photo in photos:
        assert (photos_root / photo.original_path).is_file(), photo.id
        if photo.processed_path:
            assert (photos_root / photo.processed_path).is_file(), photo.id


@dataclass(frozen=True)
class ServerView:
    cases: dict[str, Case]
    photos: dict[str, Photo]
    report_events: Counter[str]  # case id -> number of "report" events
    amend_events: Counter[str]
    processed: dict[str, ProcessedOperation]  # op_id -> stored result, for the device


def server_view(engine: Engine, *, report_ids: set[str], device_id: str) -> ServerView:
    ids = [UUID(r) for r in report_ids]
    with Session(engine) as session:
        cases = {str(c.id): c for c in session.exec(select(Case).where(col(Case.id).in_(ids)))}
        # also every case this device created: an extra one would be a duplicate
        for case in session.exec(select(Case).where(Case.device_id == device_id)):
            cases[str(case.id)] = case
        case_ids = [c.id for c in cases.values()]
        photos = {
            str(p.id): p
            for p in session.exec(select(Photo).where(col(Photo.case_id).in_(case_ids)))
        }
        events = session.exec(
            select(CaseEvent.case_id, CaseEvent.action).where(col(CaseEvent.case_id).in_(case_ids))
        ).all()
        processed = {
            str(p.op_id): p
            for p in session.exec(
                select(ProcessedOperation).where(ProcessedOperation.device_id == device_id)
            )
        }
    return ServerView(
        cases=cases,
        photos=photos,
        report_events=Counter(str(case_id) for case_id, action in events if action == "report"),
        amend_events=Counter(str(case_id) for case_id, action in events if action == "amend"),
        processed=processed,
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_all_arrived_once(
    *,
    store: Store,
    photos_root: Path,
    device_id: str,
    engine: Engine,
    storage: PhotoStorage,
) -> dict[str, Any]:
    """The end state after a final sync: every submitted report on the server exactly
    once, every photo received and byte-identical to the tablet's file, every operation
    applied exactly once, and the tablet's queue empty. Returns a few counts."""
    reports = {r.id: r for r in store.list_reports() if r.state != "draft"}
    view = server_view(engine, report_ids=set(reports), device_id=device_id)
    missing = set(reports) - set(view.cases)
    extra = set(view.cases) - set(reports)
    assert not missing, f"lost on the way: {sorted(missing)[:5]} ({len(missing)})"
    assert not extra, f"cases the tablet never made: {sorted(extra)[:5]}"
    doubled = {c: n for c, n in view.report_events.items() if n != 1}
    assert not doubled and set(view.report_events) == set(reports), f"report events {doubled}"

    local_photos = {p.id: p for r in reports for p in store.photos_of(report_id=r)}
    assert set(view.photos) == set(local_photos), "photo rows differ from the tablet's"
    for photo_id, local in local_photos.items():
        remote = view.photos[photo_id]
        assert local.uploaded, f"photo {photo_id} not marked uploaded on the tablet"
        assert remote.received_at is not None, f"photo {photo_id} not received"
        assert remote.storage_key is not None
        tablet_file = photos_root / (local.processed_path or "")
        tablet_sha = file_sha256(tablet_file)
        stored_sha = hashlib.sha256(storage.read_bytes(remote.storage_key)).hexdigest()
        assert stored_sha == tablet_sha == remote.sha256 == local.sha256, photo_id
    for report_id in reports:
        case = view.cases[report_id]
        count = len(store.photos_of(report_id=report_id))
        assert (case.photos_expected, case.photos_received) == (count, count), report_id

    ops = store.list_ops()
    not_done = [(op.kind, op.state, op.last_error) for op in ops if op.state != "done"]
    assert not not_done, f"operations not done: {not_done[:5]} ({len(not_done)})"
    assert set(view.processed) == {op.op_id for op in ops}, "ops stored on the server differ"
    statuses = Counter(p.status.value for p in view.processed.values())
    assert set(statuses) <= {"applied"}, statuses
    stats = store.queue_stats()
    assert (stats.queue_depth, stats.photos_pending) == (0, 0), stats
    return {"reports": len(reports), "photos": len(local_photos), "ops": len(ops)}
