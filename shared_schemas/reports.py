"""Hazard reports: the payloads of report.create, report.amend and inspection.create."""

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from shared_schemas.common import AreaCode, AwareDatetime, LongText, ShortText, WireModel
from shared_schemas.enums import Severity
from shared_schemas.geo import GeoPoint
from shared_schemas.photos import PhotoDescriptor
from shared_schemas.taxonomy import CategoryCode

MAX_PHOTOS_PER_REPORT = 12

PhotoList = Annotated[list[PhotoDescriptor], Field(max_length=MAX_PHOTOS_PER_REPORT)]
# A report always has at least one photo: create needs one, and an amend that replaces the
# photos may not leave the report without any.
NonEmptyPhotoList = Annotated[
    list[PhotoDescriptor], Field(min_length=1, max_length=MAX_PHOTOS_PER_REPORT)
]


def _unique_photo_ids(photos: list[PhotoDescriptor] | None) -> None:
    if photos is not None and len({p.id for p in photos}) != len(photos):
        raise ValueError("photos: the same photo id appears twice")


class HazardReport(WireModel):
    """report.create payload: the observation the inspector owns until registration."""

    id: UUID
    category: CategoryCode
    severity: Severity
    description: LongText = ""
    observed_at: AwareDatetime
    location: GeoPoint
    grid: AreaCode
    address: ShortText = ""
    photos: NonEmptyPhotoList

    @model_validator(mode="after")
    def _check_photos(self) -> "HazardReport":
        _unique_photo_ids(self.photos)
        return self


class ReportAmend(WireModel):
    """report.amend payload: only the fields present change (None means unchanged)."""

    id: UUID
    category: CategoryCode | None = None
    severity: Severity | None = None
    description: LongText | None = None
    location: GeoPoint | None = None
    grid: AreaCode | None = None
    address: ShortText | None = None
    photos: NonEmptyPhotoList | None = None

    @model_validator(mode="after")
    def _check(self) -> "ReportAmend":
        _unique_photo_ids(self.photos)
        changed = [f for f in self.model_fields_set - {"id"} if getattr(self, f) is not None]
        if not changed:
            raise ValueError("an amend must change at least one field (null means unchanged)")
        return self


class InspectionResult(WireModel):
    """inspection.create payload: the result of an on-site verification or re-inspection."""

    id: UUID
    task_id: UUID
    case_id: UUID
    rectified: bool
    note: LongText = ""
    inspected_at: AwareDatetime
    location: GeoPoint | None = None
    photos: PhotoList = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_photos(self) -> "InspectionResult":
        _unique_photo_ids(self.photos)
        return self
