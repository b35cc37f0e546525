"""Lookups for the triage queue: reporters' names, duplicate candidates with distances."""

from dataclasses import dataclass
from uuid import UUID

from sqlmodel import Session, col, select

from server.accounts.models import User
from server.admin.context import AdminContext
from server.admin.words import category_names
from server.cases.queries import case_summaries, get_visible_case
from server.cases.schemas import CaseSummary
from server.core.clock import utcnow
from server.workflow.duplicates import distance_m, duplicate_candidates


def reporter_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = session.exec(select(User).where(col(User.username).in_(usernames)))
    return {u.username: u.display_name for u in rows}


@dataclass(frozen=True)
class Candidate:
    case: CaseSummary
    distance_m: float
    category: str


def candidate_rows(session: Session, ctx: AdminContext, *, case_id: UUID) -> list[Candidate]:
    """Open cases of the same category nearby (the workflow's rule), nearest first."""
    case = get_visible_case(session, scope=ctx.scope, case_id=case_id)
    found = duplicate_candidates(session, scope=ctx.scope, case=case)
    names = category_names(session, ctx.locale)
    return [
        Candidate(
            case=summary,
            distance_m=distance_m(case.lat, case.lon, summary.lat, summary.lon),
            category=names.get(summary.category, summary.category),
        )
        for summary in case_summaries(session, found, utcnow())
    ]
