"""Device status: stored from each push, listed by GET /devices."""

from collections.abc import Callable
from datetime import timedelta

import time_machine
from fastapi.testclient import TestClient

from tests.server.sync.helpers import STATUS, create_op, push, report
from tests.world import login

Headers = Callable[[str], dict[str, str]]


def test_device_status_is_stored_and_listed(client: TestClient, as_user: Headers) -> None:
    a, b = as_user("inspector_a"), as_user("patrol_b")
    status = {**STATUS, "last_error": "timeout", "free_bytes": 5 * 10**9}
    push(client, a, [create_op(report(grid="NOPE"))], device_id="tab-a", status=status)
    push(client, b, [], device_id="tab-b")
    response = client.get("/api/v1/devices", headers=as_user("supervisor_a"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["silent_after_h"] == 24
    [device] = body["devices"]
    assert device["id"] == "tab-a"
    assert device["user"] == "inspector_a"
    assert device["role"] == "inspector"
    assert device["app_version"] == "1.2.3"
    assert (device["queue_depth"], device["oldest_pending_s"], device["photos_pending"]) == (
        3,
        60,
        2,
    )
    assert (device["last_error"], device["free_bytes"]) == ("timeout", 5 * 10**9)
    assert device["rejected_ops"] == 1
    assert device["silent"] is False
    assert [
        d["id"]
        for d in client.get("/api/v1/devices", headers=as_user("supervisor_b")).json()["devices"]
    ] == ["tab-b"]
    everything = client.get("/api/v1/devices", headers=as_user("admin")).json()["devices"]
    assert {d["id"] for d in everything} == {"tab-a", "tab-b"}
    # A later push replaces the status; the rejected count is per device, replays not counted.
    push(client, a, [], device_id="tab-a")
    [device] = client.get("/api/v1/devices", headers=as_user("supervisor_a")).json()["devices"]
    assert device["last_error"] is None
    assert device["rejected_ops"] == 1


def test_a_device_is_silent_after_a_day(client: TestClient, as_user: Headers) -> None:
    push(client, as_user("inspector_a"), [], device_id="tab-a")
    with time_machine.travel(timedelta(hours=25)):
        # Signed in after the jump: a token from before it would have expired.
        headers = login(client, "supervisor_a", device_id="pc")
        [device] = client.get("/api/v1/devices", headers=headers).json()["devices"]
    assert device["silent"] is True


def test_inspector_may_not_list_devices(client: TestClient, inspector_a: dict[str, str]) -> None:
    response = client.get("/api/v1/devices", headers=inspector_a)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_rejected_ops_grow_by_new_rejections_only(client: TestClient, as_user: Headers) -> None:
    a = as_user("inspector_a")
    bad = create_op(report(grid="NOPE"))
    good = create_op(report())

    def rejected() -> int:
        devices = client.get("/api/v1/devices", headers=as_user("supervisor_a")).json()
        return int(devices["devices"][0]["rejected_ops"])

    push(client, a, [bad, good], device_id="tab-a")
    assert rejected() == 1
    push(client, a, [bad, good], device_id="tab-a")  # the lost-response replay
    assert rejected() == 1
    push(
        client,
        a,
        [create_op(report(grid="NOPE")), create_op(report(grid="NOPE"))],
        device_id="tab-a",
    )
    assert rejected() == 3
