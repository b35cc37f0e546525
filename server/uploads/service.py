"""The tus server's logic: create, append, finish, terminate and expire uploads.

The database row (`Upload`) is the truth about an upload's offset; the partial file may
hold more bytes after a crash, and the next PATCH cuts them off. Finishing an upload
(verify size, sha256 and image type, store content-addressed, mark the photo received)
happens in the same transaction that moves the offset to the end, so a finished offset
always means a received photo.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, Result, update
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope, can_see_case, scope_for
from server.cases.models import Case, Photo
from server.core.config import Settings
from server.core.errors import ApiError, NotFound
from server.storage.base import PhotoStorage, file_sha256
from server.uploads import images
from server.uploads.models import Upload
from server.uploads.partial import create_partial, partial_path
from server.uploads.tus import CHECKSUM_MISMATCH
from shared_schemas.enums import Role

log = logging.getLogger(__name__)

THUMB_PREFIX = f"thumbs/{images.THUMB_EDGE}"


def _rowcount(result: Result[Any]) -> int:
    return int(cast("CursorResult[Any]", result).rowcount)


def _uuid(metadata: dict[str, str], key: str) -> UUID:
    value = metadata.get(key)
    if not value:
        raise ApiError(400, "bad_metadata", f"Upload-Metadata must name {key}")
    try:
        return UUID(value)
    except ValueError as exc:
        raise ApiError(400, "bad_metadata", f"Upload-Metadata: {key} is not a UUID") from exc


def _sha256_hex(metadata: dict[str, str]) -> str:
    value = metadata.get("sha256", "").strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ApiError(
            400, "bad_metadata", "Upload-Metadata: sha256 must be the file's sha256 in hex"
        )
    return value


def _check_uploader(session: Session, user: User, case: Case) -> None:
    """The reporter uploads their report's photos (an admin may too). Others get 403 if
    they can see the case, 404 if they cannot (existence is not revealed)."""
    if user.role == Role.ADMIN or case.reporter_id == user.id:
        return
    if can_see_case(scope_for(session, user), case):
        raise ApiError(
            403, "forbidden", "only the inspector who reported this case may upload its photos"
        )
    raise NotFound("photo")


def create_upload(
    session: Session,
    *,
    settings: Settings,
    user: User,
    length: int,
    metadata: dict[str, str],
    now: datetime,
) -> Upload:
    """A new upload for a declared photo, or the completed upload of a received one."""
    photo_id = _uuid(metadata, "photo_id")
    report_id = _uuid(metadata, "report_id")
    sha256 = _sha256_hex(metadata)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.case_id != report_id:
        raise ApiError(
            409,
            "photo_not_declared",
            "this photo is not declared by that report on the server yet: sync the report "
            "first, then upload its photos",
        )
    case = session.get(Case, photo.case_id)
    if case is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound("photo")
    _check_uploader(session, user, case)
    if photo.sha256 != sha256 or photo.size_bytes != length:
        raise ApiError(
            409,
            "photo_mismatch",
            "the file does not match the photo the report declared (size or sha256 differ)",
            {
                "declared_size": photo.size_bytes,
                "declared_sha256": photo.sha256,
                "upload_length": length,
                "sha256": sha256,
            },
        )
    if photo.received_at is not None:
        return _completed_upload(session, user=user, photo=photo, now=now)
    upload = Upload(
        photo_id=photo.id,
        case_id=case.id,
        user_id=user.id,
        length=length,
        sha256=sha256,
        created_at=now,
        expires_at=now + timedelta(hours=settings.upload_expiry_hours),
    )
    session.add(upload)
    session.flush()
    create_partial(partial_path(settings.storage_dir, upload.id))
    session.commit()
    return upload


def _completed_upload(session: Session, *, user: User, photo: Photo, now: datetime) -> Upload:
    """A second upload of a received photo is a no-op: answer with a finished upload."""
    existing = session.exec(
        select(Upload)
        .where(Upload.photo_id == photo.id)
        .where(col(Upload.completed_at).is_not(None))
        .where(Upload.user_id == user.id)
        .limit(1)
    ).first()
    if existing is not None:
        return existing
    upload = Upload(
        photo_id=photo.id,
        case_id=photo.case_id,
        user_id=user.id,
        length=photo.size_bytes,
        offset=photo.size_bytes,
        sha256=photo.sha256,
        created_at=now,
        expires_at=now,
        completed_at=now,
    )
    session.add(upload)
    session.commit()
    return upload


def get_upload(session: Session, *, user: User, upload_id: UUID, now: datetime) -> Upload:
    """The caller's upload (an admin may see any): 404 if unknown, 410 once expired."""
    upload = session.get(Upload, upload_id)
    if upload is None or (user.role != Role.ADMIN and upload.user_id != user.id):
        raise NotFound("upload")
    if upload.completed_at is None and upload.expires_at <= now:
        raise ApiError(
            410, "upload_expired", "this upload expired; start a new one (POST /uploads)"
        )
    return upload


def refresh(session: Session, upload: Upload) -> Upload:
    """Re-read the row (after taking the partial file's lock)."""
    session.refresh(upload)
    return upload


def discard(session: Session, *, settings: Settings, upload: Upload) -> None:
    """Forget an unfinished upload and its bytes."""
    session.delete(upload)
    session.commit()
    partial_path(settings.storage_dir, upload.id).unlink(missing_ok=True)


