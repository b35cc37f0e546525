"""Property: random sequences of actions, by random people, with complete or incomplete
requests, and inspectors' verification results in between. Whatever happens, the case
is always in a defined state consistent with its columns, a refused action changes
nothing, an applied one follows an arrow of the design, and the timeline replays to the
current state."""

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from server.cases.models import Case
from server.core.clock import utcnow
from server.core.errors import ApiError
from server.sync.models import TaskStatus, VerificationTask
from server.sync.tasks import complete_task, on_verification_result
from server.workflow.rules import Action
from shared_schemas.enums import CaseStatus
from shared_schemas.reports import InspectionResult
from tests.server.workflow.helpers import DISPATCHED_STATES, act, replay, timeline, user
from tests.server.workflow.test_matrix import API_ACTORS, ARROWS, USERNAMES
from tests.world import World, add_case

ACTORS = ("supervisor_a", "admin", "department_a", "inspector_a", "supervisor_b")
VERIFY = ("verify_ok", "verify_fail")
# How to reach each state along the loop (actor per step).
_LOOP = [
    ("register", "supervisor_a"),
    ("dispatch", "supervisor_a"),
    ("start_rectification", "department_a"),
    ("mark_rectified", "department_a"),
    ("close", "admin"),
    ("reopen", "supervisor_a"),
]
WALKS: dict[CaseStatus, list[tuple[str, str]]] = {
    CaseStatus.REPORTED: [],
    CaseStatus.REJECTED: [("reject", "supervisor_a")],
    CaseStatus.DUPLICATE: [("mark_duplicate", "supervisor_a")],
    **{
        status: _LOOP[: n + 1]
        for n, status in enumerate(
            [
                CaseStatus.REGISTERED,
                CaseStatus.DISPATCHED,
                CaseStatus.RECTIFYING,
                CaseStatus.RECTIFIED,
                CaseStatus.CLOSED,
                CaseStatus.REOPENED,
            ]
        )
    },
}
ANY_ACTION = [*(a.value for a in Action), *VERIFY]


def _step(data: st.DataObject, state: CaseStatus) -> tuple[str, str, bool]:
    """Mostly an action that has an arrow from the current state (so sequences get deep
    into the loop), sometimes anything; by anyone; complete or not."""
    # Reject and duplicate end a case: left to the "anything" draws so sequences go deep.
    useful = [a for (s, a) in ARROWS if s == state and a not in ("reject", "mark_duplicate")]
    if state == CaseStatus.RECTIFIED:
        useful += list(VERIFY)
    choices = st.sampled_from(useful) if useful else st.sampled_from(ANY_ACTION)
    action = data.draw(st.one_of(choices, choices, choices, st.sampled_from(ANY_ACTION)))
    able = [u for role, u in USERNAMES.items() if action in API_ACTORS[role]]
    anyone = st.sampled_from(ACTORS)
    actor = data.draw(st.one_of(st.sampled_from(able), anyone) if able else anyone)
    # Mostly complete; else the optional parts are left out (a reason, a deadline, ...).
    complete = data.draw(st.sampled_from([True, True, True, False]))
    return action, actor, complete


def _fields(action: str, *, original: UUID, n: int, complete: bool) -> dict[str, Any]:
    if not complete:
        return {}
    later = utcnow() + timedelta(days=100 + n)  # each extension later than the last
    return {
        "reject": {"note": "不予立案"},
        "mark_duplicate": {"duplicate_of": str(original)},
        "mark_rectified": {"note": "已整改"},
        "close": {"note": "主管确认"},
        "rework": {"note": "未整改到位"},
        "reopen": {"note": "回头看复现"},
        "extend_deadline": {"note": "协调中", "deadline": later.isoformat()},
    }.get(action, {})


def _open_task(session: Session, case_id: UUID) -> VerificationTask | None:
    return session.exec(
        select(VerificationTask)
        .where(VerificationTask.case_id == case_id)
        .where(VerificationTask.status == TaskStatus.OPEN)
    ).first()


