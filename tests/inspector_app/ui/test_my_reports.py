"""My reports and report detail in the real window: 5,000 rows recycle, filters, detail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.inspector_app.ui.work_support import (  # noqa: F401 (fixture)
    bulk_reports,
    no_tiles,
    photo,
    signed_in_tablet,
    touch,
)

pytestmark = pytest.mark.usefixtures("no_tiles")


def _row_views(d: UiDriver) -> list[Any]:
    from inspector_app.ui.screens.my_reports import ReportRowView

    layout = d.screen.ids.rv.layout_manager
    return [w for w in layout.children if isinstance(w, ReportRowView)]


def test_five_thousand_reports_scroll_with_few_widgets(
    ui_factory: AppFactory, tmp_path: Path
) -> None:
    data = signed_in_tablet(tmp_path / "tablet")
    bulk_reports(data, 5000)
    d = ui_factory(data_dir=data)
    d.tap(d.ids().waiting)  # the home tile opens the list filtered on waiting
    s = d.screen
    d.wait_idle()
    assert d.screen_name == "my_reports" and s.filter == "waiting"
    assert len(s.ids.rv.data) == 2500 and s.counts["all"] == 5000
    assert s._toggles["waiting"].text == "Waiting 2500"

    d.tap(s._toggles["all"])
    rv = s.ids.rv
    assert len(rv.data) == 5000
    d.pump(3)
    first_rows = {w.report_id for w in _row_views(d)}
    assert 0 < len(first_rows) < 40  # only the rows on screen exist as widgets
    newest = "00000000-0000-4000-8000-000000004999"
    assert newest in first_rows
    for position in (0.75, 0.5, 0.25, 0.0):
        rv.scroll_y = position
        d.pump(3)
        views = _row_views(d)
        assert 0 < len(views) < 40
    last_rows = {w.report_id for w in _row_views(d)}
    assert "00000000-0000-4000-8000-000000000000" in last_rows  # the oldest, at the end
    assert not first_rows & last_rows  # the same few widgets now show other reports


def test_states_reasons_detail_and_photos(ui_factory: AppFactory, tmp_path: Path) -> None:
    from inspector_app.core.capture import Capture

    data = signed_in_tablet(tmp_path / "tablet")
    d = ui_factory(data_dir=data)
    ctx = d.app.ctx
    capture: Capture = ctx.capture
    report_id = capture.create_draft(category="MANHOLE", grid="DEMO_G1", address="北门")
    capture.set_location(
        report_id, lat=31.2652, lon=121.5303, accuracy_m=4, source="gps", captured_at=ctx.clock()
    )
    capture.attach_photo(report_id, photo(tmp_path / "a.jpg"))
    op_id = capture.submit(report_id)
    ctx.processor.wait_idle()
    with ctx.store.transaction() as tx:
        tx.mark_sending([op_id])
        tx.record_result(op_id, status="rejected", code="unknown_area", message="没有网格 DEMO_G1")

    d.show("my_reports", filter="rejected")
    d.wait_idle()
    [row] = d.screen.ids.rv.data
    assert row["sync_text"] == "Sync failed: 没有网格 DEMO_G1"
    assert row["thumb"] and Path(row["thumb"]).exists()
    d.pump(3)
    [view] = _row_views(d)
    touch(d, view)
    assert d.screen_name == "report_detail"
    s = d.screen
    assert s.heading == "Missing or broken manhole cover"
    assert "没有网格 DEMO_G1" in s.sync_text
    assert len(s.ids.photos.children) == 1 and s.has_location
    assert s._map is not None and len(s._map._default_marker_layer.children) == 1
    whats = [row.what for row in s.ids.timeline.children]
    assert "Refused by the server" in whats and "Found on site" in whats
    assert s.timeline_note == ""  # no case on the server: nothing to ask for
    with ctx.store.transaction() as tx:
        tx.set_case(report_id, case_id=report_id, status="rejected")
    d.show("report_detail", report_id=report_id)
    d.wait_idle()  # the case's timeline is asked for: the test server is a closed port
    assert "could not be loaded" in s.timeline_note
    assert s.case_text == "Case: Not registered"

    s.open_photos(0)
    d.pump(3)
    viewer = next(w for w in d.window.children if w.__class__.__name__ == "PhotoViewer")
    assert viewer.index_text == "1 / 1"
    viewer.dismiss()
    d.pump(2)

    d.app.set_language("zh_CN")
    d.pump(3)
    assert s.sync_text.startswith("同步失败：")
    assert d.app.shell.ids.title.text == "上报详情"
