"""待立案: reports that arrived from the tablets and wait for a decision, oldest first.
Register, reject (with a reason) or mark as a duplicate, one row at a time or in bulk."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from server.admin.auth import push_flash
from server.admin.case_filters import SortKey, parse_case_filters
from server.admin.case_list import admin_case_page, count_cases
from server.admin.context import AdminContext
from server.admin.deps import require_admin_roles
from server.admin.templating import render
from server.admin.triage_service import candidate_rows, reporter_names
from server.admin.words import area_names, area_options, category_names, category_options
from server.admin.workflow_ui import (
    build_request,
    describe_error,
    flash_refusal,
    run_bulk,
    run_single,
    uuid_or_none,
)
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.workflow.rules import Action
from shared_schemas.enums import CaseStatus, Role

router = APIRouter()

Staff = Annotated[AdminContext, Depends(require_admin_roles(Role.SUPERVISOR, Role.ADMIN))]
PAGE_SIZE = 50
BULK_ACTIONS = (Action.REGISTER, Action.REJECT, Action.MARK_DUPLICATE)


def _triage_params(params: QueryParams) -> QueryParams:
    """The triage queue is always status=reported, oldest first; other filters apply."""
    kept = [(k, v) for k, v in params.multi_items() if k not in ("status", "sort")]
    return QueryParams([*kept, ("status", CaseStatus.REPORTED.value), ("sort", SortKey.OLDEST)])


@router.get("/triage")
def triage_page(request: Request, ctx: Staff, session: SessionDep) -> HTMLResponse:
    form = parse_case_filters(_triage_params(request.query_params), tz=ctx.tz)
    cursor = request.query_params.get("cursor") or None
    now = utcnow()
    page = admin_case_page(
        session,
        scope=ctx.scope,
        filters=form.filters,
        sort=form.sort,
        cursor=cursor[:300] if cursor else None,
        limit=PAGE_SIZE,
        now=now,
    )
    return render(
        request,
        "triage.html",
        active="triage",
        form=form,
        page=page,
        paged=cursor is not None,
        total=count_cases(session, scope=ctx.scope, filters=form.filters, now=now),
        categories=category_names(session, ctx.locale),
        areas=area_names(session, ctx.locale, {c.area_code for c in page.items}),
        reporters=reporter_names(session, {c.reporter for c in page.items}),
        category_options=category_options(session, ctx.locale),
        area_options=area_options(session, ctx.scope, ctx.locale),
        bulk_actions=BULK_ACTIONS,
    )


@router.get("/triage/{case_id}/duplicates")
def duplicate_form(
    case_id: UUID, request: Request, ctx: Staff, session: SessionDep
) -> HTMLResponse:
    """The row's "mark as duplicate" form with nearby open cases of the same category
    (an htmx fragment; without JavaScript the link opens the case page instead)."""
    return render(
        request,
        "_duplicate_form.html",
        case_id=case_id,
        candidates=candidate_rows(session, ctx, case_id=case_id),
        back="triage",
    )


def _back(request: Request) -> str:
    query = request.url.query
    return "/admin/triage" + (f"?{query}" if query else "")


@router.post("/triage/{case_id}/register")
def register(case_id: UUID, request: Request, ctx: Staff, session: SessionDep) -> Response:
    run_single(session, ctx, case_id=case_id, request=build_request(action=Action.REGISTER))
    return RedirectResponse(_back(request), status_code=303)


@router.post("/triage/{case_id}/reject")
def reject(
    case_id: UUID,
    request: Request,
    ctx: Staff,
    session: SessionDep,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    run_single(
        session, ctx, case_id=case_id, request=build_request(action=Action.REJECT, note=note)
    )
    return RedirectResponse(_back(request), status_code=303)


@router.post("/triage/{case_id}/duplicate")
def mark_duplicate(
    case_id: UUID,
    request: Request,
    ctx: Staff,
    session: SessionDep,
    duplicate_of: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        transition = build_request(
            action=Action.MARK_DUPLICATE, duplicate_of=uuid_or_none(duplicate_of), note=note
        )
    except ApiError as exc:
        flash_refusal(session, ctx, case_id=case_id, action=Action.MARK_DUPLICATE, exc=exc)
    else:
        run_single(session, ctx, case_id=case_id, request=transition)
    target = f"/admin/cases/{case_id}" if back == "case" else _back(request)
    return RedirectResponse(target, status_code=303)


@router.post("/triage/bulk")
def bulk(
    request: Request,
    ctx: Staff,
    session: SessionDep,
    action: Annotated[Action, Form()],
    case_ids: Annotated[list[UUID], Form(max_length=200)] = [],  # noqa: B006 - form lists
    note: Annotated[str, Form(max_length=2000)] = "",
    duplicate_of: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    if action not in BULK_ACTIONS:
        raise ApiError(422, "validation_error", f"action: {action.value} is not a triage action")
    values: dict[str, object] = {"action": action, "note": note}
    try:
        if action is Action.MARK_DUPLICATE:
            values["duplicate_of"] = uuid_or_none(duplicate_of)
        transition = build_request(**values)
    except ApiError as exc:
        push_flash(
            session, row=ctx.row, level="error", text=describe_error(ctx, exc, action=action).text
        )
        session.commit()
    else:
        run_bulk(session, ctx, case_ids=case_ids, request=transition)
    return RedirectResponse(_back(request), status_code=303)
