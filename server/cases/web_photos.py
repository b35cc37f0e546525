"""Photos put on a case from the web (the API's multipart POST and the admin's forms).

Tablets upload by tus against photos a report declared. A department recording its
rectification has no report: it sends the files themselves, and they become photos of the
case that are received and not yet attached to a step (kind `step`, no event). A
transition then names them in `photo_ids`; the rule's `photo_kind` (mark_rectified:
`after`) becomes their kind and its event their event (server/workflow/service.py).

Who may add: whoever may take an action that takes photos (a rule with `photo_kind` or
needing a note or photos) on the case now; the same refusals as a transition (404 out of
scope, 403 for the role, 409 for the state). Every file is checked (size, count, a whole
JPEG/PNG/WebP) before anything is stored or written: one refused file refuses the request.
The caller commits, so the admin adds the photos and applies the transition in one
transaction.
"""

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from uuid import UUID, uuid4

from PIL import Image
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope
from server.cases.models import Case, Photo
from server.cases.queries import get_visible_case
from server.core.errors import ApiError
from server.storage.base import PhotoStorage
from server.uploads.images import verify_image
from server.workflow.errors import field_error, state_details
from server.workflow.rules import RULES, Action, Need, Rule, Via
from server.workflow.schemas import MAX_TRANSITION_PHOTOS
from server.workflow.service import allowed_actions
from shared_schemas.enums import MediaType, Role

# A photo on the case, not yet part of a step. Not one of the report's or an
# inspection's kinds, so `photo_ids` may name it; attaching gives it the rule's kind.
PHOTO_KIND_STEP = "step"
MAX_FILES = 9  # per request (one step); a transition takes up to 12 photo_ids
if MAX_FILES > MAX_TRANSITION_PHOTOS:  # the admin passes them all to one transition
    raise RuntimeError("MAX_FILES must fit in a TransitionRequest's photo_ids")
_COPY_CHUNK = 1024 * 1024
_NAME_MAX = 80


class IncomingFile(Protocol):
    """What the service needs of an uploaded file (Starlette's UploadFile fits)."""

    @property
    def filename(self) -> str | None: ...

    @property
    def file(self) -> BinaryIO: ...


