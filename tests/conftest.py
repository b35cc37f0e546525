"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

`--db sqlite|postgresql|both` picks the backends (default both). When PostgreSQL is not
reachable the PostgreSQL runs are skipped locally, and fail in CI (CI=true): CI must never
pass by skipping a component.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from server.core.config import Settings
from server.core.db import make_engine, metadata
from server.main import create_app
from tests import pg
from tests.world import World, build_world

BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", default="both", choices=["sqlite", "postgresql", "both"], help="database backends"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends: tuple[str, ...] = BACKENDS if choice == "both" else (choice,)
        if metafunc.definition.get_closest_marker("postgresql_only"):
            backends = tuple(b for b in backends if b == "postgresql")
        metafunc.parametrize("db_backend", backends, scope="session")


def _worker_id(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.config, "workerinput", {}).get("workerid", "main"))


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    url = pg.test_server_url()
    reason = pg.unreachable_reason(url)
    if reason:
        message = f"PostgreSQL not reachable at {url}: {reason}. Run `make test` (it starts one)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file with the schema, copied for each test (faster than creating it)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(Settings(env="test", database_url=f"sqlite:///{path}"))
    metadata.create_all(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _pg_database(request: pytest.FixtureRequest, db_backend: str) -> Iterator[str | None]:
    """One PostgreSQL database per test worker, with the schema; emptied after each test."""
    if db_backend != "postgresql":
        yield None
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    # Unique per run and worker: parallel runs on one server must not drop each other's.
    url = pg.create_database(admin_url, pg.random_name(f"whistle_t_{_worker_id(request)}"))
    engine = make_engine(Settings(env="test", database_url=url))
    metadata.create_all(engine)
    engine.dispose()
    yield url
    pg.drop_database(admin_url, url)


@pytest.fixture
def database_url(
    db_backend: str, tmp_path: Path, _sqlite_template: Path, _pg_database: str | None
) -> Iterator[str]:
    if db_backend == "sqlite":
        path = tmp_path / "whistle.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    assert _pg_database is not None
    yield _pg_database
    engine = make_engine(Settings(env="test", database_url=_pg_database))
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        storage_dir=tmp_path / "photos",
        secret_key="test-secret-key-" + "x" * 32,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    result: Engine = app.state.engine
    return result


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def world(engine: Engine, settings: Settings) -> World:
    """Two streets side by side, each with its grid, compound, company and users."""
    return build_world(engine, settings)
