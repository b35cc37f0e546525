"""`path_within`: the area-subtree filter, the same answer as a string prefix test on both
databases; one bound LIKE pattern that PostgreSQL serves from its path index; on SQLite a
GLOB with a likelihood hint: the path index for a grid, created_at for a street."""

import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, insert, select, text
from sqlmodel import col

from server.areas.paths import path_within
from server.cases.models import Case

probe_metadata = MetaData()
probe = Table(
    "path_probe",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String(200), nullable=False),
)

paths = st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=4).map(
    lambda ids: "/" + "".join(f"{i}/" for i in ids)
)


@pytest.fixture
def probe_table(engine: Engine) -> Iterator[Engine]:
    probe_metadata.create_all(engine)
    yield engine
    probe_metadata.drop_all(engine)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stored=st.lists(paths, min_size=1, max_size=30),
    prefixes=st.lists(paths, min_size=1, max_size=3),
)
def test_the_same_rows_as_a_prefix_test(
    probe_table: Engine, stored: list[str], prefixes: list[str]
) -> None:
    with probe_table.begin() as conn:
        conn.execute(probe.delete())
        conn.execute(insert(probe), [{"id": i, "path": p} for i, p in enumerate(stored)])
        for prefix in prefixes:  # the same statement shape, other values: no stale cache
            rows = conn.execute(select(probe.c.id).where(path_within(probe.c.path, prefix)))
            expected = {i for i, p in enumerate(stored) if p.startswith(prefix)}
            assert {r[0] for r in rows} == expected


def test_one_grid_is_not_its_numeric_neighbour(probe_table: Engine) -> None:
    with probe_table.begin() as conn:
        conn.execute(insert(probe), [{"id": 1, "path": "/1/4/"}, {"id": 2, "path": "/1/40/"}])
        rows = conn.execute(select(probe.c.id).where(path_within(probe.c.path, "/1/4/")))
        assert [r[0] for r in rows] == [1]


@pytest.mark.parametrize("bad", ["", "1/4/", "/1/%/", "/1/*/", "/1/4", "/a/"])
def test_anything_but_an_area_path_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an area path"):
        path_within(probe.c.path, bad)


def test_one_bound_like_pattern_served_by_the_index_on_postgresql(
    engine: Engine, db_backend: str
) -> None:
    stmt = select(col(Case.id)).where(path_within(col(Case.area_path), "/1/4/"))
    assert re.search(r"LIKE :\w+$", str(stmt.compile())), stmt  # one bound pattern, no ||
    compiled = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    if db_backend == "postgresql":
        assert "LIKE '/1/4/%" in compiled  # psycopg's paramstyle doubles the % of a literal
        with engine.connect() as conn:  # an empty table is cheaper to scan: can the index serve?
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_hazard_case_area_path" in plan, plan


def _sqlite_plan(engine: Engine, prefix: str) -> str:
    """The plan of a case list's first page inside the area: newest first, one page."""
    stmt = (
        select(col(Case.id))
        .where(path_within(col(Case.area_path), prefix))
        .order_by(col(Case.created_at).desc())
        .limit(50)
    )
    compiled = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        return " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_sqlite_uses_the_path_index_for_a_grid_and_walks_created_at_for_a_street(
    engine: Engine, db_backend: str
) -> None:
    """The likelihood hint (server/areas/paths.py) decides the plan on SQLite."""
    if db_backend != "sqlite":
        pytest.skip("the hint is SQLite's; PostgreSQL has statistics")
    stmt = select(col(Case.id)).where(path_within(col(Case.area_path), "/1/4/9/12/"))
    assert "likelihood(hazard_case.area_path GLOB" in str(stmt.compile(engine))
    grid = _sqlite_plan(engine, "/1/4/9/12/")
    assert "ix_hazard_case_area_path" in grid, grid
    for prefix in ("/1/", "/1/4/", "/1/4/9/"):  # district, street, community
        plan = _sqlite_plan(engine, prefix)
        assert "ix_hazard_case_created_at" in plan, (prefix, plan)
