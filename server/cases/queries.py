"""Reading cases: scoped, filtered, keyset-paginated (stable under inserts, no OFFSET)."""

import base64
import binascii
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.accounts.scope import Scope, can_see_case, case_filter
from server.areas.models import Area
from server.areas.paths import path_within
from server.cases.models import Case, CaseEvent, Photo
from server.cases.schemas import CaseDetail, CaseFilters, CasePage, CaseSummary, EventOut, PhotoOut
from server.core.clock import utcnow
from server.core.errors import ApiError, NotFound
from server.taxonomy.models import Category
from shared_schemas.enums import CaseStatus

# States in which a passed deadline counts as overdue (not yet rectified).
OPEN_WORK_STATES = (CaseStatus.DISPATCHED, CaseStatus.RECTIFYING)


def encode_cursor(created_at: datetime, case_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{case_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, case_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(stamp), UUID(case_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(
            422,
            "validation_error",
            "query.cursor: not a cursor this server gave out",
            [{"field": "query.cursor", "message": "invalid cursor", "type": "value_error"}],
        ) from exc


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    return and_(col(Case.status).in_(OPEN_WORK_STATES), col(Case.deadline) < now)


def is_overdue(case: Case, now: datetime) -> bool:
    return case.status in OPEN_WORK_STATES and case.deadline is not None and case.deadline < now


def list_clauses(
    session: Session, *, scope: Scope, filters: CaseFilters, now: datetime
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the case list (scope, then filters): the exports and the
    indicators use these, so they always cover exactly the cases the list shows."""
    return [case_filter(scope), *_filter_clauses(session, filters, now)]


def before_cursor_clause(created_at: datetime, case_id: UUID) -> ColumnElement[bool]:
    """Cases after (created_at, id) in the list's newest-first order (keyset paging)."""
    return or_(
        col(Case.created_at) < created_at,
        and_(col(Case.created_at) == created_at, col(Case.id) < case_id),
    )


def _filter_clauses(
    session: Session, filters: CaseFilters, now: datetime
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.status:
        clauses.append(col(Case.status).in_(filters.status))
    if filters.category:
        clauses.append(col(Case.category_code).in_(filters.category))
    if filters.group:
        codes = select(Category.code).where(Category.group == filters.group)
        clauses.append(col(Case.category_code).in_(codes))
    if filters.area:
        area = session.exec(select(Area).where(Area.code == filters.area)).first()
        # An unknown area matches nothing (and says nothing about other streets).
        clauses.append(
            path_within(col(Case.area_path), area.path) if area else col(Case.id).is_(None)
        )
    if filters.department:
        dept = select(Organisation.id).where(Organisation.code == filters.department)
        clauses.append(col(Case.department_id).in_(dept))
    if filters.overdue is True:
        clauses.append(overdue_clause(now))
    elif filters.overdue is False:
        clauses.append(~overdue_clause(now) | col(Case.deadline).is_(None))
    if filters.created_from:
        clauses.append(col(Case.created_at) >= filters.created_from)
    if filters.created_to:
        clauses.append(col(Case.created_at) < filters.created_to)
    if filters.q:
        like = f"%{filters.q.replace('%', '').replace('_', '')}%"
        clauses.append(or_(col(Case.description).ilike(like), col(Case.address).ilike(like)))
    return clauses


def list_cases(
    session: Session, *, scope: Scope, filters: CaseFilters, cursor: str | None, limit: int
) -> CasePage:
    now = utcnow()
    stmt = select(Case).where(*list_clauses(session, scope=scope, filters=filters, now=now))
    if cursor:
        stmt = stmt.where(before_cursor_clause(*decode_cursor(cursor)))
    stmt = stmt.order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(limit + 1)
    rows = list(session.exec(stmt))
    page, more = rows[:limit], len(rows) > limit
    summaries = _summaries(session, page, now)
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if more and page else None
    return CasePage(items=summaries, next_cursor=next_cursor)


def _lookup_names(
    session: Session, cases: list[Case]
) -> tuple[dict[int, str], dict[int, str], dict[UUID, str]]:
    area_ids = {c.area_id for c in cases}
    dept_ids = {c.department_id for c in cases if c.department_id}
    user_ids = {c.reporter_id for c in cases}
    areas = (
        {a.id: a.code for a in session.exec(select(Area).where(col(Area.id).in_(area_ids)))}
        if area_ids
        else {}
    )
    depts = (
        {
            o.id: o.code
            for o in session.exec(select(Organisation).where(col(Organisation.id).in_(dept_ids)))
        }
        if dept_ids
        else {}
    )
    users = (
        {u.id: u.username for u in session.exec(select(User).where(col(User.id).in_(user_ids)))}
        if user_ids
        else {}
    )
    return (
        {k: v for k, v in areas.items() if k is not None},
        {k: v for k, v in depts.items() if k is not None},
        users,
    )


def _summary(
    case: Case, names: tuple[dict[int, str], dict[int, str], dict[UUID, str]], now: datetime
) -> dict[str, object]:
    areas, depts, users = names
    return {
        "id": case.id,
        "category": case.category_code,
        "severity": case.severity,
        "status": case.status,
        "description": case.description,
        "address": case.address,
        "area_code": areas.get(case.area_id, ""),
        "lat": case.lat,
        "lon": case.lon,
        "department": depts.get(case.department_id) if case.department_id else None,
        "deadline": case.deadline,
        "overdue": is_overdue(case, now),
        "photos_expected": case.photos_expected,
        "photos_received": case.photos_received,
        "reporter": users.get(case.reporter_id, ""),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def _summaries(session: Session, cases: list[Case], now: datetime) -> list[CaseSummary]:
    names = _lookup_names(session, cases)
    return [CaseSummary.model_validate(_summary(c, names, now)) for c in cases]


def case_summaries(session: Session, cases: list[Case], now: datetime) -> list[CaseSummary]:
    """Summaries as the list shows them (used by other domains' lists, e.g. duplicates)."""
    return _summaries(session, cases, now)


def get_visible_case(session: Session, *, scope: Scope, case_id: UUID) -> Case:
    """The case, or 404 when it does not exist or lies outside the scope (same answer)."""
    case = session.get(Case, case_id)
    if case is None or not can_see_case(scope, case):
        raise NotFound("case")
    return case


def case_detail(session: Session, *, scope: Scope, case_id: UUID, api_prefix: str) -> CaseDetail:
    case = get_visible_case(session, scope=scope, case_id=case_id)
    now = utcnow()
    names = _lookup_names(session, [case])
    duplicates = list(
        session.exec(
            select(Case.id).where(Case.duplicate_of_id == case.id).order_by(col(Case.created_at))
        )
    )
    photos = session.exec(
        select(Photo)
        .where(col(Photo.case_id).in_([case.id, *duplicates]))
        .order_by(col(Photo.created_at), col(Photo.id))
    )
    events = list(
        session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
        )
    )
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = (
        {u.id: u.username for u in session.exec(select(User).where(col(User.id).in_(actor_ids)))}
        if actor_ids
        else {}
    )
    return CaseDetail.model_validate(
        {
            **_summary(case, names, now),
            "observed_at": case.observed_at,
            "accuracy_m": case.accuracy_m,
            "location_source": case.location_source,
            "duplicate_of": case.duplicate_of_id,
            "duplicates": duplicates,
            "rework_count": case.rework_count,
            "version": case.version,
            "photos": [photo_out(p, api_prefix=api_prefix) for p in photos],
            "timeline": [
                EventOut(
                    at=e.at,
                    actor=actors.get(e.actor_id) if e.actor_id else None,
                    action=e.action,
                    from_status=e.from_status,
                    to_status=e.to_status,
                    note=e.note,
                    changes=e.changes,
                )
                for e in events
            ],
        }
    )


def photo_out(photo: Photo, *, api_prefix: str) -> PhotoOut:
    return PhotoOut(
        id=photo.id,
        kind=photo.kind,
        sha256=photo.sha256,
        size_bytes=photo.size_bytes,
        media_type=photo.media_type,
        width=photo.width,
        height=photo.height,
        taken_at=photo.taken_at,
        received=photo.received_at is not None,
        url=f"{api_prefix}/photos/{photo.id}",
        thumb_url=f"{api_prefix}/photos/{photo.id}/thumb",
        case_id=photo.case_id,
    )
