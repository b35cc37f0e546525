"""Verification tasks: on-site checks sent to a tablet by pull, answered by inspection.create.

The case workflow (server/workflow) orders verifications (`create_verification_task`)
and reacts to their results (`on_verification_result` calls into it).
"""

from datetime import datetime
from uuid import UUID

from sqlmodel import Session

from server.accounts.models import User
from server.cases.models import Case, CaseEvent
from server.core.clock import utcnow
from server.sync.changes import record_task_change
from server.sync.models import TaskKind, TaskStatus, VerificationTask
from shared_schemas.reports import InspectionResult


def create_verification_task(
    session: Session,
    *,
    case: Case,
    assignee: User,
    kind: TaskKind = TaskKind.VERIFICATION,
    due_at: datetime | None = None,
    task_id: UUID | None = None,
) -> VerificationTask:
    """Assign an on-site check of `case` to `assignee`; their tablet pulls it."""
    task = VerificationTask(case_id=case.id, assignee_id=assignee.id, kind=kind, due_at=due_at)
    if task_id is not None:
        task.id = task_id
    session.add(task)
    session.flush()
    record_task_change(session, task, case=case)
    return task


def complete_task(
    session: Session, *, task: VerificationTask, result: InspectionResult, case: Case
) -> None:
    """Mark the task done with the inspection's result (the caller checked it was open)."""
    task.status = TaskStatus.DONE
    task.completed_at = utcnow()
    task.inspection_id = result.id
    task.result_rectified = result.rectified
    task.result_note = result.note
    session.add(task)
    session.flush()
    record_task_change(session, task, case=case)


def on_verification_result(
    session: Session,
    *,
    task: VerificationTask,
    result: InspectionResult,
    actor: User,
    now: datetime | None = None,
) -> CaseEvent:
    """Hook called when an inspection answers a task: records a 'verification' event on
    the case timeline, then lets the workflow move the case as a transition by the
    inspector (rectified -> closed, or back to rectifying with the rework counted). A
    result for a case that has moved on meanwhile is only recorded (see `outcome`)."""
    # Imported here: the workflow imports this module to create tasks.
    from server.workflow.service import apply_verification_result

    now = now or utcnow()
    event = CaseEvent(
        case_id=task.case_id,
        at=now,
        actor_id=actor.id,
        action="verification",
        note=result.note,
        changes={
            "task_id": str(task.id),
            "kind": task.kind.value,
            "inspection_id": str(result.id),
            "rectified": result.rectified,
            "inspected_at": result.inspected_at.isoformat(),
            "photo_ids": [str(p.id) for p in result.photos],
        },
    )
    session.add(event)
    session.flush()
    outcome = apply_verification_result(
        session, task=task, rectified=result.rectified, note=result.note, actor=actor, now=now
    )
    event.changes = {**event.changes, "outcome": outcome}
    session.add(event)
    session.flush()
    return event
