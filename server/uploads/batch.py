"""Photo batches: several small photos in one request (`POST /photos/batch`).

Why: a photo of ~300 KB costs ~2 ms to move at the plain streaming rate here, but a tus
request costs ~10 ms of server CPU (HTTP handling, the token check, a transaction, two
fsyncs). A batch pays those once for up to 32 photos. tus stays for large photos and for
resuming one that is cut off (docs/sync.md, "Photo uploads").

Each photo is decided on its own, with tus's checks and messages: declared by its report,
sent by its reporter, the bytes as declared (size, sha256), an image. The accepted ones
are stored together (one pass of fsyncs) and then marked received in ONE transaction, so
a refused photo never harms the others and a received photo's bytes are durable before
the database (or the tablet) hears of it. A photo the server already has is answered
`already_received` and nothing changes: sending a batch twice is harmless.
"""

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Table, case, update
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope, can_see_case, scope_for
from server.cases.models import Case, Photo
from server.storage.base import PhotoStorage
from server.sync.changes import record_case_scope_change
from server.uploads import images
from shared_schemas.enums import MediaType, Role
from shared_schemas.photos import BatchPhoto, BatchPhotoResult, BatchPhotoStatus

log = logging.getLogger(__name__)

_PHOTO_TABLE = cast(Table, Photo.__table__)  # type: ignore[attr-defined]
_CASE_TABLE = cast(Table, Case.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class BatchFile:
    """One manifest entry and the bytes of its file part."""

    entry: BatchPhoto
    data: bytes


@dataclass(frozen=True)
class _Accepted:
    file: BatchFile
    photo: Photo
    media_type: MediaType


def _refused(photo_id: UUID, code: str, message: str) -> BatchPhotoResult:
    return BatchPhotoResult(
        photo_id=photo_id, status=BatchPhotoStatus.REFUSED, code=code, message=message
    )


class _Checker:
    """The per-photo checks, with what they need loaded once for the whole batch."""

    def __init__(
        self, session: Session, *, user: User, files: list[BatchFile], max_photo_bytes: int
    ) -> None:
        self.session = session
        self.user = user
        self.max_photo_bytes = max_photo_bytes
        ids = [f.entry.photo_id for f in files]
        self.photos = {p.id: p for p in session.exec(select(Photo).where(col(Photo.id).in_(ids)))}
        case_ids = {p.case_id for p in self.photos.values()}
        self.cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(case_ids)))}
        self._scope: Scope | None = None

    def _scope_of_user(self) -> Scope:
        if self._scope is None:
            self._scope = scope_for(self.session, self.user)
        return self._scope

    def check(self, file: BatchFile) -> BatchPhotoResult | _Accepted:
        entry = file.entry
        photo = self.photos.get(entry.photo_id)
        case = self.cases.get(photo.case_id) if photo is not None else None
        if photo is None or case is None or photo.case_id != entry.report_id:
            return _refused(
                entry.photo_id,
                "photo_not_declared",
                "this photo is not declared by that report on the server yet: sync the "
                "report first, then upload its photos",
            )
        if self.user.role != Role.ADMIN and case.reporter_id != self.user.id:
            if can_see_case(self._scope_of_user(), case):
                return _refused(
                    entry.photo_id,
                    "forbidden",
                    "only the inspector who reported this case may upload its photos",
                )
            return _refused(entry.photo_id, "not_found", "no such photo")
        if photo.sha256 != entry.sha256 or photo.size_bytes != entry.size:
            return _refused(
                entry.photo_id,
                "photo_mismatch",
                f"the manifest does not match the photo the report declared (declared "
                f"{photo.size_bytes} bytes, sha256 {photo.sha256})",
            )
        if photo.received_at is not None:
            return BatchPhotoResult(
                photo_id=entry.photo_id, status=BatchPhotoStatus.ALREADY_RECEIVED
            )
        return self._check_bytes(file, photo)

    def _check_bytes(self, file: BatchFile, photo: Photo) -> BatchPhotoResult | _Accepted:
        entry, data = file.entry, file.data
        if len(data) > self.max_photo_bytes:
            return _refused(
                entry.photo_id,
                "too_large",
                f"the file is {len(data)} bytes; the limit is {self.max_photo_bytes}",
            )
        if len(data) != entry.size:
            return _refused(
                entry.photo_id,
                "size_mismatch",
                f"{len(data)} bytes arrived, the manifest says {entry.size}: send it again",
            )
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            return _refused(
                entry.photo_id,
                "sha256_mismatch",
                "the bytes that arrived have another sha256 than the manifest's: send it again",
            )
        media_type = images.verify_image(data)
        if media_type is None:
            return _refused(
                entry.photo_id, "not_an_image", "the file is not a JPEG, PNG or WebP image"
            )
        return _Accepted(file=file, photo=photo, media_type=media_type)


