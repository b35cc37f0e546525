"""Devices (with their latest reported backlog), processed sync operations, the change
log that pull reads, and verification tasks."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Text
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


# ---------------------------------------------------------------- change log (pull)


class ChangeEntity(StrEnum):
    """What a change_log row is about (the `entity` of a pulled change)."""

    CASE = "case"
    TASK = "task"
    TAXONOMY = "taxonomy"
    AREA = "area"


class SyncCounter(SQLModel, table=True):
    """The change-sequence counter: one row (id 1). Allocating a seq updates this row, so
    on PostgreSQL the row lock serialises allocators until commit: seq order is commit
    order (a puller never skips a change that committed late). Created on first use."""

    __tablename__ = "sync_counter"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ChangeLog(SQLModel, table=True):
    """One change to an entity a tablet may pull. The scope columns are copies taken at
    change time, so pull filters without joins (the same rules as server/accounts/scope)."""

    __tablename__ = "change_log"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    entity: ChangeEntity = Field(sa_type=StrEnumType(ChangeEntity, 20))
    # A UUID for cases and tasks, the code for taxonomy categories and areas.
    entity_id: str = Field(max_length=64)
    area_path: str | None = Field(default=None, max_length=400)
    department_id: int | None = Field(default=None)
    # Not indexed: pull reads the log by seq range (the primary key) and filters the rest.
    assignee_id: UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# ---------------------------------------------------------------- verification tasks


class TaskKind(StrEnum):
    VERIFICATION = "verification"  # 核查: is the rectification real?
    REINSPECTION = "reinspection"  # 回头看: has the hazard come back?


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class VerificationTask(SQLModel, table=True):
    """An on-site check assigned to an inspector or patrol, pulled by their tablet and
    answered by an inspection.create operation (minimal; the workflow extends it)."""

    __tablename__ = "verification_task"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(
        sa_column_args=[ForeignKey("hazard_case.id", ondelete="CASCADE")], index=True
    )
    assignee_id: UUID = Field(sa_column_args=[ForeignKey("user_account.id")], index=True)
    kind: TaskKind = Field(sa_type=StrEnumType(TaskKind, 20))
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: TaskStatus = Field(default=TaskStatus.OPEN, sa_type=StrEnumType(TaskStatus, 20))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The inspection.create payload id that answered the task (a re-sent one is a duplicate).
    inspection_id: UUID | None = Field(default=None)
    result_rectified: bool | None = None
    result_note: str | None = Field(default=None, sa_type=Text)
