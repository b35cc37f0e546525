"""Response and filter shapes of the case endpoints (server-side API, not synced)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from shared_schemas.enums import CaseStatus, CategoryGroup, LocationSource, MediaType, Severity


class CaseFilters(BaseModel):
    """Filters shared by the case list, the map and the exports."""

    status: list[CaseStatus] = []
    category: list[str] = []
    group: CategoryGroup | None = None
    area: str | None = Field(default=None, description="area code; includes the areas inside it")
    department: str | None = Field(default=None, description="department code")
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = Field(default=None, max_length=100, description="text in description/address")


class CaseSummary(BaseModel):
    id: UUID
    category: str
    severity: Severity
    status: CaseStatus
    description: str
    address: str
    area_code: str
    lat: float
    lon: float
    department: str | None
    deadline: datetime | None
    overdue: bool
    photos_expected: int
    photos_received: int
    reporter: str
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class PhotoOut(BaseModel):
    id: UUID
    kind: str
    sha256: str
    size_bytes: int
    media_type: MediaType
    width: int
    height: int
    taken_at: datetime
    received: bool
    url: str
    thumb_url: str
    # The case the photo belongs to: the original's detail also shows its duplicates' photos.
    case_id: UUID | None = None


class EventOut(BaseModel):
    at: datetime
    actor: str | None
    action: str
    from_status: CaseStatus | None
    to_status: CaseStatus | None
    note: str
    changes: dict[str, Any]


class CaseDetail(CaseSummary):
    observed_at: datetime
    accuracy_m: float
    location_source: LocationSource
    duplicate_of: UUID | None
    # Cases marked as duplicates of this one (their photos are listed under `photos`).
    duplicates: list[UUID] = []
    rework_count: int
    version: int
    photos: list[PhotoOut]
    timeline: list[EventOut]


class AddedPhotos(BaseModel):
    """POST /cases/{id}/photos: the photos made, for the next transition's `photo_ids`."""

    photos: list[PhotoOut]
