"""Alembic environment: runs migrations against Whistle's database.

Where the database comes from, first match wins:
1. a connection the caller opened: ``config.attributes["connection"]``
   (server/core/migrations.py does this);
2. ``-x url=...`` on the alembic command line;
3. ``sqlalchemy.url`` set on the Config programmatically (alembic.ini leaves it unset);
4. the server's settings: ``WHISTLE_DATABASE_URL`` (default SQLite under ./var/).

Migration scripts never import server code: our TypeDecorators are rendered as the plain
SQLAlchemy types they store (see ``render_item``), so old migrations keep working however
the Python types change later.
"""

from logging.config import fileConfig
from pathlib import Path
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator, TypeEngine

import server.core.db  # first: sets the naming convention before any table is defined
import server.models
from server.core.config import Settings

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = server.models.metadata


def database_url() -> str:
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    if x_url:
        return x_url
    ini_url = config.get_main_option("sqlalchemy.url")
    if ini_url:
        return ini_url
    return Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types (UTCDateTime, StrEnumType, sqlmodel's AutoString: all
    TypeDecorators over a plain SQLAlchemy type) as that plain type, e.g.
    ``sa.DateTime(timezone=True)`` or ``sa.String(length=20)``."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl: TypeEngine[Any] = obj.impl_instance
        if type(impl).__module__.startswith("sqlalchemy.") and not isinstance(impl, TypeDecorator):
            return f"sa.{impl!r}"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_item=render_item,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) without a database."""
    url = database_url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=make_url(url).get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    _configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_with(given)
        return

    url = make_url(database_url())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # A plain engine, not the server's: SQLite must keep foreign keys off while batch
    # operations copy tables around.
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
