"""The capture API the UI uses: drafts, photos, location, submit, amend, verification.

Durability rules (design.md, sync rule 1):

* ids (report, photo, operation, inspection) are UUID4s made here, when captured;
* a photo's original is written to a temporary name, fsynced, renamed and the directory
  fsynced *before* the transaction that records it commits;
* submit flips the report to ``queued`` and appends its ``report.create`` operation in one
  transaction. The report is durable at once, before its photos are processed: the
  operation starts ``waiting_photos`` and becomes ``pending`` (with the descriptors of the
  processed files in its payload) in the same transaction that records the last photo's
  processing;
* :meth:`Capture.recover` at start-up undoes what a crash left behind (see its docstring).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from inspector_app.core.files import (
    StorageFullError,
    atomic_copy,
    atomic_write_bytes,
    is_temp_name,
    remove_quietly,
)
from inspector_app.core.photos import (
    ImageRejected,
    PhotoJob,
    PhotoProcessor,
    ProcessedPhoto,
    probe_image,
)
from inspector_app.core.store import Photo, Report, Store, Tx, iso
from shared_schemas.common import AreaCode, LongText, ShortText
from shared_schemas.enums import OperationKind, Severity
from shared_schemas.geo import GeoPoint
from shared_schemas.reports import MAX_PHOTOS_PER_REPORT
from shared_schemas.sync import SyncOperation
from shared_schemas.taxonomy import CategoryCode, load_taxonomy

log = logging.getLogger(__name__)

PHOTO_SUBDIRS = ("originals", "processed", "thumbs")
AMENDABLE_CASE_STATUSES = (None, "reported")
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif"}

_LONG = TypeAdapter(LongText)
_SHORT = TypeAdapter(ShortText)
_AREA = TypeAdapter(AreaCode)
_PLACEHOLDER_PHOTO = {
    "id": "00000000-0000-4000-8000-000000000000",
    "sha256": "0" * 64,
    "size_bytes": 1,
    "media_type": "image/jpeg",
    "width": 1,
    "height": 1,
    "taken_at": "2000-01-01T00:00:00+00:00",
}


class CaptureError(ValueError):
    """A capture action that cannot be done; the message is meant for the inspector."""


class NotFound(CaptureError):
    pass


class SubmitError(CaptureError):
    """The report is not complete; ``missing`` names what is missing or wrong."""

    def __init__(self, report_id: str, missing: Sequence[str]) -> None:
        self.report_id = report_id
        self.missing = list(missing)
        super().__init__("Cannot submit the report yet, missing or wrong: " + "; ".join(missing))


class AmendNotAllowed(CaptureError):
    pass


@dataclass(frozen=True)
class _Written:
    """An original written durably but not yet recorded."""

    photo_id: str
    relative: str
    sha256: str
    size: int
    taken_at: datetime


@dataclass(frozen=True)
class RecoveryReport:
    sending_reset: int
    files_removed: list[str]
    photos_requeued: int
    ops_completed: int


# ---------------------------------------------------------------- field validation


def _validate_field(name: str, value: Any) -> Any:
    """One observation field in its stored form; CaptureError with the field's name."""
    try:
        if name == "category":
            return None if value is None else CategoryCode(value).value
        if name == "severity":
            return None if value is None else Severity(value).value
        if name == "description":
            return _LONG.validate_python(value)
        if name == "address":
            return _SHORT.validate_python(value)
        if name == "grid":
            return None if value is None else _AREA.validate_python(value)
        if name == "observed_at":
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise ValueError("must be a timezone-aware datetime")
            return value
    except ValidationError as exc:
        raise CaptureError(f"{name}: {exc.errors()[0]['msg']}") from None
    except ValueError as exc:
        raise CaptureError(f"{name}: {exc}") from None
    raise CaptureError(f"{name}: not a field of a report")


