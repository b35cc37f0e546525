"""Photo batches: several small photos in one request (``POST /photos/batch``).

One request per photo costs the server ~10 ms of work (auth, a transaction, fsyncs)
whatever the photo's size; a batch pays that once for up to 16 photos. The wire contract
(docs/sync.md, server/uploads/batch_routes.py): a ``manifest`` form field
(JSON: photo_id, report_id, sha256, size per photo), then one file part per photo, named
by its photo id; the answer has one result per photo, in manifest order.

Photos larger than ``max_photo_bytes`` (1 MiB) go by tus (resumable), as does every
photo when the server lacks the endpoint (404/405: an older server; remembered for the
uploader's lifetime) or refuses a whole batch (the tus path then decides photo by photo).

Each photo's file is read once and checked against the store (size, sha256) before it
goes. The photos the server took (``received``, ``already_received``) are marked uploaded
in one non-durable store commit per batch (``Store.record_uploads``): losing the mark
costs a resend, which the server answers with ``already_received``.

Failures that end the photo phase surface as the ApiClient's NetworkError,
RetryableError and AuthRequired (a garbled answer is a NetworkError, code bad_response);
everything about single photos is a :class:`PhotoOutcome`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from pydantic import ValidationError

from inspector_app.core.api_client import ApiClient, NetworkError, Refused, json_body
from inspector_app.core.store import Photo
from inspector_app.core.tus_client import LocalPhotoError
from shared_schemas.photos import (
    BATCH_PHOTO_MAX_BYTES,
    BatchPhoto,
    BatchPhotoStatus,
    PhotoBatchManifest,
    PhotoBatchResponse,
)

log = logging.getLogger(__name__)

BATCH_PATH = "/photos/batch"
DEFAULT_BATCH_PHOTOS = 16
DEFAULT_BATCH_BYTES = 6 * 1024 * 1024  # photo bytes; the server takes 8 MiB of body
# The codes of a photo whose bytes arrived damaged: sent again in a later cycle.
DAMAGE_CODES = frozenset({"sha256_mismatch", "size_mismatch", "missing_file"})
WAITS_CODE = "photo_not_declared"  # the report is not on the server yet
UNSUPPORTED_STATUSES = frozenset({404, 405})  # an older server without the endpoint
BODY_RESERVE = 64 * 1024  # multipart framing and manifest, kept free under a 413's limit

Item = tuple[Photo, str]  # (photo, the report_id its upload names)
Status = Literal["received", "already_received", "refused", "waits", "damaged", "local_error"]


@dataclass(frozen=True)
class PhotoOutcome:
    """What became of one photo of a batch."""

    photo: Photo
    status: Status
    code: str | None = None
    message: str = ""  # for a refusal or a local error: what to show

    @property
    def delivered(self) -> bool:
        return self.status in ("received", "already_received")


@dataclass(frozen=True)
class BatchResult:
    outcomes: list[PhotoOutcome] = field(default_factory=list)
    by_tus: list[Item] = field(default_factory=list)  # not sent as a batch: send by tus
    refusal: str | None = None  # why the whole batch went to tus (None: it did not)


@dataclass(frozen=True)
class BatchPlan:
    batches: list[list[Item]]
    by_tus: list[Item]  # too large for a batch (or of unknown size)


@dataclass(frozen=True)
class _Part:
    photo: Photo
    report_id: str
    data: bytes


class PhotoBatchUploader:
    """Sends small photos in batches over the app's ApiClient."""

    def __init__(
        self,
        client: ApiClient,
        *,
        max_photo_bytes: int = BATCH_PHOTO_MAX_BYTES,
        max_photos: int = DEFAULT_BATCH_PHOTOS,
        max_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> None:
        if max_photos < 1 or max_photo_bytes < 1 or max_bytes < max_photo_bytes:
            raise ValueError("a batch needs max_photos >= 1 and max_bytes >= max_photo_bytes >= 1")
        self.client = client
        self.store = client.store
        self.max_photo_bytes = max_photo_bytes
        self.max_photos = max_photos
        self.max_bytes = max_bytes
        self._supported: bool | None = None  # None: not known yet; False: 404/405 seen
        self._lock = threading.Lock()

    @property
    def supported(self) -> bool | None:
        """False once the server answered 404/405 (it lacks the endpoint)."""
        return self._supported

    # ------------------------------------------------------------ planning
    def plan(self, items: Iterable[Item]) -> BatchPlan:
        """Batches of photos up to ``max_photo_bytes``, in the given order (oldest
        report first), each of at most ``max_photos`` photos and ``max_bytes`` bytes;
        the rest for tus. Everything goes to tus once the server lacks batches."""
        items = list(items)
        if self._supported is False:
            return BatchPlan(batches=[], by_tus=items)
        batches: list[list[Item]] = []
        by_tus: list[Item] = []
        current: list[Item] = []
        size = 0
        for photo, report_id in items:
            photo_size = photo.size_bytes
            if photo_size is None or photo_size > self.max_photo_bytes:
                by_tus.append((photo, report_id))
                continue
            if current and (len(current) >= self.max_photos or size + photo_size > self.max_bytes):
                batches.append(current)
                current, size = [], 0
            current.append((photo, report_id))
            size += photo_size
        if current:
            batches.append(current)
        return BatchPlan(batches=batches, by_tus=by_tus)

    # ------------------------------------------------------------ one batch
    def upload(self, batch: Sequence[Item], photos_dir: Path) -> BatchResult:
        """Send one planned batch; marks the photos the server took uploaded (one commit)
        and returns every photo's outcome, or the photos to send by tus instead."""
        if self._supported is False:
            return BatchResult(by_tus=list(batch), refusal="the server has no photo batches")
        parts: list[_Part] = []
        outcomes: list[PhotoOutcome] = []
        for photo, report_id in batch:
            current = self.store.get_photo(photo.id) or photo
            if current.uploaded:  # sent meanwhile (another cycle, an earlier batch)
                outcomes.append(PhotoOutcome(current, "already_received"))
                continue
            try:
                data = read_checked(current, photos_dir / (current.processed_path or ""))
            except LocalPhotoError as exc:
                outcomes.append(PhotoOutcome(current, "local_error", message=str(exc)))
                continue
            parts.append(_Part(current, report_id, data))
        if not parts:
            return BatchResult(outcomes=outcomes)
        try:
            response = self.client.request(
                "POST", BATCH_PATH, data={"manifest": manifest_json(parts)}, files=_files(parts)
            )
        except Refused as exc:
            return self._refused(exc, parts, outcomes)
        with self._lock:
            self._supported = True
        results = parse_results(json_body(response), [p.photo.id for p in parts])
        taken = [part.photo.id for part in parts if results[part.photo.id].delivered]
        self.store.record_uploads(taken)
        for part in parts:
            outcome = _outcome(part.photo, results[part.photo.id])
            if outcome.status == "damaged" and (why := changed_locally(part.photo, part.data)):
                outcome = PhotoOutcome(part.photo, "local_error", outcome.code, why)
            outcomes.append(outcome)
        return BatchResult(outcomes=outcomes)

    def _refused(
        self, exc: Refused, parts: list[_Part], outcomes: list[PhotoOutcome]
    ) -> BatchResult:
        """The whole request refused: an older server (404/405, remembered) or a batch
        this server does not take (size, manifest): its photos go by tus, which the
        server decides photo by photo."""
        if exc.status in UNSUPPORTED_STATUSES:
            with self._lock:
                self._supported = False
            log.info("the server has no photo batches (%s): photos go by tus", exc)
        else:
            log.warning("a photo batch was refused (%s): its photos go by tus", exc)
            limit = exc.details.get("limit") if isinstance(exc.details, dict) else None
            if exc.code == "too_large" and isinstance(limit, int):
                with self._lock:  # the server takes less than we planned: smaller batches
                    self.max_bytes = max(
                        self.max_photo_bytes, min(self.max_bytes, limit - BODY_RESERVE)
                    )
        by_tus = [(part.photo, part.report_id) for part in parts]
        return BatchResult(outcomes=outcomes, by_tus=by_tus, refusal=str(exc))


# ---------------------------------------------------------------- the pieces


def read_checked(photo: Photo, path: Path) -> bytes:
    """The photo's bytes, read once, checked against the store's size (the tus client's
    message). Not hashed here: the server checks every photo's sha256 against the
    manifest, and only when it finds a difference does the tablet hash its copy
    (:func:`changed_locally`): hashing each photo before sending cost more tablet CPU
    than sending it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LocalPhotoError(f"photo {photo.id}: the file {path} is missing") from None
    if photo.size_bytes is not None and len(data) != photo.size_bytes:
        raise LocalPhotoError(
            f"photo {photo.id}: the file has {len(data)} bytes, the report declared "
            f"{photo.size_bytes}"
        )
    return data


def changed_locally(photo: Photo, data: bytes) -> str | None:
    """Why the tablet's own copy is wrong (its sha256 differs from the one the report
    declared), or None when the copy is sound (then the bytes were damaged on the way)."""
    if photo.sha256 is not None and hashlib.sha256(data).hexdigest() != photo.sha256:
        return (
            f"photo {photo.id}: the file on the tablet changed since it was saved (sha256 differs)"
        )
    return None


def manifest_json(parts: Sequence[_Part]) -> str:
    manifest = PhotoBatchManifest(
        photos=[
            BatchPhoto(
                photo_id=UUID(part.photo.id),
                report_id=UUID(part.report_id),
                sha256=part.photo.sha256 or hashlib.sha256(part.data).hexdigest(),
                size=len(part.data),
            )
            for part in parts
        ]
    )
    return manifest.model_dump_json()


def _files(parts: Sequence[_Part]) -> list[tuple[str, tuple[str, bytes, str]]]:
    """One file part per photo, named by its id (bytes in memory: Content-Length set)."""
    return [
        (
            part.photo.id,
            (f"{part.photo.id}.{_suffix(part.photo)}", part.data, _media(part.photo)),
        )
        for part in parts
    ]


def _media(photo: Photo) -> str:
    return photo.media_type or "image/jpeg"  # the server sniffs the bytes anyway


def _suffix(photo: Photo) -> str:
    return {"image/png": "png", "image/webp": "webp"}.get(_media(photo), "jpg")


@dataclass(frozen=True)
class _Result:
    status: BatchPhotoStatus
    code: str | None
    message: str | None

    @property
    def delivered(self) -> bool:
        return self.status in (BatchPhotoStatus.RECEIVED, BatchPhotoStatus.ALREADY_RECEIVED)


def parse_results(body: Any, photo_ids: Sequence[str]) -> dict[str, _Result]:
    """The answer's result per photo id; an answer that does not give exactly one result
    for each photo sent is garbled (NetworkError: the batch is sent again later)."""
    try:
        parsed = PhotoBatchResponse.model_validate(body)
    except ValidationError as exc:
        raise NetworkError(
            f"the photo batch answer was not understood: {exc.errors()[0]['msg']}",
            code="bad_response",
        ) from exc
    results = {str(r.photo_id): _Result(r.status, r.code, r.message) for r in parsed.results}
    if len(parsed.results) != len(photo_ids) or set(results) != set(photo_ids):
        raise NetworkError(
            f"the photo batch answer has {len(parsed.results)} results for "
            f"{len(photo_ids)} photos, or names other photos",
            code="bad_response",
        )
    return results


def _outcome(photo: Photo, result: _Result) -> PhotoOutcome:
    if result.status is BatchPhotoStatus.RECEIVED:
        return PhotoOutcome(photo, "received")
    if result.status is BatchPhotoStatus.ALREADY_RECEIVED:
        return PhotoOutcome(photo, "already_received")
    code = result.code or "refused"
    message = f"{code}: {result.message or 'refused by the server'}"
    if code == WAITS_CODE:
        return PhotoOutcome(photo, "waits", code, message)
    if code in DAMAGE_CODES:
        return PhotoOutcome(photo, "damaged", code, message)
    return PhotoOutcome(photo, "refused", code, message)


__all__ = [
    "BATCH_PATH",
    "BatchPlan",
    "BatchResult",
    "Item",
    "PhotoBatchUploader",
    "PhotoOutcome",
    "changed_locally",
    "manifest_json",
    "parse_results",
    "read_checked",
]
