"""Verification tasks: on-site checks sent to a tablet by pull, answered by inspection.create.

Minimal for now: the case workflow (issue "workflow") orders verifications and reacts to
their results; it extends `on_verification_result`, which today only records the event.
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
    session: Session, *, task: VerificationTask, result: InspectionResult, actor: User
) -> CaseEvent:
    """Hook called when an inspection answers a task: today it only records a
    'verification' event on the case timeline. The workflow owner extends this to move
    the case (rectified -> closed, or -> rectifying with rework counted)."""
    event = CaseEvent(
        case_id=task.case_id,
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
    return event
