"""The monthly progress report (摸排整治进度表) as an XLSX workbook.

Sheet 1, per compound and category, for the cases reported in the month (China Standard
Time; duplicates left out): found = rectified + in progress + rejected, and how many of
those in progress are overdue now. Sheet 2 lists the cases with links to their photos.
States are those at the time the report is made (a report made later shows more work
done). openpyxl's write-only mode keeps memory flat while the case sheet is written.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.accounts.scope import Scope
from server.areas.models import Area
from server.cases.models import Case, Photo
from server.cases.queries import list_clauses, overdue_clause
from server.cases.schemas import CaseFilters
from server.reports.exports import export_record, iter_case_batches
from server.reports.periods import local_iso, parse_month
from server.taxonomy.models import Category
from shared_schemas.enums import AreaLevel, CaseStatus

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IN_PROGRESS_STATES = (
    CaseStatus.REPORTED,
    CaseStatus.REGISTERED,
    CaseStatus.DISPATCHED,
    CaseStatus.RECTIFYING,
    CaseStatus.REOPENED,
)
REPORT_STATES = [s for s in CaseStatus if s != CaseStatus.DUPLICATE]
SUMMARY_HEADERS = (
    "街道 street",
    "社区 community",
    "网格 grid",
    "小区 compound",
    "类别 category",
    "发现 found",
    "已整改 rectified",
    "整改中 in progress",
    "其中超期 overdue",
    "不予立案 rejected",
)
CASE_HEADERS = (
    "编号 id",
    "区域 area",
    "类别 category",
    "状态 status",
    "描述 description",
    "地址 address",
    "上报时间 reported",
    "期限 deadline",
    "超期 overdue",
    "整改时间 rectified",
    "结案时间 closed",
)
_BOLD = Font(bold=True)
_LINK = Font(color="0563C1", underline="single")


@dataclass
class _Place:
    """Where a case's area lies: the names of the areas above it (and itself) by level,
    and its compound (None for a case in a grid outside any compound)."""

    area: Area
    names: dict[AreaLevel, str] = field(default_factory=dict)
    compound: Area | None = None


def progress_xlsx(
    session: Session, *, scope: Scope, month: str, now: datetime, photo_url: Callable[[UUID], str]
) -> bytes:
    """The workbook for `month` ('YYYY-MM'; 422 naming query.month otherwise)."""
    start, end = parse_month(month)
    filters = CaseFilters(status=REPORT_STATES, created_from=start, created_to=end)
    where = list_clauses(session, scope=scope, filters=filters, now=now)
    status = col(Case.status)
    counts = session.execute(
        sa_select(
            col(Case.area_id),
            col(Case.category_code),
            func.count(),
            func.count().filter(status.in_((CaseStatus.RECTIFIED, CaseStatus.CLOSED))),
            func.count().filter(status.in_(IN_PROGRESS_STATES)),
            func.count().filter(overdue_clause(now)),
            func.count().filter(status == CaseStatus.REJECTED),
        )
        .where(*where)
        .group_by(col(Case.area_id), col(Case.category_code))
    ).all()
    places = _places(session, {r[0] for r in counts})
    categories = {c.code: c for c in session.exec(select(Category))}

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("进度表 progress")
    _title(summary, f"摸排整治进度表 {month}", now, len(SUMMARY_HEADERS))
    summary.append([_bold(summary, h) for h in SUMMARY_HEADERS])
    totals = [0, 0, 0, 0, 0]
    for area_id, code, *numbers in sorted(
        counts,
        key=lambda r: (_sort_path(places[r[0]]), categories[r[1]].sort_order, r[1]),
    ):
        place = places[area_id]
        summary.append(
            _row(
                summary,
                [
                    place.names.get(AreaLevel.STREET, ""),
                    place.names.get(AreaLevel.COMMUNITY, ""),
                    place.names.get(AreaLevel.GRID, ""),
                    place.compound.name if place.compound else "",
                    categories[code].name_zh,
                    *numbers,
                ],
            )
        )
        totals = [t + int(n) for t, n in zip(totals, numbers, strict=True)]
    summary.append(["", "", "", "", _bold(summary, "合计 total"), *totals])

    cases = workbook.create_sheet("明细 cases")
    _case_sheet(session, cases, scope=scope, filters=filters, now=now, photo_url=photo_url)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _title(sheet: WriteOnlyWorksheet, title: str, now: datetime, width: int) -> None:
    sheet.append([_bold(sheet, title)])
    sheet.append([f"生成时间 generated {local_iso(now)}"])
    sheet.append([""] * width)


def _bold(sheet: WriteOnlyWorksheet, value: Any) -> Cell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.font = _BOLD
    return cell


def _row(sheet: WriteOnlyWorksheet, values: list[Any]) -> list[Any]:
    """Strings become text cells: a description starting with '=' stays text (never a
    formula), and control characters XLSX cannot hold are dropped."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"
            out.append(cell)
        else:
            out.append(value)
    return out


