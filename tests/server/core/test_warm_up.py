"""A server process warms up at start: every router's route state is built before the
first client waits, and the heap is frozen. Observed through FastAPI's (private) route
state builder: if FastAPI renames it, these tests fail and say so."""

import gc
import logging
from collections.abc import Callable, Iterator

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.core import warm_up
from server.core.warm_up import WARM_UP_PATH

FIRST_REQUESTS = ("/api/v1/sync/pull", "/api/v1/auth/login", "/api/v1/devices", "/admin/login")


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose route state FastAPI builds from now on."""
    paths: list[str] = []
    original: Callable[..., None] = fastapi.routing._populate_api_route_state

    def counting(route: object, path: str, *args: object, **kwargs: object) -> None:
        paths.append(path)
        original(route, path, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "_populate_api_route_state", counting)
    return paths


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # this test process's heap goes back to the collector


@pytest.mark.usefixtures("unfreeze")
def test_a_warmed_up_app_builds_no_route_state_on_its_first_requests(
    app: FastAPI, built: list[str]
) -> None:
    app.state.server_process = True
    with TestClient(app) as client:
        assert "/api/v1/sync/push" in built  # the warm-up built every router's routes
        assert gc.get_freeze_count() > 0
        built.clear()
        statuses = [client.get(path).status_code for path in FIRST_REQUESTS]
    assert statuses == [401, 405, 401, 200]
    assert built == []


def test_an_embedded_app_builds_route_state_on_first_use_and_freezes_nothing(
    app: FastAPI, built: list[str]
) -> None:
    frozen = gc.get_freeze_count()
    with TestClient(app) as client:
        assert built == []
        client.get("/api/v1/sync/pull")
    assert "/api/v1/sync/pull" in built
    assert gc.get_freeze_count() == frozen


def test_the_warm_up_path_is_answered_404_like_any_unknown_path(client: TestClient) -> None:
    response = client.get(WARM_UP_PATH)
    assert response.status_code == 404


@pytest.mark.usefixtures("unfreeze")
def test_a_failed_warm_up_is_logged_and_the_server_starts_anyway(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_app: object) -> int:
        raise RuntimeError("no warm-up today")

    monkeypatch.setattr(warm_up, "warm_up", broken)
    app.state.server_process = True
    with caplog.at_level(logging.ERROR, logger="server.core.warm_up"), TestClient(app) as client:
        assert client.get("/api/v1/sync/pull").status_code == 401
    assert "warm-up failed; serving anyway" in caplog.text
    assert "no warm-up today" in caplog.text  # the traceback is in the log


@pytest.mark.usefixtures("unfreeze")
def test_a_route_answering_the_warm_up_path_is_reported(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get(WARM_UP_PATH)
    def taken() -> dict[str, str]:
        return {}

    app.state.server_process = True
    with caplog.at_level(logging.WARNING, logger="server.core.warm_up"), TestClient(app):
        pass
    assert f"warm-up: {WARM_UP_PATH} was answered 200, not 404" in caplog.text
