"""The case list: filters, order, keyset pages (htmx swaps only the results), bulk dispatch."""

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from server.admin.case_filters import SortKey, parse_case_filters
from server.admin.case_list import admin_case_page, count_cases
from server.admin.deps import AdminCtx
from server.admin.templating import is_htmx, render
from server.admin.words import (
    area_names,
    area_options,
    category_names,
    category_options,
    department_names,
    department_options,
)
from server.admin.workflow_ui import build_request, deadline_from_day, run_bulk
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.workflow.rules import RULES, Action
from shared_schemas.enums import CaseStatus, CategoryGroup

router = APIRouter()

PAGE_SIZE = 50


def _results_context(request: Request, ctx: AdminCtx, session: SessionDep) -> dict[str, Any]:
    form = parse_case_filters(request.query_params, tz=ctx.tz)
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
    return {
        "form": form,
        "page": page,
        "paged": cursor is not None,
        "total": count_cases(session, scope=ctx.scope, filters=form.filters, now=now),
        "categories": category_names(session, ctx.locale),
        "departments": department_names(session, ctx.locale),
        "areas": area_names(session, ctx.locale, {c.area_code for c in page.items}),
        "can_dispatch": ctx.user.role in RULES[Action.DISPATCH].who,
    }


@router.get("/cases")
def cases_page(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    context = _results_context(request, ctx, session)
    if is_htmx(request):
        return render(request, "cases/_results.html", **context)
    return render(
        request,
        "cases/list.html",
        active="cases",
        statuses=list(CaseStatus),
        groups=list(CategoryGroup),
        sorts=list(SortKey),
        category_options=category_options(session, ctx.locale),
        department_options=department_options(session, ctx.locale),
        area_options=area_options(session, ctx.scope, ctx.locale),
        **context,
    )


@router.post("/cases/bulk-dispatch")
def bulk_dispatch(
    ctx: AdminCtx,
    session: SessionDep,
    case_ids: Annotated[list[UUID], Form(max_length=200)] = [],  # noqa: B006 - form lists
    department: Annotated[str, Form(max_length=40)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    transition = build_request(
        action=Action.DISPATCH,
        department=department or None,
        deadline=deadline_from_day(deadline, ctx.tz),
        note=note,
    )
    run_bulk(session, ctx, case_ids=case_ids, request=transition)
    query = urlencode(parse_qsl(back))  # re-encoded: only a query string can come back
    return RedirectResponse("/admin/cases" + (f"?{query}" if query else ""), status_code=303)
