"""Engine and sessions. SQLite gets WAL and foreign keys; PostgreSQL a pool."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

from server.core import naming  # noqa: F401 - applies the constraint naming convention
from server.core.config import Settings

metadata: MetaData = SQLModel.metadata


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        pool: dict[str, Any] = {}
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # Twice the admission slots (server/core/admission.py): never waited for.
            pool = {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_pool_size,
                "pool_timeout": 10,
            }
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,  # twice the admission slots: never waited for
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {},
    )


def session_scope(engine: Engine) -> Iterator[Session]:
    """A request's session: committed by the service, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except Exception:
            session.rollback()
            raise
