"""A hand-built set of cases whose indicators are worked out by hand in the tests.

On top of the world's two dispatched cases (A and B, reported 2026-05-01 09:00 UTC,
deadline 2026-05-31 09:00 UTC, so overdue at NOW), street A gets:

name         category  status      dept     reported (UTC)  deadline  rectified  closed  rework
pending      GARBAGE   reported    -        05-02           -         -          -       0
rejected     GARBAGE   rejected    -        05-03           -         -          -       0
duplicate    FIRE_LANE duplicate   -        05-04           -         -          -       0
on_time      FIRE_LANE closed      FIRE     05-05 00:00     05-20     05-10      05-15   0
late         GARBAGE   closed      HOUSING  05-06 00:00     05-10     05-12      05-18   1
extended     GARBAGE   rectified   HOUSING  05-07           05-28 *   05-20      -       0
not_due      FIRE_LANE rectifying  FIRE     05-08           07-01     -          -       0
rework_open  FIRE_LANE rectifying  FIRE     05-09           06-01     05-25 **   -       2
june         GARBAGE   registered  -        05-31 18:00 *** -         -          -       0

  * extended from 05-14; ** then failed verification; *** 1 June 02:00 in Beijing, and
  the case lies in grid G_A itself (no compound). Days to close: on_time 10, late 12.

Street B gets one more case: `b_closed` (closed, on time), which street A must never see.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Engine
from sqlmodel import Session

from server.accounts.models import Organisation, User
from server.areas.models import Area
from server.cases.models import Case, CaseEvent
from shared_schemas.enums import CaseStatus
from tests.world import World, add_case

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class Cohort:
    ids: dict[str, UUID]


def put_case(
    session: Session,
    *,
    area: Area,
    reporter: User,
    status: CaseStatus,
    category: str,
    created_at: datetime,
    department: Organisation | None = None,
    **fields: Any,
) -> Case:
    """A case with its workflow fields set directly (the indicators read only those)."""
    case = add_case(
        session,
        area=area,
        reporter=reporter,
        status=status,
        department=department,
        category=category,
        created_at=created_at,
    )
    if status not in (CaseStatus.REPORTED, CaseStatus.REJECTED, CaseStatus.DUPLICATE):
        case.registered_at = created_at + timedelta(hours=1)
    for name, value in fields.items():
        setattr(case, name, value)
    session.add(case)
    session.flush()
    return case


def build_cohort(engine: Engine, world: World) -> Cohort:
    ids: dict[str, UUID] = {}
    with Session(engine, expire_on_commit=False) as session:
        reporter = session.get(User, world.user_ids["inspector_a"])
        reporter_b = session.get(User, world.user_ids["inspector_b"])
        assert reporter is not None and reporter_b is not None
        fire = world.a.department  # FIRE_BRIGADE
        housing = world.b.department  # HOUSING_BUREAU
        cp = world.a.compound

        def put(name: str, **kw: Any) -> None:
            kw.setdefault("area", cp)
            kw.setdefault("reporter", reporter)
            ids[name] = put_case(session, **kw).id

        put("pending", status=CaseStatus.REPORTED, category="GARBAGE", created_at=at(5, 2))
        put("rejected", status=CaseStatus.REJECTED, category="GARBAGE", created_at=at(5, 3))
        put("duplicate", status=CaseStatus.DUPLICATE, category="FIRE_LANE", created_at=at(5, 4))
        put(
            "on_time",
            status=CaseStatus.CLOSED,
            category="FIRE_LANE",
            created_at=at(5, 5),
            department=fire,
            deadline=at(5, 20),
            rectified_at=at(5, 10),
            closed_at=at(5, 15),
        )
        put(
            "late",
            status=CaseStatus.CLOSED,
            category="GARBAGE",
            created_at=at(5, 6),
            department=housing,
            deadline=at(5, 10),
            rectified_at=at(5, 12),
            closed_at=at(5, 18),
            rework_count=1,
        )
        put(
            "extended",
            status=CaseStatus.RECTIFIED,
            category="GARBAGE",
            created_at=at(5, 7),
            department=housing,
            deadline=at(5, 28),
            rectified_at=at(5, 20),
        )
        put(
            "not_due",
            status=CaseStatus.RECTIFYING,
            category="FIRE_LANE",
            created_at=at(5, 8),
            department=fire,
            deadline=at(7, 1),
        )
        put(
            "rework_open",
            status=CaseStatus.RECTIFYING,
            category="FIRE_LANE",
            created_at=at(5, 9),
            department=fire,
            deadline=at(6, 1),
            rectified_at=at(5, 25),
            rework_count=2,
        )
        put(
            "june",
            status=CaseStatus.REGISTERED,
            category="GARBAGE",
            created_at=at(5, 31, 18),
            area=world.a.grid,
        )
        put(
            "b_closed",
            status=CaseStatus.CLOSED,
            category="FIRE_LANE",
            created_at=at(5, 5),
            department=housing,
            deadline=at(5, 20),
            rectified_at=at(5, 10),
            closed_at=at(5, 12),
            area=world.b.compound,
            reporter=reporter_b,
        )
        # The extension is on the timeline; the case's deadline field holds the new one.
        session.add(
            CaseEvent(
                case_id=ids["extended"],
                at=at(5, 13),
                action="extend_deadline",
                changes={"deadline": [at(5, 14).isoformat(), at(5, 28).isoformat()]},
            )
        )
        session.commit()
    return Cohort(ids=ids)
