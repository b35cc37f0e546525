"""Inspector app benchmark: start-up, saving a report, scrolling, memory.

    .venv/bin/python -m bench.app_bench [--reports 5000] [--queued-photos 1000] [--frames 400]

Each figure is taken in a fresh child process running the real app (Kivy, the CJK font,
the real store) in a 1280x800 window on a private Xvfb display (started here when no
DISPLAY is set), signed in offline with sync off (no network):

1. cold start: from spawning the process to the first frame drawn with the home screen;
2. save: the New report screen with three 4000x3000 JPEG photos attached, category,
   GPS fix and compound set; time for the screen's Save to return (the report is queued
   in the store and the home screen is shown), then until the photo worker finished the
   three photos (the report.create operation is ready to push);
3. scrolling My reports with 5,000 local reports: the list is scrolled by 60 px a frame
   for ``--frames`` frames with rendering unthrottled; frame times (the time between frames
   as Kivy's clock sees it, which includes drawing and buffer swaps);
4. memory: RSS (psutil) of the app with 1,000 queued photos on the tablet (processed,
   waiting for upload), after showing home and scrolling My reports from top to bottom.

Targets (issue 4): start < 3 s, save returns < 200 ms, no frame > 50 ms, RSS < 300 MB.
Figures go to docs/benchmarks.md by hand. The machine's load matters a lot on 2 shared
cores: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WINDOW = (1280, 800)
ACCOUNT = {
    "id": "00000000-0000-4000-8000-0000000000aa",
    "username": "inspector",
    "display_name": "李网格员",
    "role": "inspector",
    "areas": [{"code": "DEMO_G1", "name": "幸福一网格", "level": "grid"}],
}
COMPOUND: dict[str, Any] = {
    "code": "DEMO_CP1",
    "name": "阳光小区",
    "level": "compound",
    "parent_code": "DEMO_G1",
    "lat": 31.2657,
    "lon": 121.5297,
}


# ---------------------------------------------------------------- data
def signed_in(data_dir: Path) -> None:
    from inspector_app.core.store import Store

    data_dir.mkdir(parents=True, exist_ok=True)
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        tx.kv_set("server_url", "http://127.0.0.1:9")
        tx.kv_set("auth", {"access_token": "bench", "refresh_token": "bench"})
        tx.kv_set("account", ACCOUNT)
        tx.kv_set("settings", {"language": "zh_CN", "photo_max_edge": 2048, "wifi_only": False})
        tx.kv_set("screens.config", {"map_downloads": False})
        tx.cache_area(COMPOUND["code"], COMPOUND)


def camera_photo(path: Path, *, seed: int) -> Path:
    """A 4000x3000 JPEG with some detail (a flat colour would decode unrealistically fast)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (4000, 3000), (90 + seed * 20, 120, 140))
    draw = ImageDraw.Draw(img)
    for i in range(0, 4000, 40):
        draw.line([(i, 0), (4000 - i, 3000)], fill=((i * 7 + seed) % 255, 80, 160), width=9)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return path


def bulk_reports(data_dir: Path, count: int, *, photos: bool) -> None:
    """``count`` queued reports; with ``photos`` each has one processed photo on disk
    (copies of one JPEG and one thumbnail), waiting for upload."""
    from datetime import UTC, datetime, timedelta

    from PIL import Image

    from inspector_app.core.store import Store

    photos_dir = data_dir / "photos"
    processed, thumb = b"", b""
    if photos:
        big = Image.new("RGB", (2048, 1536), (120, 140, 160))
        out = io.BytesIO()
        big.save(out, "JPEG", quality=85)
        processed = out.getvalue()
        small = big.copy()
        small.thumbnail((256, 256))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=80)
        thumb = out.getvalue()
        for sub in ("originals", "processed", "thumbs"):
            (photos_dir / sub).mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with Store(data_dir / "whistle.db") as store, store.transaction() as tx:
        for i in range(count):
            rid = f"00000000-0000-4000-8000-{i:012d}"
            tx.insert_report(rid, observed_at=start + timedelta(minutes=i))
            tx.update_report(
                rid,
                {
                    "category": ("GARBAGE", "FIRE_LANE", "MANHOLE", "STREET_LIGHT")[i % 4],
                    "state": "queued",
                    "grid": "DEMO_CP1",
                    "address": f"{i % 30 + 1}号楼",
                    "lat": 31.26 + (i % 50) * 0.0001,
                    "lon": 121.53 + (i % 70) * 0.0001,
                },
            )
            if not photos:
                continue
            pid = f"10000000-0000-4000-8000-{i:012d}"
            (photos_dir / "originals" / f"{pid}.jpg").write_bytes(processed)
            (photos_dir / "processed" / f"{pid}.jpg").write_bytes(processed)
            (photos_dir / "thumbs" / f"{pid}.jpg").write_bytes(thumb)
            tx.insert_photo(
                photo_id=pid,
                report_id=rid,
                inspection_id=None,
                kind="before",
                original_path=f"originals/{pid}.jpg",
                original_sha256="0" * 64,
                original_size=len(processed),
                taken_at=start,
            )
            tx.mark_photo_processed(
                pid,
                processed_path=f"processed/{pid}.jpg",
                thumb_path=f"thumbs/{pid}.jpg",
                sha256="0" * 64,
                size_bytes=len(processed),
                media_type="image/jpeg",
                width=2048,
                height=1536,
            )


