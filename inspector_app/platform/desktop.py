"""The desktop stand-in for a tablet: photos from files, a typed location, and
connectivity found by asking the server.

* Location: a desktop has no GPS. A position comes from ``--location LAT,LON[,ACC]`` (or
  ``WHISTLE_DESKTOP_LOCATION``) or from what the inspector types or picks on the map
  (:meth:`DesktopLocation.set_position`); without one, ``start`` reports an error so the
  screen offers the manual ways.
* Camera: both taking and picking open a file chooser that the UI provides (a Kivy
  popup), so this module stays free of Kivy.
* Connectivity: ``refresh`` asks ``GET /health`` of the server (short timeout); a desktop
  counts as on Wi-Fi (not metered).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx

from inspector_app.platform.base import (
    LocationFix,
    LocationSource,
    OnError,
    OnFix,
    OnPermissions,
    OnPhotos,
    Permission,
)
from inspector_app.viewmodels.locale import N_

log = logging.getLogger(__name__)

# The UI's file chooser: (on_done, on_error, multiple) -> None; it calls on_done(paths).
FileChooser = Callable[[OnPhotos, OnError, bool], None]

NO_GPS = N_("This computer has no GPS: type the coordinates or pick the place on the map.")
NO_CHOOSER = N_("No file chooser is available.")


def parse_position(text: str) -> tuple[float, float, float]:
    """'LAT,LON' or 'LAT,LON,ACCURACY_M' -> (lat, lon, accuracy); ValueError if wrong."""
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if len(parts) not in (2, 3):
        raise ValueError(f"expected LAT,LON or LAT,LON,ACCURACY_M, got {text!r}")
    lat, lon = float(parts[0]), float(parts[1])
    accuracy = float(parts[2]) if len(parts) == 3 else 10.0
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"latitude must be -90..90 and longitude -180..180, got {lat}, {lon}")
    if accuracy <= 0:
        raise ValueError("the accuracy must be a positive number of metres")
    return lat, lon, accuracy


class DesktopLocation:
    def __init__(self, position: tuple[float, float, float] | None = None) -> None:
        self._position = position
        self._source = LocationSource.MANUAL

    @property
    def available(self) -> bool:
        return self._position is not None

    def set_position(
        self, lat: float, lon: float, accuracy_m: float, *, source: LocationSource
    ) -> None:
        self._position = (lat, lon, accuracy_m)
        self._source = source

    def start(self, on_fix: OnFix, on_error: OnError) -> None:
        if self._position is None:
            on_error(NO_GPS)
            return
        lat, lon, accuracy = self._position
        on_fix(LocationFix(lat, lon, accuracy, datetime.now(UTC), self._source))

    def stop(self) -> None:
        return None


class DesktopCamera:
    can_take_photo = False  # "taking" a photo picks a file

    def __init__(self, chooser: FileChooser | None = None) -> None:
        self.chooser = chooser

    def take_photo(self, dest_dir: Path, on_done: OnPhotos, on_error: OnError) -> None:
        if self.chooser is None:
            on_error(NO_CHOOSER)
            return
        self.chooser(on_done, on_error, False)

    def pick_photos(self, on_done: OnPhotos, on_error: OnError) -> None:
        if self.chooser is None:
            on_error(NO_CHOOSER)
            return
        self.chooser(on_done, on_error, True)


class DesktopConnectivity:
    """Online = the server answered its health check the last time we asked."""

    def __init__(self, server_url: str | None = None, *, timeout_s: float = 3.0) -> None:
        self.server_url = server_url
        self.timeout_s = timeout_s
        self._online = True  # optimistic until the first probe: the first sync may try
        self._lock = threading.Lock()

    def online(self) -> bool:
        return self._online

    def on_wifi(self) -> bool:
        return True

    def refresh(self) -> bool:
        url = self.server_url
        if not url:
            self._online = False
            return False
        with self._lock:
            try:
                response = httpx.get(url.rstrip("/") + "/api/v1/health", timeout=self.timeout_s)
                self._online = response.status_code < 500
            except httpx.HTTPError as exc:
                log.info("connectivity: %s is not reachable (%s)", url, exc)
                self._online = False
        return self._online


class DesktopPermissions:
    def granted(self, permission: Permission) -> bool:
        return True

    def request(self, permissions: Sequence[Permission], on_result: OnPermissions) -> None:
        on_result(dict.fromkeys(permissions, True))


class DesktopPlatform:
    name = "desktop"

    def __init__(
        self,
        *,
        server_url: str | None = None,
        position: tuple[float, float, float] | None = None,
        chooser: FileChooser | None = None,
    ) -> None:
        env = os.environ.get("WHISTLE_DESKTOP_LOCATION")
        if position is None and env:
            try:
                position = parse_position(env)
            except ValueError as exc:
                log.warning("WHISTLE_DESKTOP_LOCATION ignored: %s", exc)
        self.location = DesktopLocation(position)
        self.camera = DesktopCamera(chooser)
        self.connectivity = DesktopConnectivity(server_url)
        self.permissions = DesktopPermissions()

    def set_server(self, url: str | None) -> None:
        self.connectivity.server_url = url


__all__ = [
    "NO_CHOOSER",
    "NO_GPS",
    "DesktopCamera",
    "DesktopConnectivity",
    "DesktopLocation",
    "DesktopPermissions",
    "DesktopPlatform",
    "FileChooser",
    "parse_position",
]
