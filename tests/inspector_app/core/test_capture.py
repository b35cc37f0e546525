"""The capture API: drafts, photos, submit, amend, verification, crash recovery."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from inspector_app.core.capture import (
    AmendNotAllowed,
    Capture,
    CaptureError,
    NotFound,
    SubmitError,
)
from inspector_app.core.photos import Completion, ImageRejected, PhotoJob, PhotoProcessor
from inspector_app.core.store import Store
from shared_schemas.reports import HazardReport, InspectionResult, ReportAmend
from shared_schemas.sync import SyncOperation
from tests.inspector_app.core import images
from tests.inspector_app.core.conftest import LOCATION, complete_draft


def _wire(store: Store, op_id: str) -> SyncOperation:
    op = store.get_op(op_id)
    assert op is not None
    return SyncOperation.model_validate(op.wire())


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_draft_to_queued_with_a_valid_report_create(capture: Capture, store: Store) -> None:
    report_id = capture.create_draft(category="FIRE_LANE")
    assert uuid.UUID(report_id).version == 4
    capture.update_draft(report_id, description="  消防通道被三轮车堵塞  ", address="3号楼东侧")
    capture.set_location(report_id, **LOCATION)
    capture.update_draft(report_id, grid="G-01")
    first = capture.attach_photo(report_id, images.jpeg(orientation=6, gps=True))
    second = capture.attach_photo(report_id, images.jpeg(colour=(1, 2, 3)))
    op_id = capture.submit(report_id)

    report = store.get_report(report_id)
    assert report is not None and report.state == "queued"
    assert report.severity == "major"  # FIRE_LANE's default from the taxonomy
    op = _wire(store, op_id)
    payload = op.parsed_payload()
    assert isinstance(payload, HazardReport)
    assert HazardReport.model_validate(op.payload) == payload
    assert payload.description == "消防通道被三轮车堵塞"
    assert [str(p.id) for p in payload.photos] == [first, second]
    photo = store.get_photo(first)
    assert photo is not None and photo.processed
    assert payload.photos[0].sha256 == photo.sha256 != photo.original_sha256
    assert (payload.photos[0].width, payload.photos[0].height) == (48, 64)  # rotated
    assert store.get_op(op_id).state == "pending"  # type: ignore[union-attr]


def test_submit_names_everything_missing(capture: Capture, store: Store) -> None:
    report_id = capture.create_draft()
    with pytest.raises(SubmitError) as caught:
        capture.submit(report_id)
    message = str(caught.value)
    for word in ("category", "photo", "location", "grid"):
        assert word in message
    assert len(caught.value.missing) == 4
    capture.update_draft(report_id, category="GARBAGE", grid="G1")
    capture.set_location(report_id, **LOCATION)
    with pytest.raises(SubmitError, match="photo") as caught:
        capture.submit(report_id)
    assert len(caught.value.missing) == 1
    assert store.get_report(report_id).state == "draft"  # type: ignore[union-attr]
    assert store.list_ops() == []


def test_fields_are_checked_when_set(capture: Capture) -> None:
    with pytest.raises(CaptureError, match="category"):
        capture.create_draft(category="NOT_A_CODE")
    report_id = capture.create_draft()
    with pytest.raises(CaptureError, match="description"):
        capture.update_draft(report_id, description="x" * 2001)
    with pytest.raises(CaptureError, match="grid"):
        capture.update_draft(report_id, grid="网格 1")
    with pytest.raises(CaptureError, match="location lat"):
        capture.set_location(report_id, **{**LOCATION, "lat": 91})
    with pytest.raises(CaptureError, match="not a field"):
        capture.update_draft(report_id, colour="red")
    with pytest.raises(NotFound):
        capture.update_draft(str(uuid.uuid4()), description="x")


def test_report_is_durable_before_its_photos_are_processed(store: Store, app_dir: Path) -> None:
    """With a slow worker the op waits, then gets the descriptors in one transaction."""
    gate = threading.Event()

    class SlowProcessor(PhotoProcessor):
        def _run(self, job: PhotoJob, on_done: Completion) -> None:
            gate.wait(10)
            super()._run(job, on_done)

    processor = SlowProcessor()
    capture = Capture(store, app_dir / "photos", processor)
    try:
        report_id = complete_draft(capture, photos=2)
        op_id = capture.submit(report_id)
        op = store.get_op(op_id)
        assert op is not None and op.state == "waiting_photos" and op.payload["photos"] == []
        assert store.ready_batch() == []
        gate.set()
        processor.wait_idle()
    finally:
        processor.shutdown()
    op = store.get_op(op_id)
    assert op is not None and op.state == "pending"
    assert len(HazardReport.model_validate(op.payload).photos) == 2


def test_not_an_image_is_refused_and_leaves_nothing(capture: Capture, app_dir: Path) -> None:
    report_id = capture.create_draft()
    bad = app_dir / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ImageRejected, match=r"notes\.txt is not a usable photo"):
        capture.attach_photo(report_id, bad)
    assert capture.store.photos_of(report_id=report_id) == []
    assert _files(app_dir / "photos") == set()


def test_remove_photo_and_discard_draft_remove_files(capture: Capture, app_dir: Path) -> None:
    report_id = complete_draft(capture, photos=2)
    photos = capture.store.photos_of(report_id=report_id)
    assert len(_files(app_dir / "photos")) == 6  # original, processed, thumb each
    capture.remove_photo(photos[0].id)
    assert len(_files(app_dir / "photos")) == 3
    capture.discard_draft(report_id)
    assert capture.store.get_report(report_id) is None
    assert _files(app_dir / "photos") == set()


def test_submitted_reports_are_frozen_for_drafting(capture: Capture) -> None:
    report_id = complete_draft(capture)
    capture.submit(report_id)
    with pytest.raises(CaptureError, match="already submitted"):
        capture.submit(report_id)
    with pytest.raises(CaptureError, match="already submitted"):
        capture.attach_photo(report_id, images.jpeg())
    with pytest.raises(CaptureError, match="already submitted"):
        capture.update_draft(report_id, description="late")


def test_at_most_twelve_photos(capture: Capture) -> None:
    report_id = complete_draft(capture, photos=12)
    with pytest.raises(CaptureError, match="at most 12"):
        capture.attach_photo(report_id, images.jpeg())


def test_amend_while_not_registered(capture: Capture, store: Store) -> None:
    report_id = complete_draft(capture, description="old")
    with pytest.raises(AmendNotAllowed, match="draft"):
        capture.amend(report_id, description="new")
    capture.submit(report_id)
    op_id = capture.amend(
        report_id, description="new", severity="minor", category="FIRE_LANE", location=LOCATION
    )
    op = _wire(store, op_id)
    payload = op.parsed_payload()
    assert isinstance(payload, ReportAmend)
    # unchanged values (category, location) are not sent
    assert op.payload == {"id": report_id, "description": "new", "severity": "minor"}
    report = store.get_report(report_id)
    assert report is not None and report.description == "new" and report.severity == "minor"
    with pytest.raises(CaptureError, match="nothing to amend"):
        capture.amend(report_id, description="new")
    with store.transaction() as tx:
        tx.set_case(report_id, status="reported")
    capture.amend(report_id, address="南门")
    with store.transaction() as tx:
        tx.set_case(report_id, status="registered")
    with pytest.raises(AmendNotAllowed, match="registered"):
        capture.amend(report_id, address="北门")
    ops = store.ops_for(report_id)
    assert [o.kind for o in ops] == ["report.create", "report.amend", "report.amend"]
    assert [o.seq for o in ops] == sorted({o.seq for o in ops})


def test_record_verification(capture: Capture, store: Store) -> None:
    task_id, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    with store.transaction() as tx:
        tx.upsert_task(task_id, case_id=case_id, data={"kind": "verification"})
    inspection_id = capture.record_verification(
        task_id,
        rectified=True,
        note="已清理",
        photos=[images.jpeg(), images.jpeg(colour=(9, 9, 9))],
        location=LOCATION,
    )
    (op,) = store.ops_for(inspection_id)
    assert op.kind == "inspection.create" and op.state == "pending"
    wire = SyncOperation.model_validate(op.wire())
    result = wire.parsed_payload()
    assert isinstance(result, InspectionResult)
    assert InspectionResult.model_validate(op.payload) == result
    assert (str(result.task_id), str(result.case_id), result.rectified) == (task_id, case_id, True)
    assert len(result.photos) == 2
    assert all(p.kind == "after" for p in store.photos_of(inspection_id=inspection_id))
    assert store.get_task(task_id).state == "done"  # type: ignore[union-attr]
    with pytest.raises(CaptureError, match="already done"):
        capture.record_verification(task_id, rectified=False)
    with pytest.raises(NotFound):
        capture.record_verification(str(uuid.uuid4()), rectified=False)


def test_verification_without_photos_is_pending_at_once(capture: Capture, store: Store) -> None:
    task_id = str(uuid.uuid4())
    with store.transaction() as tx:
        tx.upsert_task(task_id, case_id=str(uuid.uuid4()), data={})
    inspection_id = capture.record_verification(task_id, rectified=False, note="仍堵塞")
    (op,) = store.ops_for(inspection_id)
    assert op.state == "pending"
    SyncOperation.model_validate(op.wire()).parsed_payload()


def test_recover_after_a_crash(store: Store, app_dir: Path) -> None:
    """Temp files and unrecorded files go; 'sending' goes back; processing is redone."""

    class NeverRuns(PhotoProcessor):
        def submit(self, job: PhotoJob, on_done: Completion) -> None:
            pass  # the app died before processing

    crashed = Capture(store, app_dir / "photos", NeverRuns())
    report_id = complete_draft(crashed, photos=2)
    op_id = crashed.submit(report_id)
    other = complete_draft(crashed)
    root = app_dir / "photos"
    (root / "originals" / ".abc.jpg.tmp-1234").write_bytes(b"half")
    (root / "processed" / f"{uuid.uuid4()}.jpg").write_bytes(b"unrecorded")
    with store.transaction() as tx:
        tx.add_op(op_id="x-op", kind="report.amend", entity_id=other, payload={"id": other})
        tx.mark_sending(["x-op"])

    capture = Capture(store, root, PhotoProcessor(background=False))
    report = capture.recover()
    assert report.sending_reset == 1
    assert len(report.files_removed) == 2
    assert report.photos_requeued == 3
    op = store.get_op(op_id)
    assert op is not None and op.state == "pending"
    HazardReport.model_validate(op.payload)
    assert store.get_op("x-op").state == "pending"  # type: ignore[union-attr]
    assert all(p.processed for p in store.all_photos())
    known = {p.id for p in store.all_photos()}
    assert {Path(f).name.split(".")[0] for f in _files(root)} == known
    again = capture.recover()
    assert (again.sending_reset, again.files_removed, again.photos_requeued) == (0, [], 0)
