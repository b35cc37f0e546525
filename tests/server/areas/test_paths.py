"""`path_within`: the area-subtree filter, the same answer as a string prefix test on both
databases, one bound LIKE pattern that PostgreSQL serves from its path index."""

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
    """PostgreSQL answers from the path index; SQLite deliberately gets the same LIKE (it
    walks created_at for a page instead; see server/areas/paths.py)."""
    stmt = select(col(Case.id)).where(path_within(col(Case.area_path), "/1/4/"))
    assert "LIKE :area_path_1" in str(stmt.compile())  # one bound pattern, no ||
    compiled = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    assert "LIKE '/1/4/%" in compiled  # psycopg's paramstyle doubles the % of a literal
    if db_backend == "postgresql":
        with engine.connect() as conn:  # an empty table is cheaper to scan: can the index serve?
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN {compiled}")))
        assert "ix_hazard_case_area_path" in plan, plan
