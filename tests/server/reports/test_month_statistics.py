"""Migration 0002: statistics on the dashboard's month expression (PostgreSQL).

They only help if the planner recognises the expression of the dashboard's GROUP BY
(server/reports/periods.sql_month) as the one the statistics are on: checked here through
the planner's own estimate of the number of months, before and after the migration.
"""

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.cases.models import Case
from server.reports.periods import sql_month
from tests.world import T0, World, add_case

REPO = Path(__file__).resolve().parents[3]
STATISTICS = "stx_hazard_case_report_month"
MONTHS = 3
CASES = 300


def load_migration() -> ModuleType:
    (path,) = REPO.glob("alembic/versions/0002_*.py")
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(session: Session, step: str) -> None:
    """Run the migration's upgrade or downgrade on the test database, then commit."""
    migration = load_migration()
    with Operations.context(MigrationContext.configure(session.connection())):
        getattr(migration, step)()
    session.commit()


def statistics_objects(session: Session) -> list[str]:
    query = text("SELECT stxname FROM pg_statistic_ext WHERE stxname = :n")
    return list(session.execute(query, {"n": STATISTICS}).scalars())


def estimated_months(session: Session) -> float:
    """The planner's guess of the number of groups of the dashboard's month key."""
    month = sql_month("postgresql", col(Case.created_at)).label("month")
    query = sa_select(month, func.count()).group_by(month)
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    plan: Any = session.execute(text(f"EXPLAIN (FORMAT JSON) {compiled}")).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


@pytest.fixture
def spread_cases(session: Session, world: World) -> Iterator[None]:
    """CASES reports (besides the world's two), each at its own moment, over MONTHS
    months from T0 (the world's are at T0 too); the statistics object
    is always dropped afterwards (the PostgreSQL test database is reused, only emptied)."""
    reporter = session.exec(select(User).where(User.username == "inspector_a")).one()
    first = add_case(session, area=world.a.compound, reporter=reporter)
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # Copies of the first case, one every ~7 hours from T0 (about 87 days).
        session.execute(
            text(
                "INSERT INTO hazard_case SELECT "
                + ", ".join(
                    "gen_random_uuid()"
                    if c.name == "id"
                    else "c.created_at + n * interval '7 hours 1 second'"
                    if c.name == "created_at"
                    else f"c.{c.name}"
                    for c in Case.__table__.columns  # type: ignore[attr-defined]
                )
                + f" FROM hazard_case c, generate_series(1, {CASES - 1}) n WHERE c.id = :id"
            ),
            {"id": first.id},
        )
        session.commit()
    yield
    if session.get_bind().dialect.name == "postgresql":
        session.rollback()
        session.execute(text(f"DROP STATISTICS IF EXISTS {STATISTICS}"))
        session.commit()


def test_migration_0002(session: Session, spread_cases: None) -> None:
    """PostgreSQL: the statistics; SQLite: nothing (statistics objects are PostgreSQL's)."""
    if session.get_bind().dialect.name == "postgresql":
        _statistics_tell_the_planner_how_few_months_there_are(session)
    else:
        _migration_does_nothing_on_sqlite(session)


def _statistics_tell_the_planner_how_few_months_there_are(session: Session) -> None:
    if (session.get_bind().dialect.server_version_info or (0,)) < (14,):
        pytest.skip("expression statistics need PostgreSQL 14")
    assert session.execute(select(func.count()).select_from(Case)).scalar_one() >= CASES
    session.execute(text("ANALYZE hazard_case"))
    # Without them: one group per case (each created_at is different).
    assert estimated_months(session) > CASES / 2

    run(session, "upgrade")
    assert statistics_objects(session) == [STATISTICS]
    # The migration analyzes the table itself: the estimate is right at once.
    assert estimated_months(session) <= MONTHS + 1

    run(session, "upgrade")  # again: IF NOT EXISTS, no error, still one object
    assert statistics_objects(session) == [STATISTICS]

    run(session, "downgrade")
    assert statistics_objects(session) == []
    session.execute(text("ANALYZE hazard_case"))
    assert estimated_months(session) > CASES / 2


def _migration_does_nothing_on_sqlite(session: Session) -> None:
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    before = session.execute(text(schema)).all()
    run(session, "upgrade")
    assert session.execute(text(schema)).all() == before
    run(session, "downgrade")
    assert session.execute(text(schema)).all() == before
    # And the month key still groups as before.
    month = sql_month("sqlite", col(Case.created_at))
    assert set(session.execute(sa_select(month)).scalars()) == {T0.strftime("%Y-%m")}
