"""`POST /photos/batch`: several small photos in one multipart request (server/uploads/batch.py).

The body is read before the request takes a database slot or a connection: a tablet on
a slow link may take seconds to send its few megabytes, and must not hold a slot that
others need meanwhile (server/core/admission.py). Only the token's signature is checked
before the body; the account is checked with the rest, in one trip to a thread.
"""

from collections.abc import Sequence
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from server.accounts.deps import AccessClaimsDep, user_for_claims
from server.accounts.tokens import AccessClaims
from server.core.admission import DbAdmission
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.db import session_scope
from server.core.deps import SettingsDep
from server.core.errors import ERROR_RESPONSES, ApiError
from server.storage.base import PhotoStorage
from server.storage.deps import StorageDep
from server.uploads.batch import BatchFile, receive_batch
from server.uploads.multipart import Limits, MultipartError, Part, read_parts
from shared_schemas.errors import ErrorEnvelope
from shared_schemas.photos import MAX_BATCH_PHOTOS, PhotoBatchManifest, PhotoBatchResponse

router = APIRouter(tags=["uploads"])

MANIFEST_MAX_BYTES = 64 * 1024  # 32 entries need ~6 KB

_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{k: ERROR_RESPONSES[k] for k in (401, 503)},
    411: {"model": ErrorEnvelope, "description": "Content-Length is required"},
    413: {"model": ErrorEnvelope, "description": "The body is over photo_batch_max_bytes"},
    415: {"model": ErrorEnvelope, "description": "Not multipart/form-data"},
    422: {"model": ErrorEnvelope, "description": "The manifest or the file parts are wrong"},
}


def _bad_manifest(message: str, details: Any = None) -> ApiError:
    return ApiError(422, "bad_manifest", message, details)


def _check_headers(
    settings: Settings, content_type: str | None, content_length: str | None
) -> None:
    if (content_type or "").split(";")[0].strip().lower() != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the photos as multipart/form-data: a `manifest` field, then one file "
            "part per photo named by its photo_id",
        )
    if not content_length or not content_length.isascii() or not content_length.isdigit():
        raise ApiError(411, "length_required", "a photo batch needs its Content-Length")
    limit = settings.photo_batch_max_bytes
    if int(content_length) > limit:
        raise ApiError(
            413,
            "too_large",
            f"the batch is {content_length} bytes; the limit is {limit}: send fewer photos "
            "per batch, or large photos by tus (/uploads)",
            {"limit": limit},
        )


async def _read_parts(request: Request, content_type: str) -> list[Part]:
    limits = Limits(max_files=MAX_BATCH_PHOTOS, max_fields=1, max_field_bytes=MANIFEST_MAX_BYTES)
    try:
        return await read_parts(request.stream(), content_type=content_type, limits=limits)
    except MultipartError as exc:
        raise _bad_manifest(f"the multipart body could not be read: {exc}") from exc


def _manifest(parts: list[Part]) -> PhotoBatchManifest:
    raw = next((p.data for p in parts if p.name == "manifest" and p.filename is None), None)
    if raw is None:
        raise _bad_manifest("the form needs a `manifest` field (JSON text) before the files")
    try:
        manifest = PhotoBatchManifest.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'manifest'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        raise _bad_manifest("the manifest is wrong: " + "; ".join(problems[:5])) from exc
    ids = [str(p.photo_id) for p in manifest.photos]
    if len(set(ids)) != len(ids):
        raise _bad_manifest("the manifest names a photo twice")
    return manifest


def _files(parts: list[Part], manifest: PhotoBatchManifest) -> list[BatchFile]:
    """Exactly one file part per manifest entry, named by its photo_id."""
    files: dict[str, bytes] = {}
    for part in parts:
        if part.name == "manifest":
            continue
        if part.filename is None or part.name in files:
            raise _bad_manifest(f"the part {part.name!r} is not one file part per photo")
        files[part.name] = part.data
    expected = {str(p.photo_id) for p in manifest.photos}
    missing, extra = sorted(expected - files.keys()), sorted(files.keys() - expected)
    if missing or extra:
        raise _bad_manifest(
            "each photo in the manifest needs one file part named by its photo_id, and no "
            "other parts",
            {"missing": missing, "unexpected": extra},
        )
    return [BatchFile(entry=entry, data=files[str(entry.photo_id)]) for entry in manifest.photos]


def _receive(
    engine: Engine,
    *,
    claims: AccessClaims,
    storage: PhotoStorage,
    files: Sequence[BatchFile],
    max_photo_bytes: int,
) -> PhotoBatchResponse:
    with contextmanager(session_scope)(engine) as session:
        user = user_for_claims(session, claims)
        results = receive_batch(
            session,
            storage=storage,
            user=user,
            files=list(files),
            max_photo_bytes=max_photo_bytes,
            now=utcnow(),
        )
        return PhotoBatchResponse(results=results)


@router.post(
    "/photos/batch",
    response_model=PhotoBatchResponse,
    responses=_RESPONSES,
    summary="Upload several small photos in one request (tus for large ones)",
)
async def upload_photo_batch(
    request: Request,
    claims: AccessClaimsDep,
    settings: SettingsDep,
    storage: StorageDep,
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
    content_length: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> PhotoBatchResponse:
    """multipart/form-data: a `manifest` field (`{"photos": [{photo_id, report_id,
    sha256, size}]}`, at most 32), then one file part per photo named by its photo_id.
    Each photo gets its own result: `received`, `already_received` (nothing changed) or
    `refused` with a code and a message; a refused photo does not affect the others."""
    _check_headers(settings, content_type, content_length)
    parts = await _read_parts(request, content_type or "")
    manifest = _manifest(parts)
    files = _files(parts, manifest)
    admission: DbAdmission = request.app.state.db_admission
    async with admission.slot():
        return await run_in_threadpool(
            _receive,
            request.app.state.engine,
            claims=claims,
            storage=storage,
            files=files,
            max_photo_bytes=settings.upload_max_bytes,
        )
