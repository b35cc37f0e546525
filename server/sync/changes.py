"""The change log that pull reads: recording changes, and writing them at commit.

Every writer of a pulled entity (cases, verification tasks, categories, areas) calls
`record_change` inside its own transaction. The change is only *noted* on the session
then; `write_changes` (run by a `before_commit` session event, so no commit site can
forget it) allocates the seqs and inserts the rows just before the transaction commits.

Seqs come from the single-row `sync_counter` table (`UPDATE ... SET value = value + n
RETURNING value`, one bump per transaction): on PostgreSQL the row lock is held until the
writing transaction ends, so allocators are serialised and seq order equals commit
order; SQLite has one writer anyway. A puller that has seen seq N has therefore seen
every committed change <= N, and never skips one that committed late. Because the counter
is taken last (after the transaction's own writes are flushed) and held only for the
commit, a writer never waits for a row lock while holding it: two writers cannot deadlock
over the counter and a case (one holding the counter and wanting the case, the other the
reverse). A rolled-back transaction writes nothing; a rolled-back SAVEPOINT drops the
changes noted inside it (`after_soft_rollback`), so there are no holes either.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Table, and_, event, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, SQLModel, col

from server.accounts.scope import Scope, area_filter, case_filter
from server.areas.models import Area
from server.cases.models import Case
from server.core.clock import utcnow
from server.sync.models import ChangeEntity, ChangeLog, SyncCounter, VerificationTask
from server.sync.rows import insert_rows

COUNTER_ID = 1
_PENDING = "whistle.pending_changes"  # key in Session.info


def table_of(model: type[SQLModel]) -> Table:
    """A model's Core table: `session.execute(insert(table), rows)` is a plain executemany
    (multi-row), without the ORM's per-row bookkeeping of `insert(Model)`."""
    table = sa_inspect(model).local_table
    if not isinstance(table, Table):  # pragma: no cover - every model here maps one table
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table


