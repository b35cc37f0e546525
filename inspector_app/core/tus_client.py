"""A small tus 1.0.0 client (core, creation, checksum) over the app's ApiClient.

* creation: ``POST /uploads`` with ``Upload-Length`` and ``Upload-Metadata`` photo_id,
  report_id, sha256; the upload URL is stored on the photo at once (``Tx.set_upload``), so
  an upload interrupted at any point resumes after a restart;
* resume: ``HEAD`` gives the server's offset, ``PATCH`` chunks from there, each with
  ``Upload-Checksum: sha1 <base64>``;
* 409 offset_mismatch: resume at the server's offset; 460 checksum_mismatch: send the
  chunk again; 404/410 (expired or lost upload) and a refused whole file: a new upload;
  423 upload_locked (a dead PATCH still held by the server): wait a little and retry;
* a photo the server already has answers creation with offset == length: nothing to send.

Failures the caller should retry later surface as NetworkError / RetryableError, refusals
as Refused (with the server's code), a missing or changed local file as LocalPhotoError.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector_app.core.api_client import (
    ApiClient,
    ApiError,
    NetworkError,
    Refused,
    RetryableError,
)
from inspector_app.core.files import sha256_file
from inspector_app.core.store import Photo

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHECKSUM_RETRIES = 3  # a chunk damaged this often in a row: the link is bad, retry later
MAX_RESTARTS = 2  # new uploads for one photo in one call (expired, lost, refused whole file)
MAX_OFFSET_RESYNCS = 20


class LocalPhotoError(Exception):
    """The photo's file on the tablet is missing or differs from what the report declared."""


