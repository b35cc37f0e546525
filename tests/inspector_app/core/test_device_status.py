"""What the server knows of a tablet after a sync (design.md, sync rule 8), against a real
server on loopback (SQLite and PostgreSQL): each push carries the device status as it was
when the push was built, so a cycle that sent anything ends with a status-only push
reporting the queue it left. Without it, the server would keep the last batch's own
count, the photos still to go before the photo phase, and the previous cycle's error."""

from __future__ import annotations

import json

import httpx
from sqlmodel import Session

from server.sync.models import Device
from tests.inspector_app.core import sync_fixtures as fx
from tests.live_server import LiveServer

live_server = fx.live_server
tablet = fx.tablet


def _device(tablet: fx.Tablet, live_server: LiveServer) -> Device:
    with Session(live_server.app.state.engine) as session:
        device = session.get(Device, tablet.client.device_id)
    assert device is not None
    return device


def test_after_a_full_cycle_the_server_sees_an_empty_queue(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    for seed in range(3):
        tablet.report(photos=2, seed=seed)
    outcome = tablet.engine(batch_size=2).sync_once()
    assert outcome.ok and outcome.photos_sent == 6
    device = _device(tablet, live_server)
    assert (device.queue_depth, device.oldest_pending_s, device.photos_pending) == (0, 0, 0)
    assert device.last_error is None
    assert tablet.transport.op_pushes() == 2
    (status,) = tablet.transport.status_pushes()
    assert status.status == 200 and tablet.transport.seen[-1] is status  # the last request


def test_a_successful_cycle_clears_the_previous_error_on_the_server(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    tablet.report(photos=1)
    tablet.transport.fail("POST", "/photos/batch", fx.Fault("status", status=503))
    engine = tablet.engine()
    failed = engine.sync_once()
    assert not failed.ok and failed.error is not None
    # the push went before the photos failed; the status push is not tried after a failure
    assert tablet.transport.status_pushes() == []
    assert _device(tablet, live_server).photos_pending == 1
    assert engine.sync_once().ok
    device = _device(tablet, live_server)
    assert device.last_error is None and device.photos_pending == 0


def test_photos_held_for_wifi_are_reported_as_pending(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    tablet.report(photos=2)
    outcome = tablet.engine(wifi_only=lambda: True, on_wifi=lambda: False).sync_once()
    assert outcome.ok and outcome.photos_sent == 0
    device = _device(tablet, live_server)
    assert (device.queue_depth, device.photos_pending) == (0, 2)


def test_a_lost_status_push_is_owed_to_the_next_cycle(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    tablet.report(photos=1)
    engine = tablet.engine()
    lost = [0]

    def cut_status(request: httpx.Request) -> fx.Fault | None:
        status_only = (
            request.url.path.endswith("/sync/push") and not json.loads(request.content)["ops"]
        )
        if status_only and lost[0] == 0:
            lost[0] += 1
            return fx.Fault("refuse")
        return None

    tablet.transport.add(cut_status)
    first = engine.sync_once()
    assert first.ok and first.applied == 1  # everything arrived: the cycle succeeded
    assert lost[0] == 1 and _device(tablet, live_server).queue_depth == 1  # the batch's view
    second = engine.sync_once()  # nothing to send but the status it owes
    assert second.ok and tablet.transport.op_pushes() == 1
    assert len(tablet.transport.status_pushes()) == 2  # the refused one, then this one
    assert _device(tablet, live_server).queue_depth == 0
    engine.sync_once()  # nothing owed any more: an idle cycle sends no push
    assert len(tablet.transport.status_pushes()) == 2
