"""Cases, case events (the timeline and audit trail) and photos."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text
from sqlmodel import Field, SQLModel

from server.core.clock import utcnow
from server.core.types import StrEnumType, UTCDateTime
from shared_schemas.enums import CaseStatus, LocationSource, MediaType, Severity


class Case(SQLModel, table=True):
    """One hazard. The id is the report id made on the tablet at capture time.

    The observation fields belong to the inspector until registration; the workflow
    fields (status, department, deadline) belong to the server (design.md, sync rule 6).
    """

    __tablename__ = "hazard_case"
    __table_args__ = (
        Index("ix_hazard_case_status_created", "status", "created_at"),
        Index("ix_hazard_case_lat_lon", "lat", "lon"),
        # text_pattern_ops: PostgreSQL serves `area_path LIKE '/1/4/%'` (scope and area
        # filters) from the index whatever the database's collation (a plain index only
        # under the "C" collation); other dialects ignore the option.
        Index(
            "ix_hazard_case_area_path",
            "area_path",
            postgresql_ops={"area_path": "text_pattern_ops"},
        ),
    )

    id: UUID = Field(primary_key=True)
    # The observation
    category_code: str = Field(
        sa_column_args=[ForeignKey("category.code")], max_length=40, index=True
    )
    severity: Severity = Field(sa_type=StrEnumType(Severity, 10))
    description: str = Field(default="", sa_type=Text)
    observed_at: datetime = Field(sa_type=UTCDateTime)
    lat: float
    lon: float
    accuracy_m: float
    location_source: LocationSource = Field(sa_type=StrEnumType(LocationSource, 10))
    location_captured_at: datetime = Field(sa_type=UTCDateTime)
    area_id: int = Field(sa_column_args=[ForeignKey("area.id")], index=True)
    # Copy of the area's path: scope checks are a prefix match without a join.
    area_path: str = Field(max_length=400)
    address: str = Field(default="", max_length=200)
    reporter_id: UUID = Field(sa_column_args=[ForeignKey("user_account.id")], index=True)
    device_id: str | None = Field(default=None, max_length=64)
    photos_expected: int = 0
    photos_received: int = 0
    # The workflow
    status: CaseStatus = Field(default=CaseStatus.REPORTED, sa_type=StrEnumType(CaseStatus, 20))
    department_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisation.id"), index=True)
    )
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    duplicate_of_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("hazard_case.id")], index=True
    )
    rework_count: int = 0
    registered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rectified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped by every change: concurrent writers compare-and-set on it (409 on mismatch).
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseEvent(SQLModel, table=True):
    """One step of a case's timeline: who did what, when, with before/after values.
    Events are only ever appended, so the timeline replays to the current state."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: UUID = Field(
        sa_column_args=[ForeignKey("hazard_case.id", ondelete="CASCADE")], index=True
    )
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: UUID | None = Field(default=None, sa_column_args=[ForeignKey("user_account.id")])
    action: str = Field(max_length=40)
    from_status: CaseStatus | None = Field(default=None, sa_type=StrEnumType(CaseStatus, 20))
    to_status: CaseStatus | None = Field(default=None, sa_type=StrEnumType(CaseStatus, 20))
    note: str = Field(default="", sa_type=Text)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Photo(SQLModel, table=True):
    """A photo declared by a report (or an event), and whether its bytes have arrived."""

    __tablename__ = "photo"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(
        sa_column_args=[ForeignKey("hazard_case.id", ondelete="CASCADE")], index=True
    )
    event_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("case_event.id"), index=True)
    )
    kind: str = Field(default="before", max_length=20)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    media_type: MediaType = Field(sa_type=StrEnumType(MediaType, 20))
    width: int
    height: int
    taken_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    storage_key: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
