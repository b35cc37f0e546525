"""Workflow actions from admin forms: form values -> TransitionRequest, the service's errors
-> sentences in the user's language, bulk results -> flash messages."""

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlmodel import Session

from server.admin.auth import push_flash
from server.admin.context import AdminContext
from server.admin.words import action_label, status_label
from server.core.errors import ApiError, validation_details, validation_message
from server.workflow.rules import Action
from server.workflow.schemas import BulkResult, TransitionRequest
from server.workflow.service import apply_bulk, apply_transition
from shared_schemas.enums import CaseStatus

DEADLINE_TIME = time(23, 59)  # a deadline given as a day means the end of that day


def short_id(case_id: UUID | str) -> str:
    return str(case_id)[:8]


def deadline_from_day(text: str, tz: tzinfo) -> datetime | None:
    """'2026-06-30' -> 2026-06-30 23:59 local; '' -> None (the service's default)."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ApiError(
            422,
            "validation_error",
            "deadline: not a date (YYYY-MM-DD)",
            [{"field": "deadline", "message": "not a date", "type": "value_error"}],
        ) from exc
    return datetime.combine(day, DEADLINE_TIME, tzinfo=tz)


def uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text.strip()) if text.strip() else None
    except ValueError as exc:
        raise ApiError(
            422,
            "validation_error",
            "duplicate_of: not a case number",
            [{"field": "duplicate_of", "message": "not a case id", "type": "value_error"}],
        ) from exc


def build_request(**values: Any) -> TransitionRequest:
    """A TransitionRequest from form values; pydantic's refusals become a 422 ApiError
    (shown on the page like the service's own 422s)."""
    try:
        return TransitionRequest.model_validate(values)
    except ValidationError as exc:
        details = validation_details(exc.errors())
        raise ApiError(422, "validation_error", validation_message(details), details) from exc


@dataclass(frozen=True)
class Problem:
    """A refused action, said for people."""

    text: str
    status: CaseStatus | None = None  # the case's state now (409), to show it


def describe_error(ctx: AdminContext, exc: ApiError | dict[str, Any], *, action: str) -> Problem:
    if isinstance(exc, ApiError):
        code, message, details = exc.code, exc.message, exc.details
    else:
        code, message, details = exc["code"], exc["message"], exc.get("details")
    info = details if isinstance(details, dict) else {}
    status = CaseStatus(info["status"]) if info.get("status") in set(CaseStatus) else None
    t, locale = ctx.t, ctx.locale
    verb = action_label(locale, action) if action in set(Action) else action
    if code == "version_conflict" and status is not None:
        return Problem(t("wf.error.version", status=status_label(locale, status)), status)
    if code == "invalid_transition" and status is not None:
        return Problem(
            t("wf.error.state", status=status_label(locale, status), action=verb), status
        )
    if code == "forbidden":
        return Problem(t("wf.error.forbidden", action=verb, message=message), status)
    if code == "not_found":
        return Problem(t("error.not_found"))
    if code == "validation_error":
        return Problem(t("error.invalid", message=message))
    return Problem(message)


def flash_bulk_results(
    session: Session, ctx: AdminContext, *, action: Action, results: list[BulkResult]
) -> None:
    done = [r for r in results if r.ok]
    failed = [r for r in results if not r.ok]
    verb = action_label(ctx.locale, action)
    if done:
        push_flash(
            session, row=ctx.row, level="ok", text=ctx.t("wf.bulk.done", n=len(done), action=verb)
        )
    for result in failed:
        problem = (
            describe_error(ctx, result.error.model_dump(), action=action.value)
            if result.error
            else Problem(ctx.t("error.server"))
        )
        push_flash(
            session,
            row=ctx.row,
            level="error",
            text=ctx.t("wf.bulk.failed", case=short_id(result.case_id), reason=problem.text),
        )


def run_bulk(
    session: Session, ctx: AdminContext, *, case_ids: list[UUID], request: TransitionRequest
) -> list[BulkResult]:
    """apply_bulk, commit, and leave the outcome as flash messages for the next page."""
    if not case_ids:
        push_flash(session, row=ctx.row, level="warn", text=ctx.t("wf.bulk.none"))
        session.commit()
        return []
    results = apply_bulk(
        session, user=ctx.user, scope=ctx.scope, case_ids=case_ids, request=request
    )
    session.commit()
    flash_bulk_results(session, ctx, action=request.action, results=results)
    session.commit()
    return results


def run_single(
    session: Session,
    ctx: AdminContext,
    *,
    case_id: UUID,
    request: TransitionRequest,
) -> Problem | None:
    """One action from a form: applied and committed with a success message, or rolled
    back with the refusal said for people (returned, and left as a flash message)."""
    verb = action_label(ctx.locale, request.action)
    try:
        case = apply_transition(
            session, user=ctx.user, scope=ctx.scope, case_id=case_id, request=request
        )
        session.commit()
    except ApiError as exc:
        session.rollback()
        return flash_refusal(session, ctx, case_id=case_id, action=request.action, exc=exc)
    push_flash(
        session,
        row=ctx.row,
        level="ok",
        text=ctx.t(
            "wf.single.done",
            case=short_id(case_id),
            action=verb,
            status=status_label(ctx.locale, case.status),
        ),
    )
    session.commit()
    return None


def flash_refusal(
    session: Session, ctx: AdminContext, *, case_id: UUID, action: Action, exc: ApiError
) -> Problem:
    """Leave a refused action's reason for the next page (and commit that message)."""
    problem = describe_error(ctx, exc, action=action.value)
    push_flash(
        session,
        row=ctx.row,
        level="error",
        text=ctx.t(
            "wf.single.failed",
            case=short_id(case_id),
            action=action_label(ctx.locale, action),
            reason=problem.text,
        ),
    )
    session.commit()
    return problem
