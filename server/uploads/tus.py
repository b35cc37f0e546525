"""tus 1.0.0 protocol pieces: constants, header parsing, and the Tus-Resumable header.

Spec: https://tus.io/protocols/resumable-upload (core, creation, creation-with-upload,
checksum, termination, expiration). Headers are parsed here; the routes stay thin.
"""

import base64
import binascii
import email.utils
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.errors import ApiError

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,checksum,termination,expiration"
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# tus's own status for a checksum that does not match (checksum extension).
CHECKSUM_MISMATCH = 460


def http_date(moment: datetime) -> str:
    """RFC 9110 (7231) HTTP-date, the format of Upload-Expires."""
    return email.utils.format_datetime(moment, usegmt=True)


async def require_tus_resumable(
    tus_resumable: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """Every tus request except OPTIONS names the protocol version it speaks. (async: a
    plain function would cost a trip to the threadpool per request.)"""
    if tus_resumable != TUS_VERSION:
        raise ApiError(
            412,
            "tus_version_unsupported",
            f"send the header Tus-Resumable: {TUS_VERSION} (this server speaks tus "
            f"{TUS_VERSION}); got {tus_resumable or 'no header'}",
            headers={"Tus-Version": TUS_VERSION},
        )


TusResumable = Annotated[None, Depends(require_tus_resumable)]


def too_large(message: str, limit: int | None = None) -> ApiError:
    """413; with the server's limit in Tus-Max-Size when the whole upload is too large."""
    headers = {"Tus-Max-Size": str(limit)} if limit is not None else None
    return ApiError(413, "too_large", message, headers=headers)


def parse_non_negative(name: str, value: str | None) -> int:
    if value is None:
        raise ApiError(400, "bad_request", f"the header {name} is required")
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ApiError(400, "bad_request", f"the header {name} must be a non-negative integer")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """`Upload-Metadata: key base64value,key2 base64value2` -> {key: decoded value}."""
    result: dict[str, str] = {}
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, encoded = item.partition(" ")
        if not key or key in result:
            raise ApiError(400, "bad_metadata", f"Upload-Metadata: bad or repeated key {key!r}")
        try:
            result[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(
                400,
                "bad_metadata",
                f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text",
            ) from exc
    return result


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    digest: bytes

    def hasher(self) -> "hashlib._Hash":
        return hashlib.new(self.algorithm)


def parse_checksum(value: str | None) -> Checksum | None:
    """`Upload-Checksum: sha1 <base64 digest>`; 400 for an algorithm we do not offer."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    algorithm = algorithm.lower()
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise ApiError(
            400,
            "checksum_algorithm_unsupported",
            f"Upload-Checksum: algorithm {algorithm!r} is not supported; use one of "
            + ", ".join(CHECKSUM_ALGORITHMS),
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise ApiError(400, "bad_checksum", "Upload-Checksum: the digest is not base64") from exc
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise ApiError(
            400, "bad_checksum", f"Upload-Checksum: not a {algorithm} digest (wrong length)"
        )
    return Checksum(algorithm, digest)


class TusResumableHeader:
    """ASGI middleware: every response under the uploads path says Tus-Resumable, errors
    (401 from authentication, the envelope from any handler) included."""

    def __init__(self, app: ASGIApp, *, path_prefix: str) -> None:
        self.app = app
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"tus-resumable"]
                headers.append((b"tus-resumable", TUS_VERSION.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
