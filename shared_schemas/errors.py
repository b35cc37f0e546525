"""The error envelope every API error uses: {"error": {"code", "message", "details"}}."""

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str
    type: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[FieldError] | dict[str, Any] | None = None


class ErrorEnvelope(BaseModel):
    error: ErrorBody
