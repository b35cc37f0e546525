"""`path_within`: the area-subtree filter, the same answer as a string prefix test on both
databases, and on SQLite answered from the index (GLOB, not the case-insensitive LIKE)."""

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


def test_both_databases_answer_from_the_area_path_index(engine: Engine, db_backend: str) -> None:
    stmt = select(col(Case.id)).where(path_within(col(Case.area_path), "/1/4/"))
    compiled = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    assert ("GLOB" if db_backend == "sqlite" else "LIKE") in compiled
    with engine.connect() as conn:
        if db_backend == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        else:  # an empty table is cheaper to scan: ask whether the index can serve at all
            conn.execute(text("SET enable_seqscan = off"))
            rows = conn.execute(text(f"EXPLAIN {compiled}"))
        plan = " ".join(str(r[-1]) for r in rows)
    assert "ix_hazard_case_area_path" in plan, plan
