"""Fixtures and data for the work screens' view-model tests (imported by those modules)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.schema import KV_OWNER
from inspector_app.core.store import Store
from inspector_app.viewmodels.local_read import LocalReader
from tests.inspector_app.core import images
from tests.inspector_app.demo_areas import AREAS

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.fixture(name="app_dir")
def app_dir_fixture(tmp_path: Path) -> Path:
    return tmp_path / "app"


@pytest.fixture(name="store")
def store_fixture(app_dir: Path) -> Iterator[Store]:
    with Store(app_dir / "whistle.db", clock=lambda: NOW) as s:
        yield s


@pytest.fixture(name="capture")
def capture_fixture(store: Store, app_dir: Path) -> Capture:
    return Capture(store, app_dir / "photos", PhotoProcessor(background=False))


@pytest.fixture(name="reader")
def reader_fixture(store: Store) -> Iterator[LocalReader]:
    r = LocalReader(store.path)
    yield r
    r.close()


def seed_areas(store: Store) -> None:
    with store.transaction() as tx:
        for area in AREAS:
            tx.cache_area(area["code"], area)


def seed_task(
    store: Store,
    *,
    task_id: str,
    case_id: str,
    due: datetime | None,
    lat: float | None = 31.2657,
    lon: float | None = 121.5297,
    kind: str = "verification",
    category: str = "FIRE_LANE",
) -> None:
    data = {
        "id": task_id,
        "case_id": case_id,
        "kind": kind,
        "due_at": None if due is None else due.isoformat(),
        "status": "open",
        "lat": lat,
        "lon": lon,
        "category": category,
        "address": "3号楼",
        "description": "消防通道堵塞",
    }
    with store.transaction() as tx:
        tx.upsert_task(task_id, case_id=case_id, data=data)


def photo_file(directory: Path, name: str = "p.jpg", **kwargs: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(images.jpeg(**kwargs))
    return path


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def sign_in_as(store: Store, username: str) -> None:
    """What ApiClient.login records of the user: the store holds their data from now."""
    with store.transaction() as tx:
        tx.kv_set(KV_OWNER, username)
