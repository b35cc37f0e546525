"""Admin query benchmark: a district of 1,000,000 cases, then the supervisor's queries.

    .venv/bin/python -m bench.admin_bench [--cases N] [--db sqlite|postgresql|both]
                                          [--runs R] [--keep] [--reuse]

Generates N cases (default 1,000,000) spread over 20 streets, 200 communities, 2,000
grids and 4,000 compounds, the 26 categories (skewed), three years up to 2026-11-23, every
state (older cases mostly closed, recent ones still open), with their workflow times and
timeline events (about five per case), into SQLite (a file under var/bench/) and into
PostgreSQL (a throwaway database on the test server, WHISTLE_TEST_PG_URL). Loading is raw
executemany (SQLite) and COPY (PostgreSQL) with the secondary indexes built afterwards.

Then times, over R runs after one warm-up (p50/p95, milliseconds), the server's own
functions: the case list (server.cases.queries.list_cases) with several filter
combinations, the triage queue (status=reported, oldest first, as the admin's triage page
asks) and its count, the map query (the admin map's shape: the list's filters, newest
5,001 rows) for one street by area and by bounding box, and the dashboard
(server.reports.indicators.compute_indicators). Figures go to docs/benchmarks.md by hand.

--reuse keeps a database of the same size from an earlier --keep run (no generation) and
only adds indexes the models gained since. The schema comes from the models
(create_all) plus the statistics of migration 0002 (--no-month-statistics: without).
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.accounts.scope import Scope
from server.areas.models import Area
from server.cases.models import Case, CaseEvent
from server.cases.queries import list_cases, list_clauses
from server.cases.schemas import CaseFilters
from server.core.config import Settings
from server.core.db import make_engine
from server.models import metadata
from server.reports.indicators import compute_indicators
from server.reports.schemas import IndicatorFilters
from server.taxonomy.models import Category
from server.taxonomy.reference import sync_reference_data
from shared_schemas.enums import AreaLevel, CaseStatus, CategoryGroup, Role
from tests import pg

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
YEARS = 3
STREETS, COMMUNITIES, GRIDS, COMPOUNDS = 20, 10, 10, 2  # per parent
CHUNK = 20_000
MAP_LIMIT = 5_000  # as the admin map (server/admin/map_service.py)
SEED = 20261123

ST = CaseStatus
# (maximum age in days, {status: weight}): recent cases are still in the workflow.
STATUS_MIX: tuple[tuple[float, dict[CaseStatus, float]], ...] = (
    (3, {ST.REPORTED: 55, ST.REGISTERED: 10, ST.DISPATCHED: 15, ST.RECTIFYING: 7,
         ST.REJECTED: 8, ST.DUPLICATE: 5}),
    (30, {ST.REPORTED: 8, ST.REGISTERED: 4, ST.DISPATCHED: 15, ST.RECTIFYING: 25,
          ST.RECTIFIED: 12, ST.CLOSED: 26, ST.REJECTED: 6, ST.DUPLICATE: 4}),
    (120, {ST.REPORTED: 1, ST.DISPATCHED: 3, ST.RECTIFYING: 7, ST.RECTIFIED: 4,
           ST.CLOSED: 72, ST.REJECTED: 7, ST.DUPLICATE: 4, ST.REOPENED: 2}),
    (math.inf, {ST.REPORTED: 0.2, ST.DISPATCHED: 0.5, ST.RECTIFYING: 1, ST.RECTIFIED: 0.5,
                ST.CLOSED: 83.8, ST.REJECTED: 8, ST.DUPLICATE: 5, ST.REOPENED: 1}),
)  # fmt: skip
SEVERITY_DAYS = {"minor": 7, "general": 30, "major": 60}
SEVERITY_WEIGHTS: dict[str, float] = {"minor": 50, "general": 40, "major": 10}
WORDS = ("楼道堆放杂物", "消防通道被占用", "电动车楼道充电", "垃圾未清运", "路灯不亮",
         "井盖破损", "违章停车", "小广告", "线缆乱挂", "路面坑洼")  # fmt: skip


# ---------------------------------------------------------------- the world


@dataclass(frozen=True)
class Grid:
    area_id: int
    path: str
    compounds: tuple[tuple[int, str], ...]
    lat: float
    lon: float
    inspector: uuid.UUID


@dataclass(frozen=True)
class World:
    grids: list[Grid]
    streets: list[Area]
    street_boxes: dict[str, tuple[float, float, float, float]]  # code -> s, w, n, e
    departments: dict[str, int]  # category code -> its department's id
    categories: list[str]
    category_weights: list[float]


def _street_box(index: int) -> tuple[float, float, float, float]:
    row, column = divmod(index, 5)
    south, west = 31.10 + row * 0.04, 121.30 + column * 0.05
    return south, west, south + 0.04, west + 0.05


def build_world(engine: Engine) -> World:
    """Reference data, the area tree, one inspector per grid and a supervisor per street."""
    with Session(engine, expire_on_commit=False) as session:
        sync_reference_data(session)
        district = Area(code="D_BENCH", name="基准区", level=AreaLevel.DISTRICT)
        session.add(district)
        session.flush()
        district.path = f"/{district.pk}/"
        grids: list[Grid] = []
        streets: list[Area] = []
        boxes: dict[str, tuple[float, float, float, float]] = {}
        users: list[User] = []
        for s in range(STREETS):
            street = _child(session, district, f"ST{s:02d}", AreaLevel.STREET)
            streets.append(street)
            south, west, north, east = boxes[street.code] = _street_box(s)
            for c in range(COMMUNITIES):
                community = _child(session, street, f"CM{s:02d}{c}", AreaLevel.COMMUNITY)
                for g in range(GRIDS):
                    grid = _child(session, community, f"G{s:02d}{c}{g}", AreaLevel.GRID)
                    compounds = tuple(
                        (cp.pk, cp.path)
                        for cp in (
                            _child(session, grid, f"CP{s:02d}{c}{g}{k}", AreaLevel.COMPOUND)
                            for k in range(COMPOUNDS)
                        )
                    )
                    # Grids tile the street's box: 10 communities x 10 grids, 10 x 10 cells.
                    cell = c * GRIDS + g
                    lat = south + (cell // 10 + 0.5) * (north - south) / 10
                    lon = west + (cell % 10 + 0.5) * (east - west) / 10
                    inspector = _user(f"insp_{grid.code}", Role.INSPECTOR)
                    users.append(inspector)
                    grids.append(Grid(grid.pk, grid.path, compounds, lat, lon, inspector.id))
        session.add_all(users)
        session.commit()
        fallback = session.exec(
            select(Organisation.id).where(Organisation.code == "HOUSING_BUREAU")
        ).one()
        assert fallback is not None
        categories = list(session.exec(select(Category).order_by(col(Category.sort_order))))
        departments: dict[str, int] = {
            c.code: c.default_department_id or fallback for c in categories
        }
    codes = [c.code for c in categories]
    order = list(range(len(codes)))
    random.Random(SEED).shuffle(order)
    weights = [1 / (order[i] + 1) ** 0.8 for i in range(len(codes))]
    return World(grids, streets, boxes, departments, codes, weights)


def _child(session: Session, parent: Area, code: str, level: AreaLevel) -> Area:
    area = Area(code=code, name=code, level=level, parent_id=parent.id)
    session.add(area)
    session.flush()
    area.path = f"{parent.path}{area.pk}/"
    return area


def _user(username: str, role: Role) -> User:
    # "!" is never a valid hash: these accounts cannot sign in (the bench needs none).
    return User(username=username, display_name=username, password_hash="!", role=role)  # noqa: S106


# ---------------------------------------------------------------- the cases


CASE_TABLE = metadata.tables["hazard_case"]
EVENT_TABLE = metadata.tables["case_event"]
CASE_COLUMNS = [c.name for c in CASE_TABLE.columns]
EVENT_COLUMNS = [c.name for c in EVENT_TABLE.columns if c.name != "id"]


def _pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _status_for(rng: random.Random, age_days: float) -> CaseStatus:
    for max_age, mix in STATUS_MIX:
        if age_days < max_age:
            return CaseStatus(_pick(rng, mix))
    raise AssertionError("unreachable: the last bucket has no upper bound")


def generate(
    world: World, count: int, seed: int
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """(cases, events) in chunks; the same seed gives the same district on every backend."""
    rng = random.Random(seed)
    span = YEARS * 365.0
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for n in range(count):
        # Oldest first, as reports arrive (rows lie on disk in arrival order, as they would
        # in a real database); slightly more reports lately (age skewed towards now).
        age = span * (1 - (n + rng.random()) / count) ** 1.15
        created = NOW - timedelta(days=age)
        status = _status_for(rng, age)
        category = rng.choices(world.categories, weights=world.category_weights)[0]
        severity = _pick(rng, SEVERITY_WEIGHTS)
        grid = world.grids[rng.randrange(len(world.grids))]
        area_id, path = (
            rng.choice(grid.compounds) if rng.random() < 0.85 else (grid.area_id, grid.path)
        )
        case = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "category_code": category,
            "severity": severity,
            "description": f"{rng.choice(WORDS)}，第{n}号",
            "observed_at": created - timedelta(minutes=rng.uniform(1, 600)),
            "lat": grid.lat + rng.gauss(0, 0.001),
            "lon": grid.lon + rng.gauss(0, 0.001),
            "accuracy_m": round(rng.uniform(3, 30), 1),
            "location_source": "gps",
            "location_captured_at": created,
            "area_id": area_id,
            "area_path": path,
            "address": f"{rng.randint(1, 40)}号楼{rng.randint(1, 6)}单元",
            "reporter_id": grid.inspector,
            "device_id": f"tablet-{grid.area_id}",
            "photos_expected": (photos := rng.randint(1, 3)),
            "photos_received": photos if rng.random() < 0.97 else photos - 1,
            "status": status,
            "department_id": None,
            "deadline": None,
            "duplicate_of_id": None,
            "rework_count": 0,
            "registered_at": None,
            "dispatched_at": None,
            "rectified_at": None,
            "closed_at": None,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        steps = _workflow(rng, case, severity, age, world.departments[category])
        case["version"] = len(steps)
        case["updated_at"] = steps[-1][0]
        for at, action, before, after in steps:
            events.append(
                {
                    "case_id": case["id"],
                    "at": at,
                    "actor_id": grid.inspector if action == "report" else None,
                    "action": action,
                    "from_status": before,
                    "to_status": after,
                    "note": "",
                    "changes": "{}",
                }
            )
        cases.append(case)
        if len(cases) == CHUNK:
            yield cases, events
            cases, events = [], []
    if cases:
        yield cases, events


Step = tuple[datetime, str, CaseStatus | None, CaseStatus]


def _workflow(
    rng: random.Random, case: dict[str, Any], severity: str, age: float, department: int
) -> list[Step]:
    """Sets the case's workflow fields for its status and returns its timeline."""
    created: datetime = case["created_at"]
    status: CaseStatus = case["status"]
    steps: list[Step] = [(created, "report", None, ST.REPORTED)]
    if status in (ST.REPORTED,):
        return steps
    if status in (ST.REJECTED, ST.DUPLICATE):
        action = "reject" if status == ST.REJECTED else "mark_duplicate"
        steps.append((created + timedelta(days=rng.uniform(0.05, 2) * _fit(age)), action,
                      ST.REPORTED, status))  # fmt: skip
        return steps
    # Offsets in days from the report, squeezed into the case's age when it is recent.
    registered = rng.uniform(0.05, 2)
    dispatched = registered + rng.uniform(0.01, 1)
    days = SEVERITY_DAYS[severity]
    rectified = dispatched + days * rng.uniform(0.15, 1.3)
    closed = rectified + rng.uniform(0.5, 7)
    last = {
        ST.REGISTERED: registered,
        ST.DISPATCHED: dispatched,
        ST.RECTIFYING: dispatched + 0.5,
        ST.RECTIFIED: rectified,
        ST.CLOSED: closed,
        ST.REOPENED: closed + 30,
    }[status]
    scale = min(1.0, age * 0.98 / last)
    at = {k: created + timedelta(days=v * scale) for k, v in
          {"registered": registered, "dispatched": dispatched, "rectified": rectified,
           "closed": closed, "reopened": closed + 30}.items()}  # fmt: skip
    case["registered_at"] = at["registered"]
    steps.append((at["registered"], "register", ST.REPORTED, ST.REGISTERED))
    if status == ST.REGISTERED:
        return steps
    case["department_id"] = department
    case["dispatched_at"] = at["dispatched"]
    deadline = at["dispatched"] + timedelta(days=days)
    case["deadline"] = deadline
    steps.append((at["dispatched"], "dispatch", ST.REGISTERED, ST.DISPATCHED))
    if rng.random() < 0.05:  # an extension
        case["deadline"] = deadline + timedelta(days=15)
        steps.append((at["dispatched"] + timedelta(days=1), "extend_deadline",
                      ST.DISPATCHED, ST.DISPATCHED))  # fmt: skip
    if status == ST.DISPATCHED:
        return steps
    start = at["dispatched"] + (at["rectified"] - at["dispatched"]) * 0.1
    steps.append((start, "start_rectification", ST.DISPATCHED, ST.RECTIFYING))
    reworks = _pick(rng, {0: 88, 1: 10, 2: 2})
    for k in range(reworks):
        when = start + (at["rectified"] - start) * (k + 1) / (reworks + 2)
        steps.append((when, "mark_rectified", ST.RECTIFYING, ST.RECTIFIED))
        steps.append((when + timedelta(hours=12), "rework", ST.RECTIFIED, ST.RECTIFYING))
    case["rework_count"] = reworks
    if status == ST.RECTIFYING:
        return steps
    case["rectified_at"] = at["rectified"]
    steps.append((at["rectified"], "mark_rectified", ST.RECTIFYING, ST.RECTIFIED))
    if status == ST.RECTIFIED:
        return steps
    case["closed_at"] = at["closed"]
    steps.append((at["closed"], "close", ST.RECTIFIED, ST.CLOSED))
    if status == ST.REOPENED:
        # Reopening clears closed_at and rectified_at (server/workflow/rules.py).
        case["closed_at"] = case["rectified_at"] = None
        steps.append((at["reopened"], "reopen", ST.CLOSED, ST.REOPENED))
    return steps


