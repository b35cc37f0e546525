"""The New report flow without Kivy: draft, fields, photos, location, save, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector_app.core.capture import Capture, CaptureError, SubmitError
from inspector_app.core.photos import ImageRejected
from inspector_app.core.store import Store
from inspector_app.viewmodels.categories import (
    GROUP_ORDER,
    QUICK_PHRASES,
    append_phrase,
    load_categories,
    shipped_category,
)
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.location_fix import Fix
from inspector_app.viewmodels.report_form import DRAFT_KEY, ReportForm, compose_address
from shared_schemas.reports import HazardReport
from shared_schemas.sync import SyncOperation
from shared_schemas.taxonomy import CategoryCode
from tests.inspector_app.core import images
from tests.inspector_app.demo_areas import ACCOUNT_AREAS
from tests.inspector_app.viewmodels.screens_support import (  # noqa: F401 (fixtures)
    NOW,
    app_dir_fixture,
    capture_fixture,
    later,
    reader_fixture,
    seed_areas,
    store_fixture,
)


def _form(capture: Capture, reader: LocalReader, **kwargs: object) -> ReportForm:
    form = ReportForm(capture=capture, reader=reader, account_areas=ACCOUNT_AREAS, **kwargs)  # type: ignore[arg-type]
    form.open()
    return form


def test_category_grid_is_grouped_in_domain_order_with_colours(reader: LocalReader) -> None:
    groups = load_categories(reader)
    assert [g.code for g in groups] == list(GROUP_ORDER)
    codes = [t.code for g in groups for t in g.categories]
    assert sorted(codes) == sorted(c.value for c in CategoryCode)
    fire = groups[0]
    assert fire.name_zh == "消防安全" and fire.name_en == "Fire safety"
    assert {t.colour for t in fire.categories} == {fire.colour}
    assert len({g.colour for g in groups}) == len(groups)
    assert all(QUICK_PHRASES.get(code) for code in codes)  # a few phrases for every one


def test_pulled_taxonomy_renames_and_switches_off(store: Store, reader: LocalReader) -> None:
    with store.transaction() as tx:
        tx.cache_taxonomy("GARBAGE", {"code": "GARBAGE", "name_zh": "垃圾乱堆", "active": True})
        tx.cache_taxonomy("LIVESTOCK", {"code": "LIVESTOCK", "active": False})
        tx.cache_taxonomy("NOT_A_CODE", {"code": "NOT_A_CODE", "name_zh": "?"})
    tiles = {t.code: t for g in load_categories(reader) for t in g.categories}
    assert tiles["GARBAGE"].name_zh == "垃圾乱堆"
    shipped = shipped_category("GARBAGE")
    assert shipped is not None and tiles["GARBAGE"].name_en == shipped.name_en  # kept
    assert "LIVESTOCK" not in tiles and "NOT_A_CODE" not in tiles


def test_opening_and_leaving_leaves_nothing(capture: Capture, reader: LocalReader) -> None:
    form = _form(capture, reader)
    assert form.report_id is None and not form.resumed
    assert capture.store.list_reports() == []
    assert form.missing() == ["category", "photo", "location", "grid"]


def test_full_flow_saves_a_valid_report(capture: Capture, reader: LocalReader) -> None:
    seed_areas(capture.store)
    form = _form(capture, reader)
    form.choose_category("FIRE_LANE")
    assert form.severity == "major"  # the category's default until picked by hand
    form.add_phrase("Private cars parked in the fire lane", lang="en")
    form.add_phrase("Private cars parked in the fire lane", lang="en")  # not twice
    photo_id = form.attach_photo(images.jpeg())
    assert [p.photo_id for p in form.photos()] == [photo_id]
    assert form.photos()[0].thumb is not None and form.photos()[0].thumb.exists()  # type: ignore[union-attr]
    assert form.on_fix(Fix(31.26571, 121.52971, 45.0, later(1))) is False  # not good enough
    assert form.tracker.state == "improving"
    assert form.on_fix(Fix(31.26571, 121.52971, 6.0, later(2))) is True
    assert form.area_code == "DEMO_CP1"  # the compound the fix is in, suggested
    form.set_building("3号楼")
    form.set_address("东侧入口")
    assert form.missing() == []
    report_id = form.save()

    report = capture.store.get_report(report_id)
    assert report is not None and report.state == "queued"
    assert report.address == "3号楼 · 东侧入口" and report.grid == "DEMO_CP1"
    assert report.accuracy_m == 6.0 and report.location_source == "gps"
    [op] = capture.store.ops_for(report_id)
    payload = SyncOperation.model_validate(op.wire()).parsed_payload()
    assert isinstance(payload, HazardReport)
    assert payload.description == "Private cars parked in the fire lane"
    assert capture.store.kv_get(DRAFT_KEY) is None
    assert form.report_id is None


def test_save_refuses_an_incomplete_report_and_keeps_the_draft(
    capture: Capture, reader: LocalReader
) -> None:
    form = _form(capture, reader)
    form.choose_category("GARBAGE")
    with pytest.raises(SubmitError) as caught:
        form.save()
    assert len(caught.value.missing) == 3
    report = capture.store.get_report(form.report_id or "")
    assert report is not None and report.state == "draft"


def test_severity_picked_by_hand_survives_a_category_change(
    capture: Capture, reader: LocalReader
) -> None:
    form = _form(capture, reader)
    form.choose_category("GARBAGE")
    assert form.severity == "minor"  # GARBAGE's default
    form.choose_category("FIRE_LANE")
    assert form.severity == "major"  # follows the category while not picked by hand
    form.choose_severity("general")
    form.choose_category("GARBAGE")
    assert form.severity == "general"
    with pytest.raises(CaptureError, match="category NOPE"):
        form.choose_category("NOPE")
    with pytest.raises(CaptureError, match="severity"):
        form.choose_severity("huge")


def test_photos_limit_delete_and_rejection(
    capture: Capture, reader: LocalReader, tmp_path: Path
) -> None:
    form = _form(capture, reader, max_photos=2)
    first = form.attach_photo(images.jpeg())
    form.attach_photo(images.jpeg(colour=(1, 2, 3)))
    assert not form.can_add_photo()
    with pytest.raises(CaptureError, match="at most 2 photos"):
        form.attach_photo(images.jpeg())
    form.remove_photo(first)
    assert form.photo_count == 1 and form.can_add_photo()
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(ImageRejected, match=r"notes\.jpg"):
        form.attach_photo(text)
    assert form.photo_count == 1
    with pytest.raises(ValueError, match="max_photos"):
        ReportForm(capture=capture, reader=reader, max_photos=0)


def test_interrupted_flow_resumes_as_a_draft(
    capture: Capture, reader: LocalReader, store: Store
) -> None:
    seed_areas(store)
    form = _form(capture, reader)
    form.choose_category("EBIKE_INDOOR")
    form.choose_severity("general")
    form.set_description("电动车在楼道充电")
    form.attach_photo(images.jpeg())
    form.pin(lat=31.2641, lon=121.5316, accuracy_m=12.0)
    form.choose_area("DEMO_CP2")
    form.set_building("5号楼")
    report_id = form.report_id
    del form  # the app is closed here

    again = _form(capture, reader)
    assert again.resumed and again.report_id == report_id
    assert (again.category, again.severity, again.severity_chosen) == (
        "EBIKE_INDOOR",
        "general",
        True,
    )
    assert again.description == "电动车在楼道充电"
    assert (again.area_code, again.building, again.address) == ("DEMO_CP2", "5号楼", "")
    assert again.tracker.state == "accepted" and again.tracker.chosen is not None
    assert again.tracker.chosen.source == "map"
    assert again.photo_count == 1
    again.save()
    assert _form(capture, reader).resumed is False  # nothing left to resume


def test_a_draft_opened_from_the_list_keeps_its_address(
    capture: Capture, reader: LocalReader
) -> None:
    report_id = capture.create_draft(category="GARBAGE", address="小区北门")
    form = ReportForm(capture=capture, reader=reader, account_areas=ACCOUNT_AREAS)
    assert form.open(report_id)
    assert (form.building, form.address) == ("", "小区北门")
    form.discard()
    assert capture.store.get_report(report_id) is None
    assert capture.store.kv_get(DRAFT_KEY) is None


def test_a_submitted_report_is_not_resumed(capture: Capture, reader: LocalReader) -> None:
    report_id = capture.create_draft(category="GARBAGE")
    with capture.store.transaction() as tx:
        tx.kv_set(DRAFT_KEY, {"report_id": report_id})
        tx.execute("UPDATE reports SET state = 'queued' WHERE id = ?", (report_id,))
    form = _form(capture, reader)
    assert not form.resumed and form.report_id is None
    assert capture.store.kv_get(DRAFT_KEY) is None


def test_areas_offer_own_grids_and_their_compounds(capture: Capture, reader: LocalReader) -> None:
    seed_areas(capture.store)
    form = _form(capture, reader)
    assert [a.code for a in form.areas] == [
        "DEMO_G1",
        "DEMO_CP1",
        "DEMO_CP2",
        "DEMO_G2",
        "DEMO_CP3",
    ]
    assert form.areas[1].label("en") == "Sunshine Garden"
    assert form.areas[2].label("en") == "和平小区"  # no English name: the Chinese one
    with pytest.raises(CaptureError, match="not one of your areas"):
        form.choose_area("OTHER_G")


def test_without_pulled_areas_the_account_areas_are_offered(
    capture: Capture, reader: LocalReader
) -> None:
    form = ReportForm(
        capture=capture, reader=reader, account_areas=[{"code": "G-9", "name": "九网格"}]
    )
    form.open()
    assert [a.code for a in form.areas] == ["G-9"]
    assert form.area_code == "G-9"  # the only choice is preselected


def test_use_anyway_and_typed_locations(capture: Capture, reader: LocalReader) -> None:
    form = _form(capture, reader, target_accuracy_m=10.0)
    with pytest.raises(LookupError, match="pin"):
        form.use_anyway()
    form.on_fix(Fix(31.0, 121.0, 80.0, later(1)))
    form.on_fix(Fix(31.0, 121.0, 150.0, later(2)))  # worse: the best stays
    fix = form.use_anyway()
    assert fix.accuracy_m == 80.0
    report = capture.store.get_report(form.report_id or "")
    assert report is not None and report.accuracy_m == 80.0
    typed = form.typed(lat=31.5, lon=121.5)
    assert typed.source == "manual"
    form.on_fix(Fix(31.0, 121.0, 3.0, later(3)))  # GPS never replaces a typed point
    report = capture.store.get_report(form.report_id or "")
    assert report is not None and report.location_source == "manual"


def test_address_composition_and_phrases() -> None:
    assert compose_address(" 3号楼 ", "") == "3号楼"
    assert compose_address("", "北门") == "北门"
    assert compose_address("", "") == ""
    assert append_phrase("", "路灯不亮", lang="zh_CN") == "路灯不亮"
    assert append_phrase("已两天", "路灯不亮", lang="zh_CN") == "已两天；路灯不亮"
    assert append_phrase("two days", "Street light out", lang="en") == "two days; Street light out"


def test_observed_at_is_the_draft_time(capture: Capture, reader: LocalReader) -> None:
    form = _form(capture, reader)
    assert form.observed_at() is None
    form.choose_category("GARBAGE")
    assert form.observed_at() == NOW
