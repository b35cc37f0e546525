"""A push and a supervisor's transition touching the same case at the same moment must
both finish: no deadlock (PostgreSQL; SQLite has one writer at a time).

The order that deadlocked when seqs were allocated mid-transaction: the push records a
change for an earlier op (taking the sync_counter row lock), then touches case X; the
transition has already locked X and then wants the counter. Now changes are written at
commit, so the counter is always taken last. The threads are held at the exact points
(the push just before it touches X, until the transition has locked X), so the test does
not depend on timing.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from server.accounts.scope import scope_for
from server.cases.models import Case
from server.sync.models import ChangeEntity, ChangeLog, VerificationTask
from server.sync.service import push_batch
from shared_schemas.enums import CaseStatus
from shared_schemas.sync import PushRequest
from tests.server.sync.helpers import STATUS, T, create_op, op, photo, push, report
from tests.server.workflow.helpers import API, act, user
from tests.world import World

pytestmark = pytest.mark.postgresql_only

Headers = Callable[[str], dict[str, str]]
WAIT_S = 20  # only reached when something is wrong


def _words(statement: str) -> str:
    return " ".join(statement.split()).upper()


@contextmanager
def _push_waits_for_transition(
    engine: Engine, push_thread: list[int], watched: set[UUID]
) -> Iterator[None]:
    """Hold the push at its first read or write of a watched row (case X, or the task
    of X it answers) until the transition thread has updated case X (and so holds its
    row lock, not yet committed)."""
    locked = threading.Event()

    def before(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        text = _words(statement)
        if (
            threading.get_ident() in push_thread
            and not text.startswith("INSERT")
            and any(str(i) in str(parameters) for i in watched)
            and not locked.is_set()
        ):
            locked.wait(WAIT_S)

    def after(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if threading.get_ident() not in push_thread and _words(statement).startswith(
            "UPDATE HAZARD_CASE"
        ):
            locked.set()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def _race(
    engine: Engine,
    *,
    push_ops: list[dict[str, Any]],
    case_id: UUID,
    watched: set[UUID],
    action: str,
    **fields: Any,
) -> tuple[Any, Any]:
    """Run the push (as inspector_a, from `tablet-a`) and the supervisor's transition at
    once; returns (push response or exception, case status or exception)."""
    outcome: dict[str, Any] = {}
    push_thread: list[int] = []

    def pusher() -> None:
        push_thread.append(threading.get_ident())
        with Session(engine, expire_on_commit=False) as s:
            try:
                inspector = user(s, "inspector_a")
                request = PushRequest.model_validate(
                    {
                        "device_id": "tablet-a",
                        "schema_version": 1,
                        "ops": push_ops,
                        "device_status": STATUS,
                    }
                )
                outcome["push"] = push_batch(
                    s, user=inspector, scope=scope_for(s, inspector), request=request
                )
            except Exception as exc:  # the deadlock victim: reported, not raised
                s.rollback()
                outcome["push"] = exc

    def supervisor() -> None:
        with Session(engine, expire_on_commit=False) as s:
            try:
                case = act(s, "supervisor_a", case_id, action, **fields)
                s.commit()
                outcome["transition"] = case.status
            except Exception as exc:
                s.rollback()
                outcome["transition"] = exc

    with _push_waits_for_transition(engine, push_thread, watched):
        first = threading.Thread(target=pusher)
        first.start()
        while not push_thread:
            pass  # the pusher registers itself before its first statement
        second = threading.Thread(target=supervisor)
        second.start()
        first.join(WAIT_S * 2)
        second.join(WAIT_S * 2)
    assert not first.is_alive() and not second.is_alive(), "a thread hung"
    return outcome["push"], outcome["transition"]


def _case_seqs(engine: Engine, case_id: UUID | str) -> list[int]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(ChangeLog.seq)
                .where(ChangeLog.entity == ChangeEntity.CASE)
                .where(ChangeLog.entity_id == str(case_id))
                .order_by(col(ChangeLog.seq))
            )
        )


def _status(engine: Engine, case_id: UUID | str) -> CaseStatus:
    with Session(engine) as s:
        case = s.get(Case, UUID(str(case_id)))
        assert case is not None
        return case.status


def test_an_amend_racing_a_registration_neither_deadlocks_nor_amends_a_registered_case(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    [created] = push(client, as_user("inspector_a"), [create_op(report())])
    case_id = UUID(created["case_id"])
    new = report()
    ops = [
        create_op(new, 1),  # a change recorded before the case is touched
        op("report.amend", {"id": str(case_id), "description": "改一下"}, seq=2),
    ]
    pushed, registered = _race(
        engine, push_ops=ops, case_id=case_id, watched={case_id}, action="register"
    )
    assert not isinstance(registered, Exception), registered
    assert not isinstance(pushed, Exception), pushed
    assert registered == CaseStatus.REGISTERED
    create_result, amend_result = pushed.results
    assert create_result.status == "applied"
    # The push waited for the registration, then saw it: rule 6, the server owns it now.
    assert (amend_result.status, amend_result.code) == ("rejected", "already_registered")
    assert _status(engine, case_id) == CaseStatus.REGISTERED
    # Seq order is commit order: the registration committed first.
    assert max(_case_seqs(engine, case_id)) < min(_case_seqs(engine, new["id"]))


def test_a_verification_result_racing_a_supervisors_close_does_not_deadlock(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    inspector = as_user("inspector_a")
    [created] = push(client, inspector, [create_op(report())])
    case_id = created["case_id"]
    sup, dept = as_user("supervisor_a"), as_user("department_a")
    for headers, action, fields in [
        (sup, "register", {}),
        (sup, "dispatch", {}),
        (dept, "start_rectification", {}),
        (dept, "mark_rectified", {"note": "已清理"}),
        (sup, "order_verification", {}),
    ]:
        r = client.post(
            f"{API}/cases/{case_id}/transitions",
            json={"action": action, **fields},
            headers=headers,
        )
        assert r.status_code == 200, r.text
    with Session(engine) as s:
        task = s.exec(
            select(VerificationTask).where(VerificationTask.case_id == UUID(case_id))
        ).one()
    inspection = {
        "id": str(uuid4()),
        "task_id": str(task.id),
        "case_id": case_id,
        "rectified": True,
        "note": "",
        "inspected_at": T.isoformat(),
        "photos": [photo()],
    }
    new = report()
    ops = [create_op(new, 1), op("inspection.create", inspection, seq=2)]
    # The supervisor closes it by override meanwhile: that cancels the open task.
    pushed, closed = _race(
        engine,
        push_ops=ops,
        case_id=UUID(case_id),
        watched={UUID(case_id), task.id},
        action="close",
        note="区领导现场确认",
    )
    assert not isinstance(closed, Exception), closed
    assert not isinstance(pushed, Exception), pushed
    assert closed == CaseStatus.CLOSED
    create_result, inspection_result = pushed.results
    assert create_result.status == "applied"
    # The result arrived after the override: the task was cancelled, the result refused.
    assert (inspection_result.status, inspection_result.code) == ("rejected", "task_closed")
    assert _status(engine, case_id) == CaseStatus.CLOSED
    assert max(_case_seqs(engine, case_id)) < min(_case_seqs(engine, new["id"]))
