"""地图: the cases on a map (Leaflet + markercluster), coloured by state, with the list's
filters. The page is a shell; its script loads /admin/map/cases.geojson?<filters>."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from server.admin.case_filters import parse_case_filters
from server.admin.deps import AdminCtx
from server.admin.map_service import MAX_FEATURES, cases_geojson
from server.admin.templating import render
from server.admin.words import (
    STATUS_COLOURS,
    area_options,
    category_options,
    department_options,
)
from server.core.clock import utcnow
from server.core.deps import SessionDep
from shared_schemas.enums import CaseStatus, CategoryGroup

router = APIRouter()


@router.get("/map")
def map_page(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    form = parse_case_filters(request.query_params, tz=ctx.tz)
    return render(
        request,
        "map.html",
        active="map",
        form=form,
        statuses=list(CaseStatus),
        groups=list(CategoryGroup),
        sorts=[],
        colours={s.value: c for s, c in STATUS_COLOURS.items()},
        category_options=category_options(session, ctx.locale),
        department_options=department_options(session, ctx.locale),
        area_options=area_options(session, ctx.scope, ctx.locale),
        limit=MAX_FEATURES,
    )


@router.get("/map/cases.geojson")
def map_data(request: Request, ctx: AdminCtx, session: SessionDep) -> JSONResponse:
    form = parse_case_filters(request.query_params, tz=ctx.tz)
    return JSONResponse(
        cases_geojson(session, ctx, form=form, now=utcnow()),
        media_type="application/geo+json",
        headers={"Cache-Control": "no-store"},
    )
