"""UI test fixtures: the real Kivy app in a real window on a private Xvfb display.

* One X server and one Kivy window per test session (Kivy cannot recreate its window);
  each test gets a fresh :class:`WhistleApp` (own data directory, own store) whose root
  is put into that window and taken out again afterwards.
* Tests drive the screens with real touch events (:meth:`UiDriver.tap`) and read widget
  properties; background work is waited for with :meth:`UiDriver.wait_until`.
* Kivy is imported only inside fixtures, after the display exists; its environment is
  set when this file is imported (before any test module imports kivy).

How to use them: docs/inspector-app.md ("Tests").
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import live_server as _live

# Real server on loopback for UI tests (both database backends, as every DB test).
live_server = _live.live_server

# Kivy reads these when it is first imported.
_KIVY_HOME = tempfile.mkdtemp(prefix="whistle-kivy-home-")
os.environ.setdefault("KIVY_HOME", _KIVY_HOME)
os.environ["KIVY_NO_ARGS"] = "1"
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
os.environ.setdefault("KIVY_WINDOW", "sdl2")

WINDOW_SIZE = (1280, 800)


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """A private X server; -displayfd lets it pick a free display number."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is not installed: run `bash scripts/setup.sh --test-deps`")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            "1280x1280x24",
            "-nolisten",
            "tcp",
            "-noreset",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        number = reader.readline().strip()
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start (no display number)")
    return proc, f":{number}"


@pytest.fixture(scope="session")
def kivy_window() -> Iterator[Any]:
    """The one Kivy window of the session, on a private Xvfb display."""
    proc, display = _start_xvfb()
    os.environ["DISPLAY"] = display
    from kivy.config import Config

    Config.set("graphics", "width", str(WINDOW_SIZE[0]))
    Config.set("graphics", "height", str(WINDOW_SIZE[1]))
    Config.set("graphics", "maxfps", "0")  # frames as fast as the tests ask
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from kivy.base import EventLoop

    EventLoop.ensure_window()
    window = EventLoop.window
    try:
        yield window
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(_KIVY_HOME, ignore_errors=True)


class UiDriver:
    """One running app in the session window, and ways to drive it."""

    def __init__(self, app: Any, platform: Any, window: Any) -> None:
        self.app = app
        self.platform = platform
        self.window = window

    # ------------------------------------------------------------ time
    def pump(self, frames: int = 1, *, draw: bool = False) -> None:
        """Run ``frames`` frames: clock callbacks, input, kv rules, layout. Drawing (slow
        with software GL: ~0.15 s a frame) only with ``draw=True``; tests read widget
        properties, screenshots draw."""
        from kivy.base import EventLoop
        from kivy.clock import Clock
        from kivy.lang import Builder

        for _ in range(frames):
            if draw:
                EventLoop.idle()
                continue
            Clock.tick()
            EventLoop.dispatch_input()
            Builder.sync()
            Clock.tick_draw()
            Builder.sync()

    def pump_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.pump()
            time.sleep(0.005)

    def wait_until(
        self, predicate: Callable[[], Any], *, timeout: float = 20.0, what: str = "a condition"
    ) -> Any:
        """Run frames until ``predicate()`` is truthy; fail after ``timeout`` seconds
        (a generous bound against hanging, not a measurement)."""
        end = time.monotonic() + timeout
        while True:
            self.pump()
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.005)

    def wait_idle(self, *, timeout: float = 20.0) -> None:
        """Until every background job (sign-in, sync, probe) has delivered its result."""
        from inspector_app.ui import background

        self.wait_until(lambda: background.pending() == 0, timeout=timeout, what="idle")
        self.pump(3)

    # ------------------------------------------------------------ screens and widgets
    @property
    def screen(self) -> Any:
        return self.app.current_screen

    @property
    def screen_name(self) -> str:
        return str(self.app.manager.current)

    def show(self, name: str, **params: Any) -> Any:
        assert self.app.show(name, **params), f"cannot show {name}"
        self.pump(3)
        return self.screen

    def ids(self) -> Any:
        return self.screen.ids

    def texts(self, root: Any = None) -> list[str]:
        """Every text shown under ``root`` (default: the whole window), in tree order."""
        from kivy.uix.widget import Widget

        found: list[str] = []
        for widget in (root or self.window).walk(restrict=True):
            shown = getattr(widget, "opacity", 1) > 0
            if isinstance(widget, Widget) and getattr(widget, "text", None) and shown:
                found.append(str(widget.text))
        return found

    def _scroll_into_view(self, widget: Any) -> bool:
        """Scroll the nearest ScrollView to show ``widget``; True if it is in one."""
        from kivy.uix.recycleview import RecycleView
        from kivy.uix.scrollview import ScrollView

        parent = widget.parent
        while parent is not None and parent is not self.window:
            if isinstance(parent, RecycleView):
                return True  # its rows exist only while visible
            if isinstance(parent, ScrollView):
                parent.scroll_to(widget, padding=20, animate=False)
                self.pump(2)
                return True
            parent = parent.parent
        return False

    def tap(self, widget: Any, *, settle_s: float = 0.3) -> None:
        """A real touch (down, up) at the widget's centre, through the window's input."""
        from kivy.tests.common import UnitTestTouch

        assert not widget.disabled, f"{widget!r} is disabled"
        self._scroll_into_view(widget)
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(1)
        touch.touch_up()
        # A ScrollView hands a short tap on to its content ~0.2 s later; popups open with
        # a 0.1 s animation: let both happen (background work the tap started may still
        # be running: wait for it with wait_idle or wait_until).
        self.pump_for(settle_s)

    def type_text(self, text_input: Any, text: str) -> None:
        text_input.focus = True
        text_input.text = ""
        text_input.insert_text(text)
        text_input.focus = False
        self.pump(2)

    def screenshot(self, path: Path) -> Path:
        self.pump(3, draw=True)
        self.window.screenshot(name=str(path))
        # Kivy appends a counter before the suffix: find what it wrote
        written = sorted(path.parent.glob(f"{path.stem}*{path.suffix}"))
        return written[-1]


