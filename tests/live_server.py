"""A real uvicorn server on loopback, serving the test app (same settings and database).

Use the `live_server` fixture (import it into a conftest.py) or `run_live_server(app)`
for clients that need a real socket: tuspy, the tablet's sync engine, httpx without the
ASGI transport.
"""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import uvicorn
from fastapi import FastAPI


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    app: FastAPI

    def api(self, path: str) -> str:
        """`/uploads` -> http://127.0.0.1:<port>/api/v1/uploads"""
        return f"{self.url}/api/v1{path}"


@contextmanager
def run_live_server(app: FastAPI, *, timeout_s: float = 10.0) -> Iterator[LiveServer]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout_s)
        sock.close()


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with run_live_server(app) as live:
        yield live
