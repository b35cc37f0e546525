"""Data for the work-screen UI tests: a tablet signed in offline, reports, tasks, photos.

An account is "cached" the way a real sign-in leaves it (server, tokens, account in the
store's kv) but the server address is a closed loopback port and sync is off: these
tests never touch the network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from inspector_app.core.store import Store
from tests.inspector_app.demo_areas import ACCOUNT_AREAS
from tests.inspector_app.demo_areas import UI_AREAS as AREAS

DEAD_SERVER = "http://127.0.0.1:9"
ACCOUNT = {
    "id": "00000000-0000-4000-8000-0000000000aa",
    "username": "inspector",
    "display_name": "李网格员",
    "role": "inspector",
    "areas": ACCOUNT_AREAS,
}


def signed_in_tablet(data_dir: Path, *, work_config: dict[str, Any] | None = None) -> Path:
    """A data directory whose app starts signed in (offline) with the demo areas."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        tx.kv_set("server_url", DEAD_SERVER)
        tx.kv_set("auth", {"access_token": "offline-a", "refresh_token": "offline-r"})
        tx.kv_set("account", ACCOUNT)
        for area in AREAS:
            tx.cache_area(area["code"], area)
        # tests never fetch map tiles (WHISTLE_MAP_TILES=off is set by the test modules too)
        tx.kv_set("screens.config", {"map_downloads": False, **(work_config or {})})
    return data_dir


def photo(
    path: Path, *, size: tuple[int, int] = (1200, 900), colour: tuple[int, ...] = (200, 40, 40)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def bulk_reports(data_dir: Path, count: int) -> None:
    """``count`` queued reports written straight into the store (no photos)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        for i in range(count):
            rid = f"00000000-0000-4000-8000-{i:012d}"
            tx.insert_report(rid, observed_at=start + timedelta(minutes=i))
            tx.update_report(
                rid,
                {
                    "category": ("GARBAGE", "FIRE_LANE", "MANHOLE")[i % 3],
                    "state": "queued" if i % 2 else "synced",
                    "grid": "DEMO_G1",
                    "address": f"{i % 30 + 1}号楼",
                    "lat": 31.26 + (i % 50) * 0.0001,
                    "lon": 121.53 + (i % 70) * 0.0001,
                },
            )


def task(
    data_dir: Path,
    *,
    task_id: str,
    case_id: str,
    due: datetime,
    lat: float = 31.2657,
    lon: float = 121.5297,
) -> None:
    data = {
        "id": task_id,
        "case_id": case_id,
        "kind": "verification",
        "due_at": due.isoformat(),
        "status": "open",
        "lat": lat,
        "lon": lon,
        "category": "FIRE_LANE",
        "address": "阳光小区 5号楼",
        "description": "消防通道堵塞",
    }
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        tx.upsert_task(task_id, case_id=case_id, data=data)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture(autouse=False)
def no_tiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No map tile is ever downloaded in these tests (the env switch the app honours)."""
    monkeypatch.setenv("WHISTLE_MAP_TILES", "off")
    yield


def touch(d: Any, widget: Any) -> None:
    """A real tap at a widget already on screen (RecycleView rows: the driver's tap would
    try to scroll them into view, which a RecycleView does not support)."""
    from kivy.tests.common import UnitTestTouch

    x, y = widget.to_window(*widget.center)
    t = UnitTestTouch(x, y)
    t.touch_down()
    d.pump(1)
    t.touch_up()
    d.pump_for(0.3)
