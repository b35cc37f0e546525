"""`whistle-server` on both backends: migrate, seed-demo twice, create-user."""

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text

from server import cli
from server.core.config import get_settings
from server.models import metadata
from tests import pg


@pytest.fixture
def empty_database_url(db_backend: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty database (no schema), made the way an operator starts."""
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        created = None
    else:
        server_url = pg.test_server_url()
        reason = pg.unreachable_reason(server_url)
        if reason:
            pytest.fail(f"PostgreSQL not reachable: {reason}") if _in_ci() else pytest.skip(reason)
        created = pg.create_database(server_url, pg.random_name("whistle_cli"))
        url = created
    monkeypatch.setenv("WHISTLE_DATABASE_URL", url)
    monkeypatch.setenv("WHISTLE_STORAGE_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("WHISTLE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("WHISTLE_ARGON2_MEMORY_KIB", "1024")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    if created:
        pg.drop_database(pg.test_server_url(), created)


def _in_ci() -> bool:
    import os

    return os.environ.get("CI") == "true"


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        result = {
            t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
            for t in metadata.tables
        }
    engine.dispose()
    return result


def test_migrate_creates_every_table_and_the_taxonomy(empty_database_url: str) -> None:
    assert cli.main(["migrate"]) == 0
    engine = create_engine(empty_database_url)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()
    assert counts(empty_database_url)["category"] == 26


def test_seed_demo_twice_changes_nothing(
    empty_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["seed-demo"]) == 0
    first = counts(empty_database_url)
    assert first["hazard_case"] >= 8
    assert first["user_account"] == 5
    assert cli.main(["seed-demo"]) == 0
    assert counts(empty_database_url) == first
    assert "whistle-demo" in capsys.readouterr().out


def test_create_user_reads_the_password_from_stdin(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["seed-demo"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-password\n"))
    assert (
        cli.main(
            [
                "create-user",
                "--username",
                "wang",
                "--role",
                "inspector",
                "--area",
                "DEMO_G1",
                "--password-stdin",
            ]
        )
        == 0
    )
    assert "created inspector 'wang'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--username", "inspector", "--role", "inspector", "--area", "DEMO_G1"],
            "a-long-password",
            "already exists",
        ),
        (
            ["--username", "n1", "--role", "inspector", "--area", "NOWHERE"],
            "a-long-password",
            "no area has the code 'NOWHERE'",
        ),
        (
            ["--username", "n2", "--role", "inspector"],
            "a-long-password",
            "needs at least one --area",
        ),
        (["--username", "n3", "--role", "patrol"], "a-long-password", "needs an --organisation"),
        (["--username", "n4", "--role", "admin"], "short", "at least 8 characters"),
    ],
)
def test_create_user_errors_say_what_was_wrong_and_write_nothing(
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    message: str,
) -> None:
    assert cli.main(["seed-demo"]) == 0
    before = counts(empty_database_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
    assert cli.main(["create-user", *args, "--password-stdin"]) == 1
    assert message in capsys.readouterr().err
    assert counts(empty_database_url) == before
