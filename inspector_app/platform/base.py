"""What the app needs from the device, as protocols: location, camera, connectivity,
permissions. Three implementations: ``android`` (plyer, pyjnius; imported only on
Android), ``desktop`` (file chooser, typed location, server probe) and ``fake`` (tests).

Callbacks may come from any thread (GPS, camera and probe threads on Android): the UI
hops back to its own thread with ``Clock.schedule_once`` before touching widgets.
The UI never calls plyer directly; it asks ``app.platform``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


class Permission(StrEnum):
    CAMERA = "CAMERA"
    FINE_LOCATION = "ACCESS_FINE_LOCATION"
    COARSE_LOCATION = "ACCESS_COARSE_LOCATION"


class LocationSource(StrEnum):
    GPS = "gps"
    MAP = "map"
    MANUAL = "manual"


@dataclass(frozen=True)
class LocationFix:
    """A position with its accuracy (metres, radius at ~68%) and when it was taken."""

    lat: float
    lon: float
    accuracy_m: float
    captured_at: datetime
    source: LocationSource = LocationSource.GPS

    def as_location(self) -> dict[str, Any]:
        """The fields ``Capture.set_location`` takes."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "accuracy_m": self.accuracy_m,
            "source": self.source.value,
            "captured_at": self.captured_at,
        }


class PlatformError(RuntimeError):
    """A device feature failed; the message is meant for the inspector (English msgid)."""


OnFix = Callable[[LocationFix], None]
OnError = Callable[[str], None]
OnPhotos = Callable[[list[Path]], None]
OnPermissions = Callable[[dict[Permission, bool]], None]


@runtime_checkable
class Location(Protocol):
    """GPS: ``start`` delivers fixes until ``stop``; errors (no permission, GPS off)
    go to ``on_error`` as a short English message (translated by the UI)."""

    @property
    def available(self) -> bool: ...

    def start(self, on_fix: OnFix, on_error: OnError) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class Camera(Protocol):
    """Photos: ``take_photo`` opens the camera (desktop: a file chooser) and calls
    ``on_done`` with the files taken (empty when cancelled); ``pick_photos`` picks
    existing files (several at once)."""

    @property
    def can_take_photo(self) -> bool: ...

    def take_photo(self, dest_dir: Path, on_done: OnPhotos, on_error: OnError) -> None: ...

    def pick_photos(self, on_done: OnPhotos, on_error: OnError) -> None: ...


@runtime_checkable
class Connectivity(Protocol):
    """``online()`` and ``on_wifi()`` answer at once from the last known state (cheap,
    any thread); ``refresh()`` may block (a network probe) and is called off the UI thread."""

    def online(self) -> bool: ...

    def on_wifi(self) -> bool: ...

    def refresh(self) -> bool: ...


@runtime_checkable
class Permissions(Protocol):
    def granted(self, permission: Permission) -> bool: ...

    def request(self, permissions: Sequence[Permission], on_result: OnPermissions) -> None: ...


@runtime_checkable
class Platform(Protocol):
    @property
    def name(self) -> str: ...  # "android" | "desktop" | "fake"

    @property
    def location(self) -> Location: ...

    @property
    def camera(self) -> Camera: ...

    @property
    def connectivity(self) -> Connectivity: ...

    @property
    def permissions(self) -> Permissions: ...

    def set_server(self, url: str | None) -> None:
        """The server the connectivity probe tries (desktop); ignored where unused."""
        ...


__all__ = [
    "Camera",
    "Connectivity",
    "Location",
    "LocationFix",
    "LocationSource",
    "OnError",
    "OnFix",
    "OnPermissions",
    "OnPhotos",
    "Permission",
    "Permissions",
    "Platform",
    "PlatformError",
]
