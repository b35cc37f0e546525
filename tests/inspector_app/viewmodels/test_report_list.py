"""My reports and report detail without Kivy: sync states, filters, rows, timeline."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector_app.core.capture import Capture
from inspector_app.core.store import Store
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.queries import counts
from inspector_app.viewmodels.report_detail import ReportDetail
from inspector_app.viewmodels.report_list import FILTERS, ReportList, sync_state
from inspector_app.viewmodels.screen_words import SYNC_STATES, translator
from tests.inspector_app.core import images
from tests.inspector_app.core.conftest import LOCATION
from tests.inspector_app.viewmodels.screens_support import (  # noqa: F401 (fixtures)
    NOW,
    app_dir_fixture,
    capture_fixture,
    reader_fixture,
    sign_in_as,
    store_fixture,
)

EN = translator("en")
ZH = translator("zh_CN")


def _queued(capture: Capture, *, photos: int = 1, category: str = "FIRE_LANE") -> str:
    report_id = capture.create_draft(category=category, grid="DEMO_G1", address="3号楼")
    capture.set_location(report_id, **LOCATION)
    for i in range(photos):
        capture.attach_photo(report_id, images.jpeg(colour=(i * 50, 10, 10)))
    capture.submit(report_id)
    return report_id


def _create_op(store: Store, report_id: str) -> str:
    [op] = [o for o in store.ops_for(report_id) if o.kind == "report.create"]
    return op.op_id


def _list(capture: Capture, reader: LocalReader) -> ReportList:
    return ReportList(reader=reader, photos_root=capture.photos_root)


def test_each_sync_state_from_the_store(
    capture: Capture, store: Store, reader: LocalReader
) -> None:
    draft = capture.create_draft(category="GARBAGE")
    waiting = _queued(capture)
    sending = _queued(capture)
    synced = _queued(capture, photos=2)
    rejected = _queued(capture)
    photos_left = _queued(capture, photos=2)
    with store.transaction() as tx:
        tx.mark_sending([_create_op(store, sending)])
        for rid in (synced, photos_left):
            tx.mark_sending([_create_op(store, rid)])
            tx.record_result(_create_op(store, rid), status="applied", case_id=rid)
        tx.mark_sending([_create_op(store, rejected)])
        tx.record_result(
            _create_op(store, rejected),
            status="rejected",
            code="area_out_of_scope",
            message="网格 DEMO_G1 不在您的负责范围内",
        )
        for photo in store.photos_of(report_id=synced):
            tx.set_upload(photo.id, upload_url="/u/1", uploaded=True)
        first = store.photos_of(report_id=photos_left)[0]
        tx.set_upload(first.id, upload_url="/u/2", uploaded=True)
        tx.set_case(synced, case_id=synced, status="dispatched")

    rows = {row.id: row for row in _list(capture, reader).load()}
    assert {rid: rows[rid].sync for rid in rows} == {
        draft: "draft",
        waiting: "waiting",
        sending: "syncing",
        synced: "synced",
        rejected: "rejected",
        photos_left: "waiting",
    }
    assert rows[rejected].reason == "网格 DEMO_G1 不在您的负责范围内"
    assert rows[synced].case_status == "dispatched"
    thumb = rows[synced].thumb
    assert thumb is not None and thumb.exists()
    assert rows[draft].thumb is None

    model = _list(capture, reader)
    view = rows[rejected].view(EN, "en", model.tiles, now=NOW)
    assert view["sync_text"] == "Sync failed: 网格 DEMO_G1 不在您的负责范围内"
    assert view["title"] == "Fire lane blocked" and view["subtitle"] == "占用堵塞消防车通道"
    zh = rows[synced].view(ZH, "zh_CN", model.tiles, now=NOW)
    assert zh["title"] == "占用堵塞消防车通道"
    assert zh["sync_text"] == "已同步" and zh["case_text"] == "已派遣"
    partial = rows[photos_left].view(EN, "en", model.tiles, now=NOW)
    assert partial["sync_text"] == "Waiting to sync (photos 1/2)"
    assert rows[draft].view(EN, "en", model.tiles, now=NOW)["case_text"] == ""


def test_counts_filters_and_order(capture: Capture, store: Store, reader: LocalReader) -> None:
    a = capture.create_draft(category="GARBAGE", observed_at=datetime(2026, 11, 20, tzinfo=UTC))
    b = _queued(capture)  # observed NOW: newest first
    model = _list(capture, reader)
    rows = model.load()
    assert [r.id for r in rows] == [b, a]
    counts = model.counts(rows)
    assert counts == {"all": 2, "draft": 1, "waiting": 1, "syncing": 0, "synced": 0, "rejected": 0}
    assert [r.id for r in model.filtered(rows, "draft")] == [a]
    assert model.filtered(rows, "all") == rows
    with pytest.raises(ValueError, match="unknown filter 'lost'"):
        model.filtered(rows, "lost")
    views = model.views(rows, EN, "en", now=NOW)
    assert views[1]["title"] == model.tiles["GARBAGE"].name_en
    assert set(FILTERS) == {"all", *SYNC_STATES}


def test_five_thousand_reports_load_as_plain_rows(
    store: Store, capture: Capture, reader: LocalReader
) -> None:
    with store.transaction() as tx:
        for i in range(5000):
            rid = f"00000000-0000-4000-8000-{i:012d}"
            tx.insert_report(rid, observed_at=NOW)
            tx.update_report(rid, {"category": "GARBAGE", "state": "queued"})
    model = _list(capture, reader)
    rows = model.load()
    assert len(rows) == 5000 and {r.sync for r in rows} == {"waiting"}
    views = model.views(rows[:3], EN, "en", now=NOW)
    assert all(isinstance(v, str | bool) for view in views for v in view.values())


@given(
    state=st.sampled_from(["draft", "queued", "synced", "rejected"]),
    ops=st.lists(
        st.sampled_from(["waiting_photos", "pending", "sending", "done", "rejected", "conflict"]),
        max_size=3,
    ),
    photos=st.integers(0, 4),
    uploaded=st.integers(0, 4),
    uploading=st.integers(0, 4),
)
def test_sync_state_is_always_one_of_the_five(
    state: str, ops: list[str], photos: int, uploaded: int, uploading: int
) -> None:
    result = sync_state(
        state=state, op_states=ops, photos=photos, uploaded=uploaded, uploading=uploading
    )
    assert result in SYNC_STATES
    if state == "draft":
        assert result == "draft"
    if state == "rejected" or {"rejected", "conflict"} & set(ops):
        assert result in ("rejected", "draft")
    if result == "synced":
        assert uploaded >= photos and not {"pending", "sending", "waiting_photos"} & set(ops)


def test_detail_photos_pin_and_local_timeline(
    capture: Capture, store: Store, reader: LocalReader
) -> None:
    rid = _queued(capture, photos=2)
    detail = ReportDetail(capture=capture, reader=reader, report_id=rid)
    assert detail.location == (LOCATION["lat"], LOCATION["lon"])
    assert detail.area_name("en") == "DEMO_G1"  # not cached: the code
    with store.transaction() as tx:
        tx.cache_area(
            "DEMO_G1",
            {"code": "DEMO_G1", "name": "幸福一网格", "level": "grid", "name_en": "Grid 1"},
        )
    assert (detail.area_name("zh_CN"), detail.area_name("en")) == ("幸福一网格", "Grid 1")
    photos = detail.photos()
    assert len(photos) == 2 and all(p.path.exists() and p.thumb for p in photos)
    assert [e.kind for e in detail.timeline()] == ["observed", "saved"]
    assert detail.sync_state() == "waiting"

    op_id = _create_op(store, rid)
    with store.transaction() as tx:
        tx.mark_sending([op_id])
        tx.record_result(op_id, status="applied", case_id=rid)
        tx.set_case(rid, case_id=rid, status="registered")
    detail = ReportDetail(capture=capture, reader=reader, report_id=rid)
    entries = detail.local_timeline()
    assert [e.kind for e in entries] == ["observed", "saved", "sent", "case"]
    assert entries[-1].text(EN) == "Case status: Registered"
    assert entries[-1].text(ZH) == "案件状态：已立案"

    server = detail.apply_server_case(
        {
            "timeline": [
                {
                    "at": "2026-11-23T10:00:00+00:00",
                    "action": "dispatch",
                    "actor": "王主任",
                    "to_status": "dispatched",
                    "note": "三天内整改",
                },
                {"at": "2026-11-23T09:31:00+00:00", "action": "report", "to_status": "reported"},
                {"action": "broken"},
            ]
        }
    )
    assert [e.kind for e in server] == ["report", "transition"]
    assert detail.timeline() == server
    assert server[1].note == "三天内整改" and server[1].actor == "王主任"


def test_detail_of_a_rejected_report_and_of_nothing(
    capture: Capture, store: Store, reader: LocalReader
) -> None:
    rid = _queued(capture)
    op_id = _create_op(store, rid)
    with store.transaction() as tx:
        tx.mark_sending([op_id])
        tx.record_result(op_id, status="rejected", code="unknown_area", message="没有网格")
    detail = ReportDetail(capture=capture, reader=reader, report_id=rid)
    assert detail.timeline()[-1].kind == "rejected" and detail.timeline()[-1].note == "没有网格"
    with pytest.raises(LookupError, match="does not exist"):
        ReportDetail(capture=capture, reader=reader, report_id="nope")


def test_reader_is_read_only_and_needs_the_file(store: Store, tmp_path: Path) -> None:
    reader = LocalReader(store.path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.all("DELETE FROM reports")
    assert reader.scalar("SELECT COUNT(*) FROM reports") == 0
    reader.close()
    with pytest.raises(FileNotFoundError, match="does not exist yet"):
        LocalReader(tmp_path / "missing.db")


def test_a_shared_tablet_lists_only_the_signed_in_users_reports(
    capture: Capture, store: Store, reader: LocalReader
) -> None:
    before_any_sign_in = capture.create_draft(category="GARBAGE")
    sign_in_as(store, "li")
    li_report = _queued(capture)
    sign_in_as(store, "wang")
    wang_report = _queued(capture)

    assert store.get_report(li_report).owner == "li"  # type: ignore[union-attr]
    assert {row.id for row in _list(capture, reader).load()} == {wang_report, before_any_sign_in}
    home = counts(store, now=NOW)  # the home tiles count what the list shows
    assert (home.drafts, home.waiting) == (1, 1)
    sign_in_as(store, "li")  # li again: theirs show again, nothing was deleted
    assert {row.id for row in _list(capture, reader).load()} == {li_report, before_any_sign_in}
    assert {r.id for r in store.list_reports()} == {before_any_sign_in, li_report, wang_report}
