"""The sync command line: end to end in a subprocess against the live server (login with
--password-stdin, status, sync with its progress bar, exit codes, logout), and its error
paths in-process."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inspector_app.core import sync_cli
from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import SyncProgress
from tests.inspector_app.core import images
from tests.inspector_app.core import sync_fixtures as fx
from tests.inspector_app.core.conftest import LOCATION
from tests.live_server import LiveServer
from tests.world import PASSWORD, World

live_server = fx.live_server
ROOT = Path(__file__).resolve().parents[3]


def cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "inspector_app.core.sync_cli", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
        check=False,
    )


def save_reports(data_dir: Path, grids: list[str]) -> list[str]:
    """Reports saved as the app would, in the CLI's data dir layout."""
    with Store(data_dir / "whistle.db") as store:
        capture = Capture(store, data_dir / "photos", PhotoProcessor(background=False))
        ids = []
        for i, grid in enumerate(grids):
            report_id = capture.create_draft(category="FIRE_LANE", grid=grid)
            capture.set_location(report_id, **LOCATION)
            capture.attach_photo(report_id, images.jpeg(colour=(i * 50 % 256, 9, 9)))
            capture.submit(report_id)
            ids.append(report_id)
        return ids


def test_cli_end_to_end(
    live_server: LiveServer,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Four runs in a subprocess (as operators and the kill test use it), the rest
    in-process through the same main()."""
    data = tmp_path / "tablet"
    base = ["--data-dir", str(data), "--server", live_server.url]
    monkeypatch.setattr(sys, "stdin", io.StringIO("nope\n"))
    login_args = ["login", "--username", "inspector_a", "--password-stdin"]
    assert sync_cli.main([*base, *login_args]) == 2
    assert "password is wrong" in capsys.readouterr().err

    login = cli(data, "--server", live_server.url, *login_args, stdin=PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    assert "signed in as inspector_a" in login.stdout

    good = save_reports(data, ["G_A", "G_A"])
    status = cli(data, "status")
    assert status.returncode == 0, status.stderr
    assert "inspector_a" in status.stdout and "pending 2" in status.stdout
    assert status.stdout.count("report.create") == 2

    synced = cli(data, "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "applied 2" in synced.stdout and "photos 2" in synced.stdout
    assert "[" in synced.stderr and "done" in synced.stderr  # the progress bar
    for report_id in good:
        assert fx.server_case(live_server.app.state.engine, report_id) is not None

    (bad,) = save_reports(data, ["G_B"])  # outside the inspector's grid
    left = cli(data, "sync", "--quiet")
    assert left.returncode == 1 and "rejected 1" in left.stdout and left.stderr == ""
    assert sync_cli.main(["--data-dir", str(data), "status"]) == 0
    status_out = capsys.readouterr().out
    assert bad in status_out and "area_out_of_scope" in status_out

    assert sync_cli.main(["--data-dir", str(data), "logout"]) == 0
    assert sync_cli.main(["--data-dir", str(data), "sync"]) == 2
    assert "not signed in" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_leaves_the_queue_and_exits_1(
    live_server: LiveServer, world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "tablet"
    tab = fx.make_tablet(live_server, data)
    tab.report()
    tab.client.close()
    tab.store.close()
    code = sync_cli.main(
        ["--data-dir", str(data), "--server", f"http://127.0.0.1:{_closed_port()}", "sync"]
    )
    captured = capsys.readouterr()
    assert code == 1 and "ConnectError" in captured.out and "1 pending" in captured.out
    assert "failed" in captured.err  # the bar ends with the failure


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "t")
    assert sync_cli.main(["--data-dir", data, "sync"]) == 2
    assert "no server known" in capsys.readouterr().err
    assert sync_cli.main(["--data-dir", data, "--server", "http://127.0.0.1:1", "sync"]) == 2
    assert "not signed in" in capsys.readouterr().err
    assert sync_cli.main(["--data-dir", data, "frobnicate"]) == 2
    assert sync_cli.main(["--data-dir", data]) == 2
    assert sync_cli.main(["--data-dir", data, "status"]) == 0
    assert "never" in capsys.readouterr().out


def test_login_without_password_stdin_and_no_terminal_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    args = ["--data-dir", str(tmp_path), "--server", "http://127.0.0.1:1", "login"]
    assert sync_cli.main([*args, "--username", "u"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert sync_cli.main([*args, "--username", "u", "--password-stdin"]) == 2
    assert "empty" in capsys.readouterr().err


def test_progress_bar_lines() -> None:
    out = io.StringIO()
    bar = sync_cli.ProgressBar(out)
    bar(SyncProgress("push", 1, 4, 0, 0))
    bar(SyncProgress("push", 2, 4, 0, 0))  # same phase, not a terminal: no new line
    bar(SyncProgress("photos", 4, 4, 500_000, 1_000_000))
    bar(SyncProgress("done", 4, 4, 1_000_000, 1_000_000, "up to date"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[" + "#" * 8 + ".")
    assert "ops 4/4" in lines[1] and "0.5 MB/1.0 MB" in lines[1]
    assert lines[2].startswith("[" + "#" * 30 + "]") and "up to date" in lines[2]
