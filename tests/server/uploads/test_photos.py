"""GET /photos/{id} and /photos/{id}/thumb: scoped, cached, on local and S3 storage."""

import hashlib
import io
from pathlib import Path
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import User
from server.cases.models import Case
from server.core.config import Settings
from server.storage.factory import make_storage
from shared_schemas.enums import CaseStatus, Role
from tests.moto_s3 import BUCKET
from tests.server.uploads.helpers import PATCH, creation_headers, declare_photo, make_jpeg
from tests.world import World, add_case, login

DATA = make_jpeg(seed=11, size=(800, 600))


def _upload(client: TestClient, world: World, engine: Engine) -> UUID:
    auth = login(client, world.a.users[Role.INSPECTOR])
    photo_id = declare_photo(engine, world.a.case_id, DATA)
    created = client.post(
        "/api/v1/uploads", headers={**auth, **creation_headers(photo_id, world.a.case_id, DATA)}
    )
    url = created.headers["Location"]
    done = client.patch(url, headers={**auth, **PATCH, "Upload-Offset": "0"}, content=DATA)
    assert done.status_code == 204, done.text
    return photo_id


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest, app: FastAPI, tmp_path: Path) -> str:
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        settings = Settings(
            env="test",
            storage_dir=tmp_path / "photos",
            storage_backend="s3",
            s3_bucket=BUCKET,
            s3_prefix=f"photos-{tmp_path.name}",
            s3_endpoint_url=endpoint,
            s3_region="us-east-1",
            s3_access_key_id="test",
            s3_secret_access_key=SecretStr("test"),
        )
        app.state.storage = make_storage(settings)
    return str(request.param)


def test_photo_and_thumbnail_for_those_who_may_see_the_case(
    storage_backend: str, client: TestClient, world: World, engine: Engine
) -> None:
    photo_id = _upload(client, world, engine)
    supervisor = login(client, world.a.users[Role.SUPERVISOR])
    response = client.get(f"/api/v1/photos/{photo_id}", headers=supervisor)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["Content-Type"] == "image/jpeg"
    etag = response.headers["ETag"]
    assert etag.strip('"') == hashlib.sha256(DATA).hexdigest()
    assert response.headers["Cache-Control"].startswith("private")
    again = client.get(f"/api/v1/photos/{photo_id}", headers={**supervisor, "If-None-Match": etag})
    assert again.status_code == 304

    thumb = client.get(f"/api/v1/photos/{photo_id}/thumb", headers=supervisor)
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 320
    cached = client.get(f"/api/v1/photos/{photo_id}/thumb", headers=supervisor)
    assert cached.content == thumb.content
    storage = client.app.state.storage  # type: ignore[attr-defined]
    assert storage.exists(f"thumbs/320/{etag.strip(chr(34))}.jpg")

    outsider = login(client, world.b.users[Role.SUPERVISOR])
    for path in (f"/api/v1/photos/{photo_id}", f"/api/v1/photos/{photo_id}/thumb"):
        refused = client.get(path, headers=outsider)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        assert client.get(path).status_code == 401


def test_a_photo_not_yet_received_is_404(client: TestClient, world: World, engine: Engine) -> None:
    photo_id = declare_photo(engine, world.a.case_id, DATA)
    auth = login(client, world.a.users[Role.INSPECTOR])
    response = client.get(f"/api/v1/photos/{photo_id}", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "photo_not_received"


def test_a_duplicates_photo_follows_its_original(
    client: TestClient, world: World, engine: Engine
) -> None:
    """The case page shows a duplicate's photos with its original's: the department the
    original is dispatched to may fetch them, though the duplicate was never its case."""
    with Session(engine) as session:
        original = session.get(Case, world.a.case_id)
        assert original is not None
        reporter = session.exec(
            select(User).where(User.username == world.a.users[Role.INSPECTOR])
        ).one()
        duplicate = add_case(
            session, area=world.a.compound, reporter=reporter, status=CaseStatus.DUPLICATE
        )
        duplicate.duplicate_of_id = original.id
        session.add(duplicate)
        session.commit()
        duplicate_id = duplicate.id
    auth = login(client, world.a.users[Role.INSPECTOR])
    photo_id = declare_photo(engine, duplicate_id, DATA)
    created = client.post(
        "/api/v1/uploads", headers={**auth, **creation_headers(photo_id, duplicate_id, DATA)}
    )
    done = client.patch(
        created.headers["Location"], headers={**auth, **PATCH, "Upload-Offset": "0"}, content=DATA
    )
    assert done.status_code == 204, done.text
    department = login(client, world.a.users[Role.DEPARTMENT], device_id=None)
    assert client.get(f"/api/v1/cases/{duplicate_id}", headers=department).status_code == 404
    assert client.get(f"/api/v1/photos/{photo_id}", headers=department).content == DATA
    other = login(client, world.b.users[Role.DEPARTMENT], device_id=None)
    assert client.get(f"/api/v1/photos/{photo_id}", headers=other).status_code == 404
