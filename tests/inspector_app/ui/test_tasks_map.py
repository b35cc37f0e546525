"""Tasks and the map in the real window: a verification into the outbox; markers offline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.inspector_app.ui.conftest import AppFactory
from tests.inspector_app.ui.work_support import (  # noqa: F401 (fixture)
    bulk_reports,
    no_tiles,
    photo,
    signed_in_tablet,
    task,
)

pytestmark = pytest.mark.usefixtures("no_tiles")

T_LATE = "10000000-0000-4000-8000-000000000001"
T_SOON = "10000000-0000-4000-8000-000000000002"
CASE = "20000000-0000-4000-8000-000000000001"


def test_task_flow_puts_an_inspection_in_the_outbox(ui_factory: AppFactory, tmp_path: Path) -> None:
    from inspector_app.platform.fake import fix
    from shared_schemas.reports import InspectionResult
    from shared_schemas.sync import SyncOperation

    data = signed_in_tablet(tmp_path / "tablet")
    d = ui_factory(data_dir=data)
    now = d.app.ctx.clock()
    task(data, task_id=T_SOON, case_id=CASE, due=now + timedelta(days=3))
    task(data, task_id=T_LATE, case_id=CASE, due=now - timedelta(days=1))
    d.app.data_changed()
    d.pump(2)
    d.wait_until(lambda: d.screen.ids.tasks_overdue.count == 1, what="the home count")
    d.tap(d.screen.ids.tasks_overdue)
    assert d.screen_name == "tasks"
    rows = d.screen.ids.list.children
    assert len(rows) == 1 and rows[0].task_id == T_LATE and rows[0].due_text.startswith("Overdue")
    d.tap(d.screen.ids.filters.button_for("open"))
    assert [r.task_id for r in reversed(d.screen.ids.list.children)] == [T_LATE, T_SOON]

    d.platform.location.fixes = [fix(31.2657, 121.5297, 7.0)]
    d.platform.camera.photos = [photo(d.app.ctx.data_dir / "camera" / "after.jpg")]
    d.tap(d.screen.ids.list.children[-1])  # the first row
    assert d.screen_name == "task_detail"
    s = d.screen
    assert s.is_open and s.due_text.startswith("Overdue")
    d.tap(s.ids.take_photo)
    d.wait_idle()
    assert len(s.flow.photos) == 1
    d.wait_until(lambda: s.ids.photo_strip.children[0].source, what="the preview")
    d.type_text(s.ids.note, "通道已清理")
    d.tap(s.ids.rectified)
    d.wait_idle()
    assert d.screen_name == "tasks"

    store = d.app.ctx.store
    [op] = [o for o in store.list_ops() if o.kind == "inspection.create"]
    assert store.get_task(T_LATE).state == "done"
    d.app.ctx.processor.wait_idle()
    op = store.get_op(op.op_id)
    assert op is not None and op.state == "pending"
    payload = SyncOperation.model_validate(op.wire()).parsed_payload()
    assert isinstance(payload, InspectionResult)
    assert payload.rectified and payload.note == "通道已清理" and len(payload.photos) == 1
    assert payload.location is not None and payload.location.accuracy_m == 7.0
    assert not (d.app.ctx.data_dir / "camera" / "after.jpg").exists()  # copied, then dropped

    d.tap(d.screen.ids.filters.button_for("done"))
    [done] = d.screen.ids.list.children
    assert done.task_id == T_LATE and done.due_text.startswith("Waiting to sync")


def test_map_shows_markers_without_network(ui_factory: AppFactory, tmp_path: Path) -> None:
    from kivy_garden.mapview.downloader import Downloader

    data = signed_in_tablet(tmp_path / "tablet")
    bulk_reports(data, 20)
    d = ui_factory(data_dir=data)
    task(data, task_id=T_LATE, case_id=CASE, due=d.app.ctx.clock() - timedelta(days=1))
    d.platform.connectivity.is_online = False
    d.show("map")
    d.pump(5)
    s = d.screen
    assert len(s.marker_widgets) == 21
    kinds = sorted({(m.kind, m.state) for m in s.shown})
    assert kinds == [("report", "synced"), ("report", "waiting"), ("task", "overdue")]
    source = s.view.map_source
    d.wait_until(lambda: s.view._tiles, what="tiles")
    assert source.downloads_requested == 0 and Downloader._instance is None
    assert {tile.source for tile in s.view._tiles} == {source.placeholder}  # the blank grid
    assert "not downloaded" in s.offline_note

    marker = next(w for w in s.marker_widgets if w.kind == "task")
    marker.dispatch("on_release")
    assert "Fire lane blocked" in s.info_text and "Overdue" in s.info_text
    s.open_selected()
    d.pump(3)
    assert d.screen_name == "task_detail" and d.screen.flow.task.id == T_LATE
    d.screen.show_on_map()
    d.pump(3)
    assert d.screen_name == "map" and s._selected is not None and s._selected.ref == T_LATE
