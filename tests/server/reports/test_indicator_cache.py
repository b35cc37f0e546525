"""The indicators cache (server/reports/cache.py): an answer is reused only for the same
scope and filters, only for ttl_s seconds, and the dashboard says when it was computed."""

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from server.accounts.scope import Scope
from server.cases.models import Case
from server.reports.cache import IndicatorCache, cache_key
from server.reports.schemas import IndicatorFilters, IndicatorRow, Indicators
from shared_schemas.enums import AreaLevel, CategoryGroup
from tests.server.admin.h6_helpers import sign_in_at
from tests.server.reports.cohort import NOW, Cohort, build_cohort
from tests.world import World, login

TTL = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answer(discovered: int, *, areas: int = 0) -> Indicators:
    """An answer with `areas` rows in its area breakdown (1 + areas rows in all)."""
    row = IndicatorRow.model_validate(
        {"key": None, "name_zh": "合计", "name_en": "Total", "discovered": discovered}
        | dict.fromkeys(
            ("registered", "pending", "rejected", "duplicates", "rectified", "closed", "due"),
            0,
        )
        | dict.fromkeys(("on_time", "overdue", "verifications", "failed_verifications"), 0)
        | dict.fromkeys(
            (
                "registration_rate",
                "on_time_rate",
                "closure_rate",
                "rework_rate",
                "avg_days_to_close",
            ),
            None,
        )
    )
    return Indicators(
        date_from=None,
        date_to=None,
        computed_at=NOW,
        area_level=AreaLevel.GRID,
        totals=row,
        by_category=[],
        by_group=[],
        by_area=[row] * areas,
        by_department=[],
        by_month=[],
    )


def counter() -> tuple[list[int], Callable[[], Indicators]]:
    calls: list[int] = []

    def compute() -> Indicators:
        calls.append(1)
        return answer(len(calls))

    return calls, compute


# --- the cache itself -------------------------------------------------------------------


def test_an_answer_is_reused_until_its_ttl_has_passed() -> None:
    clock = FakeClock()
    cache = IndicatorCache(ttl_s=TTL, clock=clock)
    calls, compute = counter()
    first = cache.get_or_compute("k", compute)
    assert not first.hit and first.indicators.totals.discovered == 1
    clock.now += TTL - 1
    again = cache.get_or_compute("k", compute)
    assert again.hit and again.indicators is first.indicators
    clock.now += 1  # exactly ttl_s later: stale
    fresh = cache.get_or_compute("k", compute)
    assert not fresh.hit and fresh.indicators.totals.discovered == 2
    assert len(calls) == 2


def test_other_keys_are_computed_separately() -> None:
    cache = IndicatorCache(ttl_s=TTL, clock=FakeClock())
    calls, compute = counter()
    assert cache.get_or_compute("a", compute).indicators.totals.discovered == 1
    assert cache.get_or_compute("b", compute).indicators.totals.discovered == 2
    assert cache.get_or_compute("a", compute).indicators.totals.discovered == 1
    assert len(calls) == 2


def test_zero_ttl_turns_the_cache_off() -> None:
    cache = IndicatorCache(ttl_s=0, clock=FakeClock())
    calls, compute = counter()
    for _ in range(3):
        assert not cache.get_or_compute("k", compute).hit
    assert len(calls) == 3 and len(cache) == 0


def test_size_is_bounded_oldest_first_and_expired_entries_go() -> None:
    clock = FakeClock()
    cache = IndicatorCache(ttl_s=TTL, max_entries=2, clock=clock)
    _, compute = counter()
    for key in ("a", "b", "c"):
        cache.get_or_compute(key, compute)
    assert len(cache) == 2
    assert not cache.get_or_compute("a", compute).hit  # the oldest was dropped
    assert cache.get_or_compute("c", compute).hit
    clock.now += TTL
    cache.get_or_compute("d", compute)
    assert len(cache) == 1  # a and c had expired


def test_a_failed_computation_is_not_kept() -> None:
    cache = IndicatorCache(ttl_s=TTL, clock=FakeClock())

    def broken() -> Indicators:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="went away"):
        cache.get_or_compute("k", broken)
    assert len(cache) == 0


