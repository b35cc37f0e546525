"""The map's data: the cases matching the list's filters, as GeoJSON (newest first, at
most MAX_FEATURES; the response says when more matched)."""

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.admin.case_filters import FilterForm
from server.admin.context import AdminContext
from server.admin.words import STATUS_COLOURS, category_names, status_label
from server.cases.models import Case
from server.cases.queries import is_overdue, list_clauses

MAX_FEATURES = 5000


def cases_geojson(
    session: Session, ctx: AdminContext, *, form: FilterForm, now: datetime
) -> dict[str, Any]:
    stmt = (
        select(Case)
        .where(*list_clauses(session, scope=ctx.scope, filters=form.filters, now=now))
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .limit(MAX_FEATURES + 1)
    )
    rows = list(session.exec(stmt))
    names = category_names(session, ctx.locale)
    features = [
        {
            "type": "Feature",
            # GeoJSON is longitude first.
            "geometry": {"type": "Point", "coordinates": [case.lon, case.lat]},
            "properties": {
                "id": str(case.id),
                "number": str(case.id)[:8],
                "status": case.status.value,
                "status_label": status_label(ctx.locale, case.status),
                "colour": STATUS_COLOURS[case.status],
                "category": names.get(case.category_code, case.category_code),
                "address": case.address,
                "description": case.description[:200],
                "overdue": is_overdue(case, now),
                "url": f"/admin/cases/{case.id}",
            },
        }
        for case in rows[:MAX_FEATURES]
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "truncated": len(rows) > MAX_FEATURES,
        "limit": MAX_FEATURES,
    }
