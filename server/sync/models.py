"""Devices (with their latest reported backlog) and processed sync operations."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlmodel import Field, SQLModel

from server.core.clock import utcnow
from server.core.types import StrEnumType, UTCDateTime
from shared_schemas.enums import OperationKind, OperationStatus


class Device(SQLModel, table=True):
    """A tablet, as last reported by its own push (design.md sync rule 8)."""

    __tablename__ = "device"

    id: str = Field(primary_key=True, max_length=64)
    user_id: UUID | None = Field(
        default=None, sa_column_args=[ForeignKey("user_account.id")], index=True
    )
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    app_version: str = Field(default="", max_length=200)
    queue_depth: int = 0
    oldest_pending_s: int = 0
    photos_pending: int = 0
    last_error: str | None = Field(default=None, max_length=200)
    free_bytes: int | None = Field(default=None, sa_type=BigInteger)
    rejected_ops: int = 0


class ProcessedOperation(SQLModel, table=True):
    """Each applied (device_id, op_id) with its result: a replay returns the same result."""

    __tablename__ = "sync_operation"
    __table_args__ = (Index("ix_sync_operation_entity", "entity_id"),)

    device_id: str = Field(primary_key=True, max_length=64)
    op_id: UUID = Field(primary_key=True)
    seq: int
    kind: OperationKind = Field(sa_type=StrEnumType(OperationKind, 30))
    entity_id: UUID
    user_id: UUID = Field(sa_column_args=[ForeignKey("user_account.id")])
    status: OperationStatus = Field(sa_type=StrEnumType(OperationStatus, 20))
    code: str | None = Field(default=None, max_length=60)
    message: str | None = Field(default=None, max_length=500)
    case_id: UUID | None = None
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