def _race(
    cache: IndicatorCache, compute: Callable[[], Indicators], *, waiting: int
) -> list[object]:
    """`waiting` requests ask for key "k" while the first is inside `compute`."""
    with ThreadPoolExecutor(waiting + 1) as pool:
        first = pool.submit(cache.get_or_compute, "k", compute)
        others = [pool.submit(cache.get_or_compute, "k", compute) for _ in range(waiting)]
        results: list[object] = []
        for future in [first, *others]:
            try:
                results.append(future.result(timeout=10))
            except RuntimeError as exc:
                results.append(exc)
    return results


def test_requests_for_a_key_being_computed_wait_for_that_answer() -> None:
    cache = IndicatorCache(ttl_s=TTL)
    inside, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> Indicators:
        calls.append(1)
        inside.set()
        assert release.wait(10)
        return answer(7)

    def let_go_once_others_wait() -> None:
        assert inside.wait(10)
        time.sleep(0.2)  # the others reach the wait (a miss here only makes them compute)
        release.set()

    threading.Thread(target=let_go_once_others_wait).start()
    results = _race(cache, slow, waiting=3)
    assert len(calls) == 1  # one computation for four requests
    assert [r.hit for r in results] == [False, True, True, True]  # type: ignore[attr-defined]
    assert {r.indicators.totals.discovered for r in results} == {7}  # type: ignore[attr-defined]
    # Another key is not held up by a computation in progress.
    assert cache.get_or_compute("other", lambda: answer(1)).hit is False


def test_when_the_first_computation_fails_the_waiting_ones_compute() -> None:
    cache = IndicatorCache(ttl_s=TTL)
    inside, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def first_fails() -> Indicators:
        calls.append(1)
        if len(calls) == 1:
            inside.set()
            assert release.wait(10)
            raise RuntimeError("the database went away")
        return answer(len(calls))

    def let_go() -> None:
        assert inside.wait(10)
        time.sleep(0.2)
        release.set()

    threading.Thread(target=let_go).start()
    results = _race(cache, first_fails, waiting=2)
    assert isinstance(results[0], RuntimeError)
    assert all(not isinstance(r, RuntimeError) for r in results[1:])
    assert len(calls) >= 2  # the waiting ones computed for themselves (not kept waiting)
    assert cache.get_or_compute("k", first_fails).hit is True  # and the answer is kept


def test_memory_is_bounded_by_the_rows_kept() -> None:
    """Large answers (the whole district by compound: 6,000 rows) count for their rows."""
    cache = IndicatorCache(ttl_s=TTL, max_rows=10, clock=FakeClock())
    cache.get_or_compute("a", lambda: answer(1, areas=5))
    cache.get_or_compute("b", lambda: answer(2, areas=3))
    assert (len(cache), cache.rows) == (2, 10)
    cache.get_or_compute("c", lambda: answer(3, areas=1))  # 12 rows: "a" must go
    assert (len(cache), cache.rows) == (2, 6)
    assert not cache.get_or_compute("a", lambda: answer(4, areas=20)).hit
    # 21 rows never fit: computed and answered, but not kept (and nothing else dropped).
    assert (len(cache), cache.rows) == (2, 6)
    assert cache.get_or_compute("b", lambda: answer(5)).hit


@pytest.mark.parametrize(
    ("ttl_s", "max_entries", "max_rows"), [(-1, 10, 10), (60, 0, 10), (60, 10, 0)]
)
def test_nonsense_settings_are_refused(ttl_s: float, max_entries: int, max_rows: int) -> None:
    with pytest.raises(ValueError, match="ttl_s must be >= 0"):
        IndicatorCache(ttl_s=ttl_s, max_entries=max_entries, max_rows=max_rows)


paths = st.lists(st.sampled_from(["/1/", "/1/2/", "/1/3/", "/1/2/4/"]), max_size=2).map(
    lambda ps: tuple(sorted(set(ps)))
)
scopes = st.builds(
    Scope,
    everything=st.booleans(),
    area_paths=paths,
    department_id=st.none() | st.integers(1, 3),
    all_areas_visible=st.booleans(),
)
filters = st.builds(
    IndicatorFilters,
    date_from=st.none() | st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    date_to=st.none() | st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    category=st.lists(st.sampled_from(["FIRE_LANE", "GARBAGE"]), max_size=2),
    group=st.none() | st.sampled_from(CategoryGroup),
    area=st.none() | st.sampled_from(["ST_A", "ST_B"]),
    department=st.none() | st.sampled_from(["FIRE_BRIGADE", "HOUSING_BUREAU"]),
    area_level=st.sampled_from(AreaLevel),
)


