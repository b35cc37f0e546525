"""The case list as CSV and GeoJSON, streamed.

Rows come from the database in keyset batches (the list's order, newest first) and leave
as one chunk per batch, so an export of the whole district never sits in memory. The
WHERE clauses are the case list's own (server.cases.queries.list_clauses).
"""

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlmodel import Session, col

from server.accounts.models import Organisation, User
from server.accounts.scope import Scope
from server.areas.models import Area
from server.cases.models import Case
from server.cases.queries import OPEN_WORK_STATES, before_cursor_clause, list_clauses
from server.cases.schemas import CaseFilters
from server.reports.periods import local_iso
from server.taxonomy.models import Category
from server.workflow.words import STATUS_LABELS

BATCH_SIZE = 500
UTF8_BOM = "\ufeff"
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# (header: 中文 english, row field). The field names are also the GeoJSON property names.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("编号 id", "id"),
    ("类别代码 category", "category"),
    ("类别 category_name", "category_name"),
    ("分组 group", "group"),
    ("严重程度 severity", "severity"),
    ("状态 status", "status"),
    ("状态名称 status_name", "status_name"),
    ("描述 description", "description"),
    ("地址 address", "address"),
    ("区域代码 area_code", "area_code"),
    ("区域 area_name", "area_name"),
    ("纬度 lat", "lat"),
    ("经度 lon", "lon"),
    ("责任部门代码 department", "department"),
    ("责任部门 department_name", "department_name"),
    ("期限 deadline", "deadline"),
    ("超期 overdue", "overdue"),
    ("上报人 reporter", "reporter"),
    ("发现时间 observed_at", "observed_at"),
    ("上报时间 created_at", "created_at"),
    ("立案时间 registered_at", "registered_at"),
    ("派遣时间 dispatched_at", "dispatched_at"),
    ("整改时间 rectified_at", "rectified_at"),
    ("结案时间 closed_at", "closed_at"),
    ("返工次数 rework_count", "rework_count"),
    ("已收照片 photos_received", "photos_received"),
    ("应有照片 photos_expected", "photos_expected"),
)
_TIME_FIELDS = (
    "deadline",
    "observed_at",
    "created_at",
    "registered_at",
    "dispatched_at",
    "rectified_at",
    "closed_at",
)


def _export_select() -> Select[*tuple[Any, ...]]:
    return (
        select(
            col(Case.id),
            col(Case.category_code).label("category"),
            col(Category.name_zh).label("category_name"),
            col(Category.group).label("group"),
            col(Case.severity),
            col(Case.status),
            col(Case.description),
            col(Case.address),
            col(Area.code).label("area_code"),
            col(Area.name).label("area_name"),
            col(Case.lat),
            col(Case.lon),
            col(Organisation.code).label("department"),
            col(Organisation.name_zh).label("department_name"),
            col(Case.deadline),
            col(User.username).label("reporter"),
            col(Case.observed_at),
            col(Case.created_at),
            col(Case.registered_at),
            col(Case.dispatched_at),
            col(Case.rectified_at),
            col(Case.closed_at),
            col(Case.rework_count),
            col(Case.photos_received),
            col(Case.photos_expected),
        )
        .join(Area, col(Area.id) == col(Case.area_id))
        .join(Category, col(Category.code) == col(Case.category_code))
        .join(User, col(User.id) == col(Case.reporter_id))
        .outerjoin(Organisation, col(Organisation.id) == col(Case.department_id))
    )


def iter_case_batches(
    session: Session,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
    batch_size: int = BATCH_SIZE,
) -> Iterator[Sequence[Row[Any]]]:
    """The list's cases, newest first, `batch_size` rows at a time (keyset, no OFFSET)."""
    base = _export_select().where(*list_clauses(session, scope=scope, filters=filters, now=now))
    after: tuple[datetime, Any] | None = None
    while True:
        stmt = base.where(before_cursor_clause(*after)) if after else base
        rows = session.execute(
            stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(batch_size)
        ).all()
        if rows:
            yield rows
        if len(rows) < batch_size:
            return
        after = (rows[-1].created_at, rows[-1].id)


def export_record(row: Row[Any], now: datetime) -> dict[str, Any]:
    """One case as plain values: codes as strings, times in the report time zone."""
    record: dict[str, Any] = dict(row._mapping)
    record["id"] = str(row.id)
    record["status_name"] = STATUS_LABELS[row.status][0]
    for name in ("group", "severity", "status"):
        record[name] = record[name].value
    record["overdue"] = bool(
        row.status in OPEN_WORK_STATES and row.deadline is not None and row.deadline < now
    )
    for name in _TIME_FIELDS:
        record[name] = local_iso(record[name]) or None
    return record


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    return "" if value is None else value


def iter_cases_csv(
    session: Session,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """UTF-8 with a BOM (so Excel reads the Chinese right), a header, one chunk a batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for header, _ in CSV_COLUMNS])
    yield (UTF8_BOM + buffer.getvalue()).encode()
    for rows in iter_case_batches(
        session, scope=scope, filters=filters, now=now, batch_size=batch_size
    ):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            record = export_record(row, now)
            writer.writerow([_csv_cell(record[field]) for _, field in CSV_COLUMNS])
        yield buffer.getvalue().encode()


def iter_cases_geojson(
    session: Session,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
    batch_size: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection (RFC 7946: [lon, lat], WGS 84), one chunk a batch."""
    yield b'{"type":"FeatureCollection","features":['
    first = True
    for rows in iter_case_batches(
        session, scope=scope, filters=filters, now=now, batch_size=batch_size
    ):
        parts: list[str] = []
        for row in rows:
            record = export_record(row, now)
            lat, lon = record.pop("lat"), record.pop("lon")
            feature = {
                "type": "Feature",
                "id": record["id"],
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": record,
            }
            parts.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
        chunk = ",".join(parts)
        yield (chunk if first else "," + chunk).encode()
        first = False
    yield b"]}"
