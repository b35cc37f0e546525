"""Push with two batches in flight (SyncEngine ``push_depth``), against a real server on
loopback (SQLite and PostgreSQL): the batches really overlap, an operation never goes
while an earlier one on its entity is in flight, and a failure of either batch in flight
loses nothing and leaves nothing ``sending``."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from tests.inspector_app.core import sync_fixtures as fx
from tests.inspector_app.core.sync_helpers import check_all_arrived_once
from tests.live_server import LiveServer

live_server = fx.live_server
tablet = fx.tablet


def _all_arrived_once(tablet: fx.Tablet, live_server: LiveServer) -> None:
    check_all_arrived_once(
        store=tablet.store,
        photos_root=tablet.photos_dir,
        device_id=tablet.client.device_id,
        engine=live_server.app.state.engine,
        storage=live_server.app.state.storage,
    )


def _push_ops(request: httpx.Request) -> list[dict[str, Any]]:
    if request.method != "POST" or not request.url.path.endswith("/sync/push"):
        return []
    ops: list[dict[str, Any]] = json.loads(request.content)["ops"]
    return ops


class _HoldFirst:
    """Holds the first push with operations until a second one arrives (or 10 s pass):
    the second can only arrive while the first is in flight."""

    def __init__(self, transport: fx.FaultTransport) -> None:
        self.transport = transport
        self.overlapped = threading.Event()
        # each push as it starts: its entities, and those of the pushes answered by then
        self.starts: list[tuple[tuple[str, ...], list[tuple[str, ...]]]] = []
        self._first: str | None = None
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> fx.Fault | None:
        ops = _push_ops(request)
        if not ops:
            return None
        answered = [seen.entities for seen in list(self.transport.seen) if seen.ops]
        with self._lock:
            self.starts.append((tuple(op["entity_id"] for op in ops), answered))
            first = self._first is None
            if first:
                self._first = ops[0]["op_id"]
        if first:
            self.overlapped.wait(10)
        else:
            self.overlapped.set()
        return None


def test_two_batches_are_in_flight_at_once(tablet: fx.Tablet, live_server: LiveServer) -> None:
    for i in range(6):
        tablet.report(photos=1, seed=i)
    hold = _HoldFirst(tablet.transport)
    tablet.transport.add(hold)
    outcome = tablet.engine(batch_size=2, push_depth=2).sync_once()
    assert hold.overlapped.is_set()  # the second batch went before the first was answered
    assert outcome.ok and outcome.applied == 6 and tablet.transport.op_pushes() == 3
    _all_arrived_once(tablet, live_server)


class _InFlight(httpx.BaseTransport):
    """Counts pushes between sending and their answer, each held ``delay_s`` at the
    server's door (time for another push to start, if the engine were to send one)."""

    def __init__(self, inner: httpx.BaseTransport, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.now = self.most = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not _push_ops(request):
            return self.inner.handle_request(request)
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(self.delay_s)
            return self.inner.handle_request(request)
        finally:
            with self._lock:
                self.now -= 1


def test_one_batch_at_a_time_when_asked(tablet: fx.Tablet, live_server: LiveServer) -> None:
    for i in range(4):
        tablet.report(photos=1, seed=i)
    counter = _InFlight(tablet.transport.inner, delay_s=0.2)
    tablet.transport.inner = counter
    outcome = tablet.engine(batch_size=2, push_depth=1).sync_once()
    assert outcome.ok and tablet.transport.op_pushes() == 2
    assert counter.most == 1
    _all_arrived_once(tablet, live_server)


def test_an_amend_never_overtakes_its_create(tablet: fx.Tablet, live_server: LiveServer) -> None:
    """create A, amend A, create B, one op a batch: B goes while A's create is in
    flight, the amend only once A's answer is recorded (ready_batch leaves out entities
    that have an operation sending), though it is older than B."""
    first = tablet.report(photos=1, seed=1)
    tablet.capture.amend(first, description="堆放杂物已清理一半")
    second = tablet.report(photos=1, seed=2)
    hold = _HoldFirst(tablet.transport)
    tablet.transport.add(hold)
    outcome = tablet.engine(batch_size=1, push_depth=2).sync_once()
    assert outcome.ok and outcome.applied == 3 and hold.overlapped.is_set()
    assert hold.starts[:2] == [((first,), []), ((second,), [])]  # B while A is in flight
    (amend, answered_by_then), *_ = hold.starts[2:]
    # the amend only after the create's answer (B's may or may not be in by then)
    assert amend == (first,) and (first,) in answered_by_then
    assert len(hold.starts) == 3
    case = fx.server_case(live_server.app.state.engine, first)
    assert case is not None and case.description == "堆放杂物已清理一半"
    _all_arrived_once(tablet, live_server)


@pytest.mark.parametrize("failing", [0, 1], ids=["older_fails", "newer_fails"])
@pytest.mark.parametrize(
    "fault", [fx.Fault("drop_response"), fx.Fault("status", status=503)], ids=["lost", "503"]
)
def test_a_failed_batch_in_flight_loses_nothing(
    tablet: fx.Tablet, live_server: LiveServer, failing: int, fault: fx.Fault
) -> None:
    report_ids = [tablet.report(photos=1, seed=i) for i in range(4)]
    # batches of 2 in seq order: the older holds reports 0-1, the newer 2-3
    doomed = report_ids[2 * failing]
    hold = _HoldFirst(tablet.transport)

    failed_once = threading.Event()

    def fail_one(request: httpx.Request) -> fx.Fault | None:
        ops = _push_ops(request)
        if failed_once.is_set() or all(op["entity_id"] != doomed for op in ops):
            return None
        failed_once.set()
        return fault

    tablet.transport.add(hold)
    tablet.transport.add(fail_one)
    engine = tablet.engine(batch_size=2, push_depth=2)
    first = engine.sync_once()
    assert hold.overlapped.is_set() and not first.ok and first.error is not None
    ops = tablet.store.list_ops()
    assert not [op for op in ops if op.state == "sending"]
    failed = [op for op in ops if op.state == "pending"]
    assert len(failed) == 2 and all(op.last_error for op in failed)
    assert doomed in {op.entity_id for op in failed}
    # the other batch's answer was recorded, although the cycle failed
    assert first.applied == 2 and len([op for op in ops if op.state == "done"]) == 2
    assert engine.sync_once().ok
    _all_arrived_once(tablet, live_server)
