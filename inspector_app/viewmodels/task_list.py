"""Verification and re-inspection tasks: the list by due date and recording a result.

Tasks arrive by pull (``tasks`` table; ``data`` holds the server's fields: id, case_id,
kind, due_at, status, lat, lon, category, address, description). A result goes back
through the same outbox as reports: :meth:`TaskFlow.record` calls
``Capture.record_verification``, which writes the inspection, its "after" photos and the
``inspection.create`` operation and marks the task done, in one transaction.

"After" photos are collected before the result is recorded (the inspector may change
their mind between rectified and not rectified); their paths are kept in the store's kv
so a flow interrupted by a phone call still has them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from inspector_app.core.capture import Capture, CaptureError
from inspector_app.core.files import atomic_write_bytes
from inspector_app.core.photos import probe_image
from inspector_app.viewmodels.categories import CategoryTile
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.location_fix import Fix
from inspector_app.viewmodels.screen_words import (
    INSPECTION_STATE_WORDS,
    TASK_KIND_WORDS,
    Translate,
    bilingual,
    format_time,
    word,
)
from shared_schemas.reports import MAX_PHOTOS_PER_REPORT

TASK_KEY_PREFIX = "screens.task."
PREVIEW_EDGE = 256


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


@dataclass(frozen=True)
class TaskRow:
    id: str
    case_id: str
    kind: str
    state: str
    due_at: datetime | None
    category: str | None
    address: str
    description: str
    lat: float | None
    lon: float | None
    inspection_state: str | None

    def overdue(self, now: datetime) -> bool:
        return self.state == "open" and self.due_at is not None and self.due_at < now

    def view(
        self, tr: Translate, lang: str, tiles: dict[str, CategoryTile], *, now: datetime
    ) -> dict[str, Any]:
        tile = tiles.get(self.category or "")
        title = bilingual(tile.name_zh, tile.name_en, lang)[0] if tile else tr(N_("Task"))
        due = format_time(self.due_at, lang, now=now) if self.due_at else tr(N_("no deadline"))
        if self.state == "open":
            status = tr(N_("Overdue")) if self.overdue(now) else tr(N_("Due"))
            status_colour = "#b3121d" if self.overdue(now) else "#a35200"
        else:
            status = word(INSPECTION_STATE_WORDS, self.inspection_state, tr) or tr(N_("Done"))
            status_colour = "#17705a"
        return {
            "task_id": self.id,
            "title": title,
            "kind_text": word(TASK_KIND_WORDS, self.kind, tr),
            "due_text": f"{status} {due}",
            "status_colour": status_colour,
            "group_colour": tile.colour if tile else "#6c757d",
            "address": self.address,
            "description": self.description,
            "open": self.state == "open",
        }


def load_tasks(reader: LocalReader, *, include_done: bool = True) -> list[TaskRow]:
    """Open tasks by due date (soonest, so overdue, first; no date last), then done ones."""
    rows = reader.all(
        "SELECT t.id, t.case_id, t.data, t.state,"
        " (SELECT i.state FROM inspections i WHERE i.task_id = t.id"
        "   ORDER BY i.created_at DESC LIMIT 1) AS inspection_state"
        " FROM tasks t WHERE t.state != 'cancelled'"
        # Not the tasks another user of this tablet answered (kept for their result).
        " AND NOT EXISTS (SELECT 1 FROM inspections i WHERE i.task_id = t.id"
        "   AND i.owner IS NOT NULL AND i.owner IS NOT ?)",
        (reader.data_owner(),),
    )
    tasks: list[TaskRow] = []
    for r in rows:
        try:
            data: dict[str, Any] = json.loads(r["data"] or "{}")
        except ValueError:
            data = {}
        if r["state"] != "open" and not include_done:
            continue
        lat, lon = data.get("lat"), data.get("lon")
        tasks.append(
            TaskRow(
                id=r["id"],
                case_id=r["case_id"],
                kind=str(data.get("kind") or "verification"),
                state=r["state"],
                due_at=_time(data.get("due_at")),
                category=data.get("category"),
                address=str(data.get("address") or ""),
                description=str(data.get("description") or ""),
                lat=float(lat) if isinstance(lat, int | float) else None,
                lon=float(lon) if isinstance(lon, int | float) else None,
                inspection_state=r["inspection_state"],
            )
        )

    def key(task: TaskRow) -> tuple[int, int, str, str]:
        due = task.due_at.isoformat() if task.due_at else ""
        return (task.state != "open", task.due_at is None, due, task.id)

    return sorted(tasks, key=key)


def task_counts(tasks: list[TaskRow], now: datetime) -> tuple[int, int]:
    """(open, overdue)."""
    open_tasks = [t for t in tasks if t.state == "open"]
    return len(open_tasks), sum(1 for t in open_tasks if t.overdue(now))


def make_preview(source: Path, dest: Path) -> Path:
    """A small JPEG of a photo for the thumbnail strip (run it off the UI thread)."""
    with Image.open(source) as img:
        img.draft("RGB", (PREVIEW_EDGE * 2, PREVIEW_EDGE * 2))
        upright = ImageOps.exif_transpose(img)
        small = upright.convert("RGB")
        small.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=80)
    atomic_write_bytes(dest, out.getvalue(), what="a photo preview")
    return dest


class TaskFlow:
    """Recording one task's result: after photos, rectified or not, a note."""

    def __init__(
        self,
        *,
        capture: Capture,
        reader: LocalReader,
        task_id: str,
        max_photos: int = 6,
    ) -> None:
        self.capture = capture
        self.store = capture.store
        task = next((t for t in load_tasks(reader) if t.id == task_id), None)
        if task is None:
            raise LookupError(f"task {task_id} is not on this tablet")
        self.task = task
        self.max_photos = min(max_photos, MAX_PHOTOS_PER_REPORT)
        saved: dict[str, Any] = self.store.kv_get(self._key) or {}
        self.photos: list[Path] = [Path(p) for p in saved.get("photos", []) if Path(p).exists()]
        self.note: str = str(saved.get("note", ""))

    @property
    def _key(self) -> str:
        return TASK_KEY_PREFIX + self.task.id

    def _remember(self) -> None:
        with self.store.transaction() as tx:
            tx.kv_set(self._key, {"photos": [str(p) for p in self.photos], "note": self.note})

    def add_photo(self, path: Path) -> None:
        if self.task.state != "open":
            raise CaptureError("this task is already done")
        if len(self.photos) >= self.max_photos:
            raise CaptureError(f"at most {self.max_photos} photos")
        probe_image(path, path.name)  # ImageRejected now, not when recording
        self.photos.append(path)
        self._remember()

    def remove_photo(self, path: Path) -> None:
        self.photos = [p for p in self.photos if p != path]
        self._remember()

    def set_note(self, note: str) -> None:
        self.note = note
        self._remember()

    def record(self, *, rectified: bool, location: Fix | None = None) -> str:
        """Record the result (one transaction with its outbox operation); the inspection id."""
        inspection_id = self.capture.record_verification(
            self.task.id,
            rectified=rectified,
            note=self.note,
            photos=list(self.photos),
            location=None if location is None else location.point(),
        )
        with self.store.transaction() as tx:
            tx.kv_delete(self._key)
        return inspection_id
