"""The New report flow without Kivy: a draft in the local store, edited field by field.

Every change is written to the store at once (``Capture.update_draft`` and friends), so
an interrupted flow (the app closed, a phone call, a flat battery) resumes where it
stopped: the draft id and what the draft row has no column for (building, the free-text
part of the address, whether the severity was picked by hand) are kept in the store's
``kv`` under :data:`DRAFT_KEY`. The draft row itself is made lazily, by the first thing
the inspector enters, so opening and leaving the screen leaves nothing behind.

:meth:`ReportForm.save` submits (one transaction: the report is ``queued`` with its
``report.create`` operation) and returns at once; photo processing is already running on
the photo worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from inspector_app.core.capture import Capture, CaptureError
from inspector_app.core.store import Report
from inspector_app.viewmodels.area_choices import (
    AreaChoice,
    area_choices,
    nearest_compound,
)
from inspector_app.viewmodels.categories import (
    CategoryGroupView,
    CategoryTile,
    append_phrase,
    category_index,
    load_categories,
)
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.location_fix import (
    DEFAULT_PATIENCE_S,
    DEFAULT_TARGET_M,
    Fix,
    LocationTracker,
)
from shared_schemas.reports import MAX_PHOTOS_PER_REPORT

log = logging.getLogger(__name__)

DRAFT_KEY = "screens.new_report"
DEFAULT_MAX_PHOTOS = 6
ADDRESS_JOIN = " · "


@dataclass(frozen=True)
class PhotoItem:
    photo_id: str
    thumb: Path | None  # None until processing made the thumbnail
    processed: bool
    error: str | None


def compose_address(building: str, address: str) -> str:
    """The report's address: the building, then the free text ('3号楼 · 东侧入口')."""
    parts = [p.strip() for p in (building, address) if p.strip()]
    return ADDRESS_JOIN.join(parts)