@given(scopes, filters, scopes, filters)
def test_keys_are_equal_only_for_the_same_scope_and_filters(
    s1: Scope, f1: IndicatorFilters, s2: Scope, f2: IndicatorFilters
) -> None:
    assert (cache_key(s1, f1) == cache_key(s2, f2)) == (s1 == s2 and f1 == f2)
    assert cache_key(s1, f1) == cache_key(s1, f1.model_copy())


# --- through the API and the page -------------------------------------------------------


@pytest.fixture
def cohort(engine: object, world: World) -> Cohort:
    return build_cohort(engine, world)  # type: ignore[arg-type]


@pytest.fixture
def clock(app: FastAPI, time_machine: object) -> FakeClock:
    """The application's cache, with a clock the test moves; the wall clock at NOW."""
    time_machine.move_to(NOW, tick=False)  # type: ignore[attr-defined]
    fake = FakeClock()
    app.state.indicator_cache = IndicatorCache(ttl_s=TTL, clock=fake)
    return fake


def totals(client: TestClient, username: str) -> dict[str, object]:
    response = client.get("/api/v1/indicators", headers=login(client, username))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_cached_answer_never_crosses_scopes(
    client: TestClient, cohort: Cohort, clock: FakeClock
) -> None:
    """Asked in turn with the same filters, each caller gets the figures of their own
    scope (tests/server/reports/test_indicators.py: 9, 2, 4, 11), then, asked again, the
    same answer from the cache (same computed_at)."""
    expected = {"supervisor_a": 9, "supervisor_b": 2, "department_a": 4, "admin": 11}
    first = {user: totals(client, user) for user in expected}
    assert {u: b["totals"]["discovered"] for u, b in first.items()} == expected  # type: ignore[index]
    clock.now += 1
    again = {user: totals(client, user) for user in reversed(expected)}
    assert again == first
    assert len(client.app.state.indicator_cache) == len(expected)  # type: ignore[attr-defined]


def test_changes_show_once_the_ttl_has_passed(
    client: TestClient, session: Session, cohort: Cohort, clock: FakeClock, time_machine: object
) -> None:
    before = totals(client, "supervisor_a")
    case = session.exec(select(Case).where(Case.id == cohort.ids["pending"])).one()
    session.delete(case)
    session.commit()
    time_machine.move_to(NOW + timedelta(seconds=30), tick=False)  # type: ignore[attr-defined]
    clock.now += 30
    assert totals(client, "supervisor_a") == before  # still the kept answer
    time_machine.move_to(NOW + timedelta(seconds=TTL), tick=False)  # type: ignore[attr-defined]
    clock.now += TTL - 30
    after = totals(client, "supervisor_a")
    assert after["totals"]["discovered"] == 8  # type: ignore[index]
    assert after["computed_at"] != before["computed_at"]


def as_of(html: str) -> tuple[str, bool]:
    match = re.search(r'<span id="dashboard-as-of"( data-cached="1")?>([^<]*)</span>', html)
    assert match, "no 'as of' on the page"
    return " ".join(match.group(2).split()), bool(match.group(1))


def test_the_page_says_when_its_figures_were_computed(
    client: TestClient, cohort: Cohort, clock: FakeClock, time_machine: object
) -> None:
    page = "/admin/dashboard?period=all"
    sign_in_at(client, "supervisor_a", page)  # computes (and keeps) the answer
    time_machine.move_to(NOW + timedelta(seconds=45), tick=False)  # type: ignore[attr-defined]
    clock.now += 45
    text, cached = as_of(client.get(page).text)
    # NOW is 12:00 UTC, 20:00 in Shanghai (the admin's default time zone).
    assert cached and text.startswith("统计时刻 2026-06-15 20:00")
    assert "60 秒" in text
    time_machine.move_to(NOW + timedelta(seconds=130), tick=False)  # type: ignore[attr-defined]
    clock.now += 85
    text, cached = as_of(client.get(page).text)
    assert not cached and text == "统计时刻 2026-06-15 20:02"