def _bump(session: OrmSession, count: int) -> int | None:
    counter = table_of(SyncCounter)  # Core: no ORM bookkeeping on the hottest statement
    stmt = (
        update(counter)
        .where(counter.c.id == COUNTER_ID)
        .values(value=counter.c.value + count)
        .returning(counter.c.value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def allocate_seqs(session: OrmSession, count: int) -> int:
    """`count` consecutive change sequence numbers in one counter bump (one lock, as for
    one); returns the last: the range is `last - count + 1 .. last`. Only `write_changes`
    should call this: the lock lasts until the transaction ends."""
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


# ---------------------------------------------------------------- noting and writing


@dataclass(frozen=True)
class _Noted:
    """A change noted in a transaction (the innermost one when it was recorded)."""

    transaction: SessionTransaction
    values: dict[str, Any]  # change_log columns except seq


def _noted(session: OrmSession) -> list[_Noted]:
    noted: list[_Noted] = session.info.setdefault(_PENDING, [])
    return noted


def _note(session: OrmSession, values: list[dict[str, Any]]) -> None:
    transaction = session.get_nested_transaction()
    if transaction is None:
        transaction = session.get_transaction()
    if transaction is None:
        transaction = session.begin()  # what autobegin would do at the next statement
    _noted(session).extend(_Noted(transaction, v) for v in values)


def pending_changes(session: OrmSession) -> int:
    """How many changes this session's transaction will write at commit."""
    return len(session.info.get(_PENDING, ()))


def write_changes(session: OrmSession) -> None:
    """Write the noted changes: flush the transaction's own writes first (their row locks
    are taken before the counter's, never after), then ONE counter bump for all of them
    and one multi-row insert, seqs in the order they were recorded. Runs in before_commit;
    callable directly (tests). Nothing noted: no statement at all."""
    noted = session.info.get(_PENDING)
    if not noted:
        return
    session.flush()
    last = allocate_seqs(session, len(noted))
    first = last - len(noted) + 1
    rows = [{**n.values, "seq": first + i} for i, n in enumerate(noted)]
    insert_rows(session, table_of(ChangeLog), rows)
    noted.clear()


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(OrmSession, "before_commit")
def _before_commit(session: OrmSession) -> None:
    # Also fired when a SAVEPOINT is released: its changes wait for the real commit.
    if session.get_nested_transaction() is None:
        write_changes(session)


@event.listens_for(OrmSession, "after_soft_rollback")
def _after_rollback(session: OrmSession, previous_transaction: SessionTransaction) -> None:
    noted = session.info.get(_PENDING)
    if noted:
        noted[:] = [n for n in noted if not _within(n.transaction, previous_transaction)]


@event.listens_for(OrmSession, "after_transaction_end")
def _after_transaction_end(session: OrmSession, transaction: SessionTransaction) -> None:
    # The outermost transaction ended (committed, rolled back, or closed): nothing noted
    # in it may leak into the session's next transaction.
    if transaction.parent is None and session.info.get(_PENDING):
        session.info[_PENDING].clear()


def record_change(
    session: Session,
    *,
    entity: ChangeEntity,
    entity_id: UUID | str,
    area_path: str | None = None,
    department_id: int | None = None,
    assignee_id: UUID | None = None,
) -> None:
    """Note one change in the caller's transaction; it is written (and gets its seq) when
    the transaction commits, and dropped if it (or the savepoint around it) rolls back.

    The scope columns decide who pulls it: cases by `area_path`/`department_id` (the
    same rules as `case_filter`), tasks by `assignee_id`, areas by `area_path`, taxonomy
    everyone. When a change takes an entity out of someone's sight (a case moved to another
    grid, a task reassigned), record a second change with the *old* scope columns as well:
    that puller then receives `op: "delete"` for it.
    """
    _note(
        session,
        [
            {
                "entity": entity,
                "entity_id": str(entity_id),
                "area_path": area_path,
                "department_id": department_id,
                "assignee_id": assignee_id,
                "created_at": utcnow(),
            }
        ],
    )


def record_case_scope_change(
    session: Session, case_id: UUID, *, area_path: str, department_id: int | None
) -> None:
    """A change of the case `case_id`, pulled by whoever sees these scope columns (for
    writers that hold the columns, not the Case object)."""
    record_change(
        session,
        entity=ChangeEntity.CASE,
        entity_id=case_id,
        area_path=area_path,
        department_id=department_id,
    )


def record_case_change(session: Session, case: Case, *, old_area_path: str | None = None) -> None:
    """Record a change of `case` with its current scope columns (and its old area's, when
    the case moved)."""
    if old_area_path is not None and old_area_path != case.area_path:
        record_case_scope_change(
            session, case.id, area_path=old_area_path, department_id=case.department_id
        )
    record_case_scope_change(
        session, case.id, area_path=case.area_path, department_id=case.department_id
    )


def record_case_changes(session: Session, cases: Sequence[dict[str, Any]]) -> None:
    """One change per case (hazard_case column values: id, area_path, department_id), in
    the given order (the bulk report.create path); written with the transaction's other
    changes at commit."""
    now = utcnow()
    _note(
        session,
        [
            {
                "entity": ChangeEntity.CASE,
                "entity_id": str(case["id"]),
                "area_path": case["area_path"],
                "department_id": case.get("department_id"),
                "assignee_id": None,
                "created_at": now,
            }
            for case in cases
        ],
    )


def record_task_change(session: Session, task: VerificationTask, *, case: Case) -> None:
    record_change(
        session,
        entity=ChangeEntity.TASK,
        entity_id=task.id,
        area_path=case.area_path,
        assignee_id=task.assignee_id,
    )


def record_area_change(session: Session, area: Area) -> None:
    record_change(session, entity=ChangeEntity.AREA, entity_id=area.code, area_path=area.path)


def record_taxonomy_change(session: Session, category_code: str) -> None:
    record_change(session, entity=ChangeEntity.TAXONOMY, entity_id=category_code)


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
