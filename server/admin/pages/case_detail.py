"""One case: photos, map, timeline, and the actions this user may take in this state."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.admin.case_page import case_page_data
from server.admin.deps import AdminCtx
from server.admin.templating import render
from server.admin.words import STATUS_COLOURS
from server.admin.workflow_ui import (
    build_request,
    deadline_from_day,
    flash_refusal,
    run_single,
    uuid_or_none,
)
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.workflow.rules import (
    FIELD_ASSIGNEE,
    FIELD_DEADLINE,
    FIELD_DEPARTMENT,
    FIELD_DUPLICATE_OF,
    RULES,
    Action,
)

router = APIRouter()


@router.get("/cases/{case_id}")
def case_page(case_id: UUID, request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    data = case_page_data(session, ctx, case_id=case_id, now=utcnow())
    return render(
        request,
        "case.html",
        active="cases",
        data=data,
        c=data.case,
        status_colour=STATUS_COLOURS[data.case.status],
    )


@router.post("/cases/{case_id}/transition")
def transition(
    case_id: UUID,
    ctx: AdminCtx,
    session: SessionDep,
    action: Annotated[Action, Form()],
    expected_version: Annotated[int | None, Form(ge=1)] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    department: Annotated[str, Form(max_length=40)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
    duplicate_of: Annotated[str, Form(max_length=40)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Only the fields this action uses are passed on (the service refuses others)."""
    fields = RULES[action].fields
    values: dict[str, object] = {
        "action": action,
        "note": note,
        "expected_version": expected_version,
    }
    try:
        if FIELD_DEPARTMENT in fields:
            values["department"] = department or None
        if FIELD_DEADLINE in fields:
            values["deadline"] = deadline_from_day(deadline, ctx.tz)
        if FIELD_DUPLICATE_OF in fields:
            values["duplicate_of"] = uuid_or_none(duplicate_of)
        if FIELD_ASSIGNEE in fields:
            values["assignee"] = assignee.strip() or None
        transition_request = build_request(**values)
    except ApiError as exc:
        flash_refusal(session, ctx, case_id=case_id, action=action, exc=exc)
    else:
        run_single(session, ctx, case_id=case_id, request=transition_request)
    return RedirectResponse(f"/admin/cases/{case_id}", status_code=303)
