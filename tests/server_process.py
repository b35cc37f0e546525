"""A real uvicorn serving the Whistle app in a subprocess, restartable on the same port.

Unlike tests/live_server.py (a uvicorn thread inside the test process) this one can be
killed (SIGKILL: a crash, in-flight requests die) or stopped (SIGTERM: graceful) and
started again on the same port with the same database and storage directory, as an
operator restarting the service would. Settings go to the child through the WHISTLE_
environment variables (design.md).

    with ServerProcess(settings) as server:
        server.url           # http://127.0.0.1:<port>
        server.restart(kill=True)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from server.core.config import Settings

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The WHISTLE_ variables that make a child process use these settings."""
    env = {
        "WHISTLE_ENV": settings.env,
        "WHISTLE_DATABASE_URL": settings.database_url,
        "WHISTLE_STORAGE_DIR": str(settings.storage_dir),
        "WHISTLE_SECRET_KEY": settings.secret_key,
        "WHISTLE_ARGON2_TIME_COST": str(settings.argon2_time_cost),
        "WHISTLE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        "WHISTLE_UPLOAD_MAX_BYTES": str(settings.upload_max_bytes),
        "WHISTLE_UPLOAD_EXPIRY_HOURS": str(settings.upload_expiry_hours),
        "WHISTLE_ACCESS_TOKEN_TTL_S": str(settings.access_token_ttl_s),
        "WHISTLE_LOGIN_MAX_FAILURES": str(settings.login_max_failures),
        "WHISTLE_DB_POOL_SIZE": str(settings.db_pool_size),
    }
    return env


def _healthy(url: str) -> bool:
    """GET /health answers 200 (urllib: no client or TLS context to build per poll)."""
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:  # noqa: S310 (http on loopback)
            return bool(response.status == 200)
    except (OSError, ValueError):
        return False


class ServerProcess:
    def __init__(
        self,
        settings: Settings,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout_s: float = 30.0,
        extra_env: dict[str, str] | None = None,
        workers: int = 1,
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.extra_env = extra_env or {}
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str) -> str:
        return f"{self.url}/api/v1{path}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> ServerProcess:
        if self.running:
            raise RuntimeError("the server is already running")
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            **settings_env(self.settings),
            **self.extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "server.main:serve_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "5",
        ]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        output = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        finally:
            if self.log_path:
                output.close()  # type: ignore[union-attr]
        self.starts += 1
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self._proc.returncode} while starting"
                    + self._log_tail()
                )
            if _healthy(self.api("/health")):
                return
            if time.monotonic() > deadline:
                self.stop(kill=True)
                raise RuntimeError("the server did not answer /health in time" + self._log_tail())
            time.sleep(0.05)

    def _log_tail(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n--- server log ---\n" + self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, *, kill: bool = False, timeout_s: float = 15.0) -> None:
        """SIGKILL (``kill``: a crash) or SIGTERM (graceful); waits for the exit."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)

    def restart(self, *, kill: bool = False, down_s: float = 0.0) -> None:
        """Stop, stay down ``down_s`` seconds (clients meet a closed port), start again."""
        self.stop(kill=kill)
        if down_s:
            time.sleep(down_s)
        self.start()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