def _location_columns(point: GeoPoint | None) -> dict[str, Any]:
    if point is None:
        return dict.fromkeys(
            ("lat", "lon", "accuracy_m", "location_source", "location_captured_at")
        )
    return {
        "lat": point.lat,
        "lon": point.lon,
        "accuracy_m": point.accuracy_m,
        "location_source": point.source.value,
        "location_captured_at": point.captured_at,
    }


def _as_point(value: GeoPoint | Mapping[str, Any]) -> GeoPoint:
    if isinstance(value, GeoPoint):
        return value
    try:
        return GeoPoint.model_validate(dict(value))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CaptureError(f"location {where}: {first['msg']}") from None


def _location_json(report: Report) -> dict[str, Any] | None:
    if not report.has_location:
        return None
    assert report.location_captured_at is not None  # noqa: S101 (has_location)
    return {
        "lat": report.lat,
        "lon": report.lon,
        "accuracy_m": report.accuracy_m,
        "source": report.location_source,
        "captured_at": report.location_captured_at.isoformat(),
    }


def _error_text(exc: ValidationError) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in err['loc']) or 'payload'}: {err['msg']}" for err in exc.errors()
    ]


def _new_id() -> str:
    return str(uuid.uuid4())


# ---------------------------------------------------------------- the API


