"""Admission to the database: at most N requests use a database session at once.

Why: FastAPI runs each sync dependency and the route in separate trips to a threadpool
of 40 threads. A request takes a pooled connection in its first dependency (the token
check) and then waits for a thread to run its route. Under load, every thread ends up
blocked waiting for a connection while every connection belongs to a request waiting for
a thread (fastapi/fastapi#3205): nothing moves until the pool's timeout fires. Here the
waiting happens on the event loop instead, before any thread or connection is taken: a
request holds one of N slots from before its session opens until after it closes, and the
pool has more connections than slots, so an admitted request never waits for the pool.
A request that cannot be admitted within `wait_s` is answered 503 with Retry-After (the
tablet backs off and retries; nothing was written).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server.core.errors import ApiError

BUSY_RETRY_AFTER_S = 5


class DbAdmission:
    def __init__(self, *, slots: int, wait_s: float) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.wait_s = wait_s
        # Created on first use: an asyncio primitive belongs to the loop that runs it.
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def in_use(self) -> int:
        sem = self._semaphore
        return 0 if sem is None else self.slots - sem._value

    async def acquire(self) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_s)
        except TimeoutError:
            raise server_busy() from None

    def release(self) -> None:
        if self._semaphore is not None:
            self._semaphore.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def server_busy() -> ApiError:
    return ApiError(
        503,
        "server_busy",
        "the server is busy; nothing was changed, try again shortly",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )
