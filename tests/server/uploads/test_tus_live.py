"""tuspy against a real uvicorn: an upload interrupted (a PATCH dies on the wire, the
uploader is dropped) and resumed from the stored URL by a new uploader."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tusclient.client import TusClient

from server.core.config import Settings
from server.storage.base import PhotoStorage
from server.uploads.partial import PartialBusy, PartialFile, partial_dir
from shared_schemas.enums import Role
from tests.live_server import LiveServer
from tests.server.uploads.helpers import (
    PATCH,
    creation_headers,
    declare_photo,
    make_jpeg,
    photo_state,
    sha256_hex,
)
from tests.world import World, login

CHUNK = 16 * 1024


def _die_mid_patch(url: str, headers: dict[str, str], offset: int) -> None:
    """A PATCH that promises CHUNK bytes, sends a few, and drops the connection."""
    parts = urlsplit(url)
    lines = [
        f"PATCH {parts.path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Tus-Resumable: 1.0.0",
        "Content-Type: application/offset+octet-stream",
        f"Upload-Offset: {offset}",
        f"Content-Length: {CHUNK}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode() + b"\xff" * 5000)


def _wait_unlocked(path: Path, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with PartialFile(path):
                return
        except PartialBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_tuspy_upload_interrupted_then_resumed(
    live_server: LiveServer,
    client: TestClient,
    world: World,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    data = make_jpeg(seed=7, size=(640, 480))
    assert len(data) > 6 * CHUNK
    photo_id = declare_photo(engine, world.a.case_id, data)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(data)
    auth = login(client, world.a.users[Role.INSPECTOR])
    tus = TusClient(live_server.api("/uploads"), headers=auth)
    meta = {
        "photo_id": str(photo_id),
        "report_id": str(world.a.case_id),
        "sha256": sha256_hex(data),
    }

    first = tus.uploader(str(path), chunk_size=CHUNK, metadata=meta, upload_checksum=True)
    first.upload(stop_at=3 * CHUNK)  # three chunks, then the tablet goes offline
    url = str(first.url)
    assert first.offset == 3 * CHUNK
    del first

    _die_mid_patch(url, auth, 3 * CHUNK)
    partial = partial_dir(settings.storage_dir) / url.rsplit("/", 1)[1]
    _wait_unlocked(partial)

    # The server may still be busy with the dead PATCH (423 upload_locked) when the
    # tablet comes back: like the app's engine, the client retries after a short delay.
    second = tus.uploader(
        str(path), url=url, chunk_size=CHUNK, upload_checksum=True, retries=10, retry_delay=0.2
    )
    assert second.offset == 3 * CHUNK  # from HEAD: the broken chunk left nothing behind
    second.upload()

    photo, case = photo_state(engine, photo_id)
    assert photo.received_at is not None and photo.storage_key is not None
    storage: PhotoStorage = live_server.app.state.storage
    assert sha256_hex(storage.read_bytes(photo.storage_key)) == sha256_hex(data)
    assert case.photos_received == 1
    assert not partial.exists()


def test_concurrent_final_chunks_of_one_photo_count_it_once(
    live_server: LiveServer, client: TestClient, world: World, engine: Engine
) -> None:
    """Two uploads of the same photo (a tablet that lost its URL and started again) finish
    at the same moment on a real server: the case counts the photo once."""
    data = make_jpeg(seed=8)
    photo_id = declare_photo(engine, world.a.case_id, data)
    auth = login(client, world.a.users[Role.INSPECTOR])
    urls = []
    with httpx.Client(base_url=live_server.url, headers=auth, timeout=10) as http:
        for _ in range(4):
            created = http.post(
                "/api/v1/uploads", headers=creation_headers(photo_id, world.a.case_id, data)
            )
            assert created.status_code == 201, created.text
            urls.append(created.headers["Location"])
            first = http.patch(
                urls[-1], headers={**PATCH, "Upload-Offset": "0"}, content=data[:-100]
            )
            assert first.status_code == 204
        barrier = threading.Barrier(len(urls))

        def finish(url: str) -> int:
            barrier.wait()
            headers = {**PATCH, "Upload-Offset": str(len(data) - 100)}
            return http.patch(url, headers=headers, content=data[-100:]).status_code

        with ThreadPoolExecutor(len(urls)) as pool:
            statuses = list(pool.map(finish, urls))
    assert statuses == [204] * len(urls)
    photo, case = photo_state(engine, photo_id)
    assert photo.received_at is not None
    assert case.photos_received == 1
