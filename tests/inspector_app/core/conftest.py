"""Fixtures for the tablet core: a store and a capture API in a temporary app directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from tests.inspector_app.core import images

LOCATION: dict[str, Any] = {
    "lat": 39.9042,
    "lon": 116.4074,
    "accuracy_m": 8.5,
    "source": "gps",
    "captured_at": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
}


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return tmp_path / "app"


@pytest.fixture
def store(app_dir: Path) -> Iterator[Store]:
    with Store(app_dir / "whistle.db") as s:
        yield s


@pytest.fixture
def capture(store: Store, app_dir: Path) -> Capture:
    """Capture with inline photo processing (deterministic)."""
    return Capture(store, app_dir / "photos", PhotoProcessor(background=False))


def complete_draft(capture: Capture, *, photos: int = 1, **fields: Any) -> str:
    """A draft that submit accepts."""
    values: dict[str, Any] = {"category": "FIRE_LANE", "grid": "G-01", **fields}
    report_id = capture.create_draft(**values)
    capture.set_location(report_id, **LOCATION)
    for i in range(photos):
        capture.attach_photo(report_id, images.jpeg(colour=(i * 40 % 256, 100, 100)))
    return report_id
