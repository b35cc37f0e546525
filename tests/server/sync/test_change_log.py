"""The change log is written at commit (server/sync/changes.py): recorded changes get
their seqs and rows only when the transaction commits, from one counter bump taken after
the transaction's own writes; rolled-back savepoints and transactions leave nothing, and
no seq is ever skipped. SQLite and PostgreSQL."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, select

from server.sync.changes import current_seq, pending_changes, record_change
from server.sync.models import ChangeEntity, ChangeLog, Device


def _record(session: Session, name: str) -> None:
    record_change(session, entity=ChangeEntity.TAXONOMY, entity_id=name)


def _begin(session: Session) -> None:
    """Open the real transaction with a harmless write: pysqlite begins one only before
    DML, and a SAVEPOINT outside a transaction would be released (committed) alone."""
    session.execute(text("DELETE FROM change_log WHERE seq < 0"))


def _logged_after(engine: Engine, seq: int) -> list[str]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(ChangeLog.entity_id)
                .where(col(ChangeLog.seq) > seq)
                .order_by(col(ChangeLog.seq))
            )
        )


def _seq(engine: Engine) -> int:
    with Session(engine) as s:
        return current_seq(s)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def grab(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def test_changes_are_written_at_commit_in_order_from_one_bump(engine: Engine) -> None:
    with Session(engine) as s:
        _record(s, "first ever")  # makes the counter row
        s.commit()
    before = _seq(engine)
    with Session(engine) as s:
        _record(s, "A")
        _record(s, "B")
        assert pending_changes(s) == 2
        s.flush()
        # Nothing written before the commit.
        assert s.exec(select(ChangeLog).where(col(ChangeLog.seq) > before)).all() == []
        s.add(Device(id="tablet-x"))  # a write of the transaction itself, not yet flushed
        _record(s, "C")
        with _statements(engine) as seen:
            s.commit()
        assert pending_changes(s) == 0
    bumps = [i for i, sql in enumerate(seen) if sql.startswith("UPDATE SYNC_COUNTER")]
    device = next(i for i, sql in enumerate(seen) if sql.startswith("INSERT INTO DEVICE"))
    assert len(bumps) == 1
    assert device < bumps[0], "the counter must be taken after the transaction's own writes"
    assert _logged_after(engine, before) == ["A", "B", "C"]
    assert _seq(engine) == before + 3


def test_a_commit_without_changes_touches_no_counter(engine: Engine) -> None:
    with Session(engine) as s, _statements(engine) as seen:
        s.add(Device(id="tablet-y"))
        s.commit()
    assert not [sql for sql in seen if "SYNC_COUNTER" in sql or "CHANGE_LOG" in sql]


def test_rolled_back_savepoints_and_transactions_leave_nothing(engine: Engine) -> None:
    before = _seq(engine)
    with Session(engine) as s:
        _begin(s)
        _record(s, "kept")
        with pytest.raises(RuntimeError), s.begin_nested():
            _record(s, "refused op")
            raise RuntimeError("the op is refused")
        with s.begin_nested():
            _record(s, "released")
            inner = s.begin_nested()
            _record(s, "inner, rolled back")
            inner.rollback()
        outer = s.begin_nested()
        with s.begin_nested():
            _record(s, "released inside a rolled-back one")
        outer.rollback()
        s.commit()
        # The same session's next transactions: a rollback, then one closed unfinished.
        _record(s, "rolled back")
        s.rollback()
        _record(s, "never committed")
    with Session(engine) as s:
        _record(s, "next")
        s.commit()
    assert _logged_after(engine, before) == ["kept", "released", "next"]
    assert _seq(engine) == before + 3  # no holes


def test_a_commit_with_a_savepoint_still_open_writes_its_changes(engine: Engine) -> None:
    before = _seq(engine)
    with Session(engine) as s:
        _begin(s)
        s.begin_nested()
        _record(s, "in the savepoint")
        s.commit()  # releases the savepoint, then commits
    with Session(engine) as s, s.begin():  # the context-manager commit works the same
        _record(s, "in a begin() block")
    assert _logged_after(engine, before) == ["in the savepoint", "in a begin() block"]


# ---------------------------------------------------------------- property


@dataclass
class Savepoint:
    body: list["Step"]
    keep: bool  # released (True) or rolled back


Step = str | Savepoint  # a str: record a change with that entity id


def _steps(depth: int) -> st.SearchStrategy[list[Step]]:
    names: st.SearchStrategy[Step] = st.text("abcdef", min_size=1, max_size=3)
    if depth == 0:
        return st.lists(names, max_size=3)
    nested = st.builds(Savepoint, body=_steps(depth - 1), keep=st.booleans())
    return st.lists(st.one_of(names, nested), max_size=4)


def _run(session: Session, steps: list[Step]) -> list[str]:
    """Execute the steps; return the entity ids that should survive, in order."""
    kept: list[str] = []
    for step in steps:
        if isinstance(step, str):
            _record(session, step)
            kept.append(step)
            continue
        savepoint = session.begin_nested()
        inner = _run(session, step.body)
        if step.keep:
            savepoint.commit()
            kept.extend(inner)
        else:
            savepoint.rollback()
    return kept


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(transactions=st.lists(st.tuples(_steps(2), st.booleans()), min_size=1, max_size=3))
def test_the_log_holds_exactly_the_committed_changes_without_holes(
    engine: Engine, transactions: list[tuple[list[Step], bool]]
) -> None:
    before = _seq(engine)
    expected: list[str] = []
    with Session(engine) as s:
        for steps, commit in transactions:
            _begin(s)
            kept = _run(s, steps)
            if commit:
                s.commit()
                expected.extend(kept)
            else:
                s.rollback()
    assert _logged_after(engine, before) == expected
    assert _seq(engine) == before + len(expected)
