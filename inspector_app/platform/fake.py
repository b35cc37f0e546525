"""A scriptable platform for tests: fixes, photos, connectivity and permission answers
are set by the test; every call is recorded. Callbacks run synchronously (the caller's
thread), like a device that answers at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from inspector_app.platform.base import (
    LocationFix,
    LocationSource,
    OnError,
    OnFix,
    OnPermissions,
    OnPhotos,
    Permission,
)


def fix(
    lat: float = 31.2304,
    lon: float = 121.4737,
    accuracy_m: float = 6.0,
    *,
    source: LocationSource = LocationSource.GPS,
    captured_at: datetime | None = None,
) -> LocationFix:
    return LocationFix(lat, lon, accuracy_m, captured_at or datetime.now(UTC), source)


class FakeLocation:
    def __init__(self) -> None:
        self.available = True
        self.fixes: list[LocationFix] = []  # delivered by start(), in order
        self.error: str | None = None  # delivered by start() instead, when set
        self.running = False
        self.starts = 0
        self._on_fix: OnFix | None = None
        self._on_error: OnError | None = None

    def start(self, on_fix: OnFix, on_error: OnError) -> None:
        self.starts += 1
        self.running = True
        self._on_fix, self._on_error = on_fix, on_error
        if self.error is not None:
            on_error(self.error)
            return
        for item in self.fixes:
            on_fix(item)

    def emit(self, item: LocationFix) -> None:
        """A fix arriving later (while started)."""
        if self.running and self._on_fix is not None:
            self._on_fix(item)

    def stop(self) -> None:
        self.running = False


class FakeCamera:
    def __init__(self) -> None:
        self.can_take_photo = True
        self.photos: list[Path] = []  # what the next take/pick returns ([] = cancelled)
        self.error: str | None = None
        self.calls: list[str] = []

    def _answer(self, on_done: OnPhotos, on_error: OnError, *, multiple: bool) -> None:
        if self.error is not None:
            on_error(self.error)
            return
        on_done(list(self.photos) if multiple else list(self.photos[:1]))

    def take_photo(self, dest_dir: Path, on_done: OnPhotos, on_error: OnError) -> None:
        self.calls.append("take")
        self._answer(on_done, on_error, multiple=False)

    def pick_photos(self, on_done: OnPhotos, on_error: OnError) -> None:
        self.calls.append("pick")
        self._answer(on_done, on_error, multiple=True)


class FakeConnectivity:
    def __init__(self) -> None:
        self.is_online = True
        self.is_wifi = True
        self.refreshes = 0

    def online(self) -> bool:
        return self.is_online

    def on_wifi(self) -> bool:
        return self.is_wifi

    def refresh(self) -> bool:
        self.refreshes += 1
        return self.is_online


@dataclass
class FakePermissions:
    grants: dict[Permission, bool] = field(default_factory=dict)  # missing = granted
    requested: list[list[Permission]] = field(default_factory=list)

    def granted(self, permission: Permission) -> bool:
        return self.grants.get(permission, True)

    def request(self, permissions: Sequence[Permission], on_result: OnPermissions) -> None:
        self.requested.append(list(permissions))
        on_result({p: self.granted(p) for p in permissions})


class FakePlatform:
    name = "fake"

    def __init__(self) -> None:
        self.location = FakeLocation()
        self.camera = FakeCamera()
        self.connectivity = FakeConnectivity()
        self.permissions = FakePermissions()
        self.server_url: str | None = None

    def set_server(self, url: str | None) -> None:
        self.server_url = url


__all__ = [
    "FakeCamera",
    "FakeConnectivity",
    "FakeLocation",
    "FakePermissions",
    "FakePlatform",
    "fix",
]
