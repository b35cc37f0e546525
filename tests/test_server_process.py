"""The restartable uvicorn subprocess: same port, same database after a crash or a stop."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from server.core.config import Settings
from tests.server_process import ServerProcess
from tests.world import PASSWORD, World


def _login(server: ServerProcess, username: str) -> httpx.Response:
    return httpx.post(
        server.api("/auth/login"),
        json={"username": username, "password": PASSWORD, "device_id": "tablet-sp"},
        timeout=10,
    )


def test_restarts_on_the_same_port_with_the_same_data(
    settings: Settings, world: World, tmp_path: Path
) -> None:
    with ServerProcess(settings, log_path=tmp_path / "server.log") as server:
        port = server.port
        first = _login(server, "inspector_a")
        assert first.status_code == 200, first.text
        refresh = first.json()["refresh_token"]

        server.stop(kill=True)  # a crash
        assert not server.running
        with pytest.raises(httpx.TransportError):
            httpx.get(server.api("/health"), timeout=2)

        server.start()
        assert server.port == port
        # the refresh token issued before the crash is in the database: it still rotates
        rotated = httpx.post(
            server.api("/auth/refresh"), json={"refresh_token": refresh}, timeout=10
        )
        assert rotated.status_code == 200, rotated.text

        server.restart(kill=False)  # graceful
        assert _login(server, "inspector_a").status_code == 200
        assert server.starts == 3


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    broken = Settings(env="test", database_url="nonsense://nowhere", storage_dir=tmp_path)
    server = ServerProcess(broken, log_path=tmp_path / "server.log", start_timeout_s=20)
    with pytest.raises(RuntimeError, match=r"exited with .* while starting") as info:
        server.start()
    assert "nonsense" in str(info.value)
    assert not server.running
