"""A small tus 1.0.0 client (core, creation, checksum) over the app's ApiClient.

* creation: ``POST /uploads`` with ``Upload-Length`` and ``Upload-Metadata`` photo_id,
  report_id, sha256; the upload URL is stored on the photo at once (``Tx.set_upload``), so
  an upload interrupted at any point resumes after a restart;
* resume: ``HEAD`` gives the server's offset, ``PATCH`` chunks from there, each with
  ``Upload-Checksum: sha1 <base64>``;
* 409 offset_mismatch: resume at the server's offset; 460 checksum_mismatch: send the
  chunk again; 404/410 (expired or lost upload) and a refused whole file: a new upload;
  423 upload_locked (a dead PATCH still held by the server): wait a little and retry;
* a photo the server already has answers creation with offset == length: nothing to send;
* creation-with-upload (when the server offers it, asked once by OPTIONS): a file of at
  most one chunk goes in the POST itself, checksummed with its sha256: one request per
  photo. The answer's Upload-Offset says how much the server kept; anything short of the
  end goes on by PATCH, as does everything on a server without the extension.

Bookkeeping (the upload URL, "uploaded") is committed without an immediate fsync
(``Store.record_upload``): a power cut that loses it only costs a new upload or a photo
offered again, which the server answers at once (it has the photo: offset == length).

Failures the caller should retry later surface as NetworkError / RetryableError, refusals
as Refused (with the server's code), a missing or changed local file as LocalPhotoError.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
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


def sha256_checksum(digest: bytes) -> str:
    """``Upload-Checksum`` for data whose sha256 ``digest`` (raw bytes) is known."""
    return "sha256 " + base64.b64encode(digest).decode("ascii")


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
        creation_with_upload: bool | None = None,
    ) -> None:
        """``creation_with_upload``: None asks the server (OPTIONS, once); False never
        sends bytes with the POST."""
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.client = client
        self.store = client.store
        self.chunk_size = chunk_size
        self.sleep = sleep
        self.locked_retries = locked_retries
        self.locked_delay_s = locked_delay_s
        self._with_upload = creation_with_upload
        self._discovery = threading.Lock()  # one OPTIONS even with several workers

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

    def offers_creation_with_upload(self) -> bool:
        """Whether the server takes bytes with the POST (Tus-Extension, asked once)."""
        with self._discovery:
            if self._with_upload is None:
                try:
                    response = self.client.request(
                        "OPTIONS",
                        "/uploads",
                        authenticated=False,
                        headers={"Tus-Resumable": TUS_VERSION},
                    )
                except Refused:  # no discovery here: plain creation always works
                    self._with_upload = False
                else:
                    offered = _header(dict(response.headers), "Tus-Extension") or ""
                    names = {name.strip() for name in offered.split(",")}
                    self._with_upload = "creation-with-upload" in names
            return self._with_upload

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

    def create(
        self, photo: Photo, *, length: int, report_id: str, body: bytes | None = None
    ) -> tuple[str, int]:
        """POST /uploads (with ``body``, the whole file, by creation-with-upload); stores
        the new URL on the photo, marked uploaded when the server has every byte;
        returns (url, offset)."""
        metadata = tus_metadata(
            {"photo_id": photo.id, "report_id": report_id, "sha256": photo.sha256 or ""}
        )
        headers = {"Upload-Length": str(length), "Upload-Metadata": metadata}
        if body is None:
            answer = self._tus("POST", "/uploads", headers=headers)
        else:
            headers["Content-Type"] = OFFSET_CONTENT_TYPE
            # The photo's sha256 (start_new checked the body against it): not hashed again.
            digest = photo.sha256 or hashlib.sha256(body).hexdigest()
            headers["Upload-Checksum"] = sha256_checksum(bytes.fromhex(digest))
            answer = self._post_with_body(photo, headers, body)
        location = _header(answer, "Location")
        if not location:
            raise NetworkError("upload creation answered without Location", code="bad_response")
        url = self.client.absolute(location)
        offset = _offset_of(answer) or 0
        self.store.record_upload(photo.id, upload_url=url, uploaded=offset >= length)
        return url, offset

    def _post_with_body(self, photo: Photo, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """The POST of creation-with-upload; a body damaged on the way (460, or a size
        the server did not get) is sent again a few times, then left for later."""
        for attempt in range(MAX_CHECKSUM_RETRIES + 1):
            try:
                return self._tus("POST", "/uploads", headers=headers, content=body)
            except Refused as exc:
                damaged = exc.status == 460 or exc.code == "size_mismatch"
                if not damaged:
                    raise
                if attempt >= MAX_CHECKSUM_RETRIES:
                    raise RetryableError(
                        f"photo {photo.id}: the upload keeps arriving damaged",
                        status=exc.status,
                        code=exc.code,
                    ) from exc
                log.info("photo %s: sending again after %s", photo.id, exc.code)
        raise AssertionError("unreachable")  # pragma: no cover

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
            body: bytes | None = None
            if length <= self.chunk_size and self.offers_creation_with_upload():
                body = path.read_bytes()  # one read: hashed here, sent in the POST
                if len(body) != length:
                    raise LocalPhotoError(f"photo {photo.id}: the file changed while read")
                digest = hashlib.sha256(body).hexdigest()
            else:
                digest = sha256_file(path)
            if current.sha256 is not None and digest != current.sha256:
                raise LocalPhotoError(
                    f"photo {photo.id}: the file on the tablet changed since it was saved "
                    "(sha256 differs)"
                )
            return self.create(current, length=length, report_id=report_id, body=body)

        url = current.upload_url
        offset = self.server_offset(url, length) if url else None
        if url is None or offset is None:
            url, offset = start_new()
            if offset >= length:  # all sent with the POST, or the server had it: recorded
                progress(length)
                return
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
        self.store.record_upload(photo.id, upload_url=url, uploaded=True)
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


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "LocalPhotoError",
    "TusUploader",
    "sha1_checksum",
    "sha256_checksum",
    "tus_metadata",
]
