"""The exports page and its downloads: the monthly progress report (摸排整治进度表) as
XLSX, and the case list as CSV or GeoJSON with the list's filters. Big exports stream.

The downloads are admin routes (session cookie) calling server.reports, so a signed-in
supervisor downloads in the browser without an API token. A bad filter answers with the
exports page naming the field (422), not a file.
"""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.datastructures import QueryParams

from server.accounts.models import Organisation
from server.accounts.scope import Scope
from server.admin.context import AdminContext
from server.admin.deps import AdminCtx
from server.admin.i18n import add_messages
from server.admin.templating import render, security_headers
from server.admin.words import status_label
from server.areas.service import visible_areas
from server.cases.schemas import CaseFilters
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.reports.exports import iter_cases_csv, iter_cases_geojson
from server.reports.periods import REPORT_TZ, day_start
from server.reports.xlsx import XLSX_MEDIA_TYPE, progress_xlsx
from server.taxonomy.models import Category
from shared_schemas.enums import CaseStatus, OrganisationKind
from shared_schemas.taxonomy import load_taxonomy

router = APIRouter()

MESSAGES: dict[str, tuple[str, str]] = {
    "exports.title": ("导出", "Exports"),
    "exports.progress.title": ("摸排整治进度表（Excel）", "Monthly progress report (Excel)"),
    "exports.progress.help": (
        "按小区和问题类别统计当月上报的问题：发现、已整改、整改中、超期；第二页为明细和照片链接。"
        "每月24日前报送。",
        "Per compound and category, the cases reported in the month: found, rectified, in "
        "progress, overdue; the second sheet lists the cases with links to their photos. "
        "Due by the 24th.",
    ),
    "exports.month": ("月份", "Month"),
    "exports.download_xlsx": ("下载 Excel", "Download XLSX"),
    "exports.cases.title": ("问题清单（CSV / GeoJSON）", "Case list (CSV / GeoJSON)"),
    "exports.cases.help": (
        "与问题列表相同的筛选条件。CSV 可用 Excel 打开；GeoJSON 可导入 GIS 软件。",
        "The same filters as the case list. CSV opens in Excel; GeoJSON loads into GIS tools.",
    ),
    "exports.status": ("状态", "State"),
    "exports.category": ("问题类别", "Category"),
    "exports.group": ("大类", "Group"),
    "exports.area": ("区域（代码）", "Area (code)"),
    "exports.department": ("责任部门", "Department"),
    "exports.overdue": ("超期", "Overdue"),
    "exports.created_from": ("上报日期从", "Reported from"),
    "exports.created_to": ("上报日期至", "Reported to"),
    "exports.q": ("描述或地址包含", "Description or address contains"),
    "exports.any": ("全部", "All"),
    "exports.download_csv": ("下载 CSV", "Download CSV"),
    "exports.download_geojson": ("下载 GeoJSON", "Download GeoJSON"),
    "exports.errors": ("导出条件有误：", "The export's filters are not valid:"),
    "exports.err.month": ("请按 YYYY-MM 格式填写月份。", "Give the month as YYYY-MM."),
    "exports.err.date": ("请填写有效日期（YYYY-MM-DD）。", "Give a valid date (YYYY-MM-DD)."),
    "exports.err.order": ("结束日期早于开始日期。", "The end is before the start."),
    "exports.err.value": ("此项无效。", "Not valid."),
}
add_messages(MESSAGES)

_MONTH_FORMAT = "%Y-%m"


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def parse_case_filters(
    params: QueryParams, ctx: AdminContext
) -> tuple[CaseFilters | None, dict[str, str]]:
    """The list's filters from the form; dates are days in the report time zone, both
    ends included. Returns the filters, or None and the fields that were wrong."""
    t = ctx.t
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in ("created_from", "created_to"):
        try:
            days[name] = _date(params.get(name))
        except ValueError:
            errors[name] = t("exports.err.date")
    start, end = days.get("created_from"), days.get("created_to")
    if start and end and start > end:
        errors["created_to"] = t("exports.err.order")
    overdue = params.get("overdue") or ""
    raw: dict[str, Any] = {
        "status": [s for s in params.getlist("status") if s],
        "category": [c for c in params.getlist("category") if c],
        "group": params.get("group") or None,
        "area": (params.get("area") or "").strip() or None,
        "department": params.get("department") or None,
        "overdue": {"yes": True, "no": False}.get(overdue),
        "q": (params.get("q") or "").strip() or None,
        "created_from": day_start(start) if start else None,
        "created_to": day_start(end + timedelta(days=1)) if end else None,
    }
    if overdue not in ("", "yes", "no"):
        errors["overdue"] = t("exports.err.value")
    try:
        filters = CaseFilters.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = t("exports.err.value")
        return None, errors
    return (None, errors) if errors else (filters, {})