def _fit(age: float) -> float:
    return min(1.0, age / 2.5)


# ---------------------------------------------------------------- loading


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it on SQLite: UUID hex, naive UTC text with microseconds."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, CaseStatus):
        return value.value
    return value


def _pg_value(value: Any) -> Any:
    return value.value if isinstance(value, CaseStatus) else value


def _indexes(engine: Engine, tables: Sequence[Table]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every secondary index of these tables."""
    out: list[tuple[str, str]] = []
    for table in tables:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            out.append((str(index.name), str(CreateIndex(index).compile(dialect=engine.dialect))))
    return out


def load_sqlite(engine: Engine, path: Path, world: World, count: int) -> None:
    indexes = _indexes(engine, [CASE_TABLE, EVENT_TABLE])
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    case_sql = _insert_sql("hazard_case", CASE_COLUMNS)
    event_sql = _insert_sql("case_event", EVENT_COLUMNS)
    done = 0
    for cases, events in generate(world, count, SEED):
        conn.executemany(case_sql, ([_sqlite_value(c[k]) for k in CASE_COLUMNS] for c in cases))
        conn.executemany(event_sql, ([_sqlite_value(e[k]) for k in EVENT_COLUMNS] for e in events))
        conn.commit()
        done += len(cases)
        _progress(done, count)
    print("\n  building indexes", flush=True)
    for _, create in indexes:
        conn.execute(create)
    conn.execute("ANALYZE")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.commit()
    conn.close()


def _insert_sql(table: str, columns: list[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - our own names


def load_postgresql(engine: Engine, world: World, count: int) -> None:
    indexes = _indexes(engine, [CASE_TABLE, EVENT_TABLE])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        raw.commit()
        case_copy = f"COPY hazard_case ({', '.join(CASE_COLUMNS)}) FROM STDIN"
        event_copy = f"COPY case_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
        done = 0
        for cases, events in generate(world, count, SEED):
            with cursor.copy(case_copy) as copy:
                for c in cases:
                    copy.write_row([_pg_value(c[k]) for k in CASE_COLUMNS])
            with cursor.copy(event_copy) as copy:
                for e in events:
                    copy.write_row([_pg_value(e[k]) for k in EVENT_COLUMNS])
            raw.commit()
            done += len(cases)
            _progress(done, count)
        print("\n  building indexes", flush=True)
        for _, create in indexes:
            cursor.execute(create)
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def add_missing_indexes(engine: Engine) -> None:
    """For --reuse: indexes the models gained since the data was generated."""
    with engine.begin() as conn:
        for table in (CASE_TABLE, EVENT_TABLE):
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        conn.execute(text("ANALYZE"))


def month_statistics(engine: Engine, *, present: bool) -> None:
    """Add (or drop) what migration 0002 adds: the bench builds its schema with
    create_all, not with the migrations. The migration's own upgrade/downgrade run, so
    the bench measures exactly what a migrated database has (a no-op on SQLite)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    (path,) = Path(__file__).resolve().parents[1].glob("alembic/versions/0002_*.py")
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade() if present else migration.downgrade()


def _progress(done: int, total: int) -> None:
    print(f"\r  {done:,} / {total:,} cases", end="", flush=True)


# ---------------------------------------------------------------- timing


@dataclass
class Timing:
    name: str
    runs: list[float]
    rows: int

    def line(self) -> str:
        p50 = statistics.median(self.runs)
        p95 = _percentile(self.runs, 0.95)
        return f"  {self.name:<58} p50 {p50:8.1f}  p95 {p95:8.1f} ms  ({self.rows:,} rows)"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def timed(engine: Engine, name: str, runs: int, query: Callable[[Session], int]) -> Timing:
    """One warm-up, then `runs` timed runs, each in a fresh session (as a request)."""
    with Session(engine) as session:
        rows = query(session)
    samples: list[float] = []
    for _ in range(runs):
        with Session(engine) as session:
            start = time.perf_counter()
            query(session)
            samples.append((time.perf_counter() - start) * 1000)
    timing = Timing(name, samples, rows)
    print(timing.line(), flush=True)
    return timing


def _list(scope: Scope, **filters: Any) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        return len(
            list_cases(
                session, scope=scope, filters=CaseFilters(**filters), cursor=None, limit=50
            ).items
        )

    return run


def _second_page(scope: Scope) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        first = list_cases(session, scope=scope, filters=CaseFilters(), cursor=None, limit=50)
        page = list_cases(
            session, scope=scope, filters=CaseFilters(), cursor=first.next_cursor, limit=50
        )
        return len(page.items)

    return run


def _triage(scope: Scope) -> Callable[[Session], int]:
    """The admin's triage page: status=reported, oldest first, 50 a page (its query
    shape, server/admin/case_list.admin_case_page with SortKey.OLDEST)."""

    def run(session: Session) -> int:
        filters = CaseFilters(status=[CaseStatus.REPORTED])
        stmt = (
            select(Case)
            .where(*list_clauses(session, scope=scope, filters=filters, now=NOW))
            .order_by(col(Case.created_at).asc(), col(Case.id).asc())
            .limit(51)
        )
        return len(list(session.exec(stmt)))

    return run


def _triage_count(scope: Scope) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        filters = CaseFilters(status=[CaseStatus.REPORTED])
        clauses = list_clauses(session, scope=scope, filters=filters, now=NOW)
        return int(session.exec(select(func.count()).select_from(Case).where(*clauses)).one())

    return run


Box = tuple[float, float, float, float]


def _map(
    scope: Scope, *, area: str | None = None, box: Box | None = None
) -> Callable[[Session], int]:
    """The admin map's query: whole Case rows, newest first, at most MAP_LIMIT + 1."""

    def run(session: Session) -> int:
        filters = CaseFilters(area=area)
        stmt = select(Case).where(*list_clauses(session, scope=scope, filters=filters, now=NOW))
        if box is not None:
            south, west, north, east = box
            stmt = stmt.where(
                col(Case.lat).between(south, north), col(Case.lon).between(west, east)
            )
        stmt = stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(MAP_LIMIT + 1)
        return len(list(session.exec(stmt)))

    return run


def _map_markers(scope: Scope, *, box: Box) -> Callable[[Session], int]:
    """The same cases, but only the columns a marker needs (no ORM objects)."""

    def run(session: Session) -> int:
        south, west, north, east = box
        stmt = (
            sa_select(
                col(Case.id),
                col(Case.lat),
                col(Case.lon),
                col(Case.status),
                col(Case.category_code),
                col(Case.deadline),
            )
            .where(*list_clauses(session, scope=scope, filters=CaseFilters(), now=NOW))
            .where(col(Case.lat).between(south, north), col(Case.lon).between(west, east))
            .order_by(col(Case.created_at).desc(), col(Case.id).desc())
            .limit(MAP_LIMIT + 1)
        )
        return len(session.execute(stmt).all())

    return run


def _dashboard(scope: Scope, **filters: Any) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        result = compute_indicators(
            session, scope=scope, filters=IndicatorFilters(**filters), now=NOW
        )
        return result.totals.discovered

    return run


Queries = list[tuple[str, Callable[[Session], int]]]


def sections(engine: Engine, world: World) -> dict[str, tuple[str, Queries]]:
    """section -> (heading, [(name, query)])."""
    with Session(engine) as session:
        traffic = session.exec(
            select(Organisation.id).where(Organisation.code == "TRAFFIC_POLICE")
        ).one()
    admin = Scope(everything=True, all_areas_visible=True)
    street = world.streets[7]
    supervisor = Scope(area_paths=(street.path,))
    department = Scope(department_id=traffic, all_areas_visible=True)
    last_90 = NOW - timedelta(days=90)
    months = {"date_from": date(2025, 12, 1), "date_to": date(2026, 11, 23)}
    fire_open = {"status": [ST.DISPATCHED, ST.RECTIFYING], "category": ["FIRE_LANE"]}
    box = world.street_boxes[street.code]
    lists: Queries = [
        ("admin, no filter", _list(admin)),
        ("admin, page 2 (cursor)", _second_page(admin)),
        ("supervisor (1 street), no filter", _list(supervisor)),
        ("supervisor, dispatched+rectifying, FIRE_LANE", _list(supervisor, **fire_open)),
        (
            "supervisor, fire_safety, last 90 days",
            _list(supervisor, group=CategoryGroup.FIRE_SAFETY, created_from=last_90),
        ),
        ("supervisor, one grid", _list(supervisor, area="G0742")),
        ("admin, overdue", _list(admin, overdue=True)),
        (
            "admin, department TRAFFIC_POLICE, dispatched",
            _list(admin, department="TRAFFIC_POLICE", status=[ST.DISPATCHED]),
        ),
        ("department (own cases), rectifying", _list(department, status=[ST.RECTIFYING])),
        (
            "admin, rare: LIVESTOCK + reopened",
            _list(admin, category=["LIVESTOCK"], status=[ST.REOPENED]),
        ),
        ("admin, text search q=楼道", _list(admin, q="楼道")),
    ]
    triage: Queries = [
        ("admin, page 1", _triage(admin)),
        ("supervisor, page 1", _triage(supervisor)),
        ("admin, count", _triage_count(admin)),
    ]
    maps: Queries = [
        ("admin, street by area (whole rows)", _map(admin, area=street.code)),
        ("admin, street bounding box (whole rows)", _map(admin, box=box)),
        ("supervisor, own street's box (whole rows)", _map(supervisor, box=box)),
        ("supervisor, own street's box (marker columns)", _map_markers(supervisor, box=box)),
    ]
    dashboards: Queries = [
        ("admin, last 12 months", _dashboard(admin, **months)),
        ("admin, all time", _dashboard(admin)),
        ("admin, 12 months, FIRE_LANE", _dashboard(admin, **months, category=["FIRE_LANE"])),
        ("supervisor, last 12 months", _dashboard(supervisor, **months)),
        (
            "supervisor, all time, by compound",
            _dashboard(supervisor, area_level=AreaLevel.COMPOUND),
        ),
        ("department, last 12 months", _dashboard(department, **months)),
    ]
    return {
        "list": ("case list (list_cases, 50 a page)", lists),
        "triage": ("triage queue (status=reported, oldest first, 50 a page)", triage),
        "map": (f"map (newest {MAP_LIMIT:,} + 1 cases)", maps),
        "dashboard": ("dashboard (compute_indicators)", dashboards),
    }


def run_queries(engine: Engine, world: World, runs: int, only: list[str]) -> list[Timing]:
    out: list[Timing] = []
    for key, (heading, queries) in sections(engine, world).items():
        if only and key not in only:
            continue
        print(f" {heading}")
        for name, query in queries:
            out.append(timed(engine, f"{key}: {name}", runs, query))
    return out


# ---------------------------------------------------------------- main


def _counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        cases = int(session.exec(select(func.count()).select_from(Case)).one())
        events = int(session.exec(select(func.count()).select_from(CaseEvent)).one())
    return cases, events


def prepare(backend: str, count: int, *, reuse: bool) -> tuple[Engine, World, Callable[[], None]]:
    """A database with `count` cases; returns (engine, world, cleanup)."""
    if backend == "sqlite":
        path = Path("var/bench") / f"admin-{count}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        fresh = not (reuse and path.exists())
        if fresh:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        def cleanup() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    else:
        server = pg.test_server_url()
        name = f"whistle_admin_bench_{count}"
        exists = _pg_exists(server, name)
        fresh = not (reuse and exists)
        url = pg.create_database(server, name) if fresh else _pg_url(server, name)

        def cleanup() -> None:
            pg.drop_database(server, name)

    engine = make_engine(Settings(env="test", database_url=url))
    if not fresh:
        world = _world_from(engine)
        add_missing_indexes(engine)
        print(f"  reusing {url}: {_counts(engine)[0]:,} cases")
        return engine, world, cleanup
    metadata.create_all(engine)
    start = time.perf_counter()
    world = build_world(engine)
    if backend == "sqlite":
        load_sqlite(engine, path, world, count)
        engine = make_engine(Settings(env="test", database_url=url))
    else:
        load_postgresql(engine, world, count)
    cases, events = _counts(engine)
    print(
        f"  generated {cases:,} cases and {events:,} events in {time.perf_counter() - start:.0f} s"
    )
    return engine, world, cleanup


def _pg_exists(server: str, name: str) -> bool:
    from sqlalchemy import create_engine, pool
    from sqlalchemy.engine import make_url

    url = make_url(server).set(database="postgres")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
    finally:
        engine.dispose()
    return found is not None


def _pg_url(server: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _world_from(engine: Engine) -> World:
    """The World of an existing bench database (for --reuse)."""
    with Session(engine) as session:
        streets = list(
            session.exec(
                select(Area).where(Area.level == AreaLevel.STREET).order_by(col(Area.code))
            )
        )
        grids_rows = list(
            session.exec(select(Area).where(Area.level == AreaLevel.GRID).order_by(col(Area.code)))
        )
        categories = list(session.exec(select(Category).order_by(col(Category.sort_order))))
    boxes = {s.code: _street_box(i) for i, s in enumerate(streets)}
    grids = [Grid(g.pk, g.path, (), 0.0, 0.0, uuid.UUID(int=0)) for g in grids_rows]
    return World(grids, streets, boxes, {}, [c.code for c in categories], [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per query")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept database")
    parser.add_argument(
        "--no-month-statistics",
        action="store_true",
        help="without migration 0002's statistics (PostgreSQL; to measure their effect)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=["list", "triage", "map", "dashboard"],
        default=[],
        help="time only these sections (repeatable)",
    )
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(
        f"admin_bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.cases:,} cases, "
        f"{args.runs} runs; {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}"
    )
    for backend in backends:
        print(f"\n== {backend}")
        engine, world, cleanup = prepare(backend, args.cases, reuse=args.reuse)
        month_statistics(engine, present=not args.no_month_statistics)
        if backend == "postgresql":
            with engine.connect() as conn:
                print("  " + str(conn.execute(text("SELECT version()")).scalar()))
        try:
            run_queries(engine, world, args.runs, args.only)
        finally:
            engine.dispose()
            if not args.keep:
                cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
