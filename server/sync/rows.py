"""Inserting many rows in one statement.

`insert_rows(session, table, rows)` does what `session.execute(insert(table), rows)` does.
On PostgreSQL it sends ONE statement with ONE parameter, the rows as a JSON array of
arrays, instead of psycopg's executemany (one Bind/Execute per row, each value adapted
separately):

    INSERT INTO t (a, b) SELECT (e.v->>0)::uuid, (e.v->>1)::text
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS e(v, n) ORDER BY e.n

For the ~600 rows of a push of 100 reports this costs the server about a fifth less CPU
and the database about a quarter less than the executemany (measured; docs/benchmarks.md).
The rows meet the same constraints, foreign keys and triggers as row-by-row inserts and
fail with the same errors, in the given order (serial ids follow it). Each value first
goes through its column type's bind processing (enums to values, time zones, JSON to its
text, kept verbatim); text is cast to `text`, never `varchar(n)`, so an over-long value is
refused by the insert as usual instead of being cut by an explicit cast. Values JSON cannot
carry (bytes, ...) fall back to the executemany, as do other databases (SQLite) and single
rows; floats travel as text (exact, and -0.0, NaN and infinities survive).
"""

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    JSON,
    ColumnClause,
    ColumnElement,
    DateTime,
    Float,
    Insert,
    String,
    Table,
    Uuid,
    any_,
    bindparam,
    insert,
    literal_column,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.types import TypeDecorator, TypeEngine


@dataclass(frozen=True)
class _Plan:
    statement: Insert
    processors: tuple[Callable[[Any], Any] | None, ...]


class _NotJson(Exception):
    """A value the JSON path cannot carry exactly: use the executemany."""


def _base_type(column_type: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    impl = column_type.dialect_impl(dialect)
    return impl.impl_instance if isinstance(impl, TypeDecorator) else impl


def _sql_type(column_type: TypeEngine[Any], dialect: Dialect) -> str:
    base = _base_type(column_type, dialect)
    if isinstance(base, String):
        return "TEXT"
    return dialect.type_compiler_instance.process(base)


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, answering from memory when given the very object it was given last.
    A push's rows share their timestamps (one `now`) and enum members, so most calls
    repeat the previous one. The memory is one tuple, replaced whole, so threads sharing
    a plan never read one call's input with another's output; values are immutable."""
    last: list[tuple[Any, Any]] = [(object(), None)]

    def converted(value: Any) -> Any:
        seen = last[0]
        if seen[0] is value:
            return seen[1]
        out = convert(value)
        last[0] = (value, out)
        return out

    return converted


def _to_json(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processing, then (for the commonest types json.dumps does not
    know) the text PostgreSQL casts back; other values go through `_plain`."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    base = _base_type(column_type, dialect)
    if isinstance(base, Uuid) and process is None:
        return _uuid_text  # 32 hex digits: PostgreSQL's uuid input takes them
    if isinstance(base, DateTime) and process is not None:
        return _same_as_last(lambda v: None if v is None else _iso(process(v)))
    if isinstance(base, Float):
        # As text: exact, and keeps what a JSON number would lose (-0.0, NaN, infinities).
        if process is None:
            return _float_text
        return lambda v: _float_text(process(v))
    if process is not None and isinstance(base, String):
        return _same_as_last(process)  # enums: a push repeats a few members (immutable)
    return process  # (other types may take mutable values: never answered from memory)


def _float_text(value: Any) -> Any:
    return None if value is None else str(value)


def _uuid_text(value: Any) -> Any:
    return value.hex if isinstance(value, UUID) else value


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@lru_cache(maxsize=64)
def _plan(table: Table, names: tuple[str, ...], dialect: Dialect) -> _Plan:
    for column in table.c:
        # A missing column's scalar default goes into the statement once (as executemany
        # gives it to every row); a callable one would be called once, not per row.
        if column.name not in names and column.default is not None and column.default.is_callable:
            raise ValueError(f"insert_rows into {table.name}: give {column.name} explicitly")
    picked: list[ColumnClause[Any]] = []
    processors: list[Callable[[Any], Any] | None] = []
    for i, name in enumerate(names):
        column = table.c[name]
        if isinstance(_base_type(column.type, dialect), JSON):
            # The document as text inside the array, stored verbatim (as executemany would).
            picked.append(literal_column(f"(e.v->>{i})::json"))
            processors.append(_json_text)
            continue
        picked.append(literal_column(f"(e.v->>{i})::{_sql_type(column.type, dialect)}"))
        processors.append(_to_json(column.type, dialect))
    source = sql_text("jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS e(v, n)")
    rows = select(*picked).select_from(source).order_by(literal_column("e.n"))
    return _Plan(insert(table).from_select(list(names), rows), tuple(processors))


def _plain(value: Any) -> Any:
    """JSON for the values json.dumps does not know, in a form PostgreSQL casts back."""
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise _NotJson(type(value).__name__)


def _as_json(names: tuple[str, ...], plan: _Plan, rows: Sequence[Mapping[str, Any]]) -> str:
    steps = list(zip(names, plan.processors, strict=True))
    data = [
        [row[name] if process is None else process(row[name]) for name, process in steps]
        for row in rows
    ]
    try:
        return json.dumps(data, default=_plain, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or an infinity: JSON has no such number
        raise _NotJson(str(exc)) from None


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`: one statement on
    PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and len(rows) > 1:
        names = tuple(rows[0])
        plan = _plan(table, names, dialect)
        try:
            document = _as_json(names, plan, rows)
        except _NotJson:
            pass
        else:
            session.execute(plan.statement, {"rows": document})
            return
    session.execute(insert(table), list(rows))


def among(
    session: Session, column: Mapped[Any] | ColumnElement[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL as `column = ANY(CAST(ARRAY[...] AS type[]))`,
    the values rendered into the statement at execution. Not 100-200 parameters (an IN
    list SQLAlchemy renders and psycopg parses afresh on every push, ~5 ms), and not one
    array parameter either: psycopg prepares a statement it has run 5 times, and
    PostgreSQL's generic plan for `= ANY($1)` cannot hash the array or see its size. On a
    table whose statistics are stale (a new server, a fast-growing one) that plan compared
    each row with every id: the push's lookups grew with the table, from 2 to 15-35 ms a
    push over the first 3,000 reports. With the ids in the text, every execution is
    planned with them: 0.3-3 ms at any size. Elsewhere a plain IN."""
    element = cast(ColumnElement[Any], column)  # an ORM attribute is one at run time
    if session.get_bind().dialect.name == "postgresql":
        literal = bindparam(None, list(values), type_=ARRAY(element.type), literal_execute=True)
        return element == any_(sql_cast(literal, ARRAY(element.type)))
    return element.in_(values)