def _sort_path(place: _Place) -> str:
    return place.compound.path if place.compound else place.area.path


def _places(session: Session, area_ids: set[int]) -> dict[int, _Place]:
    """For each case area: its compound (the nearest ancestor-or-self that is one) and
    the names of the street, community and grid above it."""
    if not area_ids:
        return {}
    own = {a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(area_ids)))}
    chain = {int(p) for a in own.values() for p in a.path.strip("/").split("/")}
    areas = {a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(chain)))}
    places: dict[int, _Place] = {}
    for area_id in area_ids:
        area = own[area_id]
        place = _Place(area=area)
        for part in area.path.strip("/").split("/"):
            ancestor = areas[int(part)]
            place.names[ancestor.level] = ancestor.name
            if ancestor.level == AreaLevel.COMPOUND:
                place.compound = ancestor
        places[area_id] = place
    return places


def _case_sheet(
    session: Session,
    sheet: WriteOnlyWorksheet,
    *,
    scope: Scope,
    filters: CaseFilters,
    now: datetime,
    photo_url: Callable[[UUID], str],
) -> None:
    """One row a case, newest first, then one hyperlinked cell per received photo."""
    widest = _most_photos(session, scope=scope, filters=filters, now=now)
    headers = [*CASE_HEADERS, *(f"照片{i + 1} photo {i + 1}" for i in range(widest))]
    sheet.append([_bold(sheet, h) for h in headers])
    for rows in iter_case_batches(session, scope=scope, filters=filters, now=now):
        photos: dict[UUID, list[tuple[UUID, str]]] = {}
        for photo_id, case_id, kind in session.exec(
            select(col(Photo.id), col(Photo.case_id), col(Photo.kind))
            .where(col(Photo.case_id).in_([r.id for r in rows]))
            .where(col(Photo.received_at).is_not(None))
            .order_by(col(Photo.created_at), col(Photo.id))
        ):
            photos.setdefault(case_id, []).append((photo_id, kind))
        for row in rows:
            record = export_record(row, now)
            links = []
            for i, (photo_id, kind) in enumerate(photos.get(row.id, [])):
                cell = WriteOnlyCell(sheet, value=f"照片{i + 1} {kind}")
                cell.hyperlink = photo_url(photo_id)
                cell.font = _LINK
                links.append(cell)
            sheet.append(
                [
                    *_row(
                        sheet,
                        [
                            record["id"],
                            record["area_name"],
                            record["category_name"],
                            record["status_name"],
                            record["description"],
                            record["address"],
                            record["created_at"],
                            record["deadline"] or "",
                            "是 yes" if record["overdue"] else "",
                            record["rectified_at"] or "",
                            record["closed_at"] or "",
                        ],
                    ),
                    *links,
                ]
            )


def _most_photos(session: Session, *, scope: Scope, filters: CaseFilters, now: datetime) -> int:
    per_case = (
        select(func.count().label("n"))
        .select_from(Photo)
        .join(Case, col(Case.id) == col(Photo.case_id))
        .where(*list_clauses(session, scope=scope, filters=filters, now=now))
        .where(col(Photo.received_at).is_not(None))
        .group_by(col(Photo.case_id))
        .subquery()
    )
    return int(session.exec(select(func.max(per_case.c.n))).one() or 0)
