"""Helpers for the workflow tests: users of the two-street world, cases put straight into
a state (as if the loop had run), and actions through the service."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlmodel import Session, select

from server.accounts.models import Organisation, User
from server.accounts.scope import scope_for
from server.cases.models import Case, CaseEvent
from server.workflow.rules import Action
from server.workflow.schemas import TransitionRequest
from server.workflow.service import apply_transition
from shared_schemas.enums import CaseStatus

API = "/api/v1"
# Far enough ahead that "in the future" holds whenever the tests run.
FUTURE = datetime(2099, 1, 1, 12, 0, tzinfo=UTC)

# The states a case has been dispatched in (it carries a department and a deadline).
DISPATCHED_STATES = frozenset(
    {
        CaseStatus.DISPATCHED,
        CaseStatus.RECTIFYING,
        CaseStatus.RECTIFIED,
        CaseStatus.CLOSED,
        CaseStatus.REOPENED,
    }
)


def user(session: Session, username: str) -> User:
    return session.exec(select(User).where(User.username == username)).one()


def org(session: Session, code: str) -> Organisation:
    return session.exec(select(Organisation).where(Organisation.code == code)).one()


def put_in_state(
    session: Session,
    case_id: UUID,
    status: CaseStatus,
    *,
    department: str = "FIRE_BRIGADE",
    deadline: datetime = FUTURE,
) -> Case:
    """Set a case's workflow columns as if it had reached `status` (no events: tests that
    replay timelines build their cases through the service instead)."""
    case = session.get(Case, case_id)
    assert case is not None
    case.status = status
    dispatched = status in DISPATCHED_STATES
    case.department_id = org(session, department).id if dispatched else None
    case.deadline = deadline if dispatched else None
    session.add(case)
    session.flush()
    return case


def request(action: Action | str, **fields: Any) -> TransitionRequest:
    return TransitionRequest.model_validate({"action": action, **fields})


def act(
    session: Session,
    username: str,
    case_id: UUID,
    action: Action | str,
    *,
    now: datetime | None = None,
    **fields: Any,
) -> Case:
    """One action through the service as `username` (not committed)."""
    actor = user(session, username)
    return apply_transition(
        session,
        user=actor,
        scope=scope_for(session, actor),
        case_id=case_id,
        request=request(action, **fields),
        now=now,
    )


def timeline(session: Session, case_id: UUID) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)  # type: ignore[arg-type]
        )
    )


def replay(events: list[CaseEvent]) -> CaseStatus | None:
    """The state the timeline leads to: each state-bearing event must start where the
    previous one ended."""
    state: CaseStatus | None = None
    for event in events:
        if event.to_status is None:
            continue  # a note on the timeline (verification result, duplicate linked, ...)
        assert event.from_status == state, (event.action, event.from_status, state)
        state = event.to_status
    return state


def error(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def days(n: float) -> timedelta:
    return timedelta(days=n)