class Capture:
    """Capture operations over a :class:`Store` and a photo directory."""

    def __init__(
        self,
        store: Store,
        photos_root: Path | str,
        processor: PhotoProcessor | None = None,
    ) -> None:
        self.store = store
        self.photos_root = Path(photos_root)
        self.processor = processor or PhotoProcessor(background=False)
        for sub in PHOTO_SUBDIRS:
            (self.photos_root / sub).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ drafts
    def create_draft(self, **fields: Any) -> str:
        """A new draft report (id made now); ``fields`` as in :meth:`update_draft`."""
        observed_at = fields.pop("observed_at", None) or self.store.clock()
        values = {name: _validate_field(name, value) for name, value in fields.items()}
        _validate_field("observed_at", observed_at)
        report_id = _new_id()
        with self.store.transaction() as tx:
            tx.insert_report(report_id, observed_at=observed_at)
            tx.update_report(report_id, values)
        return report_id

    def update_draft(self, report_id: str, **fields: Any) -> None:
        """Change category, severity, description, grid, address or observed_at."""
        values = {name: _validate_field(name, value) for name, value in fields.items()}
        self._require_draft(report_id)
        with self.store.transaction() as tx:
            tx.update_report(report_id, values)

    def set_location(self, report_id: str, **point: Any) -> None:
        """Set the location: lat, lon, accuracy_m, source (gps|map|manual), captured_at."""
        geo = _as_point(point)
        self._require_draft(report_id)
        with self.store.transaction() as tx:
            tx.update_report(report_id, _location_columns(geo))

    def discard_draft(self, report_id: str) -> None:
        """Delete a draft and its photos."""
        self._require_draft(report_id)
        photos = self.store.photos_of(report_id=report_id)
        with self.store.transaction() as tx:
            tx.delete_report(report_id)
        for photo in photos:
            self._remove_files(photo)

    def _require_draft(self, report_id: str) -> Report:
        report = self.store.get_report(report_id)
        if report is None:
            raise NotFound(f"report {report_id} does not exist")
        if report.state != "draft":
            raise CaptureError(f"report {report_id} was already submitted ({report.state})")
        return report

    # ------------------------------------------------------------ photos
    def attach_photo(
        self, report_id: str, source: Path | str | bytes, *, name: str | None = None
    ) -> str:
        """Copy a photo into the app (durably) and attach it to a draft; returns its id.

        Raises ImageRejected (not an image), StorageFullError (nothing is saved then) or
        CaptureError. Processing starts in the background.
        """
        self._require_draft(report_id)
        if len(self.store.photos_of(report_id=report_id)) >= MAX_PHOTOS_PER_REPORT:
            raise CaptureError(f"a report has at most {MAX_PHOTOS_PER_REPORT} photos")
        photo = self._save_photos([source], names=[name], report_id=report_id)[0]
        self._start_processing(photo)
        return photo.id

    def remove_photo(self, photo_id: str) -> None:
        photo = self.store.get_photo(photo_id)
        if photo is None:
            raise NotFound(f"photo {photo_id} does not exist")
        if photo.report_id is None:
            raise CaptureError("photos of a recorded verification cannot be removed")
        self._require_draft(photo.report_id)
        with self.store.transaction() as tx:
            tx.delete_photo(photo_id)
        self._remove_files(photo)

    def photo_path(self, photo: Photo, *, which: str = "processed") -> Path | None:
        relative = {
            "original": photo.original_path,
            "processed": photo.processed_path,
            "thumb": photo.thumb_path,
        }[which]
        return None if relative is None else self.photos_root / relative

    def _save_photos(
        self,
        sources: Sequence[Path | str | bytes],
        *,
        names: Sequence[str | None],
        report_id: str | None = None,
    ) -> list[Photo]:
        """Write originals durably, then record them in one transaction (report photos).

        On any failure the files written are removed again: no orphans.
        """
        written = self._write_originals(sources, names)
        try:
            with self.store.transaction() as tx:
                self._record_photos(tx, written, report_id=report_id, inspection_id=None)
        except BaseException:
            remove_quietly(*(self.photos_root / w.relative for w in written))
            raise
        photos = [self.store.get_photo(w.photo_id) for w in written]
        return [p for p in photos if p is not None]

    def _write_originals(
        self, sources: Sequence[Path | str | bytes], names: Sequence[str | None]
    ) -> list[_Written]:
        """Probe and copy each source into originals/ (all or none on failure)."""
        written: list[_Written] = []
        try:
            for source, name in zip(sources, names, strict=True):
                label = name or (Path(source).name if not isinstance(source, bytes) else "photo")
                data_or_path = source if isinstance(source, bytes) else Path(source)
                info = probe_image(data_or_path, label)
                photo_id = _new_id()
                ext = _EXTENSIONS.get(info.format, info.format.lower())
                relative = f"originals/{photo_id}.{ext}"
                dest = self.photos_root / relative
                if isinstance(data_or_path, bytes):
                    digest = atomic_write_bytes(dest, data_or_path, what=f"the photo {label}")
                    size = len(data_or_path)
                else:
                    digest, size = atomic_copy(data_or_path, dest, what=f"the photo {label}")
                taken = info.taken_at or self.store.clock()
                written.append(_Written(photo_id, relative, digest, size, taken))
        except BaseException:
            remove_quietly(*(self.photos_root / w.relative for w in written))
            raise
        return written

    @staticmethod
    def _record_photos(
        tx: Tx,
        written: Sequence[_Written],
        *,
        report_id: str | None,
        inspection_id: str | None,
    ) -> None:
        for w in written:
            tx.insert_photo(
                photo_id=w.photo_id,
                report_id=report_id,
                inspection_id=inspection_id,
                kind="before" if report_id is not None else "after",
                original_path=w.relative,
                original_sha256=w.sha256,
                original_size=w.size,
                taken_at=w.taken_at,
            )

    def _remove_files(self, photo: Photo) -> None:
        for relative in (photo.original_path, photo.processed_path, photo.thumb_path):
            if relative:
                remove_quietly(self.photos_root / relative)
        # temp files or processed files of an unfinished job: removed by name
        remove_quietly(
            self.photos_root / "processed" / f"{photo.id}.jpg",
            self.photos_root / "thumbs" / f"{photo.id}.jpg",
        )

    def _start_processing(self, photo: Photo) -> None:
        job = PhotoJob(
            photo_id=photo.id,
            original=self.photos_root / photo.original_path,
            processed=self.photos_root / "processed" / f"{photo.id}.jpg",
            thumb=self.photos_root / "thumbs" / f"{photo.id}.jpg",
        )
        self.processor.submit(job, self._on_processed)

    def _on_processed(self, photo_id: str, result: ProcessedPhoto | BaseException) -> None:
        """Completion callback (worker thread): record the result atomically."""
        processed = f"processed/{photo_id}.jpg"
        thumb = f"thumbs/{photo_id}.jpg"
        if isinstance(result, BaseException):
            if self.store.get_photo(photo_id) is None:
                return  # removed while it was being processed: nothing to record
            log.warning("photo %s: processing failed: %s", photo_id, result)
            with contextlib.suppress(Exception), self.store.transaction() as tx:
                tx.mark_photo_failed(photo_id, str(result))
            return
        with self.store.transaction() as tx:
            found = tx.mark_photo_processed(
                photo_id,
                processed_path=processed,
                thumb_path=thumb,
                sha256=result.sha256,
                size_bytes=result.size_bytes,
                media_type=result.media_type,
                width=result.width,
                height=result.height,
            )
            if found:
                waiting = tx.execute(
                    "SELECT o.op_id FROM op_photos p JOIN outbox o ON o.op_id = p.op_id"
                    " WHERE p.photo_id = ? AND o.state = 'waiting_photos'",
                    (photo_id,),
                ).fetchall()
                self._complete_ops(tx, [row[0] for row in waiting])
        if not found:  # removed while it was being processed
            remove_quietly(self.photos_root / processed, self.photos_root / thumb)

    def _complete_ops(self, tx: Tx, op_ids: Iterable[str]) -> int:
        """Fill in the photo descriptors of waiting ops whose photos are all processed."""
        completed = 0
        for op_id in op_ids:
            rows = tx.execute(
                "SELECT ph.* FROM op_photos op JOIN photos ph ON ph.id = op.photo_id"
                " WHERE op.op_id = ? ORDER BY op.position",
                (op_id,),
            ).fetchall()
            photos = [Photo.from_row(r) for r in rows]
            if not all(p.processed for p in photos):
                continue
            op = tx.execute("SELECT * FROM outbox WHERE op_id = ?", (op_id,)).fetchone()
            payload = dict(json.loads(op["payload"]))
            payload["photos"] = [p.descriptor() for p in photos]
            problem = _payload_problem(
                op_id=op_id,
                seq=op["seq"],
                kind=op["kind"],
                entity_id=op["entity_id"],
                payload=payload,
                created_at=op["created_at"],
            )
            if problem is None:
                tx.set_op_payload(op_id, payload, state="pending")
            else:  # never sent: shown to the inspector like a server rejection
                tx.set_op_payload(op_id, payload, state="rejected")
                tx.record_result(
                    op_id, status="rejected", code="invalid_locally", message=problem[:500]
                )
            completed += 1
        return completed

    # ------------------------------------------------------------ submit and amend
    def submit(self, report_id: str) -> str:
        """Queue a complete draft for sync; returns the report.create operation id.

        Raises SubmitError naming everything missing (category, photo, location, grid).
        """
        report = self._require_draft(report_id)
        photos = self.store.photos_of(report_id=report_id)
        missing: list[str] = []
        if report.category is None:
            missing.append("category (choose the kind of hazard)")
        if not photos:
            missing.append("photo (take at least one)")
        if not report.has_location:
            missing.append("location (get a GPS fix or pick the place on the map)")
        if report.grid is None:
            missing.append("grid (choose the grid of the place)")
        if missing:
            raise SubmitError(report_id, missing)
        assert report.category is not None  # noqa: S101 (checked above)
        severity = report.severity or self._default_severity(report.category)
        payload: dict[str, Any] = {
            "id": report.id,
            "category": report.category,
            "severity": severity,
            "description": report.description,
            "observed_at": report.observed_at.isoformat(),
            "location": _location_json(report),
            "grid": report.grid,
            "address": report.address,
            "photos": [],
        }
        # Everything but the photos is checked now (the descriptors come after processing).
        problem = _payload_problem(
            op_id=_new_id(),
            seq=0,
            kind="report.create",
            entity_id=report.id,
            payload={**payload, "photos": [_PLACEHOLDER_PHOTO]},
            created_at=report.created_at.isoformat(),
        )
        if problem is not None:
            raise SubmitError(report_id, [problem])
        op_id = _new_id()
        with self.store.transaction() as tx:
            flipped = tx.execute(
                "UPDATE reports SET state = 'queued', severity = ?, updated_at = ?"
                " WHERE id = ? AND state = 'draft'",
                (severity, iso(tx.now), report_id),
            ).rowcount
            if flipped != 1:
                raise CaptureError(f"report {report_id} was already submitted")
            photo_ids = [  # read again inside the transaction: exactly what is committed
                row[0]
                for row in tx.execute(
                    "SELECT id FROM photos WHERE report_id = ? ORDER BY position", (report_id,)
                )
            ]
            if not photo_ids:
                raise SubmitError(report_id, ["photo (take at least one)"])
            tx.add_op(
                op_id=op_id,
                kind="report.create",
                entity_id=report_id,
                payload=payload,
                photo_ids=photo_ids,
            )
            self._complete_ops(tx, [op_id])
        return op_id

    @staticmethod
    def _default_severity(category: str) -> str:
        for info in load_taxonomy().categories:
            if info.code.value == category:
                return info.default_severity.value
        return Severity.GENERAL.value

    def amend(self, report_id: str, **fields: Any) -> str:
        """Change a submitted report while the case is not registered; returns the op id.

        Fields: category, severity, description, grid, address, location (a GeoPoint or
        its fields as a mapping). Only fields that differ are sent.
        """
        report = self.store.get_report(report_id)
        if report is None:
            raise NotFound(f"report {report_id} does not exist")
        if report.state == "draft":
            raise AmendNotAllowed("the report is still a draft: edit it instead of amending")
        if report.state == "rejected":
            raise AmendNotAllowed("the report was rejected: it cannot be amended")
        if report.case_status not in AMENDABLE_CASE_STATUSES:
            raise AmendNotAllowed(
                f"the case is already {report.case_status}: the supervisor owns it now"
            )
        columns: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        current_location = _location_json(report)
        for name, value in fields.items():
            if name == "location":
                point = _as_point(value)
                wire = point.model_dump(mode="json")
                if current_location is None or GeoPoint.model_validate(
                    current_location
                ) != GeoPoint.model_validate(wire):
                    changes["location"] = wire
                    columns.update(_location_columns(point))
                continue
            if name == "observed_at":
                raise CaptureError("observed_at cannot be amended")
            clean = _validate_field(name, value)
            if clean is None:
                raise CaptureError(f"{name}: cannot be removed from a submitted report")
            if clean != getattr(report, name):
                changes[name] = clean
                columns[name] = clean
        if not changes:
            raise CaptureError("nothing to amend: every value is the same as before")
        payload = {"id": report_id, **changes}
        problem = _payload_problem(
            op_id=_new_id(),
            seq=0,
            kind="report.amend",
            entity_id=report_id,
            payload=payload,
            created_at=self.store.clock().isoformat(),
        )
        if problem is not None:
            raise CaptureError(problem)
        op_id = _new_id()
        with self.store.transaction() as tx:
            tx.update_report(report_id, columns)
            tx.add_op(op_id=op_id, kind="report.amend", entity_id=report_id, payload=payload)
        return op_id

    # ------------------------------------------------------------ verification
    def record_verification(
        self,
        task_id: str,
        *,
        rectified: bool,
        note: str = "",
        photos: Sequence[Path | str | bytes] = (),
        location: GeoPoint | Mapping[str, Any] | None = None,
        inspected_at: datetime | None = None,
    ) -> str:
        """Record the result of a verification task; returns the inspection id."""
        task = self.store.get_task(task_id)
        if task is None:
            raise NotFound(f"verification task {task_id} does not exist")
        if task.state != "open":
            raise CaptureError(f"verification task {task_id} is already {task.state}")
        if len(photos) > MAX_PHOTOS_PER_REPORT:
            raise CaptureError(f"a verification has at most {MAX_PHOTOS_PER_REPORT} photos")
        clean_note = _validate_field("description", note)
        point = None if location is None else _as_point(location)
        when = inspected_at or self.store.clock()
        _validate_field("observed_at", when)
        inspection_id = _new_id()
        payload: dict[str, Any] = {
            "id": inspection_id,
            "task_id": task_id,
            "case_id": task.case_id,
            "rectified": bool(rectified),
            "note": clean_note,
            "inspected_at": when.isoformat(),
            "location": None if point is None else point.model_dump(mode="json"),
            "photos": [],
        }
        problem = _payload_problem(
            op_id=_new_id(),
            seq=0,
            kind="inspection.create",
            entity_id=inspection_id,
            payload=payload,
            created_at=when.isoformat(),
        )
        if problem is not None:
            raise CaptureError(problem)
        op_id = _new_id()
        written = self._write_originals(list(photos), [None] * len(photos))
        try:
            with self.store.transaction() as tx:
                tx.insert_inspection(
                    {
                        "id": inspection_id,
                        "task_id": task_id,
                        "case_id": task.case_id,
                        "rectified": int(bool(rectified)),
                        "note": clean_note,
                        "inspected_at": when,
                        **_location_columns(point),
                    }
                )
                self._record_photos(tx, written, report_id=None, inspection_id=inspection_id)
                tx.add_op(
                    op_id=op_id,
                    kind="inspection.create",
                    entity_id=inspection_id,
                    payload=payload,
                    photo_ids=[w.photo_id for w in written],
                )
                tx.set_task_state(task_id, "done")
        except BaseException:
            remove_quietly(*(self.photos_root / w.relative for w in written))
            raise
        saved = self.store.photos_of(inspection_id=inspection_id)
        for photo in saved:
            self._start_processing(photo)
        return inspection_id

    # ------------------------------------------------------------ start-up
    def recover(self) -> RecoveryReport:
        """Repair what a crash left; call once at start-up, before any capture.

        1. operations caught in ``sending`` go back to ``pending``;
        2. temporary files (an interrupted write) and files of no known photo (written,
           but the transaction that would record them never committed) are deleted;
        3. waiting operations whose photos are all processed are completed;
        4. photos not processed yet (processing interrupted or failed) are processed again.
        """
        reset = self.store.reset_sending()
        known = {p.id for p in self.store.all_photos()}
        removed: list[str] = []
        for sub in PHOTO_SUBDIRS:
            directory = self.photos_root / sub
            for entry in sorted(directory.iterdir()):
                stem = entry.name.split(".", 1)[0]
                if is_temp_name(entry.name) or stem not in known:
                    remove_quietly(entry)
                    removed.append(f"{sub}/{entry.name}")
        with self.store.transaction() as tx:
            waiting = [
                r[0] for r in tx.execute("SELECT op_id FROM outbox WHERE state = 'waiting_photos'")
            ]
            completed = self._complete_ops(tx, waiting)
        pending = self.store.unprocessed_photos()
        for photo in pending:
            self._start_processing(photo)
        if removed:
            log.info("recover: removed %d leftover files", len(removed))
        return RecoveryReport(reset, removed, len(pending), completed)


def _payload_problem(
    *,
    op_id: str,
    seq: int,
    kind: str,
    entity_id: str,
    payload: dict[str, Any],
    created_at: str,
) -> str | None:
    """None when the operation validates against the wire contract, else the reason."""
    try:
        SyncOperation(
            op_id=uuid.UUID(op_id),
            seq=seq,
            kind=OperationKind(kind),
            entity_id=uuid.UUID(entity_id),
            payload=payload,
            created_at=datetime.fromisoformat(created_at),
        ).parsed_payload()
    except ValidationError as exc:
        return "; ".join(_error_text(exc))
    return None


__all__ = [
    "AmendNotAllowed",
    "Capture",
    "CaptureError",
    "ImageRejected",
    "NotFound",
    "RecoveryReport",
    "StorageFullError",
    "SubmitError",
]