AppFactory = Callable[..., UiDriver]


@pytest.fixture(scope="session")
def font_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fonts")


@pytest.fixture
def ui_factory(kivy_window: Any, tmp_path: Path, font_cache_dir: Path) -> Iterator[AppFactory]:
    """Start a WhistleApp in the session window: ``ui_factory(server_url=..., ...)``.

    Keyword arguments: ``server_url``, ``data_dir`` (default: a new one per call, or the
    same one to simulate a restart), ``language`` ("en" by default), ``platform`` (a
    FakePlatform by default), ``auto_sync`` (False: tests sync when they say so).
    Only one app runs at a time: starting another stops the previous one.
    """
    from kivy.app import App

    from inspector_app.platform.fake import FakePlatform
    from inspector_app.ui.app import WhistleApp

    started: list[UiDriver] = []

    def stop(driver: UiDriver) -> None:
        driver.wait_idle()
        app = driver.app
        app.dispatch("on_stop")
        if app.root is not None and app.root.parent is not None:
            kivy_window.remove_widget(app.root)
        App._running_app = None
        driver.pump(2)
        gc.collect()  # the old app's screens must not follow the next app's language

    def start(
        *,
        server_url: str | None = None,
        data_dir: Path | None = None,
        language: str = "en",
        platform: Any = None,
        auto_sync: bool = False,
    ) -> UiDriver:
        for previous in started:
            if previous.app.root is not None and previous.app.root.parent is not None:
                stop(previous)
        platform = platform or FakePlatform()
        app = WhistleApp(
            data_dir=data_dir or tmp_path / f"tablet-{len(started)}",
            server_url=server_url,
            platform=platform,
            auto_sync=auto_sync,
            system_locale=language,
            probe_interval_s=3600.0,
            font_cache_dir=font_cache_dir,
        )
        from inspector_app.ui.i18n import tr

        tr.switch(language)  # the previous test's choice must not leak
        app._run_prepare()
        driver = UiDriver(app, platform, kivy_window)
        started.append(driver)
        driver.wait_idle()
        return driver

    yield start
    for driver in started:
        if driver.app.root is not None and driver.app.root.parent is not None:
            stop(driver)
    kivy_window.size = WINDOW_SIZE


@pytest.fixture
def ui(ui_factory: AppFactory) -> UiDriver:
    """A fresh app with no server and nobody signed in (the sign-in screen)."""
    return ui_factory()
