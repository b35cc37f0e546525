"""The tus 1.0.0 endpoints under /uploads, and photo downloads under /photos.

tus flow: OPTIONS (discovery) -> POST (creation; Upload-Length and Upload-Metadata
photo_id, report_id, sha256) -> PATCH chunks (Upload-Offset, Upload-Checksum) -> after an
interruption HEAD (Upload-Offset) and PATCH on. With creation-with-upload the POST carries
the first bytes (a small photo: all of them, one request). See docs/sync.md, "Photo
uploads".
"""

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from sqlalchemy import inspect
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.accounts.deps import CurrentScope, CurrentUser
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES, ApiError
from server.storage.base import PhotoStorage
from server.storage.deps import StorageDep
from server.uploads import service
from server.uploads.body import Body, drain
from server.uploads.images import THUMB_EDGE
from server.uploads.models import Upload
from server.uploads.partial import PartialBusy, PartialFile
from server.uploads.tus import (
    CHECKSUM_ALGORITHMS,
    OFFSET_CONTENT_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    TusResumable,
    http_date,
    parse_checksum,
    parse_metadata,
    parse_non_negative,
    too_large,
)
from shared_schemas.errors import ErrorEnvelope

API_PREFIX = "/api/v1"

_TUS_ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: ERROR_RESPONSES[k] for k in (401, 403, 404)},
    400: {"model": ErrorEnvelope, "description": "A tus header is missing or malformed"},
    409: {"model": ErrorEnvelope, "description": "Offset or declaration mismatch"},
    410: {"model": ErrorEnvelope, "description": "The upload expired"},
    412: {"model": ErrorEnvelope, "description": "Tus-Resumable missing or not 1.0.0"},
    413: {"model": ErrorEnvelope, "description": "Larger than Tus-Max-Size"},
    415: {"model": ErrorEnvelope, "description": "Wrong Content-Type, or not an image"},
    423: {"model": ErrorEnvelope, "description": "Another PATCH of this upload is running"},
    460: {"model": ErrorEnvelope, "description": "Checksum mismatch (chunk or whole file)"},
}

router = APIRouter(tags=["uploads"])


def _location(upload_id: UUID) -> str:
    return f"{API_PREFIX}/uploads/{upload_id}"


@router.options("/uploads", status_code=204, summary="tus discovery (no sign-in needed)")
def tus_options(settings: SettingsDep) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
            "Tus-Max-Size": str(settings.upload_max_bytes),
        },
    )


def _created(upload: Upload) -> Response:
    headers = {"Location": _location(upload.id), "Upload-Offset": str(upload.offset)}
    if upload.completed_at is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return Response(status_code=201, headers=headers)


def _carries_upload(content_type: str | None) -> bool:
    """creation-with-upload: a POST whose body is the first bytes of the upload says so
    with the PATCH content type; any other POST body is ignored (plain creation)."""
    return (content_type or "").split(";")[0].strip().lower() == OFFSET_CONTENT_TYPE


