"""Photos for the admin's pages, behind the admin session (the JSON API's /photos wants a
bearer token, which a browser's <img> cannot send). Same scope rule: 404 outside it."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import Response

from server.admin.deps import AdminCtx
from server.core.deps import SessionDep
from server.storage.deps import StorageDep
from server.uploads.service import photo_for_download, thumbnail_key

router = APIRouter()

_CACHE = "private, max-age=86400"


def _bytes_or_304(data: bytes | None, media_type: str, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": _CACHE, "X-Content-Type-Options": "nosniff"}
    if data is None:
        return Response(status_code=304, headers=headers)
    return Response(content=data, media_type=media_type, headers=headers)


def _fresh(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and etag in {
        t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")
    }


@router.get("/photos/{photo_id}")
def photo(
    photo_id: UUID,
    ctx: AdminCtx,
    session: SessionDep,
    storage: StorageDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    found = photo_for_download(session, scope=ctx.scope, photo_id=photo_id)
    etag = f'"{found.sha256}"'
    if _fresh(if_none_match, etag) or found.storage_key is None:
        return _bytes_or_304(None, found.media_type.value, etag)
    return _bytes_or_304(storage.read_bytes(found.storage_key), found.media_type.value, etag)


@router.get("/photos/{photo_id}/thumb")
def thumb(
    photo_id: UUID,
    ctx: AdminCtx,
    session: SessionDep,
    storage: StorageDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    found = photo_for_download(session, scope=ctx.scope, photo_id=photo_id)
    etag = f'"{found.sha256}-thumb"'
    if _fresh(if_none_match, etag):
        return _bytes_or_304(None, "image/jpeg", etag)
    return _bytes_or_304(storage.read_bytes(thumbnail_key(storage, found)), "image/jpeg", etag)
