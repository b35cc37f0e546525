"""Verification tasks from the workflow's side: whom to send, and cancelling stale ones.

The task itself (creation, the change pulled by the tablet, completion) belongs to
server/sync/tasks.py; its result comes back through `on_verification_result` there.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.accounts.models import User, UserArea
from server.accounts.scope import ancestor_paths
from server.areas.models import Area
from server.cases.models import Case
from server.sync.changes import record_task_change
from server.sync.models import TaskKind, TaskStatus, VerificationTask
from server.workflow.errors import field_error
from shared_schemas.enums import Role


def _covering_inspectors(session: Session, case: Case) -> list[tuple[User, int]]:
    """Active inspectors assigned to the case's area or an area containing it, each with
    the depth of their most specific such area (a grid beats its street)."""
    paths = ancestor_paths((case.area_path,)) | {case.area_path}
    rows = session.exec(
        select(User, Area.path)
        .join(UserArea, col(UserArea.user_id) == col(User.id))
        .join(Area, col(Area.id) == col(UserArea.area_id))
        .where(User.role == Role.INSPECTOR)
        .where(col(User.is_active).is_(True))
        .where(col(Area.path).in_(paths))
    ).all()
    depth: dict[UUID, tuple[User, int]] = {}
    for user, path in rows:
        d = path.count("/")
        if user.id not in depth or depth[user.id][1] < d:
            depth[user.id] = (user, d)
    return list(depth.values())


def choose_inspector(session: Session, *, case: Case, username: str | None) -> User:
    """The named inspector, who must cover the case's grid; otherwise the one assigned to
    the most specific area around the case with the fewest open tasks (then by name)."""
    covering = _covering_inspectors(session, case)
    if username is not None:
        for user, _ in covering:
            if user.username == username:
                return user
        raise field_error(
            "assignee", f"{username} is not an active inspector assigned to this case's area"
        )
    if not covering:
        raise field_error(
            "assignee",
            "no active inspector is assigned to this case's area: assign one to the grid first",
        )
    ids = [u.id for u, _ in covering]
    open_counts = dict(
        session.exec(
            select(VerificationTask.assignee_id, func.count())
            .where(col(VerificationTask.assignee_id).in_(ids))
            .where(VerificationTask.status == TaskStatus.OPEN)
            .group_by(col(VerificationTask.assignee_id))
        ).all()
    )
    user, _ = min(covering, key=lambda ud: (-ud[1], open_counts.get(ud[0].id, 0), ud[0].username))
    return user


def cancel_open_tasks(session: Session, *, case: Case, now: datetime) -> list[UUID]:
    """Cancel the case's open verification tasks (the case moved on without them); each
    assignee's tablet pulls the cancellation."""
    tasks = list(
        session.exec(
            select(VerificationTask)
            .where(VerificationTask.case_id == case.id)
            .where(VerificationTask.status == TaskStatus.OPEN)
            .where(VerificationTask.kind == TaskKind.VERIFICATION)
            .order_by(col(VerificationTask.created_at))
        )
    )
    for task in tasks:
        task.status = TaskStatus.CANCELLED
        task.completed_at = now
        session.add(task)
    session.flush()
    for task in tasks:
        record_task_change(session, task, case=case)
    return [t.id for t in tasks]
