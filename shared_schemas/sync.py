"""Sync push and pull: operations, per-operation results, device status, changes."""

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from shared_schemas.common import (
    AwareDatetime,
    Count,
    DeviceId,
    ShortText,
    TolerantModel,
    WireModel,
)
from shared_schemas.enums import OperationKind, OperationStatus
from shared_schemas.reports import HazardReport, InspectionResult, ReportAmend
from shared_schemas.version import SCHEMA_VERSION

MAX_OPS_PER_PUSH = 500  # clients send ~100; the server refuses more than this
MAX_PULL_LIMIT = 1000

PAYLOAD_MODELS: dict[OperationKind, type[WireModel]] = {
    OperationKind.REPORT_CREATE: HazardReport,
    OperationKind.REPORT_AMEND: ReportAmend,
    OperationKind.INSPECTION_CREATE: InspectionResult,
}


class SyncOperation(WireModel):
    """One outbox operation. The payload is kept raw here and validated per operation,
    so one bad payload is rejected alone instead of failing the whole batch."""

    op_id: UUID
    seq: int = Field(ge=0)
    kind: OperationKind
    entity_id: UUID
    payload: dict[str, Any]
    created_at: AwareDatetime

    def parsed_payload(self) -> WireModel:
        """Validate the payload for this kind (raises pydantic.ValidationError)."""
        model = PAYLOAD_MODELS[self.kind].model_validate(self.payload)
        payload_id = getattr(model, "id", None)
        if payload_id != self.entity_id:
            raise ValidationError.from_exception_data(
                type(model).__name__,
                [
                    {
                        "type": PydanticCustomError(
                            "entity_mismatch", "payload.id must equal entity_id"
                        ),
                        "loc": ("id",),
                        "input": str(payload_id),
                    }
                ],
            )
        return model


class DeviceStatus(WireModel):
    """What the tablet says about its queue on every push (the 'sync backlog')."""

    app_version: ShortText
    queue_depth: Count
    oldest_pending_s: Count
    photos_pending: Count
    last_error: ShortText | None = None
    free_bytes: Count | None = None


class PushRequest(WireModel):
    device_id: DeviceId
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    ops: Annotated[list[SyncOperation], Field(max_length=MAX_OPS_PER_PUSH)]
    device_status: DeviceStatus

    @model_validator(mode="after")
    def _unique_ops(self) -> "PushRequest":
        if len({op.op_id for op in self.ops}) != len(self.ops):
            raise ValueError("ops: the same op_id appears twice in one batch")
        return self


class OperationResult(TolerantModel):
    op_id: UUID
    status: OperationStatus
    code: str | None = None
    message: str | None = None
    case_id: UUID | None = None


class PushResponse(TolerantModel):
    results: list[OperationResult]
    server_time: AwareDatetime


ChangeEntity = Literal["case", "task", "taxonomy", "area"]


class PullChange(TolerantModel):
    seq: int
    entity: ChangeEntity
    entity_id: str
    op: Literal["upsert", "delete"] = "upsert"
    data: dict[str, Any] = Field(default_factory=dict)


class PullResponse(TolerantModel):
    changes: list[PullChange]
    cursor: int = Field(ge=0)
    has_more: bool
