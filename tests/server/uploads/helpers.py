"""Photos to upload: a real JPEG, a declared Photo row, tus request headers."""

import base64
import hashlib
import io
import random
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from fastapi import FastAPI
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session

from server.cases.models import Case, Photo
from server.core.clock import utcnow
from server.core.config import Settings
from server.uploads.models import Upload
from server.uploads.partial import create_partial, partial_path
from shared_schemas.enums import MediaType

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


def make_jpeg(seed: int = 1, size: tuple[int, int] = (480, 360)) -> bytes:
    """A noisy JPEG (noise compresses badly, so it spans several small chunks)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def declare_photo(engine: Engine, case_id: UUID, data: bytes, *, sha256: str | None = None) -> UUID:
    """A Photo row as a synced report declares it (not yet received)."""
    with Session(engine) as session:
        photo = Photo(
            id=uuid4(),
            case_id=case_id,
            sha256=sha256 or sha256_hex(data),
            size_bytes=len(data),
            media_type=MediaType.JPEG,
            width=480,
            height=360,
            taken_at=datetime(2026, 5, 1, 9, 0, tzinfo=UTC),
        )
        session.add(photo)
        session.commit()
        return photo.id


def metadata(photo_id: UUID, report_id: UUID, sha256: str) -> str:
    def enc(value: str) -> str:
        return base64.b64encode(value.encode()).decode()

    return f"photo_id {enc(str(photo_id))},report_id {enc(str(report_id))},sha256 {enc(sha256)}"


def creation_headers(photo_id: UUID, report_id: UUID, data: bytes) -> dict[str, str]:
    return {
        **TUS,
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(photo_id, report_id, sha256_hex(data)),
    }


def checksum(algorithm: str, chunk: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, chunk).digest()).decode()}"


def photo_state(engine: Engine, photo_id: UUID) -> tuple[Photo, Case]:
    with Session(engine) as session:
        photo = session.get(Photo, photo_id)
        assert photo is not None
        case = session.get(Case, photo.case_id)
        assert case is not None
        return photo, case


# -- for the permission matrix: objects on a side's case, made straight in the database --


def received_photo(app: FastAPI, case_id: UUID) -> UUID:
    """A photo of the case whose bytes have arrived."""
    data = make_jpeg(seed=2, size=(64, 48))
    photo_id = declare_photo(app.state.engine, case_id, data)
    key = app.state.storage.put_bytes(data)
    with Session(app.state.engine) as session:
        photo = session.get(Photo, photo_id)
        assert photo is not None
        photo.received_at = utcnow()
        photo.storage_key = key
        session.add(photo)
        session.commit()
    return photo_id


def open_upload(app: FastAPI, case_id: UUID) -> UUID:
    """An unfinished upload of a photo of the case, by the case's reporter."""
    settings: Settings = app.state.settings
    data = make_jpeg(seed=4, size=(64, 48))
    photo_id = declare_photo(app.state.engine, case_id, data)
    with Session(app.state.engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        now = utcnow()
        upload = Upload(
            photo_id=photo_id,
            case_id=case_id,
            user_id=case.reporter_id,
            length=len(data),
            sha256=sha256_hex(data),
            expires_at=now + timedelta(hours=1),
        )
        session.add(upload)
        session.commit()
        create_partial(partial_path(settings.storage_dir, upload.id))
        return upload.id
