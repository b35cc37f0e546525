"""The admin's case list: the API's scope and filters (server/cases/queries.list_clauses),
with a choice of order and keyset pagination for each order (no OFFSET: a page never
repeats or skips a case when others arrive meanwhile)."""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from server.accounts.scope import Scope
from server.admin.case_filters import SortKey
from server.cases.models import Case
from server.cases.queries import case_summaries, list_clauses
from server.cases.schemas import CaseFilters, CaseSummary
from server.core.types import UTCDateTime

# Cases without a deadline sort after every real one.
NO_DEADLINE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CaseListPage:
    items: list[CaseSummary]
    next_cursor: str | None


def _key(sort: SortKey) -> tuple[Any, bool]:
    """(sort expression, descending)."""
    if sort is SortKey.OLDEST:
        return col(Case.created_at), False
    if sort is SortKey.UPDATED:
        return col(Case.updated_at), True
    if sort is SortKey.DEADLINE:
        return func.coalesce(col(Case.deadline), NO_DEADLINE, type_=UTCDateTime()), False
    return col(Case.created_at), True


def _value(case: Case, sort: SortKey) -> datetime:
    if sort is SortKey.UPDATED:
        return case.updated_at
    if sort is SortKey.DEADLINE:
        return case.deadline or NO_DEADLINE
    return case.created_at


def encode_cursor(sort: SortKey, value: datetime, case_id: UUID) -> str:
    raw = f"{sort.value}|{value.isoformat()}|{case_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: SortKey) -> tuple[datetime, UUID] | None:
    """None for a cursor of another order or one this server never gave out: the list
    then starts from the top rather than failing."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, stamp, case_id = base64.urlsafe_b64decode(padded).decode().split("|")
        value = datetime.fromisoformat(stamp)
        if name != sort.value or value.tzinfo is None:
            return None
        return value, UUID(case_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _after(sort: SortKey, value: datetime, case_id: UUID) -> ColumnElement[bool]:
    key, descending = _key(sort)
    if descending:
        return or_(key < value, and_(key == value, col(Case.id) < case_id))
    return or_(key > value, and_(key == value, col(Case.id) > case_id))


def admin_case_page(
    session: Session,
    *,
    scope: Scope,
    filters: CaseFilters,
    sort: SortKey,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> CaseListPage:
    stmt = select(Case).where(*list_clauses(session, scope=scope, filters=filters, now=now))
    position = decode_cursor(cursor, sort) if cursor else None
    if position is not None:
        stmt = stmt.where(_after(sort, *position))
    key, descending = _key(sort)
    if descending:
        stmt = stmt.order_by(key.desc(), col(Case.id).desc())
    else:
        stmt = stmt.order_by(key.asc(), col(Case.id).asc())
    rows = list(session.exec(stmt.limit(limit + 1)))
    page, more = rows[:limit], len(rows) > limit
    next_cursor = (
        encode_cursor(sort, _value(page[-1], sort), page[-1].id) if more and page else None
    )
    return CaseListPage(items=case_summaries(session, page, now), next_cursor=next_cursor)


def count_cases(session: Session, *, scope: Scope, filters: CaseFilters, now: datetime) -> int:
    clauses = list_clauses(session, scope=scope, filters=filters, now=now)
    return int(session.exec(select(func.count()).select_from(Case).where(*clauses)).one())
