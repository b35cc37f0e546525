"""New report in the real window: the capture flow, its fallbacks, and resuming a draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.inspector_app.ui.work_support import no_tiles, photo, signed_in_tablet  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_tiles")


def _tile(screen: Any, code: str) -> Any:
    return next(t for t in screen._tiles if t.code == code)


def _open_new_report(d: UiDriver) -> Any:
    assert d.screen_name == "home"
    d.tap(d.ids().new_report)
    assert d.screen_name == "new_report"
    return d.screen


def test_capture_flow_saves_to_the_store_and_home_counts_it(
    ui_factory: AppFactory, tmp_path: Path
) -> None:
    from inspector_app.platform.fake import fix

    d = ui_factory(data_dir=signed_in_tablet(tmp_path / "tablet"))
    home = d.screen
    waiting_before = home.ids.waiting.count
    # a rough fix first, then one as good as the target (20 m)
    d.platform.location.fixes = [fix(31.26571, 121.52971, 60.0), fix(31.26571, 121.52971, 5.0)]
    d.platform.camera.photos = [photo(tmp_path / "camera-out" / "IMG_1.jpg")]

    s = _open_new_report(d)
    assert "Looking for GPS" in s.location_text or s.location_state != "waiting"
    d.tap(_tile(s, "FIRE_LANE"))
    assert s.category_chosen and not s.grid_open  # the grid folds away once chosen
    assert s.ids.severity.value == "major"  # the category's default
    d.tap(s.ids.severity.button_for("general"))
    d.tap(s.ids.take_photo)
    d.wait_idle()
    d.wait_until(
        lambda: s.ids.photo_strip.children and s.ids.photo_strip.children[0].source,
        what="the processed thumbnail",
    )
    d.wait_until(lambda: s.location_state == "accepted", what="the GPS fix")
    assert "±5 m" in s.location_text
    assert s.area_text.strip() == "Sunshine Garden"  # the compound the fix is in
    d.type_text(s.ids.building, "5号楼")
    d.type_text(s.ids.address, "东侧入口")
    d.tap(s.ids.phrases.children[-1])  # the first quick phrase
    report_id = s.form.report_id
    d.tap(s.ids.save)

    assert d.screen_name == "home"  # at once: nothing waits for photo processing
    store = d.app.ctx.store
    report = store.get_report(report_id)
    assert report is not None and report.state == "queued"
    assert (report.category, report.severity, report.grid) == ("FIRE_LANE", "general", "DEMO_CP1")
    assert report.address == "5号楼 · 东侧入口"
    assert report.description == "Private cars parked in the fire lane"
    assert report.location_source == "gps" and report.accuracy_m == 5.0
    assert len(store.photos_of(report_id=report_id)) == 1
    assert [op.kind for op in store.ops_for(report_id)] == ["report.create"]
    assert not d.platform.location.running  # GPS stopped once the place was taken
    d.wait_until(lambda: d.screen.ids.waiting.count == waiting_before + 1, what="the count")
    assert d.app.notice is not None and d.app.notice.level == "success"


def test_save_names_what_is_missing_and_fallbacks_work(
    ui_factory: AppFactory, tmp_path: Path
) -> None:
    from inspector_app.platform.fake import fix

    d = ui_factory(data_dir=signed_in_tablet(tmp_path / "tablet"))
    d.platform.location.fixes = [fix(31.2641, 121.5316, 80.0)]  # never good enough
    s = _open_new_report(d)
    d.tap(s.ids.save)
    assert d.screen_name == "new_report"
    for words in ("kind of hazard", "at least one photo", "location", "compound or grid"):
        assert words in s.ids.problems.text
    d.wait_until(lambda: s.can_use_anyway, what="a rough fix")
    assert "waiting for ±20 m" in s.location_text
    d.tap(s.ids.use_anyway)
    assert s.location_state == "accepted" and "±80 m" in s.location_text
    assert s.area_text.strip() == "和平小区"  # nearest compound (no English name)

    # the pin on the map wins over GPS
    d.tap(s.ids.pick_on_map)
    pin = next(w for w in d.window.children if w.__class__.__name__ == "PinMap")
    d.wait_until(lambda: pin._anim_alpha == 1, what="the map dialog to open")
    d.tap(pin.ids.use_place)
    d.wait_until(lambda: s.form.tracker.chosen.source == "map", what="the pin")
    report = d.app.ctx.store.get_report(s.form.report_id)
    assert report is not None and report.location_source == "map"

    # a file that is not a photo is refused with its name, nothing attached
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    d.platform.camera.photos = [bad]
    d.tap(s.ids.pick_photos)
    d.wait_idle()
    assert "notes.jpg is not a usable photo" in s.ids.problems.text
    assert s.form.photo_count == 0


def test_photo_limit_and_delete(ui_factory: AppFactory, tmp_path: Path) -> None:
    d = ui_factory(data_dir=signed_in_tablet(tmp_path / "tablet", work_config={"max_photos": 2}))
    s = _open_new_report(d)
    d.platform.camera.photos = [
        photo(tmp_path / "pick" / f"{i}.jpg", colour=(i * 60, 90, 90)) for i in range(3)
    ]
    d.tap(s.ids.pick_photos)
    d.wait_idle()
    assert s.form.photo_count == 2 and not s.can_add_photo
    assert s.ids.take_photo.disabled
    assert "only the first 2 were added" in d.app.notice.text(lambda m: m)
    assert all(p.exists() for p in d.platform.camera.photos)  # the user's own files stay
    thumb = s.ids.photo_strip.children[0]
    thumb.dispatch("on_delete")
    dialog = next(w for w in d.window.children if w.__class__.__name__ == "ConfirmDialog")
    dialog.confirm()
    d.pump(3)
    assert s.form.photo_count == 1 and s.can_add_photo


def test_an_interrupted_report_resumes_as_a_draft(ui_factory: AppFactory, tmp_path: Path) -> None:
    data = signed_in_tablet(tmp_path / "tablet")
    d = ui_factory(data_dir=data)
    d.platform.location.fixes = []
    s = _open_new_report(d)
    d.tap(_tile(s, "EBIKE_INDOOR"))
    d.type_text(s.ids.description, "电动车在楼道充电")
    d.type_text(s.ids.building, "3号楼")
    draft_id = s.form.report_id
    # the app is closed in the middle of the flow (no back, no save)

    d2 = ui_factory(data_dir=data, language="zh_CN")
    s2 = _open_new_report(d2)
    assert s2.form.report_id == draft_id and s2.form.resumed
    assert "草稿" in s2.ids.resumed_note.text
    assert s2.category_primary == "电动车在门厅、走道、楼梯间停放充电"
    assert s2.ids.description.text == "电动车在楼道充电"
    assert s2.ids.building.text == "3号楼"
    assert d2.app.shell.ids.title.text == "上报隐患"

    # it is also listed as a draft, and opening it continues the same report
    d2.show("my_reports", filter="draft")
    d2.wait_idle()
    assert [row["report_id"] for row in d2.screen.ids.rv.data] == [draft_id]
    d2.screen.open_report(draft_id, "draft")
    d2.pump(3)
    assert d2.screen_name == "new_report" and d2.screen.form.report_id == draft_id

    # discarding deletes it for good
    d2.tap(d2.screen.ids.discard)
    dialog = next(w for w in d2.window.children if w.__class__.__name__ == "ConfirmDialog")
    dialog.confirm()
    d2.pump(3)
    assert d2.screen_name == "home"
    assert d2.app.ctx.store.get_report(draft_id) is None


def test_language_switch_relabels_the_category_grid(ui_factory: AppFactory, tmp_path: Path) -> None:
    d = ui_factory(data_dir=signed_in_tablet(tmp_path / "tablet"))
    s = _open_new_report(d)
    tile = _tile(s, "FIRE_LANE")
    assert (tile.primary, tile.secondary) == ("Fire lane blocked", "占用堵塞消防车通道")
    d.app.set_language("zh_CN")
    d.pump(3)
    tile = _tile(s, "FIRE_LANE")
    assert (tile.primary, tile.secondary) == ("占用堵塞消防车通道", "Fire lane blocked")
    assert s.ids.save.text == "保存上报"
    assert "正在定位" in s.location_text or s.location_state != "waiting"
