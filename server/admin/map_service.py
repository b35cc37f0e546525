"""The map's data: the cases matching the list's filters, as GeoJSON (newest first, at
most MAX_FEATURES; the response says when more matched)."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from server.admin.case_filters import FilterForm
from server.admin.context import AdminContext
from server.admin.words import STATUS_COLOURS, category_names, status_label
from server.cases.models import Case
from server.cases.queries import list_clauses, overdue_clause

MAX_FEATURES = 5000


def cases_geojson(
    session: Session, ctx: AdminContext, *, form: FilterForm, now: datetime
) -> dict[str, Any]:
    # Only the marker's columns: loading 5,001 whole rows (descriptions, timestamps...)
    # cost about half the map's time at a million cases (docs/benchmarks.md).
    stmt = (
        select(
            col(Case.id),
            col(Case.lat),
            col(Case.lon),
            col(Case.status),
            col(Case.category_code),
            col(Case.address),
            func.substr(col(Case.description), 1, 200).label("description"),
            overdue_clause(now).label("overdue"),
        )
        .where(*list_clauses(session, scope=ctx.scope, filters=form.filters, now=now))
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .limit(MAX_FEATURES + 1)
    )
    rows = list(session.execute(stmt))
    names = category_names(session, ctx.locale)
    features = [
        {
            "type": "Feature",
            # GeoJSON is longitude first.
            "geometry": {"type": "Point", "coordinates": [row.lon, row.lat]},
            "properties": {
                "id": str(row.id),
                "number": str(row.id)[:8],
                "status": row.status.value,
                "status_label": status_label(ctx.locale, row.status),
                "colour": STATUS_COLOURS[row.status],
                "category": names.get(row.category_code, row.category_code),
                "address": row.address,
                "description": row.description,
                "overdue": bool(row.overdue),
                "url": f"/admin/cases/{row.id}",
            },
        }
        for row in rows[:MAX_FEATURES]
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "truncated": len(rows) > MAX_FEATURES,
        "limit": MAX_FEATURES,
    }
