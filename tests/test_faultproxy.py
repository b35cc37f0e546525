"""The fault proxy itself: transparent without faults, each fault does what it says,
decisions repeat with the seed, and a server that is down gives 502 or a reset."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from tests.faultproxy import NO_FAULTS, FaultProxy, Faults
from tests.live_server import LiveServer, run_live_server
from tests.server_process import free_port

BIG = bytes(range(256)) * 400  # 100 KiB


class Upstream:
    def __init__(self) -> None:
        self.completed: list[str] = []  # bodies the server read whole and answered
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/echo")
        async def echo(request: Request) -> dict[str, object]:
            body = await request.body()
            digest = hashlib.sha256(body).hexdigest()
            with self.lock:
                self.completed.append(digest)
            return {"size": len(body), "sha256": digest}

        @self.app.get("/big")
        def big() -> Response:
            return Response(BIG, media_type="application/octet-stream")

        @self.app.patch("/empty", status_code=204)
        def empty() -> Response:
            return Response(status_code=204, headers={"Upload-Offset": "7"})


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, LiveServer]]:
    server = Upstream()
    with run_live_server(server.app) as live:
        yield server, live


def _port(live: LiveServer) -> int:
    return int(live.url.rsplit(":", 1)[1])


def test_without_faults_the_proxy_is_transparent(upstream: tuple[Upstream, LiveServer]) -> None:
    server, live = upstream
    with FaultProxy(_port(live), NO_FAULTS, seed=1) as proxy, httpx.Client() as client:
        posted = client.post(f"{proxy.url}/echo", content=BIG)
        assert posted.json() == {"size": len(BIG), "sha256": hashlib.sha256(BIG).hexdigest()}
        # a chunked request body (httpx streams an iterator with Transfer-Encoding: chunked)
        chunked = client.post(f"{proxy.url}/echo", content=iter([BIG[:1000], BIG[1000:]]))
        assert chunked.json()["sha256"] == hashlib.sha256(BIG).hexdigest()
        assert client.get(f"{proxy.url}/big").content == BIG
        empty = client.patch(f"{proxy.url}/empty")
        assert (empty.status_code, empty.headers["upload-offset"]) == (204, "7")
        assert len(server.completed) == 2
        assert proxy.stats.requests == 4
        assert proxy.stats.forwarded == 4
        assert sum(proxy.stats.faults.values()) == 0


def test_error_503_never_reaches_the_server(upstream: tuple[Upstream, LiveServer]) -> None:
    server, live = upstream
    with FaultProxy(_port(live), Faults(error_503=1.0)) as proxy:
        response = httpx.post(f"{proxy.url}/echo", content=b"x")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "fault_proxy_503"
        assert server.completed == []
        assert proxy.stats.faults["error_503"] == 1


def test_reset_closes_before_the_request_is_read(upstream: tuple[Upstream, LiveServer]) -> None:
    server, live = upstream
    with FaultProxy(_port(live), Faults(reset=1.0)) as proxy:
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{proxy.url}/echo", content=b"x")
        assert server.completed == []


def test_drop_request_cuts_the_request_so_the_server_never_acts(
    upstream: tuple[Upstream, LiveServer],
) -> None:
    server, live = upstream
    with FaultProxy(_port(live), Faults(drop_request=1.0), seed=3) as proxy:
        for _ in range(5):
            with pytest.raises(httpx.TransportError):
                httpx.post(f"{proxy.url}/echo", content=BIG)
        proxy.set_faults(NO_FAULTS)
        # afterwards the server still works, and none of the cut bodies was acted on
        assert httpx.post(f"{proxy.url}/echo", content=b"ok").status_code == 200
        assert server.completed == [hashlib.sha256(b"ok").hexdigest()]
        assert proxy.stats.faults["drop_request"] == 5


def test_drop_response_loses_the_answer_of_a_handled_request(
    upstream: tuple[Upstream, LiveServer],
) -> None:
    server, live = upstream
    with FaultProxy(_port(live), Faults(drop_response=1.0)) as proxy:
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{proxy.url}/echo", content=b"applied")
        assert server.completed == [hashlib.sha256(b"applied").hexdigest()]
        assert proxy.stats.forwarded == 1


@pytest.mark.parametrize("path", ["/big", "/empty"])
def test_truncate_gives_an_incomplete_response(
    upstream: tuple[Upstream, LiveServer], path: str
) -> None:
    _server, live = upstream
    with FaultProxy(_port(live), Faults(truncate=1.0), seed=5) as proxy:
        for _ in range(5):
            with pytest.raises(httpx.TransportError):
                httpx.request("GET" if path == "/big" else "PATCH", f"{proxy.url}{path}")


def test_delay_holds_requests_and_is_counted(upstream: tuple[Upstream, LiveServer]) -> None:
    _server, live = upstream
    with FaultProxy(_port(live), Faults(delay=1.0, max_delay_s=0.01)) as proxy:
        assert httpx.get(f"{proxy.url}/big").content == BIG
        assert proxy.stats.faults["delay"] == 1
        assert proxy.stats.decisions[0][3] > 0


def test_same_seed_same_decisions(upstream: tuple[Upstream, LiveServer]) -> None:
    _server, live = upstream
    faults = Faults(error_503=0.2, reset=0.1, truncate=0.2, delay=0.3, max_delay_s=0.001)
    runs = []
    for _ in range(2):
        with FaultProxy(_port(live), faults, seed=42) as proxy, httpx.Client() as client:
            for i in range(30):
                with contextlib.suppress(httpx.TransportError):
                    client.post(f"{proxy.url}/echo", content=str(i).encode())
            runs.append([(d[1], d[2], d[3]) for d in proxy.stats.decisions])
    assert runs[0] == runs[1]
    assert {d[1] for d in runs[0]} >= {"", "error_503", "truncate"}


def test_applies_to_limits_the_faults(upstream: tuple[Upstream, LiveServer]) -> None:
    _server, live = upstream
    only_echo = FaultProxy(
        _port(live), Faults(error_503=1.0), applies_to=lambda _m, target: target == "/echo"
    )
    with only_echo as proxy:
        assert httpx.get(f"{proxy.url}/big").status_code == 200
        assert httpx.post(f"{proxy.url}/echo", content=b"x").status_code == 503


def test_a_server_that_is_down_gives_502_or_a_reset() -> None:
    outcomes: set[str] = set()
    with FaultProxy(free_port(), NO_FAULTS, seed=7) as proxy:
        for _ in range(20):
            try:
                outcomes.add(str(httpx.get(f"{proxy.url}/big").status_code))
            except httpx.TransportError:
                outcomes.add("reset")
        assert outcomes == {"502", "reset"}
        assert proxy.stats.upstream_down == 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reset": 0.6, "truncate": 0.6}, "sum to"),
        ({"delay": -0.1}, "must not be negative"),
        ({"delay": 1.5}, "at most 1"),
    ],
)
def test_bad_rates_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults(**kwargs)
