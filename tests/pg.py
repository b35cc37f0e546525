"""PostgreSQL helpers for tests: is the test server there, and throwaway databases on it.

A plain module (no fixtures): tests/conftest.py and single test modules both use it.
The server is the one `scripts/postgres-test.sh` prepares (`make test` runs it first);
`WHISTLE_TEST_PG_URL` points elsewhere. Throwaway databases are created and dropped
through the `postgres` maintenance database, with the same credentials (the role needs
CREATEDB).
"""

import os
import re
import secrets
import time

from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

DEFAULT_TEST_PG_URL = "postgresql+psycopg://whistle:whistle@127.0.0.1:5432/whistle_test"
SETUP_HINT = (
    "start it with `bash scripts/postgres-test.sh` (the step `make test` runs before pytest), "
    "or set WHISTLE_TEST_PG_URL"
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def test_server_url() -> str:
    """The URL of the test server's default database (`WHISTLE_TEST_PG_URL`)."""
    return os.environ.get("WHISTLE_TEST_PG_URL") or DEFAULT_TEST_PG_URL


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def unreachable_reason(url: str, timeout_s: int = 3) -> str | None:
    """None if `SELECT 1` works at `url`, else a one-line reason."""
    engine = create_engine(
        url, poolclass=pool.NullPool, connect_args={"connect_timeout": timeout_s}
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not usable", with its reason
        lines = str(exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    finally:
        engine.dispose()
    return None


def random_name(prefix: str) -> str:
    """A database name unlikely to clash with a parallel run: `<prefix>_<8 hex>`."""
    return f"{prefix}_{secrets.token_hex(4)}"


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a safe database name: {name!r}")
    return name


def _maintenance(server_url: str, sql: str) -> None:
    """Run one statement on the `postgres` database outside a transaction (CREATE/DROP
    DATABASE refuse to run inside one)."""
    url = make_url(server_url).set(database="postgres")
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def create_database(server_url: str, name: str) -> str:
    """Create an empty database `name` on the server of `server_url` and return its URL.

    A leftover database of that name (from a crashed run) is dropped first."""
    _check_name(name)
    _drop(server_url, name)
    _maintenance(server_url, f'CREATE DATABASE "{name}"')
    return _render(make_url(server_url).set(database=name))


def drop_database(server_url: str, database: str) -> None:
    """Drop a database made by `create_database`, given its URL or its name. Connections
    still open to it are terminated."""
    name = make_url(database).database if "://" in database else database
    if not name:
        raise ValueError(f"no database name in {database!r}")
    _check_name(name)
    _drop(server_url, name)


def _drop(server_url: str, name: str, attempts: int = 20) -> None:
    """DROP ... WITH (FORCE) terminates our own leftover connections, but not an autovacuum
    worker (owned by the superuser): PostgreSQL then refuses with InsufficientPrivilege.
    The worker finishes within moments, so try again for a while."""
    for attempt in range(attempts):
        try:
            _maintenance(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (OperationalError, ProgrammingError) as exc:
            if "InsufficientPrivilege" not in type(exc.orig).__name__ or attempt == attempts - 1:
                raise
            time.sleep(0.25)
