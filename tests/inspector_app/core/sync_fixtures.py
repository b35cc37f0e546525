"""Fixtures and helpers for the tablet sync tests: a real server on loopback, a tablet
(real store file, capture, signed-in client), and httpx transports that inject faults.

Use the fixtures in a test module by assigning them (not importing by name, which ruff
would flag as redefined by the test's parameters)::

    from tests.inspector_app.core import sync_fixtures as fx
    live_server = fx.live_server
    tablet = fx.tablet
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select

from inspector_app.core.api_client import ApiClient
from inspector_app.core.capture import Capture
from inspector_app.core.photos import PhotoProcessor
from inspector_app.core.store import Store
from inspector_app.core.sync_engine import SyncEngine
from server.cases.models import Case, Photo
from tests import live_server as _live
from tests.inspector_app.core import images
from tests.inspector_app.core.conftest import LOCATION
from tests.live_server import LiveServer
from tests.world import PASSWORD, World

live_server = _live.live_server

GRID = "G_A"  # inspector_a's grid in tests/world.py


# ---------------------------------------------------------------- transports


@dataclass
class Seen:
    method: str
    path: str
    status: int | None  # None: the transport raised
    ops: int | None = None  # a push: how many operations it carried (0: status only)
    entities: tuple[str, ...] = ()  # a push: the entity ids of its operations


Rule = Callable[[httpx.Request], "Fault | None"]


@dataclass
class Fault:
    """What to do with one request: ``drop_response`` (forward it, let the server finish,
    then fail the read: a lost response), ``refuse`` (fail before sending: connection
    refused), a canned ``status`` answer (never reaches the server), or ``rewrite`` (send
    a changed request to the real server)."""

    kind: str  # "drop_response" | "refuse" | "status" | "rewrite" | "respond"
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    # "rewrite": the request actually sent (e.g. damaged in transit), then forwarded
    rewrite: Callable[[httpx.Request], httpx.Request] | None = None
    # "respond": answer made from the request (never reaches the server)
    respond: Callable[[httpx.Request], httpx.Response] | None = None


class FaultTransport(httpx.BaseTransport):
    """Forwards to a real transport, applying the first matching rule; records traffic."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def add(self, rule: Rule) -> None:
        self.rules.append(rule)

    def fail(
        self, method: str, path_part: str, fault: Fault, *, times: int = 1
    ) -> Callable[[], int]:
        """Apply ``fault`` to the next ``times`` requests matching; returns a counter of
        how many were hit."""
        hits = [0]

        def rule(request: httpx.Request) -> Fault | None:
            if request.method == method and path_part in request.url.path and hits[0] < times:
                hits[0] += 1
                return fault
            return None

        self.add(rule)
        return lambda: hits[0]

    def count(self, method: str, path_part: str) -> int:
        with self._lock:
            return sum(1 for s in self.seen if s.method == method and path_part in s.path)

    def op_pushes(self) -> int:
        """Pushes that carried operations (not the status-only push ending a cycle)."""
        with self._lock:
            return sum(1 for s in self.seen if s.ops)

    def status_pushes(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.ops == 0]

    def _note(self, request: httpx.Request, status: int | None) -> None:
        ops, entities = None, ()
        if request.method == "POST" and request.url.path.endswith("/sync/push"):
            sent = json.loads(request.content)["ops"]
            ops, entities = len(sent), tuple(op["entity_id"] for op in sent)
        with self._lock:
            self.seen.append(Seen(request.method, request.url.path, status, ops, entities))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = next((f for rule in list(self.rules) if (f := rule(request))), None)
        if fault is None:
            response = self.inner.handle_request(request)
            self._note(request, response.status_code)
            return response
        if fault.kind == "refuse":
            self._note(request, None)
            raise httpx.ConnectError("connection refused (injected)", request=request)
        if fault.kind == "respond":
            assert fault.respond is not None
            made = fault.respond(request)
            self._note(request, made.status_code)
            return made
        if fault.kind == "rewrite":
            assert fault.rewrite is not None
            changed = fault.rewrite(request)
            response = self.inner.handle_request(changed)
            self._note(changed, response.status_code)
            return response
        if fault.kind == "drop_response":
            response = self.inner.handle_request(request)
            response.read()  # the server has processed the request and answered...
            response.close()
            self._note(request, None)
            raise httpx.ReadError("connection reset (injected, after the server answered)")
        body = fault.body or {"error": {"code": "injected", "message": "injected fault"}}
        self._note(request, fault.status)
        return httpx.Response(fault.status, json=body, headers=fault.headers, request=request)

    def close(self) -> None:
        self.inner.close()


