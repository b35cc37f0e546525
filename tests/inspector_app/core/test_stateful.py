"""A hypothesis state machine over the store and the capture API, with restarts.

Photo processing is deferred (a rule runs the queued jobs), so operations are seen waiting
for photos, and a restart can lose the jobs in flight, as a crash would.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
)

from inspector_app.core.capture import (
    AmendNotAllowed,
    Capture,
    CaptureError,
    SubmitError,
)
from inspector_app.core.files import is_temp_name
from inspector_app.core.photos import Completion, PhotoJob, PhotoProcessor
from inspector_app.core.store import Store
from shared_schemas.sync import SyncOperation
from tests.inspector_app.core import images

LOCATION: dict[str, Any] = {
    "lat": 31.23,
    "lon": 121.47,
    "accuracy_m": 12.0,
    "source": "gps",
    "captured_at": datetime(2026, 5, 1, tzinfo=UTC),
}


class DeferredProcessor(PhotoProcessor):
    """Keeps jobs until ``run_all``: the background worker, under the test's control."""

    def __init__(self) -> None:
        super().__init__(background=False)
        self.jobs: list[tuple[PhotoJob, Completion]] = []

    def submit(self, job: PhotoJob, on_done: Completion) -> None:
        self.jobs.append((job, on_done))

    def run_all(self) -> None:
        jobs, self.jobs = self.jobs, []
        for job, on_done in jobs:
            self._run(job, on_done)


class CaptureMachine(RuleBasedStateMachine):
    drafts = Bundle("drafts")
    queued = Bundle("queued")

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="whistle-sm-"))
        self.expected_queued: set[str] = set()
        self.photo_count: dict[str, int] = {}
        self.complete: dict[str, set[str]] = {}
        self._open()

    def _open(self) -> None:
        self.store = Store(self.dir / "whistle.db")
        self.processor = DeferredProcessor()
        self.capture = Capture(self.store, self.dir / "photos", self.processor)

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ rules
    @rule(target=drafts, category=st.none() | st.sampled_from(["GARBAGE", "FIRE_LANE", "OTHER"]))
    def create_draft(self, category: str | None) -> str:
        report_id = self.capture.create_draft(category=category)
        self.photo_count[report_id] = 0
        self.complete[report_id] = {"category"} if category else set()
        return report_id

    @rule(report_id=drafts, grid=st.sampled_from(["G1", "G-2"]), text=st.text(max_size=30))
    def fill_in(self, report_id: str, grid: str, text: str) -> None:
        if report_id in self.expected_queued:
            return
        self.capture.update_draft(report_id, grid=grid, description=text)
        self.capture.set_location(report_id, **LOCATION)
        self.complete[report_id] |= {"grid", "location"}

    @rule(
        report_id=drafts,
        size=st.tuples(st.integers(8, 80), st.integers(8, 80)),
        orientation=st.sampled_from([None, 1, 3, 6, 8]),
    )
    def attach_photo(self, report_id: str, size: tuple[int, int], orientation: int | None) -> None:
        if report_id in self.expected_queued or self.photo_count[report_id] >= 12:
            return
        self.capture.attach_photo(report_id, images.jpeg(*size, orientation=orientation))
        self.photo_count[report_id] += 1

    @rule(report_id=drafts)
    def remove_photo(self, report_id: str) -> None:
        photos = self.store.photos_of(report_id=report_id)
        if report_id in self.expected_queued or not photos:
            return
        self.capture.remove_photo(photos[-1].id)
        self.photo_count[report_id] -= 1

    @rule(target=queued, report_id=drafts)
    def submit(self, report_id: str) -> str:
        if report_id in self.expected_queued:
            with pytest.raises(CaptureError, match="already submitted"):
                self.capture.submit(report_id)
            return report_id
        ready = self.complete[report_id] >= {"category", "grid", "location"} and (
            self.photo_count[report_id] > 0
        )
        try:
            self.capture.submit(report_id)
        except SubmitError:
            assert not ready
            return report_id  # still a draft; amend refuses it
        assert ready
        self.expected_queued.add(report_id)
        return report_id

    @rule(report_id=queued, address=st.text(min_size=1, max_size=20))
    def amend(self, report_id: str, address: str) -> None:
        report = self.store.get_report(report_id)
        assert report is not None
        try:
            self.capture.amend(report_id, address=address)
        except AmendNotAllowed:
            assert report_id not in self.expected_queued or report.case_status == "registered"
        except CaptureError:
            pass  # nothing changed (same address after stripping) or still a draft

    @rule(report_id=queued)
    def register_on_server(self, report_id: str) -> None:
        if report_id in self.expected_queued:
            with self.store.transaction() as tx:
                tx.set_case(report_id, case_id=str(uuid.uuid4()), status="registered")

    @rule(rectified=st.booleans(), photos=st.integers(0, 2))
    def record_verification(self, rectified: bool, photos: int) -> None:
        task_id = str(uuid.uuid4())
        with self.store.transaction() as tx:
            tx.upsert_task(task_id, case_id=str(uuid.uuid4()), data={})
        self.capture.record_verification(
            task_id, rectified=rectified, photos=[images.jpeg(20, 10)] * photos
        )

    @rule()
    def process_photos(self) -> None:
        self.processor.run_all()

    @rule(leave_debris=st.booleans())
    def restart(self, leave_debris: bool) -> None:
        """Close and reopen (jobs in flight are lost, as in a crash), then recover."""
        self.store.close()
        if leave_debris:  # what a kill mid-write leaves: a temp file, an unrecorded file
            (self.dir / "photos" / "originals" / f".x.jpg.tmp-{uuid.uuid4().hex[:6]}").write_bytes(
                b""
            )
            (self.dir / "photos" / "processed" / f"{uuid.uuid4()}.jpg").write_bytes(b"x")
        self._open()
        self.capture.recover()
        self._assert_no_orphans()

    @invariant()
    def no_orphan_files(self) -> None:
        self._assert_no_orphans()

    def _assert_no_orphans(self) -> None:
        known = {p.id for p in self.store.all_photos()}
        for path in (self.dir / "photos").rglob("*"):
            if path.is_file():
                assert not is_temp_name(path.name), path
                assert path.name.split(".")[0] in known, path
        for photo in self.store.all_photos():
            assert (self.dir / "photos" / photo.original_path).is_file()

    # ------------------------------------------------------------ invariants
    @invariant()
    def outbox_is_consistent(self) -> None:
        ops = self.store.list_ops()
        seqs = [op.seq for op in ops]
        assert seqs == sorted(set(seqs)), "seq strictly increasing"
        creates = [op.entity_id for op in ops if op.kind == "report.create"]
        assert len(creates) == len(set(creates)), "one create op per report"
        queued = {r.id for r in self.store.list_reports() if r.state != "draft"}
        assert set(creates) == queued == self.expected_queued
        for op in ops:
            wire = SyncOperation.model_validate(op.wire())
            if op.state == "waiting_photos":
                assert op.payload["photos"] == []
                assert self.store.op_photo_ids(op.op_id)
            else:
                assert op.state == "pending"
                wire.parsed_payload()

    @invariant()
    def store_is_sound(self) -> None:
        assert self.store.foreign_key_problems() == []


CaptureMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaptureStateMachine = CaptureMachine.TestCase
