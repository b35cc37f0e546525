"""Every (state, action, role) combination of the transition table, checked against an
expectation written here independently from design.md and domain.md (not derived from
server/workflow/rules.py): a wrong edit of the table fails this test."""

from pathlib import Path
from uuid import UUID

import pytest
from sqlmodel import Session

from server.accounts.scope import scope_for
from server.cases.models import Case
from server.core.errors import ApiError
from server.workflow.rules import RULES, Action, edges
from server.workflow.service import allowed_actions, apply_transition
from server.workflow.words import ACTION_LABELS, STATUS_LABELS, edges_mermaid, rules_markdown
from shared_schemas.enums import CaseStatus, Role
from tests.server.workflow.helpers import (
    DISPATCHED_STATES,
    FUTURE,
    days,
    put_in_state,
    request,
    timeline,
    user,
)
from tests.world import World, add_case

# design.md "Case states", one arrow a line: from, action, to.
ARROWS_TEXT = """
reported    register             registered
reported    reject               rejected
reported    mark_duplicate       duplicate
registered  dispatch             dispatched
reopened    dispatch             dispatched
dispatched  start_rectification  rectifying
rectifying  mark_rectified       rectified
rectified   order_verification   rectified
rectified   close                closed
rectified   rework               rectifying
closed      reopen               reopened
dispatched  extend_deadline      dispatched
rectifying  extend_deadline      rectifying
"""
ARROWS = {
    (CaseStatus(f), a): CaseStatus(t)
    for f, a, t in (line.split() for line in ARROWS_TEXT.strip().splitlines())
}

# domain.md "Who uses the software": supervisors (and admins) run the loop; departments
# record their own rectification; field roles report and verify only from the tablet.
EVERYTHING = {a.value for a in Action}
API_ACTORS: dict[str, set[str]] = {
    "admin": EVERYTHING,
    "supervisor": EVERYTHING,
    "department": {"start_rectification", "mark_rectified"},
    "inspector": set(),
    "patrol": set(),
}
USERNAMES = {
    "admin": "admin",
    "supervisor": "supervisor_a",
    "department": "department_a",
    "inspector": "inspector_a",
    "patrol": "patrol_a",
}


def _fields(action: str, original: UUID) -> dict[str, object]:
    """A complete, valid request for the action (so only state and role decide)."""
    fields: dict[str, dict[str, object]] = {
        "register": {},
        "reject": {"note": "不属于隐患"},
        "mark_duplicate": {"duplicate_of": str(original), "note": "同一辆车"},
        "dispatch": {},
        "start_rectification": {},
        "mark_rectified": {"note": "已清理"},
        "order_verification": {},
        "close": {"note": "现场已核实"},
        "rework": {"note": "仍有杂物"},
        "reopen": {"note": "回头看发现复现"},
        "extend_deadline": {"note": "需要协调", "deadline": (FUTURE + days(10)).isoformat()},
    }
    return fields[action]


def _expected(state: CaseStatus, action: str, role: str) -> int | CaseStatus:
    # Departments see only the cases dispatched to them (before dispatch: not at all).
    if role == "department" and state not in DISPATCHED_STATES:
        return 404
    if action not in API_ACTORS[role]:
        return 403
    if (state, action) not in ARROWS:
        return 409
    return ARROWS[(state, action)]


def _expected_allowed(state: CaseStatus, role: str) -> set[str]:
    if role == "department" and state not in DISPATCHED_STATES:
        return set()
    return {a for (s, a) in ARROWS if s == state and a in API_ACTORS[role]}


def test_the_table_has_the_arrows_of_the_design() -> None:
    assert {(e.from_state, e.action.value): e.to_state for e in edges()} == ARROWS
    assert set(ACTION_LABELS) == set(Action) and set(STATUS_LABELS) == set(CaseStatus)
    assert all(zh and en for zh, en in [*ACTION_LABELS.values(), *STATUS_LABELS.values()])


@pytest.mark.parametrize("role", list(USERNAMES))
def test_every_state_action_role(session: Session, world: World, role: str) -> None:
    """All 9 states x 11 actions for one role, each tried on a fresh copy of the state
    (rolled back afterwards), through the service with a complete request."""
    with session.no_autoflush:
        reporter = user(session, "inspector_a")
    a_side = world.a.compound
    original = add_case(session, area=a_side, reporter=reporter).id
    case_id = world.a.case_id
    session.commit()
    actor = user(session, USERNAMES[role])
    scope = scope_for(session, actor)
    seen: list[tuple[CaseStatus, str, object]] = []
    for state in CaseStatus:
        for action in Action:
            put_in_state(session, case_id, state)
            before = session.get(Case, case_id)
            assert before is not None
            version, events = before.version, len(timeline(session, case_id))
            expected = _expected(state, action.value, role)
            body = request(action, **_fields(action.value, original))
            try:
                case = apply_transition(
                    session, user=actor, scope=scope, case_id=case_id, request=body
                )
                got: object = case.status
                assert case.version == version + 1
                new = timeline(session, case_id)[events:]
                assert [(e.action, e.from_status, e.to_status) for e in new] == [
                    (action.value, state, case.status)
                ]
            except ApiError as exc:
                got = exc.status_code
                if exc.status_code in (403, 409):
                    # The refusal names what the caller may do instead, and the state.
                    assert exc.details["status"] == state.value
                    assert set(exc.details["allowed_actions"]) == _expected_allowed(state, role)
            seen.append((state, action.value, got))
            assert got == expected, (state, action, role, got)
            session.rollback()
        # allowed_actions agrees with the expectation too (404 cases: nothing).
        current = put_in_state(session, case_id, state)
        allowed = allowed_actions(session, user=actor, scope=scope, case=current)
        assert {a.value for a in allowed} == _expected_allowed(state, role), (state, role)
        session.rollback()
    assert len(seen) == len(CaseStatus) * len(Action)


def test_the_docs_show_the_table_of_the_code() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert rules_markdown() in doc, "docs/workflow.md: paste rules_markdown() again"
    assert edges_mermaid() in doc, "docs/workflow.md: paste edges_mermaid() again"


def test_only_inspectors_verify_and_only_from_the_tablet() -> None:
    """The one tablet-only way in the table: inspectors close or send back a case by their
    verification result (tested end to end in test_sync.py)."""
    tablet = {
        (action, role)
        for action, rule in RULES.items()
        for role, via in rule.who.items()
        if via.value == "verification_task"
    }
    assert tablet == {(Action.CLOSE, Role.INSPECTOR), (Action.REWORK, Role.INSPECTOR)}
