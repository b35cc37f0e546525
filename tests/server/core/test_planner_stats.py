"""SQLite's planner statistics are refreshed by the server (at start, then periodically)
and by the hourly maintenance command; PostgreSQL is left to autovacuum."""

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from server.core import planner_stats
from server.core.planner_stats import periodic_refresh, refresh_planner_statistics
from tests.world import World


def _stat_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).scalar_one()
        if not exists:
            return 0
        return int(conn.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar_one())


def _in_own_thread(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """asyncio.run in a thread of its own (a Playwright test may have left a loop running
    in this worker's main thread)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def test_refresh_analyzes_sqlite_and_leaves_postgresql_alone(
    engine: Engine, world: World, db_backend: str
) -> None:
    ran = refresh_planner_statistics(engine)
    assert ran is (db_backend == "sqlite")
    if db_backend == "sqlite":
        assert _stat_rows(engine) > 0  # the world's tables now have statistics


@pytest.fixture
def sqlite_only(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("PostgreSQL keeps its own statistics (autovacuum)")


@pytest.mark.usefixtures("sqlite_only")
def test_the_app_refreshes_them_when_it_starts(app: FastAPI, world: World) -> None:
    assert _stat_rows(app.state.engine) == 0
    with TestClient(app) as client:  # the lifespan runs
        assert client.get("/api/v1/health").status_code == 200
        deadline = time.monotonic() + 10
        while not _stat_rows(app.state.engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _stat_rows(app.state.engine) > 0


@pytest.mark.usefixtures("sqlite_only")
def test_a_failing_refresh_does_not_stop_the_loop(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    third = threading.Event()

    def failing_once(e: Engine) -> bool:
        calls.append(1)
        if len(calls) >= 3:
            third.set()
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return refresh_planner_statistics(e)

    monkeypatch.setattr(planner_stats, "refresh_planner_statistics", failing_once)

    async def main() -> None:
        async with periodic_refresh(engine, every_s=0.01):
            assert await asyncio.to_thread(third.wait, 10)

    _in_own_thread(main)
    assert len(calls) >= 3  # it went on after the failure
    assert _stat_rows(engine) > 0
