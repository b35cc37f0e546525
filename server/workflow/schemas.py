"""Request and response shapes of the workflow endpoints (server API, not synced)."""

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from server.cases.schemas import CaseSummary
from server.workflow.rules import Action
from shared_schemas.common import AwareDatetime, LongText, WireModel
from shared_schemas.enums import CaseStatus
from shared_schemas.errors import ErrorBody

MAX_TRANSITION_PHOTOS = 12
MAX_BULK_CASES = 200

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Username = Annotated[str, Field(min_length=1, max_length=64)]


class TransitionRequest(WireModel):
    """One action on a case. Fields an action does not use must be left out (422)."""

    action: Action
    note: LongText = Field(default="", description="reason or remark; required by some actions")
    department: Code | None = Field(
        default=None,
        description="dispatch: the department's organisation code (default: the category's)",
    )
    deadline: AwareDatetime | None = Field(
        default=None,
        description="dispatch: the deadline (default: category and severity); "
        "extend_deadline: the new, later deadline; order_verification: the task's due date",
    )
    duplicate_of: UUID | None = Field(default=None, description="mark_duplicate: the original")
    assignee: Username | None = Field(
        default=None,
        description="order_verification: the inspector's username (default: chosen among the "
        "inspectors of the case's grid, the least busy first)",
    )
    photo_ids: list[UUID] = Field(
        default_factory=list,
        max_length=MAX_TRANSITION_PHOTOS,
        description="photos of this case not yet attached to a step (e.g. after photos)",
    )
    expected_version: int | None = Field(
        default=None,
        ge=1,
        description="the case version the caller saw: 409 version_conflict if it moved on",
    )

    @field_validator("department", "assignee", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # An empty form field means "not given" (the admin posts every field).
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("photo_ids")
    @classmethod
    def _unique(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("the same photo id appears twice")
        return value


class BulkTransitionRequest(WireModel):
    case_ids: list[UUID] = Field(min_length=1, max_length=MAX_BULK_CASES)
    transition: TransitionRequest


class BulkResult(BaseModel):
    """One case of a bulk action: applied (with the new state) or the error it got."""

    case_id: UUID
    ok: bool
    status: CaseStatus | None = None
    version: int | None = None
    error: ErrorBody | None = None


class BulkResponse(BaseModel):
    results: list[BulkResult]


class ActionOut(BaseModel):
    action: Action
    label_zh: str
    label_en: str
    to_status: CaseStatus | None = Field(description="null: the state does not change")
    fields: list[str] = Field(description="request fields this action uses besides note")
    needs: list[str]
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="prefill values, e.g. dispatch's department/deadline"
    )


class ActionsOut(BaseModel):
    case_id: UUID
    status: CaseStatus
    version: int
    actions: list[ActionOut]


class DuplicateCandidate(CaseSummary):
    distance_m: float


class DuplicatesOut(BaseModel):
    radius_m: float
    window_days: int
    items: list[DuplicateCandidate]
