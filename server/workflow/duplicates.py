"""Duplicates: candidates shown while triaging, and the checks and links of mark_duplicate.

A duplicate points at its original (`Case.duplicate_of_id`); the original lists its
duplicates by that column, and its detail shows their photos. Chains never form: the
original may not itself be a duplicate, and the duplicates of a case that becomes a
duplicate move on to the new original.
"""

import math
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope, can_see_case, case_filter
from server.cases.models import Case, CaseEvent
from server.core.errors import ApiError
from server.sync.changes import record_case_change
from server.workflow.errors import field_error
from shared_schemas.enums import CaseStatus

EARTH_RADIUS_M = 6_371_000.0
METRES_PER_DEGREE_LAT = 111_320.0
# Never offered as an original: finished or merged away.
NOT_OPEN = (CaseStatus.REJECTED, CaseStatus.DUPLICATE, CaseStatus.CLOSED)
MAX_CANDIDATES = 50


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): exact enough at tens of metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def duplicate_candidates(
    session: Session, *, scope: Scope, case: Case, radius_m: float = 50, window_days: int = 30
) -> list[Case]:
    """Open cases of the same category within `radius_m` of the case and reported within
    `window_days` of it (either side), that the caller may see; nearest first."""
    dlat = radius_m / METRES_PER_DEGREE_LAT
    # Longitude degrees shrink towards the poles; clamp so the box stays finite.
    dlon = radius_m / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(case.lat)), 0.01))
    window = timedelta(days=window_days)
    rows = session.exec(
        select(Case)
        .where(case_filter(scope))
        .where(Case.category_code == case.category_code)
        .where(col(Case.status).not_in(NOT_OPEN))
        .where(Case.id != case.id)
        .where(col(Case.lat).between(case.lat - dlat, case.lat + dlat))
        .where(col(Case.lon).between(case.lon - dlon, case.lon + dlon))
        .where(col(Case.created_at).between(case.created_at - window, case.created_at + window))
    ).all()
    near = [(distance_m(case.lat, case.lon, c.lat, c.lon), c) for c in rows]
    near = [(d, c) for d, c in near if d <= radius_m]
    near.sort(key=lambda dc: (dc[0], dc[1].created_at, str(dc[1].id)))
    return [c for _, c in near[:MAX_CANDIDATES]]


def check_original(session: Session, *, scope: Scope, case: Case, original_id: UUID | None) -> Case:
    """The original a duplicate points at: another case the caller sees, not a duplicate
    (nor rejected). 422 naming `duplicate_of` otherwise."""
    if original_id is None:
        raise field_error("duplicate_of", "name the original case this one duplicates")
    if original_id == case.id:
        raise field_error("duplicate_of", "a case cannot be a duplicate of itself")
    original = session.get(Case, original_id)
    if original is None or not can_see_case(scope, original):
        raise field_error("duplicate_of", f"there is no case {original_id} in your areas")
    if original.status in (CaseStatus.DUPLICATE, CaseStatus.REJECTED):
        raise field_error(
            "duplicate_of",
            f"case {original_id} is itself {original.status.value}; "
            "choose the case it was merged into, or another one",
        )
    return original


def link_duplicate(
    session: Session, *, case: Case, original: Case, actor: User, now: datetime, note: str
) -> None:
    """The other direction of the link: an event on the original's timeline, and the
    case's own duplicates (if any) re-pointed at the original so no chain forms."""
    session.add(
        CaseEvent(
            case_id=original.id,
            at=now,
            actor_id=actor.id,
            action="duplicate_linked",
            note=note,
            changes={"duplicate": str(case.id)},
        )
    )
    followers = list(session.exec(select(Case).where(Case.duplicate_of_id == case.id)))
    for follower in followers:
        # Compare-and-set like every workflow write: a concurrent change makes this fail
        # loudly (the caller's transaction rolls back) rather than overwrite silently.
        result = session.execute(
            update(Case)
            .where(col(Case.id) == follower.id, col(Case.version) == follower.version)
            .values(duplicate_of_id=original.id, version=follower.version + 1, updated_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ApiError(
                409,
                "version_conflict",
                f"case {follower.id}, a duplicate of this case, changed meanwhile; try again",
            )
        session.add(
            CaseEvent(
                case_id=follower.id,
                at=now,
                actor_id=actor.id,
                action="duplicate_relinked",
                note=note,
                changes={
                    "before": {"duplicate_of": str(case.id)},
                    "after": {"duplicate_of": str(original.id)},
                },
            )
        )
        session.flush()
        record_case_change(session, follower)
    session.flush()
