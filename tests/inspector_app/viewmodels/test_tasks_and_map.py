"""Tasks (list by due date, recording a result through the outbox) and map markers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from inspector_app.core.capture import Capture, CaptureError
from inspector_app.core.photos import ImageRejected
from inspector_app.core.schema import KV_OWNER
from inspector_app.core.store import Store
from inspector_app.viewmodels.categories import category_index, load_categories
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.location_fix import Fix, LocationTracker
from inspector_app.viewmodels.map_layer import (
    DEFAULT_CENTRE,
    MARKER_GROUPS,
    MAX_REPORT_MARKERS,
    TASK_DUE_COLOUR,
    TASK_OVERDUE_COLOUR,
    centre_of,
    markers,
    metres_per_pixel,
    zoom_for,
)
from inspector_app.viewmodels.queries import counts
from inspector_app.viewmodels.report_list import ReportList
from inspector_app.viewmodels.screen_words import translator
from inspector_app.viewmodels.task_list import (
    TASK_KEY_PREFIX,
    TaskFlow,
    load_tasks,
    make_preview,
    task_counts,
)
from shared_schemas.reports import InspectionResult
from shared_schemas.sync import SyncOperation
from tests.inspector_app.viewmodels.screens_support import (  # noqa: F401 (fixtures)
    NOW,
    app_dir_fixture,
    capture_fixture,
    later,
    photo_file,
    reader_fixture,
    seed_task,
    sign_in_as,
    store_fixture,
)

T1 = "10000000-0000-4000-8000-000000000001"
T2 = "10000000-0000-4000-8000-000000000002"
T3 = "10000000-0000-4000-8000-000000000003"
C1 = "20000000-0000-4000-8000-000000000001"
EN = translator("en")


def _three_tasks(store: Store) -> None:
    seed_task(store, task_id=T1, case_id=C1, due=NOW + timedelta(days=2))
    seed_task(store, task_id=T2, case_id=C1, due=NOW - timedelta(days=1), kind="reinspection")
    seed_task(store, task_id=T3, case_id=C1, due=None, lat=None, lon=None)


def test_tasks_by_due_date_overdue_first(store: Store, reader: LocalReader) -> None:
    _three_tasks(store)
    tasks = load_tasks(reader)
    assert [t.id for t in tasks] == [T2, T1, T3]
    assert tasks[0].overdue(NOW) and not tasks[1].overdue(NOW) and not tasks[2].overdue(NOW)
    assert task_counts(tasks, NOW) == (3, 1)
    tiles = category_index(load_categories(reader))
    view = tasks[0].view(EN, "en", tiles, now=NOW)
    assert view["kind_text"] == "Re-inspection"
    assert view["due_text"].startswith("Overdue ")
    assert view["status_colour"] == "#b3121d" and view["open"] is True
    assert tasks[2].view(EN, "en", tiles, now=NOW)["due_text"] == "Due no deadline"


def test_recording_a_result_queues_inspection_create(
    capture: Capture, store: Store, reader: LocalReader, tmp_path: Path
) -> None:
    _three_tasks(store)
    flow = TaskFlow(capture=capture, reader=reader, task_id=T1)
    after = photo_file(tmp_path / "camera", "after.jpg")
    flow.add_photo(after)
    flow.set_note("通道已清理")
    # interrupted: a new flow on the same task has the photo and the note
    flow = TaskFlow(capture=capture, reader=reader, task_id=T1)
    assert flow.photos == [after] and flow.note == "通道已清理"
    fix = Fix(31.2657, 121.5297, 5.0, later(1))
    inspection_id = flow.record(rectified=True, location=fix)

    [op] = store.ops_for(inspection_id)
    assert op.kind == "inspection.create"
    assert store.get_task(T1).state == "done"  # type: ignore[union-attr]
    assert store.kv_get(TASK_KEY_PREFIX + T1) is None
    capture.processor.wait_idle()
    completed = store.get_op(op.op_id)
    assert completed is not None and completed.state == "pending"
    payload = SyncOperation.model_validate(completed.wire()).parsed_payload()
    assert isinstance(payload, InspectionResult)
    assert payload.rectified and payload.note == "通道已清理" and len(payload.photos) == 1
    assert payload.location is not None and payload.location.accuracy_m == 5.0

    done = {t.id: t for t in load_tasks(reader)}[T1]
    assert done.state == "done" and done.inspection_state == "queued"
    assert done.view(EN, "en", {}, now=NOW)["due_text"].startswith("Waiting to sync")
    assert [t.id for t in load_tasks(reader, include_done=False)] == [T2, T3]
    with pytest.raises(LookupError, match="not on this tablet"):
        TaskFlow(capture=capture, reader=reader, task_id="nope")
    flow = TaskFlow(capture=capture, reader=reader, task_id=T1)
    with pytest.raises(CaptureError, match="already done"):
        flow.add_photo(after)


def test_not_rectified_without_photos_and_bad_files(
    capture: Capture, store: Store, reader: LocalReader, tmp_path: Path
) -> None:
    _three_tasks(store)
    flow = TaskFlow(capture=capture, reader=reader, task_id=T2, max_photos=1)
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(ImageRejected):
        flow.add_photo(bad)
    one = photo_file(tmp_path, "1.jpg")
    flow.add_photo(one)
    with pytest.raises(CaptureError, match="at most 1"):
        flow.add_photo(photo_file(tmp_path, "2.jpg"))
    flow.remove_photo(one)
    flow.set_note("仍有车辆占用")
    inspection_id = flow.record(rectified=False)
    inspection = store.inspection(inspection_id)
    assert inspection is not None and inspection["rectified"] == 0
    [op] = store.ops_for(inspection_id)
    assert op.state == "pending"  # no photos: ready at once


def test_preview_is_small_and_upright(tmp_path: Path) -> None:
    source = photo_file(tmp_path, "big.jpg", width=1200, height=800, orientation=6)
    preview = make_preview(source, tmp_path / "previews" / "big.jpg")
    with Image.open(preview) as img:
        assert max(img.size) <= 256 and img.height > img.width


def test_markers_coloured_by_state(capture: Capture, store: Store, reader: LocalReader) -> None:
    _three_tasks(store)
    rid = capture.create_draft(category="GARBAGE")
    capture.set_location(rid, lat=31.26, lon=121.53, accuracy_m=5, source="gps", captured_at=NOW)
    capture.create_draft(category="GARBAGE")  # no location: no marker
    rows = ReportList(reader=reader, photos_root=capture.photos_root).load()
    found = markers(rows, load_tasks(reader), now=NOW)
    assert [(m.kind, m.state) for m in found] == [
        ("report", "draft"),
        ("task", "overdue"),
        ("task", "open"),
    ]
    assert found[0].colour == MARKER_GROUPS["unsent"][0]
    assert (found[1].colour, found[2].colour) == (TASK_OVERDUE_COLOUR, TASK_DUE_COLOUR)
    with store.transaction() as tx:
        tx.set_case(rid, case_id=rid, status="closed")
    rows = ReportList(reader=reader, photos_root=capture.photos_root).load()
    closed = markers(rows, [], now=NOW)[0]
    assert (closed.state, closed.colour) == ("closed", MARKER_GROUPS["done_case"][0])
    assert len({colour for colour, _msgid in MARKER_GROUPS.values()}) == len(MARKER_GROUPS)


def test_marker_cap_centre_and_zoom() -> None:
    assert centre_of([]) == DEFAULT_CENTRE
    assert centre_of([(31.0, 121.0), (31.2, 121.4)]) == pytest.approx((31.1, 121.2))
    assert zoom_for([(31.0, 121.0)]) == 17
    assert zoom_for([(31.0, 121.0), (31.001, 121.001)]) == 17
    assert zoom_for([(31.0, 121.0), (31.3, 121.0)]) < 12
    assert 0.5 < metres_per_pixel(31.0, 18) < 0.6
    assert MAX_REPORT_MARKERS >= 100


def test_location_tracker_rules() -> None:
    tracker = LocationTracker(target_m=10, patience_s=30, started_at=NOW)
    assert tracker.state == "waiting" and not tracker.offer_fallbacks(later(0))
    assert tracker.offer_fallbacks(NOW + timedelta(seconds=31))
    with pytest.raises(ValueError, match="lat"):
        tracker.on_fix(Fix(91.0, 0.0, 5.0, NOW))
    assert tracker.on_fix(Fix(1.0, 1.0, 9.0, NOW)) is not None
    assert tracker.on_fix(Fix(1.0, 1.0, 9.5, NOW)) is None  # not better than the chosen
    assert tracker.on_fix(Fix(1.0, 1.0, 2.0, NOW)) is not None  # better: taken
    with pytest.raises(ValueError, match="positive"):
        LocationTracker(target_m=0, started_at=NOW)


def test_tasks_another_user_answered_here_are_not_listed(
    capture: Capture, store: Store, reader: LocalReader, tmp_path: Path
) -> None:
    """li answered T1 on this tablet, then wang signed in (forget_previous_user keeps
    answered tasks for their results): wang sees the tasks pulled for wang only."""
    sign_in_as(store, "li")
    _three_tasks(store)
    flow = TaskFlow(capture=capture, reader=reader, task_id=T1)
    flow.add_photo(photo_file(tmp_path / "camera", "after.jpg"))
    inspection_id = flow.record(rectified=True, location=Fix(31.2657, 121.5297, 5.0, later(1)))
    with store.transaction() as tx:
        tx.execute("UPDATE inspections SET state = 'rejected' WHERE id = ?", (inspection_id,))
    assert counts(store, now=NOW).failed == 1
    with store.transaction() as tx:
        tx.kv_set(KV_OWNER, "wang")
        tx.forget_previous_user()
    assert [t.id for t in load_tasks(reader)] == []
    assert counts(store, now=NOW).failed == 0
    seed_task(store, task_id=T2, case_id=C1, due=NOW + timedelta(days=1))  # wang's
    assert [t.id for t in load_tasks(reader)] == [T2]
    sign_in_as(store, "li")
    assert T1 in {t.id for t in load_tasks(reader)}
    assert counts(store, now=NOW).failed == 1
