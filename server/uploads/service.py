"""The tus server's logic: create, append, finish, terminate and expire uploads.

The database row (`Upload`) is the truth about an upload's offset; the partial file may
hold more bytes after a crash, and the next PATCH cuts them off. Finishing an upload
(verify size, sha256 and image type, store content-addressed, mark the photo received)
happens in the same transaction that moves the offset to the end, so a finished offset
always means a received photo.
"""

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from sqlalchemy import CursorResult, Result, Table, insert, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope, can_see_case, scope_for
from server.cases.models import Case, Photo
from server.core.config import Settings
from server.core.errors import ApiError, NotFound
from server.storage.base import PhotoStorage, file_sha256
from server.sync.changes import record_case_scope_change
from server.uploads import images
from server.uploads.models import Upload
from server.uploads.partial import create_partial, partial_path
from server.uploads.tus import CHECKSUM_MISMATCH
from shared_schemas.enums import MediaType, Role

log = logging.getLogger(__name__)

# Core statements on the tables skip the ORM's bookkeeping (unit of work, session
# synchronisation of bulk updates) on the hot path of every photo.
_UPLOAD_TABLE = cast(Table, Upload.__table__)  # type: ignore[attr-defined]
_PHOTO_TABLE = cast(Table, Photo.__table__)  # type: ignore[attr-defined]
_CASE_TABLE = cast(Table, Case.__table__)  # type: ignore[attr-defined]

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


def _declared_photo(
    session: Session, *, user: User, length: int, metadata: dict[str, str]
) -> tuple[Photo, Case, str]:
    """The declared photo the metadata names, checked against the upload: (photo, its
    case, the declared sha256). 409 when undeclared or different, 403/404 for others."""
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
    return photo, case, sha256


def _new_upload(
    *, settings: Settings, user: User, photo: Photo, length: int, sha256: str, now: datetime
) -> Upload:
    return Upload(
        photo_id=photo.id,
        case_id=photo.case_id,
        user_id=user.id,
        length=length,
        sha256=sha256,
        created_at=now,
        expires_at=now + timedelta(hours=settings.upload_expiry_hours),
    )


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
    photo, _case, sha256 = _declared_photo(session, user=user, length=length, metadata=metadata)
    if photo.received_at is not None:
        return _completed_upload(session, user=user, photo=photo, now=now)
    upload = _new_upload(
        settings=settings, user=user, photo=photo, length=length, sha256=sha256, now=now
    )
    session.add(upload)
    session.flush()
    create_partial(partial_path(settings.storage_dir, upload.id))
    session.commit()
    return upload


def start_upload_with_body(
    session: Session,
    *,
    settings: Settings,
    user: User,
    length: int,
    metadata: dict[str, str],
    now: datetime,
) -> Upload:
    """creation-with-upload, before the body is read: the upload to fill (not stored yet:
    it is written once, by :func:`finish` or :func:`keep_new_upload`, after the body), or
    the completed upload of a photo already received (stored). The transaction ends here,
    so no connection is held while the body streams in."""
    photo, _case, sha256 = _declared_photo(session, user=user, length=length, metadata=metadata)
    if photo.received_at is not None:
        return _completed_upload(session, user=user, photo=photo, now=now)
    session.commit()  # read-only: gives the connection back
    return _new_upload(
        settings=settings, user=user, photo=photo, length=length, sha256=sha256, now=now
    )


def keep_new_upload(session: Session, *, upload: Upload, offset: int) -> Upload:
    """creation-with-upload whose body was only part of the file: store the upload with
    the bytes received (already fsynced), so the client resumes it by PATCH."""
    upload.offset = offset
    session.add(upload)
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


