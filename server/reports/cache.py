"""A short-lived, in-process cache of computed indicators.

The whole district's dashboard costs most of a second at a million cases (all time:
about two; docs/benchmarks.md). A supervisor who reloads the page, or goes back to a
filter they just had, gets the answer computed moments ago instead of paying again.

- **Key**: everything the answer depends on: the caller's scope (what they may see:
  admin, their streets, their department) and every filter (period, category, group,
  area, department, area level). Two callers share an entry only when they see exactly
  the same cases; a scope never receives another scope's figures.
- **Expiry**: time only (`ttl_s`, the setting `indicator_cache_ttl_s`, 60 s by default;
  0 turns the cache off). Nothing else invalidates an entry: the answer carries its
  `computed_at`, and the dashboard shows it, so nobody takes a minute-old figure for a
  live one.
- **Size**: at most `max_entries` answers and `max_rows` breakdown rows in all (the
  oldest go first; an answer is ~3 KB a row in memory: the whole district by compound
  is 6,000 rows, ~18 MB, so the default bound is ~40 MB). Each cache lives on one
  application (app.state), so one server's databases never mix.

**One computation per key at a time.** When several supervisors open the same dashboard
at once (the morning meeting), the first computes and the others wait for its answer
instead of each running the same second-long queries on the database. Another key never
waits. Should the first fail, each waiting request computes for itself.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from server.accounts.scope import Scope
from server.reports.indicators import compute_indicators
from server.reports.schemas import IndicatorFilters, Indicators

MAX_ENTRIES = 64
MAX_ROWS = 12_000


@dataclass(frozen=True)
class Cached:
    """An answer and whether it came from the cache (the page says so)."""

    indicators: Indicators
    hit: bool


@dataclass(frozen=True)
class _Entry:
    expires: float
    value: Indicators
    rows: int


def _rows(value: Indicators) -> int:
    breakdowns = (value.by_category, value.by_group, value.by_area, value.by_department)
    return 1 + len(value.by_month) + sum(len(rows) for rows in breakdowns)


class IndicatorCache:
    def __init__(
        self,
        *,
        ttl_s: float,
        max_entries: int = MAX_ENTRIES,
        max_rows: int = MAX_ROWS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0 or max_entries < 1 or max_rows < 1:
            raise ValueError(
                "ttl_s must be >= 0, max_entries and max_rows >= 1: "
                f"{ttl_s}, {max_entries}, {max_rows}"
            )
        self.ttl_s = ttl_s
        self._max = max_entries
        self._max_rows = max_rows
        self._rows = 0
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Event] = {}  # set when the answer is in

    def _fresh(self, key: Hashable) -> Indicators | None:
        entry = self._entries.get(key)
        return entry.value if entry is not None and entry.expires > self._clock() else None

    def get_or_compute(self, key: Hashable, compute: Callable[[], Indicators]) -> Cached:
        if self.ttl_s == 0:
            return Cached(compute(), hit=False)
        with self._lock:
            value = self._fresh(key)
            if value is not None:
                return Cached(value, hit=True)
            done = self._computing.get(key)
            if done is None:
                self._computing[key] = done = threading.Event()
                first = True
            else:
                first = False
        if not first:  # another request is computing this key: take its answer
            done.wait()
            with self._lock:
                value = self._fresh(key)
            if value is not None:
                return Cached(value, hit=True)
            value = compute()  # it failed (or was too big to keep): compute here
            self._store(key, value)
            return Cached(value, hit=False)
        try:
            value = compute()  # outside the lock: other keys need not wait for this one
            self._store(key, value)
        finally:
            with self._lock:
                self._computing.pop(key, None)
            done.set()
        return Cached(value, hit=False)

    def _store(self, key: Hashable, value: Indicators) -> None:
        entry = _Entry(self._clock() + self.ttl_s, value, _rows(value))
        with self._lock:
            self._remove(key)
            if entry.rows <= self._max_rows:  # else too big to keep at all
                self._entries[key] = entry
                self._rows += entry.rows
            self._drop_expired_and_oldest()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def rows(self) -> int:
        with self._lock:
            return self._rows

    def _remove(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._rows -= entry.rows

    def _drop_expired_and_oldest(self) -> None:
        now = self._clock()
        for key in [k for k, e in self._entries.items() if e.expires <= now]:
            self._remove(key)
        while len(self._entries) > self._max or self._rows > self._max_rows:
            self._remove(next(iter(self._entries)))


def cache_key(scope: Scope, filters: IndicatorFilters) -> Hashable:
    """Scope (a frozen dataclass) and the filters, as JSON (every field, normalised by
    pydantic: the same filters always give the same key)."""
    return (scope, filters.model_dump_json())


async def get_indicator_cache(request: Request) -> IndicatorCache:
    """The application's cache, made with it (server/main.py)."""
    cache: IndicatorCache = request.app.state.indicator_cache
    return cache


IndicatorCacheDep = Annotated[IndicatorCache, Depends(get_indicator_cache)]


def cached_indicators(
    session: Session,
    *,
    cache: IndicatorCache,
    scope: Scope,
    filters: IndicatorFilters,
    now: datetime,
) -> Cached:
    """compute_indicators, or its answer for the same scope and filters if it is younger
    than the cache's TTL (then `computed_at` is that earlier moment)."""
    return cache.get_or_compute(
        cache_key(scope, filters),
        lambda: compute_indicators(session, scope=scope, filters=filters, now=now),
    )