# ---------------------------------------------------------------- the tablet


@dataclass
class Tablet:
    data_dir: Path
    store: Store
    capture: Capture
    client: ApiClient
    transport: FaultTransport

    @property
    def photos_dir(self) -> Path:
        return self.data_dir / "photos"

    def engine(self, **kw: Any) -> SyncEngine:
        return SyncEngine(store=self.store, client=self.client, photos_dir=self.photos_dir, **kw)

    def report(self, *, photos: int = 1, grid: str = GRID, seed: int = 0, **fields: Any) -> str:
        """A submitted report (queued, its op pending) with ``photos`` small photos."""
        values: dict[str, Any] = {"category": "FIRE_LANE", "grid": grid, **fields}
        report_id = self.capture.create_draft(**values)
        self.capture.set_location(report_id, **LOCATION)
        for i in range(photos):
            colour = ((seed * 37 + i * 71) % 256, (seed * 11) % 256, (i * 53) % 256)
            self.capture.attach_photo(report_id, images.jpeg(colour=colour))
        self.capture.submit(report_id)
        return report_id

    def attach_big_photo(self, report_id: str, data: bytes) -> str:
        return self.capture.attach_photo(report_id, data)


def make_tablet(
    live: LiveServer,
    data_dir: Path,
    *,
    username: str = "inspector_a",
    clock: Callable[[], datetime] | None = None,
) -> Tablet:
    """A tablet with its own store file, signed in through the real login endpoint."""
    store = Store(data_dir / "whistle.db", **({"clock": clock} if clock else {}))
    capture = Capture(store, data_dir / "photos", PhotoProcessor(background=False))
    capture.recover()
    transport = FaultTransport()
    client = ApiClient(store=store, base_url=live.url, transport=transport, timeout_s=20)
    client.login(username=username, password=PASSWORD)
    return Tablet(data_dir, store, capture, client, transport)


@pytest.fixture
def tablet(live_server: LiveServer, world: World, tmp_path: Path) -> Iterator[Tablet]:
    """inspector_a's tablet (grid G_A) against a live server of the two-street world."""
    made = make_tablet(live_server, tmp_path / "tablet")
    yield made
    made.client.close()
    made.store.close()


# ---------------------------------------------------------------- the server's view


def server_case(engine: Engine, case_id: str) -> Case | None:
    with Session(engine) as session:
        return session.get(Case, UUID(case_id))


def server_photos(engine: Engine, case_id: str) -> list[Photo]:
    with Session(engine) as session:
        return list(session.exec(select(Photo).where(Photo.case_id == UUID(case_id))))


def stored_sha256(app: FastAPI, photo: Photo) -> str:
    assert photo.storage_key is not None
    return hashlib.sha256(app.state.storage.read_bytes(photo.storage_key)).hexdigest()


def local_sha256(tablet: Tablet, photo_id: str) -> str:
    photo = tablet.store.get_photo(photo_id)
    assert photo is not None and photo.processed_path is not None
    return hashlib.sha256((tablet.photos_dir / photo.processed_path).read_bytes()).hexdigest()


def fixed_clock(moment: datetime = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)) -> Any:
    """A settable clock for the store: ``clock.now`` is what it answers."""

    class Clock:
        now = moment

        def __call__(self) -> datetime:
            return self.now

    return Clock()
