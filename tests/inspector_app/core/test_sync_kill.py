"""The sync command line killed (SIGKILL) at random moments of its work, over and over,
while the inspector keeps saving reports between runs; then one run to the end.

After every kill the tablet's store passes PRAGMA integrity_check. At the end: every
report on the server exactly once, every photo byte-identical, every operation applied
once, the queue empty, no orphan or temporary files (design.md, sync rules 1, 3-5).
Rerun a failure with WHISTLE_KILL_SEED=<seed> (the seed is in every failure message).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from server.core.config import Settings
from server.core.db import make_engine
from server.main import create_app
from server.storage.factory import make_storage
from tests.inspector_app.core.sync_helpers import (
    DB_NAME,
    PHOTOS,
    Tablet,
    check_all_arrived_once,
    check_store_sound,
    fast_directory,
    save_report,
)
from tests.live_server import run_live_server
from tests.world import World

SEED = int(os.environ.get("WHISTLE_KILL_SEED", "20261124"))
KILLS = 50
REPORTS_PER_ROUND = 4
MAX_ROUNDS = 120
MAX_KILL_DELAY_S = 0.5
REPO = Path(__file__).resolve().parents[3]


def _sync_command(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "inspector_app.core.sync_cli", "--data-dir", str(data_dir)]


def _start_sync(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*_sync_command(data_dir), "--timeout", "10", "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _run_and_maybe_kill(data_dir: Path, delay_s: float) -> tuple[bool, str, float | None]:
    """Start a sync, kill it ``delay_s`` after it printed its first progress line (the
    engine is at work). (killed, output, seconds from that line to the exit when it
    finished first, else None)."""
    child = _start_sync(data_dir)
    assert child.stderr is not None
    first = child.stderr.readline()  # the progress bar's first line: the cycle started
    started = time.monotonic()
    if not first:
        out, err = child.communicate(timeout=60)
        pytest.fail(f"the sync command printed nothing (exit {child.returncode}): {out} {err}")
    try:
        child.wait(timeout=delay_s)
    except subprocess.TimeoutExpired:
        child.send_signal(signal.SIGKILL)
    finished_after = time.monotonic() - started if child.returncode is not None else None
    out, err = child.communicate(timeout=60)
    # killed, or it finished first: exit 0 (all sent) or 1 (something left to retry)
    assert child.returncode in (-signal.SIGKILL, 0, 1), f"exit {child.returncode}: {first}{err}"
    killed = child.returncode == -signal.SIGKILL
    return killed, first + err + out, None if killed else finished_after


def _save(data_dir: Path, first_index: int, count: int) -> None:
    with Store(data_dir / DB_NAME) as store:
        capture = Capture(store, data_dir / PHOTOS, PhotoProcessor(background=False))
        capture.recover()  # as the app does at start-up, after the last kill
        for index in range(first_index, first_index + count):
            save_report(capture, index)


@pytest.mark.slow
def test_sync_killed_at_random_moments_loses_and_doubles_nothing(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    print(f"kill seed {SEED} (rerun with WHISTLE_KILL_SEED={SEED})")
    with fast_directory(tmp_path) as fast:
        # the server's photos on tmpfs too: its fsyncs are not what this test is about
        server_settings = settings.model_copy(update={"storage_dir": fast / "server-photos"})
        app = create_app(server_settings)
        try:
            with run_live_server(app) as live:
                _kill_many_times(live.url, fast / "tablet", server_settings)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n(kill seed {SEED})") from exc
        finally:
            app.state.engine.dispose()


def _kill_many_times(server_url: str, data_dir: Path, settings: Settings) -> None:
    rng = random.Random(SEED)
    tablet = Tablet.open(data_dir, server_url)
    tablet.sign_in()  # the tokens and the server stay in the store for the command line
    device_id = tablet.client.device_id
    tablet.close()

    kills = rounds = saved = 0
    finished: list[float] = []  # how long whole syncs took: kills land inside that span
    while kills < KILLS:
        rounds += 1
        assert rounds <= MAX_ROUNDS, f"only {kills} kills landed in {rounds} rounds"
        if rng.random() < 0.8:  # sometimes nothing new: the kill hits a retry
            _save(data_dir, saved, REPORTS_PER_ROUND)
            saved += REPORTS_PER_ROUND
        ceiling = MAX_KILL_DELAY_S
        if finished:  # a faster machine or engine: aim inside a typical sync
            ceiling = min(ceiling, 0.9 * statistics.median(finished))
        killed, output, took = _run_and_maybe_kill(data_dir, rng.uniform(0.0, ceiling))
        kills += killed
        if took is not None:
            finished.append(took)
        with Store(data_dir / DB_NAME) as store:
            assert store.integrity_check() == "ok", f"round {rounds}: {output}"

    # The last run goes to the end (a run may leave backoff-free retries: allow a few).
    for _ in range(3):
        final = subprocess.run(
            [*_sync_command(data_dir), "sync", "--quiet"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
            check=False,
        )
        if final.returncode == 0:
            break
    assert final.returncode == 0, f"the final sync left something: {final.stdout} {final.stderr}"
    print(f"{kills} kills in {rounds} rounds, {saved} reports; final: {final.stdout.strip()}")

    engine = make_engine(settings)
    with Store(data_dir / DB_NAME) as store:
        try:
            counts = check_all_arrived_once(
                store=store,
                photos_root=data_dir / PHOTOS,
                device_id=device_id,
                engine=engine,
                storage=make_storage(settings),
            )
        finally:
            engine.dispose()
        check_store_sound(store, data_dir / PHOTOS)
    assert counts["reports"] == saved
    assert counts["photos"] == 2 * saved