class PhotoRefused(ApiError):
    """A file that may not become a photo. `reason` (too_many, too_large, not_an_image,
    no_files) and `filename`/`limit` let the admin say it in the user's language."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: object,
        *,
        reason: str,
        filename: str = "",
        limit: int = 0,
    ) -> None:
        super().__init__(status_code, code, message, details)
        self.reason = reason
        self.filename = filename
        self.limit = limit


@dataclass(frozen=True)
class _Checked:
    name: str
    path: Path
    sha256: str
    size: int
    media_type: MediaType
    width: int
    height: int


def takes_photos(rule: Rule) -> bool:
    """Whether a rule's form offers photos: it gives attached photos a kind, or it needs
    a note or photos (mark_rectified: the "after" photos)."""
    return rule.photo_kind is not None or Need.NOTE_OR_PHOTOS in rule.needs


PHOTO_ACTIONS: tuple[Action, ...] = tuple(a for a, r in RULES.items() if takes_photos(r))


# ---------------------------------------------------------------- who may


def _role_may(rule: Rule, user: User, case: Case) -> bool:
    """The role part of the workflow's check (the case is already in scope). A tablet-
    only way (a verification result) never adds photos from the web."""
    via = rule.who.get(user.role)
    if via is Via.AREA:
        return True
    if via is Via.OWN_DEPARTMENT:
        return user.organisation_id is not None and case.department_id == user.organisation_id
    return False


def _who(rules: Sequence[Rule]) -> str:
    """Who may add photos for these rules, in words (tablet-only ways left out)."""
    names: list[str] = []
    for rule in rules:
        for role, via in rule.who.items():
            if via is Via.AREA:
                name = "admins" if role is Role.ADMIN else f"{role.value}s of its area"
            elif via is Via.OWN_DEPARTMENT:
                name = "the department the case is dispatched to"
            else:
                continue
            if name not in names:
                names.append(name)
    return ", ".join(names)


def check_may_add(
    session: Session,
    *,
    user: User,
    scope: Scope,
    case_id: UUID,
    action: Action | None = None,
) -> Case:
    """The case, if this user may add photos to it now: for `action` (the admin's form),
    else for any action that takes photos. 404 out of scope, 403 for the role, 409 when
    its state takes no photos, 422 for an action that takes none. (A stale version is the
    transition's to refuse: the admin's form applies it in the same transaction.)"""
    case = get_visible_case(session, scope=scope, case_id=case_id)
    if action is not None and not takes_photos(RULES[action]):
        raise _files_error(f"{action.value} takes no photos", reason="no_photos_here")
    rules = [RULES[action]] if action is not None else [RULES[a] for a in PHOTO_ACTIONS]
    mine = [r for r in rules if _role_may(r, user, case)]
    verbs = ", ".join(r.action.value for r in rules)

    def allowed() -> list[str]:
        return [a.value for a in allowed_actions(session, user=user, scope=scope, case=case)]

    if not mine:
        raise ApiError(
            403,
            "forbidden",
            f"{user.role.value} may not add photos to this case; only {_who(rules)} may "
            f"(photos are for {verbs})",
            state_details(case, allowed(), action=verbs),
        )
    if not any(case.status in r.from_states for r in mine):
        states = sorted({s.value for r in mine for s in r.from_states})
        raise ApiError(
            409,
            "invalid_transition",
            f"photos are added for {verbs}, while a case is {' or '.join(states)}; this one "
            f"is {case.status.value}",
            state_details(case, allowed(), action=verbs),
        )
    return case


def _files_error(message: str, *, reason: str, limit: int = 0) -> PhotoRefused:
    """422 naming the field `files`, like the request validation errors."""
    error = field_error("files", message)
    return PhotoRefused(
        error.status_code, error.code, error.message, error.details, reason=reason, limit=limit
    )


# ---------------------------------------------------------------- the files


def _display_name(upload: IncomingFile, index: int) -> str:
    """The file's own name (no directories, not too long) for messages."""
    raw = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = raw or f"file {index + 1}"
    return name if len(name) <= _NAME_MAX else name[: _NAME_MAX - 1] + "…"


def _copy_limited(
    upload: IncomingFile, dest: Path, *, name: str, max_bytes: int
) -> tuple[int, str]:
    """Copy the upload to `dest` (verify_image reads a path), hashing as it goes; 413 as
    soon as it passes `max_bytes`."""
    digest = hashlib.sha256()
    size = 0
    source = upload.file
    source.seek(0)
    with dest.open("wb") as out:
        while block := source.read(_COPY_CHUNK):
            size += len(block)
            if size > max_bytes:
                raise PhotoRefused(
                    413,
                    "too_large",
                    f"{name}: larger than the limit of {max_bytes} bytes",
                    {"file": name, "limit": max_bytes},
                    reason="too_large",
                    filename=name,
                    limit=max_bytes,
                )
            digest.update(block)
            out.write(block)
    return size, digest.hexdigest()


def _check_file(upload: IncomingFile, index: int, workdir: Path, max_bytes: int) -> _Checked:
    name = _display_name(upload, index)
    path = workdir / f"{index}.upload"
    size, sha256 = _copy_limited(upload, path, name=name, max_bytes=max_bytes)
    media_type = verify_image(path)
    if media_type is None:
        raise PhotoRefused(
            415,
            "not_an_image",
            f"{name}: not a whole JPEG, PNG or WebP image (or it is cut short)",
            {"file": name},
            reason="not_an_image",
            filename=name,
        )
    with Image.open(path) as image:  # verified above: the header reads
        width, height = image.size
    return _Checked(name, path, sha256, size, media_type, width, height)


def add_photos(
    session: Session,
    *,
    storage: PhotoStorage,
    case: Case,
    files: Sequence[IncomingFile],
    max_bytes: int,
    now: datetime,
) -> list[Photo]:
    """Check every file, then store the bytes and add the photo rows (flushed, not
    committed). 422 without files or with more than MAX_FILES, 413 for a file over
    `max_bytes`, 415 for one that is not an image: nothing is stored or written then.

    Bytes stored for a request that is later rolled back (the transition refused, a 409)
    stay in storage: objects are content-addressed, so they are harmless and the same
    photo sent again lands on the same key."""
    if not files:
        raise _files_error("choose at least one photo", reason="no_files")
    if len(files) > MAX_FILES:
        raise _files_error(
            f"at most {MAX_FILES} photos at a time; {len(files)} were sent",
            reason="too_many",
            limit=MAX_FILES,
        )
    photos: list[Photo] = []
    with tempfile.TemporaryDirectory(prefix="whistle-photos-") as tmp:
        checked = [_check_file(f, i, Path(tmp), max_bytes) for i, f in enumerate(files)]
        for item in checked:
            key = storage.put_bytes(item.path.read_bytes())
            photos.append(
                Photo(
                    id=uuid4(),
                    case_id=case.id,
                    kind=PHOTO_KIND_STEP,
                    sha256=item.sha256,
                    size_bytes=item.size,
                    media_type=item.media_type,
                    width=item.width,
                    height=item.height,
                    taken_at=now,  # unknown (EXIF times carry no zone): when it arrived
                    received_at=now,
                    storage_key=key,
                    created_at=now,
                )
            )
    session.add_all(photos)
    session.flush()
    return photos


def add_case_photos(
    session: Session,
    *,
    user: User,
    scope: Scope,
    storage: PhotoStorage,
    case_id: UUID,
    files: Sequence[IncomingFile],
    max_bytes: int,
    now: datetime,
) -> list[Photo]:
    """POST /cases/{id}/photos: the checks, then the photos (the route commits)."""
    case = check_may_add(session, user=user, scope=scope, case_id=case_id)
    photos = add_photos(
        session, storage=storage, case=case, files=files, max_bytes=max_bytes, now=now
    )
    return photos


# ---------------------------------------------------------------- never attached


def sweep_unattached(
    session: Session, *, storage: PhotoStorage, created_before: datetime, limit: int = 500
) -> int:
    """Delete web photos that no transition ever named (kind `step`, no event) made
    before `created_before`, with their bytes unless another photo has the same content
    (storage is content-addressed). A department that uploaded "after" photos and then
    never submitted the step leaves these behind. Returns how many went (at most
    `limit`; call again until 0). `whistle-server expire-uploads` runs it."""
    stale = session.exec(
        select(Photo)
        .where(Photo.kind == PHOTO_KIND_STEP)
        .where(col(Photo.event_id).is_(None))
        .where(col(Photo.created_at) < created_before)
        .order_by(col(Photo.created_at))
        .limit(limit)
    ).all()
    keys = {p.storage_key for p in stale if p.storage_key is not None}
    for photo in stale:
        session.delete(photo)
    session.flush()
    still_used = set(
        session.exec(select(Photo.storage_key).where(col(Photo.storage_key).in_(keys))).all()
    )
    session.commit()
    for key in keys - still_used:  # after the commit: a crash leaves bytes, never a row
        storage.delete(key)
    return len(stale)
