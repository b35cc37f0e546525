"""`whistle-server` on both backends: migrate, seed-demo twice, create-user, expire-uploads."""

import hashlib
import io
import os
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session, select

from server import cli
from server.cases.models import CaseEvent, Photo
from server.cases.web_photos import PHOTO_KIND_STEP
from server.core.clock import utcnow
from server.core.config import Settings, get_settings
from server.models import metadata
from server.uploads.models import Upload
from server.uploads.partial import partial_dir, partial_path
from shared_schemas.enums import MediaType
from tests import pg
from tests.server.uploads.helpers import make_jpeg, open_upload
from tests.server_process import settings_env
from tests.world import World


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


def test_expire_uploads_deletes_abandoned_uploads_and_orphan_partial_files(
    app: FastAPI,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    engine = app.state.engine
    expired, live, done = (open_upload(app, world.a.case_id) for _ in range(3))
    now = utcnow()
    with Session(engine) as session:
        for upload_id, completed in ((expired, None), (done, now)):
            upload = session.get(Upload, upload_id)
            assert upload is not None
            upload.expires_at = now - timedelta(hours=1)
            upload.completed_at = completed
            session.add(upload)
        session.commit()
    old = (now - timedelta(hours=settings.upload_expiry_hours + 1)).timestamp()
    orphan_old, orphan_new = (partial_path(settings.storage_dir, uuid4()) for _ in range(2))
    for path in (orphan_old, orphan_new):
        path.write_bytes(b"half a photo")
    for path in (orphan_old, partial_path(settings.storage_dir, done)):
        os.utime(path, (old, old))  # the finished upload's file outlived a crash

    assert cli.main(["expire-uploads"]) == 0
    assert "1 expired uploads deleted; 2 orphan partial files removed" in capsys.readouterr().out
    with Session(engine) as session:
        assert session.get(Upload, expired) is None
        assert session.get(Upload, live) is not None
        assert session.get(Upload, done) is not None  # finished: the record stays
    left = {p.name for p in partial_dir(settings.storage_dir).iterdir()}
    assert left == {str(live), orphan_new.name}  # a fresh file may belong to a commit in flight

    assert cli.main(["expire-uploads"]) == 0  # nothing more to do
    assert "0 expired uploads deleted; 0 orphan partial files removed" in capsys.readouterr().out
    get_settings.cache_clear()


def _web_photo(app: FastAPI, case_id: UUID, data: bytes, *, age: timedelta, event: bool) -> UUID:
    """A photo put on the case from the web `age` ago, attached to a step or not."""
    with Session(app.state.engine) as session:
        photo = Photo(
            id=uuid4(),
            case_id=case_id,
            kind="after" if event else PHOTO_KIND_STEP,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            media_type=MediaType.JPEG,
            width=64,
            height=48,
            taken_at=utcnow() - age,
            received_at=utcnow() - age,
            storage_key=app.state.storage.put_bytes(data),
            created_at=utcnow() - age,
        )
        if event:  # a step that took it: any event of the case will do here
            event_row = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)).first()
            assert event_row is not None
            photo.event_id = event_row.id
        session.add(photo)
        session.commit()
        return photo.id


def test_expire_uploads_deletes_web_photos_no_step_took(
    app: FastAPI,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    old = timedelta(hours=settings.upload_expiry_hours + 1)
    case = world.a.case_id
    lonely, shared = make_jpeg(seed=71, size=(64, 48)), make_jpeg(seed=72, size=(64, 48))
    abandoned = _web_photo(app, case, lonely, age=old, event=False)
    abandoned_twin = _web_photo(app, case, shared, age=old, event=False)
    attached = _web_photo(app, case, shared, age=old, event=True)  # same bytes, kept
    fresh = _web_photo(app, case, make_jpeg(seed=73, size=(64, 48)), age=timedelta(0), event=False)
    storage = app.state.storage

    assert cli.main(["expire-uploads"]) == 0
    assert "2 web photos never attached to a step deleted" in capsys.readouterr().out
    with Session(app.state.engine) as session:
        assert session.get(Photo, abandoned) is None and session.get(Photo, abandoned_twin) is None
        assert session.get(Photo, attached) is not None  # a step took it
        assert session.get(Photo, fresh) is not None  # its step may still come
    assert not storage.exists(storage.key_for(hashlib.sha256(lonely).hexdigest()))
    assert storage.exists(storage.key_for(hashlib.sha256(shared).hexdigest()))  # still used
    assert cli.main(["expire-uploads"]) == 0
    assert "0 web photos never attached" in capsys.readouterr().out
    get_settings.cache_clear()
