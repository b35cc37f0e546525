"""Table statistics for SQLite's query planner.

PostgreSQL keeps its statistics itself (autovacuum's ANALYZE). SQLite has none until
someone runs ANALYZE, and without them it guesses: at a million cases a supervisor's
"fire safety, last 90 days" list took ~1 s instead of ~7 ms (it walked the category
index instead of created_at; docs/benchmarks.md). So the server refreshes them on SQLite
at start and every few hours, sampled (`analysis_limit`: ~70 ms at a million cases), and
`whistle-server expire-uploads` (the hourly cron) does it too.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

ANALYSIS_LIMIT = 1000  # rows sampled per index: estimates good enough to choose plans
REFRESH_EVERY_S = 6 * 3600


def refresh_planner_statistics(engine: Engine) -> bool:
    """ANALYZE on SQLite (sampled); nothing elsewhere. True when it ran."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return True


@contextlib.asynccontextmanager
async def periodic_refresh(engine: Engine, every_s: float = REFRESH_EVERY_S) -> AsyncIterator[None]:
    """While the app runs (its lifespan): refresh at start, then every `every_s`."""
    if engine.dialect.name != "sqlite":
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await run_in_threadpool(refresh_planner_statistics, engine)
            except Exception:  # a busy or broken database must not stop the server
                log.exception("refreshing SQLite's planner statistics failed")
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