class ReportForm:
    """One New report flow. Not thread-safe except :meth:`attach_photo`, which a screen
    runs on a worker thread (it copies and fsyncs the original)."""

    def __init__(
        self,
        *,
        capture: Capture,
        reader: LocalReader,
        account_areas: Iterable[Mapping[str, Any]] = (),
        max_photos: int = DEFAULT_MAX_PHOTOS,
        target_accuracy_m: float = DEFAULT_TARGET_M,
        gps_patience_s: float = DEFAULT_PATIENCE_S,
    ) -> None:
        if not 1 <= max_photos <= MAX_PHOTOS_PER_REPORT:
            raise ValueError(f"max_photos must be between 1 and {MAX_PHOTOS_PER_REPORT}")
        self.capture = capture
        self.store = capture.store
        self.reader = reader
        self.max_photos = max_photos
        self.groups: list[CategoryGroupView] = load_categories(reader)
        self._tiles = category_index(self.groups)
        self.areas: list[AreaChoice] = area_choices(account_areas, reader)
        self._target_m = target_accuracy_m
        self._patience_s = gps_patience_s
        self.tracker = self._new_tracker()
        self.report_id: str | None = None
        self.category: str | None = None
        self.severity: str | None = None
        self.severity_chosen = False
        self.description = ""
        self.area_code: str | None = None
        self.building = ""
        self.address = ""
        self.resumed = False

    # ------------------------------------------------------------ open / resume
    def open(self, report_id: str | None = None) -> bool:
        """Resume ``report_id`` or the interrupted draft; True when a draft was resumed.

        With no draft to resume the form starts empty (and preselects the only area).
        """
        pointer: dict[str, Any] = self.store.kv_get(DRAFT_KEY) or {}
        wanted = report_id or pointer.get("report_id")
        report = self.store.get_report(wanted) if wanted else None
        if report is None or report.state != "draft":
            if pointer:
                self._forget_pointer()
            if len(self.areas) == 1:
                self.area_code = self.areas[0].code
            self.tracker = self._new_tracker()
            return False
        self._load(report, pointer if pointer.get("report_id") == report.id else {})
        self.resumed = True
        return True

    def _load(self, report: Report, ui: Mapping[str, Any]) -> None:
        self.report_id = report.id
        self.category = report.category
        self.severity_chosen = bool(ui.get("severity_chosen", report.severity is not None))
        tile = self._tiles.get(report.category or "")
        # shown: the category's default until one is picked (submit applies the same)
        self.severity = report.severity or (tile.default_severity if tile else None)
        self.description = report.description
        self.area_code = report.grid
        if "address" in ui or "building" in ui:
            self.building = str(ui.get("building", ""))
            self.address = str(ui.get("address", ""))
        else:  # a draft opened from the list on another start: its address as typed
            self.building, self.address = "", report.address
        self.tracker = self._new_tracker()
        if report.has_location:
            assert report.lat is not None and report.lon is not None  # noqa: S101
            assert report.accuracy_m is not None  # noqa: S101
            assert report.location_captured_at is not None  # noqa: S101
            self.tracker.restore(
                Fix(
                    lat=report.lat,
                    lon=report.lon,
                    accuracy_m=report.accuracy_m,
                    at=report.location_captured_at,
                    source=report.location_source or "gps",
                )
            )
        self._remember()

    def _new_tracker(self) -> LocationTracker:
        return LocationTracker(
            target_m=self._target_m, patience_s=self._patience_s, started_at=self.store.clock()
        )

    def _remember(self) -> None:
        if self.report_id is None:
            return
        with self.store.transaction() as tx:
            tx.kv_set(
                DRAFT_KEY,
                {
                    "report_id": self.report_id,
                    "building": self.building,
                    "address": self.address,
                    "severity_chosen": self.severity_chosen,
                },
            )

    def _forget_pointer(self) -> None:
        with self.store.transaction() as tx:
            tx.kv_delete(DRAFT_KEY)

    def ensure_draft(self) -> str:
        """The draft's id, making the draft row on first use."""
        if self.report_id is None:
            self.report_id = self.capture.create_draft(
                category=self.category,
                severity=self.severity,
                description=self.description,
                grid=self.area_code,
                address=compose_address(self.building, self.address),
            )
            self._remember()
            if self.tracker.chosen is not None:
                self._store_location(self.tracker.chosen)
        return self.report_id

    # ------------------------------------------------------------ fields
    def tile(self, code: str | None) -> CategoryTile | None:
        return self._tiles.get(code or "")

    def choose_category(self, code: str) -> None:
        tile = self._tiles.get(code)
        if tile is None:
            raise CaptureError(f"category {code} is not available")
        self.category = code
        if not self.severity_chosen:
            self.severity = tile.default_severity
        self.capture.update_draft(self.ensure_draft(), category=code, severity=self.severity)

    def choose_severity(self, severity: str) -> None:
        self.capture.update_draft(self.ensure_draft(), severity=severity)
        self.severity = severity
        self.severity_chosen = True
        self._remember()

    def set_description(self, text: str) -> None:
        if text == self.description:
            return
        self.capture.update_draft(self.ensure_draft(), description=text)
        self.description = text

    def add_phrase(self, phrase: str, *, lang: str) -> str:
        text = append_phrase(self.description, phrase, lang=lang)
        self.set_description(text)
        return text

    def choose_area(self, code: str) -> None:
        if code not in {a.code for a in self.areas}:
            raise CaptureError(f"area {code} is not one of your areas")
        self.capture.update_draft(self.ensure_draft(), grid=code)
        self.area_code = code

    def area(self) -> AreaChoice | None:
        return next((a for a in self.areas if a.code == self.area_code), None)

    def set_building(self, text: str) -> None:
        self._set_address_parts(text, self.address)

    def set_address(self, text: str) -> None:
        self._set_address_parts(self.building, text)

    def _set_address_parts(self, building: str, address: str) -> None:
        if (building, address) == (self.building, self.address):
            return
        self.capture.update_draft(self.ensure_draft(), address=compose_address(building, address))
        self.building, self.address = building, address
        self._remember()

    # ------------------------------------------------------------ photos
    @property
    def photo_count(self) -> int:
        if self.report_id is None:
            return 0
        return len(self.store.photos_of(report_id=self.report_id))

    def can_add_photo(self) -> bool:
        return self.photo_count < self.max_photos

    def attach_photo(self, source: Path | str | bytes) -> str:
        """Copy a photo into the draft (durable); processing starts in the background.

        Raises CaptureError when the configured number of photos is reached,
        ImageRejected for a file that is not a photo, StorageFullError on a full disk.
        """
        report_id = self.ensure_draft()
        if len(self.store.photos_of(report_id=report_id)) >= self.max_photos:
            raise CaptureError(f"at most {self.max_photos} photos per report")
        return self.capture.attach_photo(report_id, source)

    def remove_photo(self, photo_id: str) -> None:
        self.capture.remove_photo(photo_id)

    def photos(self) -> list[PhotoItem]:
        if self.report_id is None:
            return []
        items = []
        for photo in self.store.photos_of(report_id=self.report_id):
            thumb = self.capture.photo_path(photo, which="thumb") if photo.processed else None
            items.append(PhotoItem(photo.id, thumb, photo.processed, photo.process_error))
        return items

    # ------------------------------------------------------------ location
    def on_fix(self, fix: Fix) -> bool:
        """A GPS fix arrived; True when it was taken as the report's location."""
        taken = self.tracker.on_fix(fix)
        if taken is None:
            return False
        self._store_location(taken)
        return True

    def use_anyway(self) -> Fix:
        fix = self.tracker.use_anyway()
        self._store_location(fix)
        return fix

    def pin(self, *, lat: float, lon: float, accuracy_m: float) -> Fix:
        fix = self.tracker.pin(lat=lat, lon=lon, accuracy_m=accuracy_m, at=self.store.clock())
        self._store_location(fix)
        return fix

    def typed(self, *, lat: float, lon: float) -> Fix:
        fix = self.tracker.typed(lat=lat, lon=lon, at=self.store.clock())
        self._store_location(fix)
        return fix

    def _store_location(self, fix: Fix) -> None:
        report_id = self.ensure_draft()
        self.capture.set_location(
            report_id,
            lat=fix.lat,
            lon=fix.lon,
            accuracy_m=fix.accuracy_m,
            source=fix.source,
            captured_at=fix.at,
        )
        if self.area_code is None:  # suggest the compound the inspector stands in
            near = nearest_compound(self.areas, fix.lat, fix.lon)
            if near is not None:
                self.choose_area(near.code)

    # ------------------------------------------------------------ save
    def missing(self) -> list[str]:
        """What Save still needs, as codes (category, photo, location, grid)."""
        gaps = []
        if self.category is None:
            gaps.append("category")
        if self.photo_count == 0:
            gaps.append("photo")
        if self.tracker.chosen is None:
            gaps.append("location")
        if self.area_code is None:
            gaps.append("grid")
        return gaps

    def save(self) -> str:
        """Submit the draft (durable at once); returns the report id.

        Raises SubmitError (what is missing) or CaptureError; the draft stays then.
        """
        report_id = self.ensure_draft()
        self.capture.submit(report_id)
        self._forget_pointer()
        self.report_id = None
        return report_id

    def discard(self) -> None:
        """Delete the draft and its photos."""
        if self.report_id is not None:
            self.capture.discard_draft(self.report_id)
        self._forget_pointer()
        self.report_id = None

    def observed_at(self) -> datetime | None:
        if self.report_id is None:
            return None
        report = self.store.get_report(self.report_id)
        return None if report is None else report.observed_at