def receive_batch(
    session: Session,
    *,
    storage: PhotoStorage,
    user: User,
    files: list[BatchFile],
    max_photo_bytes: int,
    now: datetime,
) -> list[BatchPhotoResult]:
    """Check every photo, store the good ones, mark them received in one commit; the
    results in the order of `files`."""
    checker = _Checker(session, user=user, files=files, max_photo_bytes=max_photo_bytes)
    decided = [checker.check(file) for file in files]
    session.commit()  # the reads are done: no transaction stays open over the fsyncs
    accepted = [d for d in decided if isinstance(d, _Accepted)]
    if accepted:
        keys = storage.put_many([(a.file.data, a.file.entry.sha256) for a in accepted])
        counted = _mark_received(session, accepted=accepted, keys=keys, now=now)
    else:
        counted = set()
    results: list[BatchPhotoResult] = []
    for item in decided:
        if isinstance(item, BatchPhotoResult):
            if item.status is BatchPhotoStatus.REFUSED:
                log.warning("batch photo %s refused: %s", item.photo_id, item.code)
            results.append(item)
            continue
        photo_id = item.file.entry.photo_id
        status = (
            BatchPhotoStatus.RECEIVED if photo_id in counted else BatchPhotoStatus.ALREADY_RECEIVED
        )
        results.append(BatchPhotoResult(photo_id=photo_id, status=status))
    return results


def _mark_received(
    session: Session, *, accepted: list[_Accepted], keys: list[str], now: datetime
) -> set[UUID]:
    """One transaction of two statements whatever the batch's size: the photos received
    (only those not received yet: two uploads of a photo racing count it once), then
    each of their cases counted once; and one case change per case for pull. Returns the
    photos this call counted."""
    key_of = {a.photo.id: key for a, key in zip(accepted, keys, strict=True)}
    type_of = {a.photo.id: a.media_type for a in accepted}
    photo_id = _PHOTO_TABLE.c.id
    received = session.execute(
        update(_PHOTO_TABLE)
        .where(photo_id.in_(key_of))
        .where(_PHOTO_TABLE.c.received_at.is_(None))
        .values(
            received_at=now,
            storage_key=case(key_of, value=photo_id),
            media_type=case(type_of, value=photo_id),
        )
        .returning(photo_id, _PHOTO_TABLE.c.case_id)
    ).all()
    counted = {row.id for row in received}
    per_case: dict[UUID, int] = defaultdict(int)
    for row in received:
        per_case[row.case_id] += 1
    if per_case:
        case_id = _CASE_TABLE.c.id
        scopes = session.execute(
            update(_CASE_TABLE)
            .where(case_id.in_(per_case))
            .values(
                photos_received=_CASE_TABLE.c.photos_received + case(per_case, value=case_id),
                version=_CASE_TABLE.c.version + 1,
                updated_at=now,
            )
            .returning(case_id, _CASE_TABLE.c.area_path, _CASE_TABLE.c.department_id)
        ).all()
        for scope in sorted(scopes, key=lambda r: r.id):
            # photos_received changed: pull shows "photos 2/3 received" (scope as of now)
            record_case_scope_change(
                session, scope.id, area_path=scope.area_path, department_id=scope.department_id
            )
    session.commit()
    return counted
