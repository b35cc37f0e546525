"""The tus 1.0.0 endpoints under /uploads, and photo downloads under /photos.

tus flow: OPTIONS (discovery) -> POST (creation; Upload-Length and Upload-Metadata
photo_id, report_id, sha256) -> PATCH chunks (Upload-Offset, Upload-Checksum) -> after an
interruption HEAD (Upload-Offset) and PATCH on. See docs/sync.md, "Photo uploads".
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from server.accounts.deps import CurrentScope, CurrentUser
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES, ApiError
from server.storage.deps import StorageDep
from server.uploads import service
from server.uploads.images import THUMB_EDGE
from server.uploads.partial import PartialBusy, PartialFile
from server.uploads.tus import (
    CHECKSUM_ALGORITHMS,
    CHECKSUM_MISMATCH,
    OFFSET_CONTENT_TYPE,
    TUS_EXTENSIONS,
    TUS_VERSION,
    Checksum,
    TusResumable,
    http_date,
    parse_checksum,
    parse_metadata,
    parse_non_negative,
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


def _too_large(message: str, settings_max: int | None = None) -> ApiError:
    headers = {"Tus-Max-Size": str(settings_max)} if settings_max is not None else None
    return ApiError(413, "too_large", message, headers=headers)


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


@router.post(
    "/uploads",
    status_code=201,
    summary="tus creation: start uploading one declared photo",
    responses={**_TUS_ERRORS, 201: {"description": "Created; Location names the upload"}},
)
def create_upload(
    _tus: TusResumable,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    upload_length: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
    upload_defer_length: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    if upload_defer_length is not None:
        raise ApiError(400, "bad_request", "Upload-Defer-Length is not supported")
    length = parse_non_negative("Upload-Length", upload_length)
    if length > settings.upload_max_bytes:
        raise _too_large(
            f"the file is {length} bytes; the limit is {settings.upload_max_bytes}",
            settings.upload_max_bytes,
        )
    now = utcnow()
    service.expire_uploads(session, settings=settings, now=now, limit=20)
    upload = service.create_upload(
        session,
        settings=settings,
        user=user,
        length=length,
        metadata=parse_metadata(upload_metadata),
        now=now,
    )
    headers = {"Location": _location(upload.id), "Upload-Offset": str(upload.offset)}
    if upload.completed_at is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return Response(status_code=201, headers=headers)


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
            raise _too_large(f"the chunk is longer than the {remaining} bytes still expected")
        if partial.size() < upload.offset:
            partial.close()
            await run_in_threadpool(service.discard, session, settings=settings, upload=upload)
            raise ApiError(410, "upload_lost", "the bytes of this upload are gone; start anew")
        # Bytes past the committed offset are from a PATCH that died: drop them.
        await run_in_threadpool(partial.truncate, upload.offset)
        received = await _receive(request, partial, remaining, checksum)
        if received is None:  # the client went away mid-chunk: its bytes are dropped
            await run_in_threadpool(partial.truncate, upload.offset)
            return Response(status_code=400)
        await run_in_threadpool(partial.sync)
        new_offset = upload.offset + received
        if new_offset == upload.length:
            upload = await run_in_threadpool(
                service.finish,
                session,
                settings=settings,
                storage=storage,
                upload=upload,
                old_offset=upload.offset,
                now=utcnow(),
            )
        elif received:
            upload = await run_in_threadpool(
                service.append_committed,
                session,
                settings=settings,
                upload=upload,
                old_offset=upload.offset,
                new_offset=new_offset,
                now=utcnow(),
            )
    finally:
        if partial is not None:
            partial.close()
    headers = {"Upload-Offset": str(upload.offset)}
    if upload.completed_at is None:
        headers["Upload-Expires"] = http_date(upload.expires_at)
    return Response(status_code=204, headers=headers)


async def _receive(
    request: Request, partial: PartialFile, remaining: int, checksum: Checksum | None
) -> int | None:
    """Append the body to the partial file; the count of bytes, or None on disconnect.
    A checksum mismatch or an over-long body cuts the file back and raises."""
    start = partial.size()
    hasher = checksum.hasher() if checksum is not None else None
    received = 0
    try:
        async for chunk in request.stream():
            if not chunk:
                continue
            received += len(chunk)
            if received > remaining:
                await run_in_threadpool(partial.truncate, start)
                raise _too_large(f"the chunk is longer than the {remaining} bytes expected")
            if hasher is not None:
                hasher.update(chunk)
            await run_in_threadpool(partial.write, chunk)
    except ClientDisconnect:
        return None
    if checksum is not None and hasher is not None and hasher.digest() != checksum.digest:
        await run_in_threadpool(partial.truncate, start)
        raise ApiError(
            CHECKSUM_MISMATCH,
            "checksum_mismatch",
            f"Upload-Checksum ({checksum.algorithm}) does not match the chunk; it was "
            f"discarded, send it again from offset {start}",
            {"offset": start},
            headers={"Upload-Offset": str(start)},
        )
    return received


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