def _options(session: Session, scope: Scope, ctx: AdminContext) -> dict[str, Any]:
    t = ctx.t
    departments = session.exec(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.DEPARTMENT)
        .order_by(col(Organisation.code))
    )
    return {
        "statuses": [(s.value, status_label(ctx.locale, s)) for s in CaseStatus],
        "categories": [
            (c.code, t.pick(c.name_zh, c.name_en))
            for c in session.exec(select(Category).order_by(col(Category.sort_order)))
        ],
        "groups": [(g.code.value, t.pick(g.name_zh, g.name_en)) for g in load_taxonomy().groups],
        "areas": [(a.code, a.name) for a in visible_areas(session, scope)],
        "departments": [(d.code, t.pick(d.name_zh, d.name_en)) for d in departments],
    }


def _page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    params = request.query_params
    month = params.get("month") or utcnow().astimezone(REPORT_TZ).strftime(_MONTH_FORMAT)
    return render(
        request,
        "exports.html",
        status_code=status_code,
        active="exports",
        options=_options(session, ctx.scope, ctx),
        month=month,
        form={
            "status": params.getlist("status"),
            "category": params.get("category") or "",
            "group": params.get("group") or "",
            "area": params.get("area") or "",
            "department": params.get("department") or "",
            "overdue": params.get("overdue") or "",
            "created_from": params.get("created_from") or "",
            "created_to": params.get("created_to") or "",
            "q": params.get("q") or "",
        },
        errors=errors or {},
    )


@router.get("/exports")
def exports_page(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    return _page(request, ctx, session)


def _attachment(filename: str) -> dict[str, str]:
    # An ASCII name for old clients and the RFC 6266 UTF-8 one for the rest.
    return {
        "Content-Disposition": f'attachment; filename="{filename}"; '
        f"filename*=UTF-8''{quote(filename)}"
    }


def _stamp(now: datetime) -> str:
    return now.astimezone(REPORT_TZ).strftime("%Y%m%d-%H%M")


def _stream(
    engine: Engine,
    make: Any,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
) -> Iterator[bytes]:
    """Its own read-only session, open while the response streams. The transaction ends
    after each chunk, so a download that is abandoned half-way (the generator left
    suspended until it is garbage-collected) holds no locks meanwhile."""
    with Session(engine) as session:
        for chunk in make(session, scope=scope, filters=filters, now=now):
            session.commit()
            yield chunk


def _case_download(request: Request, ctx: AdminContext, session: Session, *, kind: str) -> Response:
    filters, errors = parse_case_filters(request.query_params, ctx)
    if filters is None:
        return _page(request, ctx, session, errors=errors, status_code=422)
    now = utcnow()
    make, media, suffix = {
        "csv": (iter_cases_csv, "text/csv; charset=utf-8", "csv"),
        "geojson": (iter_cases_geojson, "application/geo+json", "geojson"),
    }[kind]
    settings = request.app.state.settings
    return StreamingResponse(
        _stream(request.app.state.engine, make, scope=ctx.scope, filters=filters, now=now),
        media_type=media,
        headers={**security_headers(settings), **_attachment(f"cases-{_stamp(now)}.{suffix}")},
    )


@router.get("/exports/cases.csv")
def cases_csv(request: Request, ctx: AdminCtx, session: SessionDep) -> Response:
    return _case_download(request, ctx, session, kind="csv")


@router.get("/exports/cases.geojson")
def cases_geojson(request: Request, ctx: AdminCtx, session: SessionDep) -> Response:
    return _case_download(request, ctx, session, kind="geojson")


def photo_link(request: Request, photo_id: UUID) -> str:
    """Where a photo link in the workbook points: the photo behind the admin's session."""
    return f"{str(request.base_url).rstrip('/')}/admin/photos/{photo_id}"


@router.get("/exports/progress.xlsx")
def progress_report(request: Request, ctx: AdminCtx, session: SessionDep) -> Response:
    month = (request.query_params.get("month") or "").strip()
    try:
        datetime.strptime(month, _MONTH_FORMAT)
    except ValueError:
        return _page(
            request, ctx, session, errors={"month": ctx.t("exports.err.month")}, status_code=422
        )
    now = utcnow()
    body = progress_xlsx(
        session,
        scope=ctx.scope,
        month=month,
        now=now,
        photo_url=lambda photo_id: photo_link(request, photo_id),
    )
    settings = request.app.state.settings
    return Response(
        body,
        media_type=XLSX_MEDIA_TYPE,
        headers={**security_headers(settings), **_attachment(f"progress-{month}.xlsx")},
    )