# ---------------------------------------------------------------- the child (runs the app)
def child(args: argparse.Namespace) -> None:
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ["WHISTLE_MAP_TILES"] = "off"
    from kivy.config import Config

    Config.set("graphics", "width", str(WINDOW[0]))
    Config.set("graphics", "height", str(WINDOW[1]))
    Config.set("graphics", "maxfps", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    from kivy.clock import Clock

    from inspector_app.platform.fake import FakePlatform, fix
    from inspector_app.ui.app import WhistleApp

    platform_ = FakePlatform()
    platform_.location.fixes = [fix(31.2657, 121.5297, 5.0)]
    app = WhistleApp(data_dir=Path(args.data_dir), platform=platform_, auto_sync=False)
    result: dict[str, Any] = {}

    def current() -> Any:
        return app.current_screen

    def finish() -> None:
        print("RESULT " + json.dumps(result), flush=True)
        app.stop()

    def after_frames(n: int, func: Any) -> None:
        """Run ``func`` after ``n`` drawn frames."""
        state = {"left": n}

        def tick(_dt: float) -> bool:
            state["left"] -= 1
            if state["left"] <= 0:
                func()
                return False
            return True

        Clock.schedule_interval(tick, 0)

    def wait_for(predicate: Any, func: Any, timeout: float = 120.0) -> None:
        end = time.monotonic() + timeout

        def tick(_dt: float) -> bool:
            if predicate():
                func()
                return False
            if time.monotonic() > end:
                result["error"] = "timed out"
                finish()
                return False
            return True

        Clock.schedule_interval(tick, 0.01)

    # -- 1. cold start
    def started(_dt: float) -> None:
        result["start_s"] = time.time() - args.spawned_at
        result["screen"] = app.manager.current
        if args.mode == "start":
            finish()
        elif args.mode == "save":
            Clock.schedule_once(lambda _dt: save_flow(), 0.5)
        elif args.mode in ("scroll", "memory"):
            Clock.schedule_once(lambda _dt: scroll_flow(), 0.5)

    # -- 2. save with three 4000x3000 photos
    def save_flow() -> None:
        app.show("new_report")
        screen = current()
        screen.choose_category("FIRE_LANE")
        screen.form.choose_area(COMPOUND["code"])
        platform_.camera.photos = [Path(p) for p in args.photos]
        t0 = time.perf_counter()
        screen.pick_photos()

        def attached() -> None:
            result["attach_3_photos_s"] = time.perf_counter() - t0
            wait_for(lambda: screen.location_state == "accepted", do_save)

        wait_for(lambda: screen.form.photo_count == 3 and not screen.busy_photos, attached)

    def do_save() -> None:
        screen = current()
        report_id = screen.form.report_id
        t0 = time.perf_counter()
        screen.save()  # what the Save button calls
        result["save_returns_ms"] = (time.perf_counter() - t0) * 1000
        result["screen_after_save"] = app.manager.current
        store = app.ctx.store

        def ready() -> bool:
            ops = store.ops_for(report_id)
            return bool(ops) and ops[0].state == "pending"

        def processed() -> None:
            result["processing_done_s"] = time.perf_counter() - t0
            finish()

        wait_for(ready, processed)

    # -- 3. and 4. scroll My reports (frame times), RSS
    def scroll_flow() -> None:
        app.show("my_reports")
        screen = current()
        wait_for(lambda: len(screen.ids.rv.data) >= args.expect_rows, lambda: scroll(screen))

    def scroll(screen: Any) -> None:
        from kivy.core.window import Window

        rv = screen.ids.rv
        frames: list[float] = []
        swaps: list[float] = []
        flip = Window.flip

        def timed_flip(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return flip(*a, **k)
            finally:
                swaps.append((time.perf_counter() - t) * 1000)

        Window.flip = timed_flip
        step = {"n": 0}
        total = rv.children[0].height - rv.height
        per_frame = 60 / max(total, 1)  # 60 px a frame
        if args.mode == "memory":
            per_frame = 1 / max(args.frames, 1)  # top to bottom: every thumbnail is seen

        def tick(dt: float) -> bool:
            if step["n"] > 0:
                frames.append(dt * 1000)
            step["n"] += 1
            if step["n"] > args.frames:
                Window.flip = flip
                done(frames, swaps[1 : len(frames) + 1])
                return False
            rv.scroll_y = max(0.0, 1.0 - step["n"] * per_frame)
            return True

        Clock.schedule_interval(tick, 0)

    def done(frames: list[float], swaps: list[float]) -> None:
        import psutil  # type: ignore[import-untyped]

        work = sorted(f - s for f, s in zip(frames, swaps, strict=False))
        result["app_mean_ms"] = statistics.fmean(work)
        result["app_p95_ms"] = work[int(len(work) * 0.95) - 1]
        result["app_max_ms"] = work[-1]
        result["swap_mean_ms"] = statistics.fmean(swaps)
        frames.sort()
        result["frames"] = len(frames)
        result["frame_mean_ms"] = statistics.fmean(frames)
        result["frame_p95_ms"] = frames[int(len(frames) * 0.95) - 1]
        result["frame_max_ms"] = frames[-1]
        result["frames_over_50ms"] = sum(1 for f in frames if f > 50)
        result["rss_mb"] = psutil.Process().memory_info().rss / 2**20
        from inspector_app.ui.screens.my_reports import ReportRowView

        layout = current().ids.rv.layout_manager
        result["row_widgets"] = sum(isinstance(w, ReportRowView) for w in layout.children)
        finish()

    def on_home(*_args: Any) -> None:
        after_frames(1, lambda: started(0))

    Clock.schedule_once(lambda _dt: on_home(), 0)
    app.run()


# ---------------------------------------------------------------- the parent
def run_child(mode: str, data_dir: Path, **extra: Any) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.app_bench",
        "--child",
        mode,
        "--data-dir",
        str(data_dir),
        "--spawned-at",
        repr(time.time()),
        "--frames",
        str(extra.get("frames", 400)),
        "--expect-rows",
        str(extra.get("expect_rows", 0)),
    ]
    for photo in extra.get("photos", []):
        command += ["--photo", str(photo)]
    command[command.index("--spawned-at") + 1] = repr(time.time())
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise RuntimeError(
        f"the {mode} child gave no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


def start_xvfb() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("Xvfb is not installed (apt-get install xvfb) and DISPLAY is not set")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x1280x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        os.environ["DISPLAY"] = ":" + reader.readline().strip()
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=5000)
    parser.add_argument("--queued-photos", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--starts", type=int, default=3, help="cold starts to time")
    parser.add_argument("--child", choices=["start", "save", "scroll", "memory"])
    parser.add_argument("--data-dir")
    parser.add_argument("--spawned-at", type=float, default=0.0)
    parser.add_argument("--expect-rows", type=int, default=0)
    parser.add_argument("--photo", dest="photos", action="append", default=[])
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return

    xvfb = start_xvfb()
    work = Path(tempfile.mkdtemp(prefix="whistle-app-bench-"))
    try:
        print(
            f"machine: {platform.platform()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
        )
        base = work / "base"
        signed_in(base)
        # the very first start also extracts the CJK face into a font cache (once per install)
        first = run_child("start", base)["start_s"]
        starts = [run_child("start", base)["start_s"] for _ in range(args.starts)]
        print(
            f"1. cold start to home: median {statistics.median(starts):.2f} s "
            f"(runs: {', '.join(f'{s:.2f}' for s in starts)}; very first start {first:.2f} s)"
        )

        save_dir = work / "save"
        shutil.copytree(base, save_dir)
        photos = [camera_photo(work / "camera" / f"IMG_{i}.jpg", seed=i) for i in range(3)]
        saved = run_child("save", save_dir, photos=photos)
        print(
            f"2. save with three 4000x3000 photos: attach {saved['attach_3_photos_s']:.2f} s, "
            f"save returns {saved['save_returns_ms']:.0f} ms (then on "
            f"{saved['screen_after_save']}), processing done "
            f"{saved['processing_done_s']:.2f} s after save"
        )

        scroll_dir = work / "scroll"
        shutil.copytree(base, scroll_dir)
        bulk_reports(scroll_dir, args.reports, photos=False)
        scrolled = run_child("scroll", scroll_dir, frames=args.frames, expect_rows=args.reports)
        print(
            f"3. scrolling My reports ({args.reports} reports, {scrolled['frames']} frames "
            f"at 60 px): mean {scrolled['frame_mean_ms']:.1f} ms, p95 "
            f"{scrolled['frame_p95_ms']:.1f} ms, max {scrolled['frame_max_ms']:.1f} ms, "
            f"{scrolled['frames_over_50ms']} frames > 50 ms; of which the buffer swap "
            f"(software OpenGL, llvmpipe) {scrolled['swap_mean_ms']:.1f} ms mean; the app's "
            f"own work per frame: mean {scrolled['app_mean_ms']:.1f} ms, p95 "
            f"{scrolled['app_p95_ms']:.1f} ms, max {scrolled['app_max_ms']:.1f} ms; "
            f"{scrolled['row_widgets']} row widgets"
        )

        memory_dir = work / "memory"
        shutil.copytree(base, memory_dir)
        bulk_reports(memory_dir, args.queued_photos, photos=True)
        memory = run_child("memory", memory_dir, frames=200, expect_rows=args.queued_photos)
        print(
            f"4. RSS with {args.queued_photos} queued photos (after scrolling all of them): "
            f"{memory['rss_mb']:.0f} MB"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()


if __name__ == "__main__":
    main()