def append_committed(
    session: Session,
    *,
    settings: Settings,
    upload: Upload,
    old_offset: int,
    new_offset: int,
    now: datetime,
) -> Upload:
    """Move the offset over bytes already fsynced in the partial file. The expiry slides:
    a tablet that keeps making progress keeps its upload."""
    expires = now + timedelta(hours=settings.upload_expiry_hours)
    result = session.execute(
        update(Upload)
        .where(col(Upload.id) == upload.id)
        .where(col(Upload.offset) == old_offset)
        .where(col(Upload.completed_at).is_(None))
        .values(offset=new_offset, expires_at=expires)
    )
    if _rowcount(result) != 1:
        session.rollback()
        raise ApiError(409, "offset_mismatch", "the upload moved on meanwhile; ask HEAD")
    session.commit()
    session.refresh(upload)
    return upload


def _record_case_change(session: Session, case_id: UUID) -> None:
    """Tell pull that the case changed (photos_received), through the sync module's change
    log when it offers one (imported late: uploads work without it)."""
    try:
        from server.sync import changes
    except ImportError:
        return
    case = session.get(Case, case_id)
    if case is None:
        return
    session.refresh(case)
    record_case: Callable[..., Any] | None = getattr(changes, "record_case_change", None)
    if record_case is not None:
        record_case(session, case)
        return
    record: Callable[..., Any] | None = getattr(changes, "record_change", None)
    if record is not None:
        record(
            session,
            entity="case",
            entity_id=case.id,
            area_path=case.area_path,
            department_id=case.department_id,
        )


def _refuse(
    session: Session, settings: Settings, upload: Upload, status: int, code: str, message: str
) -> ApiError:
    discard(session, settings=settings, upload=upload)
    log.warning("upload %s of photo %s refused: %s", upload.id, upload.photo_id, code)
    return ApiError(status, code, message + "; the upload was discarded, start a new one")


def finish(
    session: Session,
    *,
    settings: Settings,
    storage: PhotoStorage,
    upload: Upload,
    old_offset: int,
    now: datetime,
) -> Upload:
    """All bytes are in (and fsynced): verify, store, and mark the photo received."""
    path = partial_path(settings.storage_dir, upload.id)
    if path.stat().st_size != upload.length:
        raise _refuse(session, settings, upload, 409, "size_mismatch", "the size is wrong")
    digest = file_sha256(path)
    if digest != upload.sha256:
        raise _refuse(
            session,
            settings,
            upload,
            CHECKSUM_MISMATCH,
            "sha256_mismatch",
            "the whole file's sha256 differs from the declared one",
        )
    media_type = images.verify_image(path)
    if media_type is None:
        raise _refuse(
            session,
            settings,
            upload,
            415,
            "not_an_image",
            "the file is not a JPEG, PNG or WebP image",
        )
    key = storage.put_file(path, sha256_hex=digest)
    moved = session.execute(
        update(Upload)
        .where(col(Upload.id) == upload.id)
        .where(col(Upload.offset) == old_offset)
        .where(col(Upload.completed_at).is_(None))
        .values(offset=upload.length, completed_at=now)
    )
    if _rowcount(moved) != 1:
        session.rollback()
        raise ApiError(409, "offset_mismatch", "the upload moved on meanwhile; ask HEAD")
    # Exactly once, even when two uploads of one photo finish together: only the update
    # that finds received_at still empty counts the photo.
    received = session.execute(
        update(Photo)
        .where(col(Photo.id) == upload.photo_id)
        .where(col(Photo.received_at).is_(None))
        .values(received_at=now, storage_key=key, media_type=media_type)
    )
    if _rowcount(received) == 1:
        session.execute(
            update(Case)
            .where(col(Case.id) == upload.case_id)
            .values(
                photos_received=col(Case.photos_received) + 1,
                version=col(Case.version) + 1,
                updated_at=now,
            )
        )
        _record_case_change(session, upload.case_id)
    session.commit()
    session.refresh(upload)
    path.unlink(missing_ok=True)
    return upload


def terminate(session: Session, *, settings: Settings, upload: Upload) -> None:
    """DELETE: the upload and its partial bytes go; a received photo stays received."""
    discard(session, settings=settings, upload=upload)


def expire_uploads(session: Session, *, settings: Settings, now: datetime, limit: int = 100) -> int:
    """Delete unfinished uploads past their expiry, with their partial bytes. Called on
    POST (opportunistically) and meant for a periodic command; returns how many went."""
    expired = session.exec(
        select(Upload)
        .where(col(Upload.completed_at).is_(None))
        .where(col(Upload.expires_at) <= now)
        .order_by(col(Upload.expires_at))
        .limit(limit)
    ).all()
    for upload in expired:
        session.delete(upload)
    session.commit()
    for upload in expired:
        partial_path(settings.storage_dir, upload.id).unlink(missing_ok=True)
    return len(expired)


# -- downloads ---------------------------------------------------------------------------


def photo_for_download(session: Session, *, scope: Scope, photo_id: UUID) -> Photo:
    """A received photo of a case the caller may see; 404 otherwise (same answer for
    "no such photo" and "not yours"), and 404 `photo_not_received` while it is on its way."""
    photo = session.get(Photo, photo_id)
    case = session.get(Case, photo.case_id) if photo else None
    if photo is None or case is None or not can_see_case(scope, case):
        raise NotFound("photo")
    if photo.received_at is None or photo.storage_key is None:
        raise ApiError(404, "photo_not_received", "this photo has not been uploaded yet")
    return photo


def thumbnail_key(storage: PhotoStorage, photo: Photo) -> str:
    """The thumbnail's key, made and cached in storage on first use."""
    key = f"{THUMB_PREFIX}/{photo.sha256}.jpg"
    if photo.storage_key is None:
        raise ApiError(404, "photo_not_received", "this photo has not been uploaded yet")
    if not storage.exists(key):
        storage.put_bytes(images.make_thumbnail(storage.read_bytes(photo.storage_key)), key=key)
    return key


def partial_file_path(settings: Settings, upload: Upload) -> Path:
    return partial_path(settings.storage_dir, upload.id)
