"""The change log that pull reads: allocating change sequence numbers and recording changes.

Every writer of a pulled entity (cases, verification tasks, categories, areas) calls
`record_change` inside its own transaction. The seq comes from the single-row
`sync_counter` table (`UPDATE ... SET value = value + 1 RETURNING value`): on PostgreSQL the
row lock is held until the writing transaction ends, so allocators are serialised and seq
order equals commit order; SQLite has one writer anyway. A puller that has seen seq N has
therefore seen every committed change <= N, and never skips one that committed late.
A rolled-back transaction (or savepoint) gives its seq back, so there are no holes either.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Table, and_, insert, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, SQLModel, col

from server.accounts.scope import Scope, area_filter, case_filter
from server.areas.models import Area
from server.cases.models import Case
from server.core.clock import utcnow
from server.sync.models import ChangeEntity, ChangeLog, SyncCounter, VerificationTask

COUNTER_ID = 1


def table_of(model: type[SQLModel]) -> Table:
    """A model's Core table: `session.execute(insert(table), rows)` is a plain executemany
    (multi-row), without the ORM's per-row bookkeeping of `insert(Model)`."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):  # pragma: no cover - every model here maps one table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _bump(session: Session, count: int) -> int | None:
    counter = table_of(SyncCounter)  # Core: no ORM bookkeeping on the hottest statement
    stmt = (
        update(counter)
        .where(counter.c.id == COUNTER_ID)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def allocate_seq(session: Session) -> int:
    """The next change sequence number, allocated inside the caller's transaction."""
    return allocate_seqs(session, 1)


def allocate_seqs(session: Session, count: int) -> int:
    """`count` consecutive change sequence numbers in one counter bump (one lock, as for
    one); returns the last: the range is `last - count + 1 .. last`."""
    if count < 1:
        raise ValueError("count must be at least 1")
    value = _bump(session, count)
    if value is not None:
        return value
    # First change ever (migrations create no rows): make the counter row. Two first
    # writers racing here both insert; ON CONFLICT DO NOTHING lets the loser wait for the
    # winner's commit and then bump the committed row.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    session.execute(
        dialect_insert(SyncCounter)
        .values(id=COUNTER_ID, value=0)
        .on_conflict_do_nothing(index_elements=["id"])
    )
    value = _bump(session, count)
    if value is None:  # pragma: no cover - the row exists now
        raise RuntimeError("sync_counter row missing after insert")
    return value


def current_seq(session: Session) -> int:
    """The committed counter: every change with seq <= this value is committed."""
    value = session.execute(
        select(SyncCounter.value).where(col(SyncCounter.id) == COUNTER_ID)  # type: ignore[call-overload]
    ).scalar_one_or_none()
    return 0 if value is None else int(value)


def record_change(
    session: Session,
    *,
    entity: ChangeEntity,
    entity_id: UUID | str,
    area_path: str | None = None,
    department_id: int | None = None,
    assignee_id: UUID | None = None,
) -> int:
    """Append one change to the log (inside the caller's transaction); returns its seq.

    The scope columns decide who pulls it: cases by `area_path`/`department_id` (the
    same rules as `case_filter`), tasks by `assignee_id`, areas by `area_path`, taxonomy
    everyone. When a change takes an entity out of someone's sight (a case moved to another
    grid, a task reassigned), record a second change with the *old* scope columns as well:
    that puller then receives `op: "delete"` for it.
    """
    seq = allocate_seq(session)
    session.execute(
        insert(table_of(ChangeLog)).values(
            seq=seq,
            entity=entity,
            entity_id=str(entity_id),
            area_path=area_path,
            department_id=department_id,
            assignee_id=assignee_id,
        )
    )
    return seq


def record_case_change(session: Session, case: Case, *, old_area_path: str | None = None) -> int:
    """Record a change of `case` with its current scope columns (and its old area's, when
    the case moved)."""
    if old_area_path is not None and old_area_path != case.area_path:
        record_change(
            session,
            entity=ChangeEntity.CASE,
            entity_id=case.id,
            area_path=old_area_path,
            department_id=case.department_id,
        )
    return record_change(
        session,
        entity=ChangeEntity.CASE,
        entity_id=case.id,
        area_path=case.area_path,
        department_id=case.department_id,
    )


def record_case_changes(session: Session, cases: Sequence[dict[str, Any]]) -> int:
    """One change per case (hazard_case column values: id, area_path, department_id),
    with consecutive seqs in the given order, from ONE counter bump and one multi-row
    insert (the bulk report.create path). Returns the last seq, 0 if there is none."""
    if not cases:
        return 0
    last = allocate_seqs(session, len(cases))
    first = last - len(cases) + 1
    now = utcnow()
    values = [
        {
            "seq": first + i,
            "entity": ChangeEntity.CASE,
            "entity_id": str(case["id"]),
            "area_path": case["area_path"],
            "department_id": case.get("department_id"),
            "assignee_id": None,
            "created_at": now,
        }
        for i, case in enumerate(cases)
    ]
    session.execute(insert(table_of(ChangeLog)), values)
    return last


def record_task_change(session: Session, task: VerificationTask, *, case: Case) -> int:
    return record_change(
        session,
        entity=ChangeEntity.TASK,
        entity_id=task.id,
        area_path=case.area_path,
        assignee_id=task.assignee_id,
    )


def record_area_change(session: Session, area: Area) -> int:
    return record_change(
        session, entity=ChangeEntity.AREA, entity_id=area.code, area_path=area.path
    )


def record_taxonomy_change(session: Session, category_code: str) -> int:
    return record_change(session, entity=ChangeEntity.TAXONOMY, entity_id=category_code)


# ---------------------------------------------------------------- visibility at pull time


def change_filter(scope: Scope, user_id: UUID) -> ColumnElement[bool]:
    """A WHERE clause on ChangeLog: the changes this user may pull, by the scope rules of
    server/accounts/scope.py applied to the columns the change log copies."""
    path = col(ChangeLog.area_path)
    case_clause = case_filter(scope, area_path=path, department_id=col(ChangeLog.department_id))
    area_clause = area_filter(scope, path=path)
    entity = col(ChangeLog.entity)
    return or_(
        and_(entity == ChangeEntity.CASE, case_clause),
        and_(entity == ChangeEntity.TASK, col(ChangeLog.assignee_id) == user_id),
        entity == ChangeEntity.TAXONOMY,
        and_(entity == ChangeEntity.AREA, area_clause),
    )
