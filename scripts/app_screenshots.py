#!/usr/bin/env python3
"""Screenshots of every app screen, in Chinese and English, landscape and portrait.

    .venv/bin/python scripts/app_screenshots.py [--out docs/screenshots/app] [--only NAME]

Writes ``<name>-<lang>-<W>x<H>.png`` for each entry of :data:`SHOTS`, each language
(zh_CN, en) and each size (1280x800, 800x1280). It runs its own private Xvfb display
(Xvfb must be installed: scripts/setup.sh --test-deps), so it works with or without
$DISPLAY. The app runs offline: a cached demo account in a fresh data directory per shot,
no server, no sync, and a fake platform (no GPS or camera needed).

To add a screen: append a ``Shot(name, setup)`` to SHOTS; ``setup(app)`` gets a running,
signed-in WhistleApp on its home screen, fills what the screen should show (through
``app.ctx``) and shows it (``app.show(...)``).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app_screenshots_work import work_shots  # noqa: E402 (beside this script)

SIZES = ((1280, 800), (800, 1280))
LANGUAGES = ("zh_CN", "en")
OFFLINE_SERVER = "http://127.0.0.1:9"  # nothing listens: the shots never touch a network
ACCOUNT = {
    "id": "00000000-0000-4000-8000-0000000000aa",
    "username": "inspector",
    "display_name": "李网格员",
    "role": "inspector",
    "areas": [
        {"code": "DEMO_G1", "name": "幸福一网格", "level": "grid"},
        {"code": "DEMO_G2", "name": "幸福二网格", "level": "grid"},
    ],
}
AREAS: list[dict[str, Any]] = [
    {"code": "DEMO_G1", "name": "幸福一网格", "level": "grid", "parent_code": "DEMO_CM"},
    {"code": "DEMO_G2", "name": "幸福二网格", "level": "grid", "parent_code": "DEMO_CM"},
    {
        "code": "DEMO_CP1",
        "name": "阳光小区",
        "name_en": "Sunshine Garden",
        "level": "compound",
        "parent_code": "DEMO_G1",
        "lat": 31.2657,
        "lon": 121.5297,
    },
]
LOCATION = {
    "lat": 31.2652,
    "lon": 121.5303,
    "accuracy_m": 6.0,
    "source": "gps",
    "captured_at": datetime(2026, 5, 1, 9, 30, tzinfo=UTC),
}


@dataclass(frozen=True)
class Shot:
    name: str
    setup: Callable[[Any], None]
    signed_in: bool = True


# ---------------------------------------------------------------- data for the shots


def photo_bytes(colour: tuple[int, int, int] = (180, 60, 40)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), colour)
    ImageDraw.Draw(img).rectangle((80, 80, 560, 400), outline=(255, 255, 255), width=12)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def queue_report(app: Any, *, category: str = "FIRE_LANE", address: str = "3号楼东侧") -> str:
    capture = app.ctx.capture
    report_id: str = capture.create_draft(category=category, grid="DEMO_G1", address=address)
    capture.set_location(report_id, **LOCATION)
    capture.attach_photo(report_id, photo_bytes())
    capture.submit(report_id)
    app.ctx.processor.wait_idle()
    return report_id


def reject(app: Any, report_id: str) -> None:
    store = app.ctx.store
    op = store.ops_for(report_id)[0]
    with store.transaction() as tx:
        tx.record_result(
            op.op_id, status="rejected", code="area_out_of_scope", message="不在你的网格内"
        )


def add_task(app: Any, number: int, *, due_in_days: float) -> None:
    due = datetime.now(UTC) + timedelta(days=due_in_days)
    task_id = f"00000000-0000-4000-8000-{number:012d}"
    with app.ctx.store.transaction() as tx:
        tx.set_task_from_server(
            task_id,
            case_id=f"00000000-0000-4000-9000-{number:012d}",
            data={
                "id": task_id,
                "status": "open",
                "kind": "verification",
                "due_at": due.isoformat(),
                "category": "HALLWAY_CLUTTER",
                "address": "5号楼2单元",
                "lat": 31.2657,
                "lon": 121.5297,
            },
        )


def some_work(app: Any) -> None:
    """A realistic home: two waiting, one refused, one draft, three tasks (one overdue)."""
    queue_report(app)
    queue_report(app, category="EBIKE_INDOOR", address="7号楼大堂")
    reject(app, queue_report(app, category="GARBAGE", address="南门垃圾站"))
    app.ctx.capture.create_draft(category="STREET_LIGHT", grid="DEMO_G1")
    add_task(app, 1, due_in_days=2)
    add_task(app, 2, due_in_days=5)
    add_task(app, 3, due_in_days=-1)


# ---------------------------------------------------------------- the shots


def signin_empty(app: Any) -> None:
    app.reset_to("signin")


def signin_error(app: Any) -> None:
    from inspector_app.viewmodels.locale import N_
    from inspector_app.viewmodels.messages import Message

    app.reset_to("signin")
    screen = app.current_screen
    screen.ids.username.text = "inspector"
    screen.message = Message(N_("Wrong user name or password."))


def home(app: Any) -> None:
    some_work(app)
    app.reset_to("home")


def home_syncing(app: Any) -> None:
    from inspector_app.core.sync_engine import SyncProgress
    from inspector_app.viewmodels.home import progress_view

    home(app)
    app.syncing = True
    app.sync_progress = progress_view(
        SyncProgress("photos", 3, 3, 1_900_000, 4_600_000, "2 photos to send")
    )


def home_offline(app: Any) -> None:
    home(app)
    app.online = False


def settings(app: Any) -> None:
    app.show("settings")


def settings_sign_out_guard(app: Any) -> None:
    queue_report(app)
    app.show("settings")
    app.current_screen.request_sign_out()


SHOTS: list[Shot] = [
    Shot("signin", signin_empty, signed_in=False),
    Shot("signin-error", signin_error, signed_in=False),
    Shot("home", home),
    Shot("home-syncing", home_syncing),
    Shot("home-offline", home_offline),
    Shot("settings", settings),
    Shot("settings-sign-out-guard", settings_sign_out_guard),
    *work_shots(Shot),  # the work screens (H8): scripts/app_screenshots_work.py
]


# ---------------------------------------------------------------- the machinery


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        sys.exit("Xvfb is not installed: run `bash scripts/setup.sh --test-deps`")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(  # noqa: S603 (Xvfb found on PATH, fixed arguments)
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1280x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        number = reader.readline().strip()
    if not number:
        proc.kill()
        sys.exit("Xvfb did not start")
    return proc, f":{number}"


def seed_account(data_dir: Path) -> None:
    from inspector_app.core.store import Store

    data_dir.mkdir(parents=True, exist_ok=True)
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        tx.kv_set("server_url", OFFLINE_SERVER)
        tx.kv_set("auth", {"access_token": "offline", "refresh_token": "offline"})
        tx.kv_set("account", ACCOUNT)
        for area in AREAS:
            tx.cache_area(area["code"], area)
        last_sync = datetime.now(UTC) - timedelta(minutes=42)  # the engine reads it at start
        tx.kv_set("sync_status", {"last_success_at": last_sync.isoformat(), "last_error": None})


def frames(count: int = 6) -> None:
    from kivy.base import EventLoop

    for _ in range(count):
        EventLoop.idle()


def settle(seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        frames(1)


def take(shot: Shot, *, language: str, size: tuple[int, int], work: Path, out: Path) -> Path:
    from kivy.app import App
    from kivy.core.window import Window

    from inspector_app.platform.fake import FakePlatform
    from inspector_app.ui.app import WhistleApp
    from inspector_app.ui.i18n import tr

    data_dir = Path(tempfile.mkdtemp(dir=work))
    if shot.signed_in:
        seed_account(data_dir)
    Window.size = size
    app = WhistleApp(
        data_dir=data_dir,
        server_url=OFFLINE_SERVER,
        platform=FakePlatform(),
        auto_sync=False,
        background_photos=False,
        probe_interval_s=3600.0,
        system_locale=language,
        font_cache_dir=work / "fonts",
    )
    tr.switch(language)
    try:
        app._run_prepare()
        settle()
        shot.setup(app)
        settle(0.6)
        target = out / f"{shot.name}-{language}-{size[0]}x{size[1]}.png"
        written = Window.screenshot(name=str(work / "shot.png"))
        Path(written).replace(target)
        return target
    finally:
        for child in list(Window.children):
            if child is not app.root:
                Window.remove_widget(child)  # dialogs and popups opened by a shot
        app.dispatch("on_stop")
        if app.root is not None and app.root.parent is not None:
            Window.remove_widget(app.root)
        App._running_app = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "app")
    parser.add_argument("--only", action="append", help="only the shot(s) with this name")
    args = parser.parse_args(argv)
    proc, display = start_xvfb()
    os.environ["DISPLAY"] = display
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")
    os.environ.setdefault("KIVY_METRICS_DENSITY", "1")
    work = Path(tempfile.mkdtemp(prefix="whistle-shots-"))
    os.environ["KIVY_HOME"] = str(work / "kivy")
    try:
        from kivy.config import Config

        Config.set("graphics", "width", "1280")
        Config.set("graphics", "height", "800")
        Config.set("kivy", "exit_on_escape", "0")
        from kivy.base import EventLoop

        EventLoop.ensure_window()
        args.out.mkdir(parents=True, exist_ok=True)
        shots = [s for s in SHOTS if not args.only or s.name in args.only]
        for shot in shots:
            for language in LANGUAGES:
                for size in SIZES:
                    path = take(shot, language=language, size=size, work=work, out=args.out)
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
