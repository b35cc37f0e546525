"""The Android adapter: plyer for GPS, camera and the file picker, python-for-android's
``android.permissions`` for runtime permissions, pyjnius for connectivity.

Imported only on a tablet (``inspector_app.platform.detect``); every Android-only module
is imported inside the methods, so this file can be read (and type-checked) anywhere.
It cannot be exercised off a device: docs/android.md says what to check by hand.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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

GPS_OFF = N_("Location is switched off: turn on location in the tablet's settings.")
NO_LOCATION_PERMISSION = N_("The app may not use the location: allow it in the settings.")
NO_CAMERA_PERMISSION = N_("The app may not use the camera: allow it in the settings.")
CAMERA_FAILED = N_("The camera could not be opened.")


class AndroidLocation:
    available = True

    def __init__(self, permissions: AndroidPermissions) -> None:
        self._permissions = permissions
        self._on_fix: OnFix | None = None
        self._on_error: OnError | None = None
        self._running = False

    def start(self, on_fix: OnFix, on_error: OnError) -> None:
        self._on_fix, self._on_error = on_fix, on_error

        def go(result: dict[Permission, bool]) -> None:
            if not result.get(Permission.FINE_LOCATION):
                on_error(NO_LOCATION_PERMISSION)
                return
            from plyer import gps

            try:
                gps.configure(on_location=self._location, on_status=self._status)
                gps.start(minTime=1000, minDistance=0)
                self._running = True
            except Exception as exc:  # plyer raises plain exceptions from Java
                log.warning("gps: cannot start: %s", exc)
                on_error(GPS_OFF)

        self._permissions.request([Permission.FINE_LOCATION, Permission.COARSE_LOCATION], go)

    def _location(self, **kwargs: Any) -> None:
        if self._on_fix is None:
            return
        self._on_fix(
            LocationFix(
                lat=float(kwargs["lat"]),
                lon=float(kwargs["lon"]),
                accuracy_m=float(kwargs.get("accuracy") or 9999.0),
                captured_at=datetime.now(UTC),
                source=LocationSource.GPS,
            )
        )

    def _status(self, stype: str, status: str) -> None:
        if stype == "provider-disabled" and self._on_error is not None:
            self._on_error(GPS_OFF)

    def stop(self) -> None:
        if self._running:
            from plyer import gps

            gps.stop()
            self._running = False


class AndroidCamera:
    can_take_photo = True

    def __init__(self, permissions: AndroidPermissions) -> None:
        self._permissions = permissions

    def take_photo(self, dest_dir: Path, on_done: OnPhotos, on_error: OnError) -> None:
        def go(result: dict[Permission, bool]) -> None:
            if not result.get(Permission.CAMERA):
                on_error(NO_CAMERA_PERMISSION)
                return
            from plyer import camera

            dest_dir.mkdir(parents=True, exist_ok=True)
            target = dest_dir / f"camera-{uuid.uuid4()}.jpg"
            _allow_file_uris()

            def done(filename: str | None) -> bool:
                path = Path(filename) if filename else None
                on_done([path] if path is not None and path.is_file() else [])
                return False  # keep the file: the app copies it, then removes it

            try:
                camera.take_picture(filename=str(target), on_complete=done)
            except Exception as exc:
                log.warning("camera: %s", exc)
                on_error(CAMERA_FAILED)

        self._permissions.request([Permission.CAMERA], go)

    def pick_photos(self, on_done: OnPhotos, on_error: OnError) -> None:
        from plyer import filechooser

        def chosen(selection: list[str] | None) -> None:
            on_done([Path(p) for p in selection or [] if p])

        try:
            filechooser.open_file(
                on_selection=chosen, multiple=True, filters=[["Images", "*.jpg", "*.png"]]
            )
        except Exception as exc:
            log.warning("file chooser: %s", exc)
            on_error(CAMERA_FAILED)


def _allow_file_uris() -> None:
    """plyer's camera hands the camera app a file:// URI, which Android 7+ refuses
    (FileUriExposedException) under the default StrictMode VM policy: relax it."""
    try:
        from jnius import autoclass  # type: ignore[import-not-found]

        strict_mode = autoclass("android.os.StrictMode")
        builder = autoclass("android.os.StrictMode$VmPolicy$Builder")
        strict_mode.setVmPolicy(builder().build())
    except Exception as exc:
        log.warning("camera: cannot relax StrictMode: %s", exc)


class AndroidConnectivity:
    """Asks ConnectivityManager; on_wifi = the active network is not metered."""

    def __init__(self) -> None:
        self._online = True
        self._unmetered = True

    def online(self) -> bool:
        return self._online

    def on_wifi(self) -> bool:
        return self._unmetered

    def refresh(self) -> bool:
        try:
            from jnius import autoclass

            context = autoclass("android.content.Context")
            activity = autoclass("org.kivy.android.PythonActivity").mActivity
            caps_class = autoclass("android.net.NetworkCapabilities")
            manager = activity.getSystemService(context.CONNECTIVITY_SERVICE)
            network = manager.getActiveNetwork()
            caps = manager.getNetworkCapabilities(network) if network else None
            self._online = bool(caps and caps.hasCapability(caps_class.NET_CAPABILITY_INTERNET))
            self._unmetered = self._online and not manager.isActiveNetworkMetered()
        except Exception as exc:
            log.warning("connectivity: cannot ask Android: %s", exc)
        return self._online


class AndroidPermissions:
    def granted(self, permission: Permission) -> bool:
        from android.permissions import check_permission  # type: ignore[import-not-found]

        return bool(check_permission(f"android.permission.{permission.value}"))

    def request(self, permissions: Sequence[Permission], on_result: OnPermissions) -> None:
        from android.permissions import request_permissions

        wanted = list(permissions)
        if all(self.granted(p) for p in wanted):
            on_result(dict.fromkeys(wanted, True))
            return

        def answered(names: list[str], grants: list[bool]) -> None:
            by_name = dict(zip(names, grants, strict=False))
            on_result({p: bool(by_name.get(f"android.permission.{p.value}")) for p in wanted})

        request_permissions([f"android.permission.{p.value}" for p in wanted], answered)


class AndroidPlatform:
    name = "android"

    def __init__(self) -> None:
        self.permissions = AndroidPermissions()
        self.location = AndroidLocation(self.permissions)
        self.camera = AndroidCamera(self.permissions)
        self.connectivity = AndroidConnectivity()

    def set_server(self, url: str | None) -> None:
        return None  # Android knows its network; no probe needed


__all__ = ["AndroidPlatform"]
