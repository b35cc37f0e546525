"""Alembic owns the schema: on an empty database `upgrade head` gives exactly the models
(autogenerate finds no difference), `downgrade base` removes every table, and the upgrade
works again after that. On SQLite and on PostgreSQL (design.md, "Storage")."""

import os
import pprint
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text

import server.core.db  # first: the naming convention must exist before any table
import server.models
from server.core.migrations import alembic_config, downgrade_to_base, upgrade_to_head
from tests import pg

BACKENDS = ("sqlite", "postgresql")


def _selected(config: pytest.Config, backend: str) -> bool:
    """Honour conftest's `--db sqlite|postgresql|both` when it is there."""
    try:
        choice = config.getoption("--db")
    except ValueError:
        return True
    return choice in ("both", backend)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend: str = request.param
    if not _selected(request.config, backend):
        pytest.skip(f"--db excludes {backend}")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return

    server_url = pg.test_server_url()
    reason = pg.unreachable_reason(server_url)
    if reason:
        message = f"PostgreSQL not reachable at {server_url}: {reason}; {pg.SETUP_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = pg.create_database(server_url, pg.random_name("whistle_mig"))
    try:
        yield url
    finally:
        pg.drop_database(server_url, url)


def _schema_diff(url: str) -> list[Any]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, server.models.metadata))
    finally:
        engine.dispose()


def _tables_and_version(url: str) -> tuple[set[str], list[str]]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            versions: list[str] = []
            if "alembic_version" in tables:
                versions = [row[0] for row in conn.execute(text("SELECT * FROM alembic_version"))]
            return tables, versions
    finally:
        engine.dispose()


def test_upgrade_matches_models_and_downgrade_removes_everything(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None

    upgrade_to_head(url)
    diff = _schema_diff(url)
    assert diff == [], "upgrade head differs from server.models:\n" + pprint.pformat(diff)
    tables, versions = _tables_and_version(url)
    assert tables == {t.name for t in server.models.metadata.sorted_tables} | {"alembic_version"}
    assert versions == [head]

    downgrade_to_base(url)
    tables, versions = _tables_and_version(url)
    assert tables <= {"alembic_version"}, f"left behind by downgrade: {sorted(tables)}"
    assert versions == []

    upgrade_to_head(url)
    diff = _schema_diff(url)
    assert diff == [], "second upgrade differs from server.models:\n" + pprint.pformat(diff)
    assert _tables_and_version(url)[1] == [head]


def test_migrations_work_from_any_directory(tmp_path: Path) -> None:
    """`upgrade_to_head` finds alembic.ini through the package, not the working directory."""
    db = tmp_path / "elsewhere" / "whistle.db"
    script = (
        "import sys; from server.core.migrations import upgrade_to_head; "
        "upgrade_to_head(sys.argv[1])"
    )
    subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{db}"], cwd=tmp_path, check=True, timeout=120
    )
    tables, versions = _tables_and_version(f"sqlite:///{db}")
    assert "hazard_case" in tables
    assert len(versions) == 1


def test_constraint_names_do_not_depend_on_import_order(tmp_path: Path) -> None:
    """The naming convention (server/core/db.py) must be in place before the first table is
    defined, whichever module is imported first; otherwise constraints get no name and each
    backend invents its own, and autogenerate then sees differences."""
    script = (
        "import server.models as m\n"
        "unnamed = sorted(f'{t.name}: {type(c).__name__}' for t in m.metadata.sorted_tables\n"
        "                 for c in [*t.constraints, *t.indexes] if not c.name)\n"
        "print('\\n'.join(unnamed))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "", (
        "unnamed constraints when server.models is imported first:\n" + result.stdout
    )
