"""The platform adapters: desktop (typed location, server probe), fake, protocols."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector_app.platform import detect
from inspector_app.platform.base import (
    Camera,
    Connectivity,
    Location,
    LocationFix,
    LocationSource,
    Permission,
    Permissions,
    Platform,
)
from inspector_app.platform.desktop import NO_CHOOSER, NO_GPS, DesktopPlatform, parse_position
from inspector_app.platform.fake import FakePlatform, fix
from tests.live_server import LiveServer
from tests.live_server import live_server as _live_server

live_server = _live_server


def test_implementations_satisfy_the_protocols() -> None:
    for platform in (DesktopPlatform(), FakePlatform()):
        assert isinstance(platform, Platform)
        assert isinstance(platform.location, Location)
        assert isinstance(platform.camera, Camera)
        assert isinstance(platform.connectivity, Connectivity)
        assert isinstance(platform.permissions, Permissions)


def test_detect_gives_the_desktop_off_android(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDROID_ARGUMENT", raising=False)
    monkeypatch.delenv("ANDROID_PRIVATE", raising=False)
    assert detect().name == "desktop"


def test_positions_are_parsed_or_refused() -> None:
    assert parse_position("31.23, 121.47") == (31.23, 121.47, 10.0)
    assert parse_position("31.23,121.47,4") == (31.23, 121.47, 4.0)
    for bad in ("31.23", "91,0", "0,181", "1,2,0", "a,b"):
        with pytest.raises(ValueError):
            parse_position(bad)


def test_desktop_location_typed_or_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WHISTLE_DESKTOP_LOCATION", raising=False)
    fixes: list[LocationFix] = []
    errors: list[str] = []
    desktop = DesktopPlatform()
    assert not desktop.location.available
    desktop.location.start(fixes.append, errors.append)
    assert errors == [NO_GPS] and fixes == []
    desktop.location.set_position(31.2, 121.5, 15.0, source=LocationSource.MAP)
    desktop.location.start(fixes.append, errors.append)
    assert fixes[0].source == LocationSource.MAP and fixes[0].accuracy_m == 15.0
    assert fixes[0].as_location()["source"] == "map"
    monkeypatch.setenv("WHISTLE_DESKTOP_LOCATION", "30.5,114.3,8")
    assert DesktopPlatform().location.available


def test_desktop_camera_uses_the_ui_chooser_and_says_when_there_is_none() -> None:
    errors: list[str] = []
    DesktopPlatform().camera.take_photo(Path("."), lambda _p: None, errors.append)
    assert errors == [NO_CHOOSER]
    calls: list[bool] = []
    chosen: list[list[Path]] = []

    def chooser(on_done, on_error, multiple: bool) -> None:
        calls.append(multiple)
        on_done([Path("a.jpg")])

    desktop = DesktopPlatform(chooser=chooser)
    desktop.camera.take_photo(Path("."), chosen.append, errors.append)
    desktop.camera.pick_photos(chosen.append, errors.append)
    assert calls == [False, True] and chosen == [[Path("a.jpg")], [Path("a.jpg")]]
    got: list[dict[Permission, bool]] = []
    desktop.permissions.request([Permission.CAMERA], got.append)
    assert got == [{Permission.CAMERA: True}]


def test_desktop_connectivity_asks_the_server(live_server: LiveServer) -> None:
    desktop = DesktopPlatform()
    assert desktop.connectivity.refresh() is False  # no server known
    desktop.set_server(live_server.url)
    assert desktop.connectivity.refresh() is True and desktop.connectivity.online()
    assert desktop.connectivity.on_wifi()
    desktop.set_server("http://127.0.0.1:9")
    assert desktop.connectivity.refresh() is False and not desktop.connectivity.online()


def test_fake_platform_is_scriptable() -> None:
    fake = FakePlatform()
    fixes: list[LocationFix] = []
    errors: list[str] = []
    fake.location.fixes = [fix(accuracy_m=40), fix(accuracy_m=5)]
    fake.location.start(fixes.append, errors.append)
    fake.location.emit(fix(accuracy_m=3, captured_at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert [f.accuracy_m for f in fixes] == [40, 5, 3]
    fake.location.stop()
    fake.location.emit(fix())
    assert len(fixes) == 3
    fake.location.error = "GPS off"
    fake.location.start(fixes.append, errors.append)
    assert errors == ["GPS off"]
    fake.camera.photos = [Path("1.jpg"), Path("2.jpg")]
    taken: list[list[Path]] = []
    fake.camera.take_photo(Path("."), taken.append, errors.append)
    fake.camera.pick_photos(taken.append, errors.append)
    assert taken == [[Path("1.jpg")], [Path("1.jpg"), Path("2.jpg")]]
    fake.permissions.grants[Permission.CAMERA] = False
    answers: list[dict[Permission, bool]] = []
    fake.permissions.request([Permission.CAMERA, Permission.FINE_LOCATION], answers.append)
    assert answers == [{Permission.CAMERA: False, Permission.FINE_LOCATION: True}]