def _refuse(
    session: Session, settings: Settings, upload: Upload, status: int, code: str, message: str
) -> ApiError:
    if inspect(upload).persistent:
        discard(session, settings=settings, upload=upload)
    else:  # a creation-with-upload: nothing was stored yet
        partial_path(settings.storage_dir, upload.id).unlink(missing_ok=True)
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
    sha256_hex: str | None = None,
) -> Upload:
    """All bytes are in (and fsynced): verify, store, and mark the photo received, in
    one commit. `sha256_hex`: the whole file's digest when it was computed while the
    bytes streamed in (else the file is read again). A transient `upload` (creation-with-
    upload) is inserted completed; a stored one moves from `old_offset` to the end.

    The partial file is moved (renamed) into local storage: its data was fsynced by the
    caller, the rename is made durable before the commit, so a received photo's bytes
    are on disk before the database or the client hears of it."""
    path = partial_path(settings.storage_dir, upload.id)
    if path.stat().st_size != upload.length:
        raise _refuse(session, settings, upload, 409, "size_mismatch", "the size is wrong")
    digest = sha256_hex or file_sha256(path)
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
    key = storage.put_file(path, sha256_hex=digest, move=True)
    _mark_received(
        session, upload=upload, old_offset=old_offset, key=key, media_type=media_type, now=now
    )
    path.unlink(missing_ok=True)  # gone already when moved; a copy leaves it behind
    return upload


def _mark_received(
    session: Session,
    *,
    upload: Upload,
    old_offset: int,
    key: str,
    media_type: MediaType,
    now: datetime,
) -> None:
    """The one write transaction of a finished upload: the upload completed, the photo
    received, the case counted, and a case change for pull. Plain statements, issued
    back to back, so the write lock (SQLite's database lock, PostgreSQL's change counter
    row) is held briefly."""
    if inspect(upload).persistent:
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
    else:  # creation-with-upload: the row is written once, completed
        session.execute(
            insert(_UPLOAD_TABLE).values(
                id=upload.id,
                photo_id=upload.photo_id,
                case_id=upload.case_id,
                user_id=upload.user_id,
                length=upload.length,
                offset=upload.length,
                sha256=upload.sha256,
                created_at=upload.created_at,
                expires_at=upload.expires_at,
                completed_at=now,
            )
        )
    # Exactly once, even when two uploads of one photo finish together: only the update
    # that finds received_at still empty counts the photo.
    received = session.execute(
        update(_PHOTO_TABLE)
        .where(_PHOTO_TABLE.c.id == upload.photo_id)
        .where(_PHOTO_TABLE.c.received_at.is_(None))
        .values(received_at=now, storage_key=key, media_type=media_type)
    )
    if _rowcount(received) == 1:
        scope = session.execute(
            update(_CASE_TABLE)
            .where(_CASE_TABLE.c.id == upload.case_id)
            .values(
                photos_received=_CASE_TABLE.c.photos_received + 1,
                version=_CASE_TABLE.c.version + 1,
                updated_at=now,
            )
            .returning(_CASE_TABLE.c.area_path, _CASE_TABLE.c.department_id)
        ).one()
        # photos_received changed: pull shows "photos 2/3 received" (scope as of now)
        record_case_scope_change(
            session, upload.case_id, area_path=scope.area_path, department_id=scope.department_id
        )
    session.commit()
    # What the statements wrote, on the object without another SELECT (nor a flush).
    set_committed_value(upload, "offset", upload.length)
    set_committed_value(upload, "completed_at", now)


def terminate(session: Session, *, settings: Settings, upload: Upload) -> None:
    """DELETE: the upload and its partial bytes go; a received photo stays received."""
    discard(session, settings=settings, upload=upload)


def expire_uploads(session: Session, *, settings: Settings, now: datetime, limit: int = 100) -> int:
    """Delete unfinished uploads past their expiry, with their partial bytes. Called on
    POST (at most once a minute) and by `whistle-server expire-uploads`, which also
    removes partial files no upload names (e.g. the body of a creation-with-upload whose
    server died mid-stream: its row is written only after the body); returns how many
    went."""
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
    """A received photo of a case the caller may see, or of a duplicate of one (the case
    page shows a duplicate's photos with its original's: a department sees them there
    though the duplicate itself was never dispatched to it); 404 otherwise (same answer
    for "no such photo" and "not yours"), and 404 `photo_not_received` on its way."""
    photo = session.get(Photo, photo_id)
    case = session.get(Case, photo.case_id) if photo else None
    if photo is None or case is None:
        raise NotFound("photo")
    if not can_see_case(scope, case):
        original = session.get(Case, case.duplicate_of_id) if case.duplicate_of_id else None
        if original is None or not can_see_case(scope, original):
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
