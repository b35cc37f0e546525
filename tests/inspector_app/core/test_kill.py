"""The app killed (SIGKILL) at random moments while saving: nothing saved is lost, nothing
is half-written, and start-up recovery leaves a consistent store and photo directory."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector_app.core.capture import Capture
from inspector_app.core.files import is_temp_name
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from shared_schemas.sync import SyncOperation

KILLS = 32
REPO = Path(__file__).resolve().parents[3]


def _run_and_kill(app_dir: Path, seed: int, delay: float) -> list[str]:
    """Start the saver, kill it ``delay`` s after it is ready; the ids it said it saved."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.inspector_app.core.kill_worker", str(app_dir), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    if first.strip() != "ready":
        child.kill()
        _, err = child.communicate()
        pytest.fail(f"the saver did not start: {first!r} {err}")
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL, f"the saver died by itself: {err}"
    return [line.split()[1] for line in out.splitlines() if line.startswith("saved ")]


def _check(app_dir: Path, saved: set[str]) -> tuple[int, int]:
    """Invariants after a kill and a restart; returns (leftover files, reports)."""
    root = app_dir / "photos"
    with Store(app_dir / "whistle.db") as store:
        assert store.integrity_check() == "ok"
        assert store.foreign_key_problems() == []
        # every photo row has its original: files are durable before the row commits
        for photo in store.all_photos():
            assert (root / photo.original_path).is_file(), photo.id
        capture = Capture(store, root, PhotoProcessor(background=False))
        recovered = capture.recover()
        leftovers = [p for p in root.rglob("*") if p.is_file() and is_temp_name(p.name)]
        assert leftovers == []
        known = {p.id for p in store.all_photos()}
        stems = {p.name.split(".")[0] for p in root.rglob("*") if p.is_file()}
        assert stems <= known, f"orphan files: {stems - known}"

        reports = {r.id: r for r in store.list_reports()}
        assert saved <= set(reports), f"lost reports: {saved - set(reports)}"
        creates = store.list_ops()
        by_entity: dict[str, int] = {}
        for op in creates:
            if op.kind == "report.create":
                by_entity[op.entity_id] = by_entity.get(op.entity_id, 0) + 1
        queued = {rid for rid, r in reports.items() if r.state != "draft"}
        assert set(by_entity) == queued, "a queued report without its op, or the reverse"
        assert all(n == 1 for n in by_entity.values())
        seqs = [op.seq for op in creates]
        assert seqs == sorted(set(seqs))
        for op in creates:  # all photos processed again: every op is complete and valid
            assert op.state == "pending", (op.kind, op.state)
            SyncOperation.model_validate(op.wire()).parsed_payload()
        return len(recovered.files_removed), len(reports)


@pytest.mark.slow
def test_killed_while_saving(tmp_path: Path) -> None:
    rng = random.Random(20260501)
    app_dir = tmp_path / "app"
    saved: set[str] = set()
    removed = 0
    for i in range(KILLS):
        saved.update(_run_and_kill(app_dir, seed=i, delay=rng.uniform(0.0, 0.12)))
        files_removed, _ = _check(app_dir, saved)
        removed += files_removed
    assert saved, "the saver never finished a report between kills"
    print(f"{KILLS} kills, {len(saved)} reports saved, {removed} leftover files cleaned")
