"""Run Alembic from Python (``whistle-server migrate``, tests), from any working directory.

alembic.ini and alembic/ live at the repository root, next to the ``server`` package; the
project is installed in editable mode (``pip install -e .``), so they are found through the
package's own path.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = REPO_ROOT / "alembic.ini"
SCRIPT_LOCATION = REPO_ROOT / "alembic"


def alembic_config() -> Config:
    """The project's Alembic config, with an absolute script location."""
    if not ALEMBIC_INI.is_file() or not SCRIPT_LOCATION.is_dir():
        raise FileNotFoundError(
            f"Alembic files not found at {REPO_ROOT} (alembic.ini, alembic/): run from a "
            'source checkout installed with pip install -e ".[server]"'
        )
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # Leave the caller's logging alone (alembic/env.py would otherwise load alembic.ini's).
    config.attributes["configure_logger"] = False
    return config


def _run(database_url: str, action: str, revision: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # Our own short-lived engine: no pool, and on SQLite no foreign-key pragma (batch
    # operations copy tables around).
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    finally:
        engine.dispose()


def upgrade_to_head(database_url: str) -> None:
    """Bring the database at ``database_url`` to the newest schema (creating it if empty)."""
    _run(database_url, "upgrade", "head")


def downgrade_to_base(database_url: str) -> None:
    """Undo every migration: the database is left without Whistle's tables."""
    _run(database_url, "downgrade", "base")
