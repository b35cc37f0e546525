"""insert_rows (server/sync/rows.py): one statement on PostgreSQL, the same rows as an
executemany; awkward text survives the array parameters, an over-long value is refused
(never cut), and the database's own errors come through as usual. Both backends."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, insert
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.cases.models import Case, CaseEvent
from server.sync.changes import table_of
from server.sync.models import ChangeEntity, ChangeLog, Device
from server.sync.rows import _same_as_last, among, insert_rows
from tests.world import World, add_case

T = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)
# Text that array literals must escape: quotes, backslashes, braces, commas, NULL-looking
# words, blanks and non-ASCII. (NUL itself cannot be stored in PostgreSQL text.)
awkward = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=30
) | st.sampled_from(['"', "\\", "{}", "a,b", "NULL", "null", " ", "", '{"x": 1}', "消防"])


def _user(session: Session, world: World) -> User:
    user = session.get(User, world.user_ids["inspector_a"])
    assert user is not None
    return user


def _change(seq: int, entity_id: str, area_path: str | None, dept: int | None) -> dict[str, Any]:
    return {
        "seq": seq,
        "entity": ChangeEntity.TASK,
        "entity_id": entity_id,
        "area_path": area_path,
        "department_id": dept,
        "assignee_id": uuid4() if dept is None else None,
        "created_at": T + timedelta(seconds=seq),
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(
        st.tuples(
            awkward.map(lambda t: t[:64]),
            st.none() | awkward,
            st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_rows_come_back_exactly_as_given(
    engine: Engine, values: list[tuple[str, str | None, int | None]]
) -> None:
    with Session(engine) as s:
        first = (s.exec(select(ChangeLog.seq).order_by(col(ChangeLog.seq).desc())).first() or 0) + 1
        rows = [_change(first + i, *v) for i, v in enumerate(values)]
        insert_rows(s, table_of(ChangeLog), rows)
        s.commit()
        stored = s.exec(select(ChangeLog).where(col(ChangeLog.seq) >= first)).all()
    got = sorted((r.model_dump() for r in stored), key=lambda r: r["seq"])
    assert got == rows


def test_postgresql_gets_one_statement_with_defaults_json_and_enums(
    engine: Engine, world: World, db_backend: str
) -> None:
    with Session(engine) as s:
        case = add_case(s, area=world.a.grid, reporter=_user(s, world))
        s.commit()
        rows = [
            {
                "case_id": case.id,
                "at": T,
                "actor_id": case.reporter_id,
                "action": "report",
                "to_status": "reported",
                "changes": {"op_id": str(i), "nested": {"list": [1, "二", None]}, "q": '"{'},
            }
            for i in range(3)
        ]
        statements: list[str] = []

        def grab(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", grab)
        try:
            insert_rows(s, table_of(CaseEvent), rows)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        s.commit()
        stored = s.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.at == T)
            .order_by(col(CaseEvent.id))
        ).all()
    assert [e.changes for e in stored] == [r["changes"] for r in rows]
    assert {e.note for e in stored} == {""}  # the column's scalar default, for every row
    assert {e.to_status for e in stored} == {"reported"}
    if db_backend == "postgresql":
        [single] = [x for x in statements if x.lstrip().upper().startswith("INSERT")]
        assert "jsonb_array_elements(" in single


@pytest.mark.postgresql_only
def test_an_over_long_value_is_refused_not_cut(engine: Engine) -> None:
    rows = [_change(10_001, "x" * 65, None, 1), _change(10_002, "ok", None, 1)]
    with Session(engine) as s, pytest.raises(DataError, match="too long"):
        insert_rows(s, table_of(ChangeLog), rows)


def test_a_duplicate_key_is_an_integrity_error(engine: Engine) -> None:
    rows = [_change(20_001, "a", None, 1), _change(20_001, "b", None, 1)]
    with Session(engine) as s, pytest.raises(IntegrityError):
        insert_rows(s, table_of(ChangeLog), rows)


def test_a_callable_default_must_be_given(engine: Engine, db_backend: str) -> None:
    rows = [
        {k: v for k, v in _change(i, "a", None, 1).items() if k != "created_at"} for i in (1, 2)
    ]
    with Session(engine) as s:
        if db_backend == "postgresql":
            with pytest.raises(ValueError, match="give created_at explicitly"):
                insert_rows(s, table_of(ChangeLog), rows)
        insert_rows(s, table_of(ChangeLog), [])  # nothing to insert: no statement at all
        assert s.exec(select(ChangeLog)).all() == []


def test_case_rows_round_trip(engine: Engine, world: World) -> None:
    with Session(engine) as s:
        template = add_case(s, area=world.a.grid, reporter=_user(s, world))
        s.flush()
        base = {c.name: getattr(template, c.name) for c in table_of(Case).c if c.name != "id"}
        s.rollback()
        rows = [{**base, "id": uuid4(), "description": f"第{i}条 \\ \"'"} for i in range(3)]
        insert_rows(s, table_of(Case), rows)
        s.commit()
        stored = {
            c.id: c for c in s.exec(select(Case).where(col(Case.id).in_([r["id"] for r in rows])))
        }
    assert [stored[r["id"]].description for r in rows] == [r["description"] for r in rows]
    assert {stored[r["id"]].status for r in rows} == {base["status"]}


def test_serial_ids_follow_the_order_of_the_rows(engine: Engine, world: World) -> None:
    with Session(engine) as s:
        case = add_case(s, area=world.a.grid, reporter=_user(s, world))
        s.commit()
        rows = [
            {
                "case_id": case.id,
                "at": T,
                "actor_id": case.reporter_id,
                "action": "note",
                "changes": {"i": i},
            }
            for i in range(8)
        ]
        insert_rows(s, table_of(CaseEvent), rows)
        s.commit()
        stored = s.exec(
            select(CaseEvent).where(CaseEvent.action == "note").order_by(col(CaseEvent.id))
        ).all()
    assert [e.changes["i"] for e in stored] == list(range(8))


@pytest.mark.postgresql_only
def test_floats_are_stored_exactly(engine: Engine, world: World) -> None:
    values = [float("nan"), float("inf"), -0.0, 0.1 + 0.2, 5.0, 1e-300]
    with Session(engine) as s:
        template = add_case(s, area=world.a.grid, reporter=_user(s, world))
        s.flush()
        base = {c.name: getattr(template, c.name) for c in table_of(Case).c if c.name != "id"}
        s.rollback()
        rows = [{**base, "id": uuid4(), "accuracy_m": v} for v in values]
        insert_rows(s, table_of(Case), rows)
        s.commit()
        stored = dict(
            s.exec(
                select(Case.id, Case.accuracy_m).where(col(Case.id).in_([r["id"] for r in rows]))
            ).all()
        )
    got = [stored[r["id"]] for r in rows]
    assert [repr(v) for v in got] == [repr(v) for v in values]  # nan, inf, -0.0 included


def test_a_value_json_cannot_carry_goes_the_executemany_way(engine: Engine) -> None:
    def rows(first: int) -> list[dict[str, Any]]:
        return [
            _change(first, "a", None, 1),
            {**_change(first + 1, "b", None, 1), "area_path": b"bytes"},
        ]

    with Session(engine) as s:
        insert_rows(s, table_of(ChangeLog), rows(30_001))
        s.execute(insert(table_of(ChangeLog)), rows(30_011))
        s.commit()
        paths = dict(s.exec(select(ChangeLog.seq, ChangeLog.area_path)).all())
    assert paths[30_002] == paths[30_012]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    picked=st.lists(st.integers(min_value=0, max_value=7), max_size=12), strangers=st.integers(0, 3)
)
def test_among_picks_exactly_the_rows_an_in_list_picks(
    engine: Engine, world: World, picked: list[int], strangers: int
) -> None:
    """`among` (one array parameter on PostgreSQL, IN elsewhere) on a uuid and a text
    column: the rows a Python filter picks; repeated and unknown values, and none."""
    with Session(engine) as s:
        reporter = _user(s, world)
        cases = [add_case(s, area=world.a.grid, reporter=reporter) for _ in range(8)]
        s.flush()
        wanted = [cases[i].id for i in picked] + [uuid4() for _ in range(strangers)]
        got = s.exec(select(Case.id).where(among(s, col(Case.id), wanted))).all()
        assert set(got) == {cases[i].id for i in picked}
        paths = [cases[i].area_path for i in picked]
        by_path = s.exec(
            select(Case.id).where(
                among(s, col(Case.area_path), paths), among(s, col(Case.id), wanted)
            )
        ).all()
        assert set(by_path) == {cases[i].id for i in picked}
        s.rollback()


def test_among_renders_the_ids_into_the_statement_on_postgresql(
    engine: Engine, world: World, db_backend: str
) -> None:
    """PostgreSQL: the ids are in the statement's text (planned with them each time, see
    `among`), not parameters; SQLite: a plain IN."""
    ids = [uuid4() for _ in range(150)]
    statements: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        statements.append((statement, parameters))

    with Session(engine) as s:
        event.listen(engine, "before_cursor_execute", grab)
        try:
            assert s.exec(select(Case.id).where(among(s, col(Case.id), ids))).all() == []
        finally:
            event.remove(engine, "before_cursor_execute", grab)
    [(statement, parameters)] = statements
    if db_backend == "postgresql":
        assert "ANY" in statement.upper() and not parameters
        assert all(str(i) in statement for i in ids)
    else:
        assert len(parameters) == 150


def test_among_finds_what_is_there_and_quotes_what_it_renders(engine: Engine, world: World) -> None:
    """Rendered values are SQL literals: a quote in one is data, not SQL."""
    odd = ["tablet'; DROP TABLE device; --", "平板-1", "plain"]
    with Session(engine) as s:
        for device_id in odd[:2]:
            s.add(Device(id=device_id, app_version="1"))
        s.commit()
        found = s.exec(select(Device.id).where(among(s, col(Device.id), odd))).all()
        assert sorted(found) == sorted(odd[:2])
        cases = s.exec(select(Case.id)).all()
        some = cases[:1]
        assert some and s.exec(select(Case.id).where(among(s, col(Case.id), some))).all() == some


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(picks=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=2, max_size=12))
def test_rows_sharing_timestamp_and_enum_objects_come_back_as_given(
    engine: Engine, picks: list[tuple[int, bool]]
) -> None:
    """A push's rows share one `now` and a few enum members: the processors remember the
    last object they converted; every row must still get its own value."""
    moments = [T, T + timedelta(hours=1), datetime(2026, 5, 2, 18, 0, tzinfo=UTC)]
    with Session(engine) as s:
        first = (s.exec(select(ChangeLog.seq).order_by(col(ChangeLog.seq).desc())).first() or 0) + 1
        rows = [
            {
                **_change(first + i, f"e{i}", None, 1),
                "created_at": moments[m],
                "entity": ChangeEntity.TASK if task else ChangeEntity.CASE,
            }
            for i, (m, task) in enumerate(picks)
        ]
        insert_rows(s, table_of(ChangeLog), rows)
        s.commit()
        stored = s.exec(select(ChangeLog).where(col(ChangeLog.seq) >= first)).all()
    got = sorted((r.model_dump() for r in stored), key=lambda r: r["seq"])
    assert [(r["created_at"], r["entity"]) for r in got] == [
        (r["created_at"], r["entity"]) for r in rows
    ]


def test_same_as_last_answers_each_thread_for_its_own_value() -> None:
    calls: list[int] = []

    def double(value: int) -> int:
        calls.append(value)
        return value * 2

    convert = _same_as_last(double)
    a, b = 10**6 + 1, 10**6 + 2  # not the interned small ints
    assert [convert(a), convert(a), convert(b), convert(a)] == [2 * a, 2 * a, 2 * b, 2 * a]
    assert calls == [a, b, a]  # the repeat was remembered, the others converted

    wrong: list[tuple[int, int]] = []

    def hammer(value: int) -> None:
        for _ in range(50_000):
            out = convert(value)
            if out != 2 * value:
                wrong.append((value, out))

    threads = [threading.Thread(target=hammer, args=(v,)) for v in (10**7 + 1, 10**7 + 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
