"""GET /indicators and the exports: thin routes over indicators.py, exports.py, xlsx.py.

Supervisors, departments and admins only, each inside their scope (server/accounts/
scope.py); inspectors and patrols get 403.
"""

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse

from server.accounts.deps import CurrentScope, require_roles
from server.accounts.models import User
from server.cases.schemas import CaseFilters
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.core.errors import ERROR_RESPONSES, ApiError
from server.reports.cache import IndicatorCacheDep, cached_indicators
from server.reports.exports import iter_cases_csv, iter_cases_geojson
from server.reports.periods import MONTH_PATTERN, REPORT_TZ
from server.reports.schemas import IndicatorFilters, Indicators
from server.reports.xlsx import XLSX_MEDIA_TYPE, progress_xlsx
from shared_schemas.enums import AreaLevel, CaseStatus, CategoryGroup, Role

router = APIRouter(tags=["reports"], responses={k: ERROR_RESPONSES[k] for k in (401, 403, 422)})

REPORT_ROLES = (Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN)
ReportReader = Annotated[User, Depends(require_roles(*REPORT_ROLES))]


def list_filters(
    status: Annotated[list[CaseStatus], Query()] = [],  # noqa: B006 - FastAPI query lists
    category: Annotated[list[str], Query()] = [],  # noqa: B006
    group: CategoryGroup | None = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> CaseFilters:
    """The case list's query parameters, with the same names and meaning as GET /cases."""
    return CaseFilters(
        status=status,
        category=category,
        group=group,
        area=area,
        department=department,
        overdue=overdue,
        created_from=created_from,
        created_to=created_to,
        q=q,
    )


ListFilters = Annotated[CaseFilters, Depends(list_filters)]


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _stamp() -> str:
    return utcnow().astimezone(REPORT_TZ).strftime("%Y%m%d-%H%M")


@router.get(
    "/indicators",
    response_model=Indicators,
    summary="The dashboard's indicators, totals and breakdowns",
    description="Figures for the cases reported between `from` and `to` (days in China "
    "Standard Time, both included) inside the caller's scope; the definitions are in "
    "docs/reports.md and on the dashboard. Rates are null when their denominator is 0. "
    "The same question asked again within a minute gets the same answer (same "
    "`computed_at`): answers are kept that long.",
)
def get_indicators(
    session: SessionDep,
    scope: CurrentScope,
    _user: ReportReader,
    cache: IndicatorCacheDep,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    category: Annotated[list[str], Query()] = [],  # noqa: B006
    group: CategoryGroup | None = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    area_level: AreaLevel = AreaLevel.GRID,
) -> Indicators:
    if date_from and date_to and date_from > date_to:
        raise ApiError(
            422,
            "validation_error",
            f"query.to: {date_to} is before from ({date_from})",
            [{"field": "query.to", "message": "before from", "type": "value_error"}],
        )
    filters = IndicatorFilters(
        date_from=date_from,
        date_to=date_to,
        category=category,
        group=group,
        area=area,
        department=department,
        area_level=area_level,
    )
    return cached_indicators(
        session, cache=cache, scope=scope, filters=filters, now=utcnow()
    ).indicators


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM, streamed"}
}
_GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/geo+json": {}}, "description": "a FeatureCollection"}
}
_XLSX: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "the XLSX workbook"}
}


@router.get(
    "/exports/cases.csv",
    response_class=StreamingResponse,
    responses=_CSV,
    summary="The case list as CSV",
    description="Every case the list would show with the same filters, newest first.",
)
def export_cases_csv(
    session: SessionDep, scope: CurrentScope, _user: ReportReader, filters: ListFilters
) -> StreamingResponse:
    chunks = iter_cases_csv(session, scope=scope, filters=filters, now=utcnow())
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers=_attachment(f"cases-{_stamp()}.csv"),
    )


@router.get(
    "/exports/cases.geojson",
    response_class=StreamingResponse,
    responses=_GEOJSON,
    summary="The case list as GeoJSON",
    description="Every case the list would show with the same filters, as points.",
)
def export_cases_geojson(
    session: SessionDep, scope: CurrentScope, _user: ReportReader, filters: ListFilters
) -> StreamingResponse:
    chunks = iter_cases_geojson(session, scope=scope, filters=filters, now=utcnow())
    return StreamingResponse(
        chunks,
        media_type="application/geo+json",
        headers=_attachment(f"cases-{_stamp()}.geojson"),
    )


@router.get(
    "/exports/progress.xlsx",
    response_class=Response,
    responses=_XLSX,
    summary="The monthly progress report (摸排整治进度表)",
    description="Per compound and category for the cases reported in `month`: found, "
    "rectified, in progress, overdue, rejected; then the cases with links to their photos.",
)
def export_progress_xlsx(
    request: Request,
    session: SessionDep,
    scope: CurrentScope,
    _user: ReportReader,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")],
) -> Response:
    sentinel = UUID(int=0)
    template = str(request.url_for("get_photo", photo_id=sentinel))
    content = progress_xlsx(
        session,
        scope=scope,
        month=month,
        now=utcnow(),
        photo_url=lambda photo_id: template.replace(str(sentinel), str(photo_id)),
    )
    return Response(
        content, media_type=XLSX_MEDIA_TYPE, headers=_attachment(f"progress-{month}.xlsx")
    )
