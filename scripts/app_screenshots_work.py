"""The work screens' shots for scripts/app_screenshots.py (new report, my reports, report
detail, tasks, task detail, map). Each ``setup(app)`` fills the tablet through
``app.ctx`` and shows its screen; the app is offline, so the map shows its grid.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

Setup = Callable[[Any], None]

# The shots are taken offline: no map tile is ever downloaded (the app honours this switch).
os.environ.setdefault("WHISTLE_MAP_TILES", "off")

PLACES = [  # (category, compound or grid, address, lat, lon, colour of the photo)
    ("FIRE_LANE", "DEMO_CP1", "3号楼 · 东侧消防通道", 31.26571, 121.52972, (190, 50, 40)),
    ("EBIKE_INDOOR", "DEMO_CP1", "7号楼 · 一楼大堂", 31.26602, 121.52931, (60, 70, 170)),
    ("GARBAGE", "DEMO_G1", "南门垃圾站", 31.26488, 121.53051, (60, 140, 60)),
    ("STREET_LIGHT", "DEMO_G1", "幸福路 12号路灯", 31.26536, 121.53105, (30, 110, 120)),
    ("MANHOLE", "DEMO_G2", "春晖路口", 31.26655, 121.53212, (120, 110, 30)),
]


def _photo(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 100, 700, 500), outline=(255, 255, 255), width=14)
    draw.line((100, 500, 700, 100), fill=(255, 255, 255), width=10)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _report(app: Any, index: int, *, submit: bool = True, description: str = "") -> str:
    category, area, address, lat, lon, colour = PLACES[index % len(PLACES)]
    capture = app.ctx.capture
    report_id: str = capture.create_draft(
        category=category, grid=area, address=address, description=description
    )
    capture.set_location(
        report_id,
        lat=lat,
        lon=lon,
        accuracy_m=6.0,
        source="gps",
        captured_at=datetime.now(UTC) - timedelta(hours=index),
    )
    capture.attach_photo(report_id, _photo(colour))
    if submit:
        capture.submit(report_id)
    app.ctx.processor.wait_idle()
    return report_id


def _pushed(app: Any, report_id: str, *, status: str = "applied", case: str | None = None) -> None:
    store = app.ctx.store
    op = store.ops_for(report_id)[0]
    with store.transaction() as tx:
        tx.mark_sending([op.op_id])
        if status == "applied":
            tx.record_result(op.op_id, status="applied", case_id=report_id)
            for photo in store.photos_of(report_id=report_id):
                tx.set_upload(photo.id, upload_url="/uploads/x", uploaded=True)
            if case:
                tx.set_case(report_id, case_id=report_id, status=case)
        else:
            tx.record_result(
                op.op_id,
                status="rejected",
                code="area_out_of_scope",
                message="网格 DEMO_G9 不在您的负责范围内 / area DEMO_G9 is outside your areas",
            )


def _task(
    app: Any, number: int, *, due_in_days: float, category: str, lat: float, lon: float
) -> str:
    task_id = f"00000000-0000-4000-8000-{number:012d}"
    with app.ctx.store.transaction() as tx:
        tx.set_task_from_server(
            task_id,
            case_id=f"00000000-0000-4000-9000-{number:012d}",
            data={
                "id": task_id,
                "status": "open",
                "kind": "verification" if number % 2 else "reinspection",
                "due_at": (datetime.now(UTC) + timedelta(days=due_in_days)).isoformat(),
                "category": category,
                "address": "阳光小区 5号楼2单元",
                "description": "楼道堆放纸箱和旧家具，已派物业清理",
                "lat": lat,
                "lon": lon,
            },
        )
    return task_id


def _many(app: Any) -> list[str]:
    """Reports in every state: synced (with case states), waiting, refused, a draft."""
    ids = [_report(app, i) for i in range(5)]
    _pushed(app, ids[0], case="dispatched")
    _pushed(app, ids[1], case="closed")
    _pushed(app, ids[2], status="rejected")
    _report(app, 3, submit=False)
    return ids


def _tasks(app: Any) -> list[str]:
    return [
        _task(app, 1, due_in_days=-1, category="HALLWAY_CLUTTER", lat=31.2660, lon=121.5301),
        _task(app, 2, due_in_days=2, category="FIRE_LANE", lat=31.2650, lon=121.5290),
        _task(app, 3, due_in_days=6, category="ROAD_DAMAGE", lat=31.2645, lon=121.5315),
    ]


# ---------------------------------------------------------------- the shots


def new_report(app: Any) -> None:
    app.show("new_report")


def new_report_draft(app: Any) -> None:
    report_id = _report(app, 0, submit=False, description="私家车占用消防车通道；已两天")
    app.ctx.capture.update_draft(report_id, severity="major")
    app.show("new_report", report_id=report_id)


def new_report_missing(app: Any) -> None:
    app.show("new_report")
    screen = app.current_screen
    screen.choose_category("GARBAGE")
    screen.save()  # no photo, no location yet: says what is missing


def my_reports(app: Any) -> None:
    _many(app)
    app.show("my_reports")


def my_reports_failed(app: Any) -> None:
    _many(app)
    app.show("my_reports", filter="rejected")


def report_detail(app: Any) -> None:
    ids = _many(app)
    app.show("report_detail", report_id=ids[0])


def tasks(app: Any) -> None:
    _tasks(app)
    app.show("tasks")


def task_detail(app: Any) -> None:
    task_id = _tasks(app)[0]
    app.show("task_detail", task_id=task_id)
    screen = app.current_screen
    screen.ids.note.text = "纸箱已清走，楼道通畅"


def map_screen(app: Any) -> None:
    _many(app)
    _tasks(app)
    app.show("map")


def work_shots(shot: Callable[..., Any]) -> list[Any]:
    """The shots, made with the script's own Shot class."""
    return [
        shot("new-report", new_report),
        shot("new-report-draft", new_report_draft),
        shot("new-report-missing", new_report_missing),
        shot("my-reports", my_reports),
        shot("my-reports-failed", my_reports_failed),
        shot("report-detail", report_detail),
        shot("tasks", tasks),
        shot("task-detail", task_detail),
        shot("map", map_screen),
    ]