def tus_metadata(values: dict[str, str]) -> str:
    """``key base64(value),...`` as the Upload-Metadata header wants it."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}"
        for key, value in values.items()
    )


def sha1_checksum(chunk: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode("ascii")  # noqa: S324 (tus requires sha1)


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _offset_of(headers: dict[str, str], details: Any = None) -> int | None:
    value = _header(headers, "Upload-Offset")
    if value is not None and value.strip().isdigit():
        return int(value.strip())
    if isinstance(details, dict) and isinstance(details.get("offset"), int):
        return int(details["offset"])
    return None


class TusUploader:
    """Uploads photo files by tus, resuming from the URL kept in the store."""

    def __init__(
        self,
        client: ApiClient,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        locked_retries: int = 8,
        locked_delay_s: float = 0.25,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.client = client
        self.store = client.store
        self.chunk_size = chunk_size
        self.sleep = sleep
        self.locked_retries = locked_retries
        self.locked_delay_s = locked_delay_s

    # ------------------------------------------------------------ protocol steps
    def _tus(self, method: str, url: str, **kwargs: Any) -> dict[str, str]:
        """One tus request; returns the response headers. 423 is retried a few times."""
        headers = {"Tus-Resumable": TUS_VERSION, **kwargs.pop("headers", {})}
        for attempt in range(self.locked_retries + 1):
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
                return dict(response.headers)
            except RetryableError as exc:
                if exc.status != 423 or attempt >= self.locked_retries:
                    raise
                self.sleep(self.locked_delay_s * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def server_offset(self, url: str, length: int) -> int | None:
        """HEAD: the server's offset, or None when the upload is gone, expired or for
        another length (then a new upload is needed)."""
        try:
            headers = self._tus("HEAD", url)
        except Refused as exc:
            if exc.status in (403, 404, 410):
                return None
            raise
        server_length = _header(headers, "Upload-Length")
        offset = _offset_of(headers)
        if offset is None:
            raise NetworkError("HEAD answered without Upload-Offset", code="bad_response")
        if server_length is not None and server_length.strip() != str(length):
            return None
        return offset

    def create(self, photo: Photo, *, length: int, report_id: str) -> tuple[str, int]:
        """POST /uploads; stores the new URL on the photo; returns (url, offset)."""
        metadata = tus_metadata(
            {"photo_id": photo.id, "report_id": report_id, "sha256": photo.sha256 or ""}
        )
        headers = self._tus(
            "POST",
            "/uploads",
            headers={"Upload-Length": str(length), "Upload-Metadata": metadata},
        )
        location = _header(headers, "Location")
        if not location:
            raise NetworkError("upload creation answered without Location", code="bad_response")
        url = self.client.absolute(location)
        with self.store.transaction() as tx:
            tx.set_upload(photo.id, upload_url=url, uploaded=False)
        offset = _offset_of(headers)
        return url, 0 if offset is None else offset

    def patch(self, url: str, offset: int, chunk: bytes) -> int:
        """PATCH one chunk at ``offset``; returns the server's new offset."""
        headers = self._tus(
            "PATCH",
            url,
            headers={
                "Content-Type": OFFSET_CONTENT_TYPE,
                "Upload-Offset": str(offset),
                "Upload-Checksum": sha1_checksum(chunk),
            },
            content=chunk,
        )
        new_offset = _offset_of(headers)
        if new_offset is None:
            raise NetworkError("PATCH answered without Upload-Offset", code="bad_response")
        return new_offset

    # ------------------------------------------------------------ one photo
    def _check_file(self, photo: Photo, path: Path) -> int:
        try:
            length = path.stat().st_size
        except FileNotFoundError:
            raise LocalPhotoError(f"photo {photo.id}: the file {path} is missing") from None
        if photo.size_bytes is not None and length != photo.size_bytes:
            raise LocalPhotoError(
                f"photo {photo.id}: the file has {length} bytes, the report declared "
                f"{photo.size_bytes}"
            )
        return length

    def upload(
        self,
        photo: Photo,
        path: Path,
        *,
        report_id: str,
        on_bytes: Callable[[int], None] = lambda _n: None,
    ) -> None:
        """Send the photo's file (resuming when an upload URL is stored) and mark the
        photo uploaded. ``on_bytes(n)``: n more bytes are confirmed by the server (never
        counts a byte twice, even when a new upload has to start over)."""
        current = self.store.get_photo(photo.id) or photo
        if current.uploaded:
            return
        length = self._check_file(current, path)
        reported = 0

        def progress(offset: int) -> None:
            nonlocal reported
            if offset > reported:
                on_bytes(offset - reported)
                reported = offset

        def start_new() -> tuple[str, int]:
            if current.sha256 is not None and sha256_file(path) != current.sha256:
                raise LocalPhotoError(
                    f"photo {photo.id}: the file on the tablet changed since it was saved "
                    "(sha256 differs)"
                )
            return self.create(current, length=length, report_id=report_id)

        url = current.upload_url
        offset = self.server_offset(url, length) if url else None
        if url is None or offset is None:
            url, offset = start_new()
        progress(offset)
        restarts = checksum_failures = resyncs = 0
        with open(path, "rb") as handle:
            while offset < length:
                handle.seek(offset)
                chunk = handle.read(min(self.chunk_size, length - offset))
                if not chunk:
                    raise LocalPhotoError(f"photo {photo.id}: the file ended early")
                try:
                    offset = self.patch(url, offset, chunk)
                    checksum_failures = 0
                except Refused as exc:
                    action = self._after_refusal(exc)
                    if action == "resend":
                        checksum_failures += 1
                        if checksum_failures > MAX_CHECKSUM_RETRIES:
                            raise RetryableError(
                                f"photo {photo.id}: chunks keep arriving damaged",
                                status=exc.status,
                                code=exc.code,
                            ) from exc
                        continue
                    if action == "resync":
                        resyncs += 1
                        known = _offset_of(exc.headers, exc.details)
                        found = known if known is not None else self.server_offset(url, length)
                        if found is not None and resyncs <= MAX_OFFSET_RESYNCS:
                            offset = found
                            continue
                    elif action != "restart":
                        raise
                    restarts += 1
                    if restarts > MAX_RESTARTS:
                        raise
                    log.info("photo %s: starting a new upload after %s", photo.id, exc.code)
                    url, offset = start_new()
                progress(offset)
        with self.store.transaction() as tx:
            tx.set_upload(photo.id, upload_url=url, uploaded=True)
        progress(length)

    @staticmethod
    def _after_refusal(exc: ApiError) -> str:
        """What a refused PATCH asks for: resend, resync (offset), restart, or raise."""
        if exc.status == 460 and exc.code == "checksum_mismatch":
            return "resend"
        if exc.status == 409 and exc.code == "offset_mismatch":
            return "resync"
        if exc.status in (404, 410) or exc.code in ("sha256_mismatch", "size_mismatch"):
            return "restart"
        return "raise"


__all__ = ["DEFAULT_CHUNK_SIZE", "LocalPhotoError", "TusUploader", "sha1_checksum", "tus_metadata"]