def _verify(session: Session, case_id: UUID, rectified: bool) -> bool:
    """An inspector's result for the open task, as push applies it; False if no task."""
    task = _open_task(session, case_id)
    if task is None:
        return False
    result = InspectionResult(
        id=uuid4(), task_id=task.id, case_id=case_id, rectified=rectified, inspected_at=utcnow()
    )
    case = session.get(Case, case_id)
    assert case is not None
    complete_task(session, task=task, result=result, case=case)
    on_verification_result(session, task=task, result=result, actor=user(session, "inspector_a"))
    return True


def _check_invariants(session: Session, case_id: UUID) -> Case:
    # The stored text itself, not the enum the column type would make of it.
    key: object = case_id.hex if session.get_bind().dialect.name == "sqlite" else case_id
    raw = session.execute(
        text("SELECT status FROM hazard_case WHERE id = :id"), {"id": key}
    ).scalar_one()
    assert raw in {s.value for s in CaseStatus}, raw
    case = session.get(Case, case_id, populate_existing=True)
    assert case is not None
    events = timeline(session, case_id)
    assert replay(events) == case.status
    moves = [e for e in events if e.to_status is not None]
    assert case.version == len(moves), "one version per recorded step"
    assert case.rework_count == sum(e.action == "rework" for e in events)
    if case.status in DISPATCHED_STATES:
        assert case.department_id is not None and case.deadline is not None
    assert (case.duplicate_of_id is not None) == (case.status == CaseStatus.DUPLICATE)
    assert (case.closed_at is not None) == (case.status == CaseStatus.CLOSED)
    open_tasks = session.exec(
        select(VerificationTask.id)
        .where(VerificationTask.case_id == case_id)
        .where(col(VerificationTask.status) == TaskStatus.OPEN)
    ).all()
    assert len(open_tasks) <= 1
    if open_tasks:
        assert case.status == CaseStatus.RECTIFIED
    return case


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    start=st.sampled_from(list(CaseStatus)),
    length=st.integers(min_value=1, max_value=12),
)
def test_random_action_sequences(
    engine: Engine, world: World, data: st.DataObject, start: CaseStatus, length: int
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reporter = user(s, "inspector_a")
        case_id = add_case(s, area=world.a.compound, reporter=reporter).id
        original = add_case(s, area=world.a.compound, reporter=reporter).id
        s.commit()
        # Walk to the drawn starting state through the service, so every state gets its
        # share of random steps; the walk is part of the timeline that must replay.
        for action, actor in WALKS[start]:
            act(s, actor, case_id, action, **_fields(action, original=original, n=0, complete=True))
            s.commit()
        for n in range(length):
            before = _check_invariants(s, case_id)
            state, version = before.status, before.version
            action, actor, complete = _step(data, state)
            if action in VERIFY:
                answered = _verify(s, case_id, action == "verify_ok")
                s.commit()
                after = _check_invariants(s, case_id)
                if answered and state == CaseStatus.RECTIFIED:
                    target = CaseStatus.CLOSED if action == "verify_ok" else CaseStatus.RECTIFYING
                    assert after.status == target
                else:
                    assert after.status == state
                event(f"reached {after.status.value}")
                continue
            fields = _fields(action, original=original, n=n, complete=complete)
            try:
                act(s, actor, case_id, action, **fields)
                s.commit()
            except ApiError as exc:
                s.rollback()
                assert exc.status_code in (403, 404, 409, 422), exc
                after = _check_invariants(s, case_id)
                assert (after.status, after.version) == (state, version), "a refusal changed it"
                continue
            after = _check_invariants(s, case_id)
            assert ARROWS[(state, action)] == after.status, (state, action, after.status)
            assert after.version == version + 1
            event(f"reached {after.status.value}")
