"""Admission to the database (server/core/admission.py): no threadpool/pool starvation under
a crowd of requests, and a clear 503 + Retry-After when a request cannot get in."""

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import anyio.to_thread
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.core.admission import DbAdmission
from server.core.config import Settings
from server.core.errors import ApiError
from server.main import create_app
from shared_schemas.enums import Role
from tests.live_server import run_live_server
from tests.world import World, build_world, login

CROWD = 40
T = TypeVar("T")


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: another test in the same worker (Playwright's
    sync API) may leave an event loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


def test_a_full_admission_answers_503_with_retry_after_and_recovers() -> None:
    async def scenario() -> None:
        admission = DbAdmission(slots=1, wait_s=0.05)
        await admission.acquire()
        assert admission.in_use == 1
        with pytest.raises(ApiError) as refused:
            await admission.acquire()
        assert refused.value.status_code == 503
        assert refused.value.code == "server_busy"
        assert refused.value.headers["Retry-After"].isdigit()
        admission.release()
        async with admission.slot():
            assert admission.in_use == 1
        assert admission.in_use == 0

    run_async(scenario)


@pytest.fixture
def small_app(settings: Settings) -> Iterator[FastAPI]:
    """Two admission slots (four pooled connections) and a threadpool of three threads:
    without admission, a crowd of requests deadlocks until the pool's timeout."""
    app = create_app(settings.model_copy(update={"db_pool_size": 2, "db_admission_wait_s": 120.0}))

    @app.get("/_test/threads")
    async def shrink_threadpool() -> dict[str, int]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = 3
        return {"threads": int(limiter.total_tokens)}

    yield app
    app.state.engine.dispose()


def test_a_crowd_of_requests_is_served_without_starvation(small_app: FastAPI) -> None:
    world: World = build_world(small_app.state.engine, small_app.state.settings)
    with TestClient(small_app) as client:
        auth = login(client, world.a.users[Role.INSPECTOR])
    with run_live_server(small_app) as live:

        async def crowd() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=live.url, timeout=60) as http:
                shrunk = await http.get("/_test/threads")
                assert shrunk.json() == {"threads": 3}
                return list(
                    await asyncio.gather(
                        *(http.get("/api/v1/me", headers=auth) for _ in range(CROWD))
                    )
                )

        responses = run_async(crowd)
    assert [r.status_code for r in responses] == [200] * CROWD, {
        r.status_code: r.text for r in responses
    }


def test_a_pool_timeout_is_answered_503_not_500(settings: Settings) -> None:
    """If a connection cannot be had anyway (e.g. the pool is shared with something that
    holds it), the answer is 503 with Retry-After, not an internal error."""
    app = create_app(settings.model_copy(update={"db_pool_size": 1}))
    engine = app.state.engine
    engine.pool._timeout = 0.2
    world: World = build_world(engine, app.state.settings)
    with TestClient(app) as client:
        auth = login(client, world.a.users[Role.INSPECTOR])
        held = [engine.connect() for _ in range(2)]  # pool_size 1 + overflow 1
        try:
            response = client.get("/api/v1/me", headers=auth)
        finally:
            for conn in held:
                conn.close()
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "server_busy"
        assert response.headers["Retry-After"].isdigit()
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    engine.dispose()