@router.post(
    "/uploads",
    status_code=201,
    summary="tus creation (and creation-with-upload): start uploading one declared photo",
    responses={**_TUS_ERRORS, 201: {"description": "Created; Location names the upload"}},
)
async def create_upload(
    request: Request,
    _tus: TusResumable,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
    upload_defer_length: Annotated[str | None, Header(include_in_schema=False)] = None,
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
    upload_checksum: Annotated[str | None, Header(include_in_schema=False)] = None,
    content_length: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    if upload_defer_length is not None:
        raise ApiError(400, "bad_request", "Upload-Defer-Length is not supported")
    length = parse_non_negative("Upload-Length", upload_length)
    if length > settings.upload_max_bytes:
        raise too_large(
            f"the file is {length} bytes; the limit is {settings.upload_max_bytes}",
            settings.upload_max_bytes,
        )
    metadata = parse_metadata(upload_metadata)
    with_body = _carries_upload(content_type)
    checksum = parse_checksum(upload_checksum) if with_body else None
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    if declared > length:
        raise too_large(f"the body is longer than the {length} bytes of the upload")
    now = utcnow()

    def begin() -> Upload:  # one trip to a thread: the sweep, then the creation
        _sweep_expired(request, session, settings, now)
        create = service.start_upload_with_body if with_body else service.create_upload
        return create(
            session, settings=settings, user=user, length=length, metadata=metadata, now=now
        )

    upload = await run_in_threadpool(begin)
    if not with_body:
        return _created(upload)
    if upload.completed_at is not None:  # received before: the body changes nothing
        await drain(request, length)
        return _created(upload)
    path = service.partial_file_path(settings, upload)
    stored = False
    try:
        with PartialFile(path, create=True) as partial:
            body = Body(partial, remaining=length, checksum=checksum, whole_file=True)
            if not await body.read(request):  # the client went away: nothing was stored
                return Response(status_code=400)

            upload = await run_in_threadpool(
                _append, session, settings=settings, storage=storage, upload=upload, body=body
            )
            stored = True
    finally:
        if not stored:
            path.unlink(missing_ok=True)
    return _created(upload)


def _append(
    session: Session, *, settings: Settings, storage: PhotoStorage, upload: Upload, body: Body
) -> Upload:
    """After the body was read, in one trip to a thread: write its rest, fsync (the one
    fsync of the data: a finished file is then moved into storage, not copied), then
    finish or move the offset. A creation-with-upload's upload is stored here, once."""
    received = body.settle()
    if not received and inspect(upload).persistent:
        return upload
    body.partial.sync()
    if upload.offset + received == upload.length:
        return service.finish(
            session,
            settings=settings,
            storage=storage,
            upload=upload,
            old_offset=upload.offset,
            now=utcnow(),
            sha256_hex=body.sha256_hex,
        )
    if not inspect(upload).persistent:  # part of the file: kept, resumed by PATCH
        return service.keep_new_upload(session, upload=upload, offset=received)
    return service.append_committed(
        session,
        settings=settings,
        upload=upload,
        old_offset=upload.offset,
        new_offset=upload.offset + received,
        now=utcnow(),
    )


EXPIRY_SWEEP_EVERY = timedelta(minutes=1)


def _sweep_expired(request: Request, session: Session, settings: Settings, now: datetime) -> None:
    """Expired uploads are removed on creation, at most once a minute per process (else
    a query and a commit per photo); `whistle-server expire-uploads` does it from cron."""
    last: datetime | None = getattr(request.app.state, "uploads_swept_at", None)
    if last is not None and abs(now - last) < EXPIRY_SWEEP_EVERY:
        return
    request.app.state.uploads_swept_at = now
    service.expire_uploads(session, settings=settings, now=now, limit=20)


@router.head(
    "/uploads/{upload_id}",
    summary="tus: how many bytes the server has",
    responses={**_TUS_ERRORS, 200: {"description": "Upload-Offset and Upload-Length"}},
)
def head_upload(
    upload_id: UUID, _tus: TusResumable, user: CurrentUser, session: SessionDep
) -> Response:
    upload = service.get_upload(session, user=user, upload_id=upload_id, now=utcnow())
    headers = {
        "Upload-Offset": str(upload.offset),
        "Upload-Length": str(upload.length),
        "Cache-Control": "no-store",
    }
    if upload.completed_at is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return Response(status_code=200, headers=headers)


@router.patch(
    "/uploads/{upload_id}",
    status_code=204,
    summary="tus: append bytes at Upload-Offset",
    responses={**_TUS_ERRORS, 204: {"description": "Appended; Upload-Offset is the new offset"}},
)
async def patch_upload(
    upload_id: UUID,
    request: Request,
    _tus: TusResumable,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    content_type: Annotated[str | None, Header()] = None,
    upload_offset: Annotated[str | None, Header()] = None,
    upload_checksum: Annotated[str | None, Header()] = None,
    content_length: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    if (content_type or "").split(";")[0].strip().lower() != OFFSET_CONTENT_TYPE:
        raise ApiError(
            415, "unsupported_media_type", f"PATCH needs Content-Type: {OFFSET_CONTENT_TYPE}"
        )
    offset = parse_non_negative("Upload-Offset", upload_offset)
    checksum = parse_checksum(upload_checksum)
    upload = await run_in_threadpool(
        service.get_upload, session, user=user, upload_id=upload_id, now=utcnow()
    )
    path = service.partial_file_path(settings, upload)
    try:
        partial = PartialFile(path) if upload.completed_at is None else None
    except PartialBusy as exc:
        raise ApiError(
            423, "upload_locked", "another PATCH of this upload is running; retry shortly"
        ) from exc
    except FileNotFoundError as exc:
        await run_in_threadpool(service.discard, session, settings=settings, upload=upload)
        raise ApiError(
            410, "upload_lost", "the bytes of this upload are gone; start a new upload"
        ) from exc
    try:
        upload = await run_in_threadpool(service.refresh, session, upload)
        if offset != upload.offset or partial is None:
            raise ApiError(
                409,
                "offset_mismatch",
                f"Upload-Offset is {offset} but the server has {upload.offset} bytes",
                {"offset": upload.offset},
                headers={"Upload-Offset": str(upload.offset)},
            )
        remaining = upload.length - upload.offset
        declared = int(content_length) if content_length and content_length.isdigit() else 0
        if declared > remaining:
            raise too_large(f"the chunk is longer than the {remaining} bytes still expected")
        if partial.size() < upload.offset:
            partial.close()
            await run_in_threadpool(service.discard, session, settings=settings, upload=upload)
            raise ApiError(410, "upload_lost", "the bytes of this upload are gone; start anew")
        # Bytes past the committed offset are from a PATCH that died: drop them.
        await run_in_threadpool(partial.truncate, upload.offset)
        body = Body(partial, remaining=remaining, checksum=checksum, whole_file=upload.offset == 0)
        if not await body.read(request):  # the client went away mid-chunk: bytes dropped
            await run_in_threadpool(partial.truncate, upload.offset)
            return Response(status_code=400)

        upload = await run_in_threadpool(
            _append, session, settings=settings, storage=storage, upload=upload, body=body
        )
    finally:
        if partial is not None:
            partial.close()
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.completed_at is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return Response(status_code=204, headers=headers)


@router.delete(
    "/uploads/{upload_id}",
    status_code=204,
    summary="tus termination: abandon an upload",
    responses=_TUS_ERRORS,
)
def delete_upload(
    upload_id: UUID,
    _tus: TusResumable,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    upload = service.get_upload(session, user=user, upload_id=upload_id, now=utcnow())
    try:
        with PartialFile(service.partial_file_path(settings, upload)):
            service.terminate(session, settings=settings, upload=upload)
    except PartialBusy as exc:
        raise ApiError(
            423, "upload_locked", "a PATCH of this upload is running; retry shortly"
        ) from exc
    except FileNotFoundError:
        service.terminate(session, settings=settings, upload=upload)
    return Response(status_code=204)


# -- downloads ---------------------------------------------------------------------------

_CACHE = "private, max-age=86400"
_PHOTO_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{k: ERROR_RESPONSES[k] for k in (401, 404, 422)},
    200: {
        "content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}},
        "description": "The bytes (ETag is the sha256)",
    },
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
}


def _image_response(data: bytes | None, media_type: str, etag: str) -> Response:
    """The bytes, or 304 when `data` is None (the client's copy is current)."""
    headers = {"ETag": etag, "Cache-Control": _CACHE}
    if data is None:
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in candidates or "*" in candidates


@router.get(
    "/photos/{photo_id}",
    tags=["photos"],
    response_class=Response,
    responses=_PHOTO_RESPONSES,
    summary="A received photo's bytes",
)
def get_photo(
    photo_id: UUID,
    session: SessionDep,
    scope: CurrentScope,
    storage: StorageDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    photo = service.photo_for_download(session, scope=scope, photo_id=photo_id)
    etag = f'"{photo.sha256}"'
    if _matches(if_none_match, etag) or photo.storage_key is None:
        return _image_response(None, photo.media_type.value, etag)
    return _image_response(storage.read_bytes(photo.storage_key), photo.media_type.value, etag)


@router.get(
    "/photos/{photo_id}/thumb",
    tags=["photos"],
    response_class=Response,
    responses={**_PHOTO_RESPONSES, 200: {"content": {"image/jpeg": {}}, "description": "JPEG"}},
    summary="A received photo's thumbnail (JPEG, longest edge 320)",
)
def get_photo_thumb(
    photo_id: UUID,
    session: SessionDep,
    scope: CurrentScope,
    storage: StorageDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    photo = service.photo_for_download(session, scope=scope, photo_id=photo_id)
    etag = f'"{photo.sha256}-thumb{THUMB_EDGE}"'
    if _matches(if_none_match, etag):
        return _image_response(None, "image/jpeg", etag)
    data = storage.read_bytes(service.thumbnail_key(storage, photo))
    return _image_response(data, "image/jpeg", etag)
