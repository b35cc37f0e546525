"""Inside an area: a prefix match on a materialised path (`/1/4/9/`).

PostgreSQL: `path LIKE '/1/4/%'` as ONE bound pattern (not `:prefix || '%'`, which a
generic plan cannot match to an index), served by the `text_pattern_ops` index.

SQLite: its LIKE is case-insensitive and never uses the path index; `GLOB '/1/4/*'` can.
But SQLite cannot estimate how many rows a path range holds, and given GLOB alone it read
a whole street through the path index and sorted it (a supervisor's first page 5 ->
217 ms) instead of walking `created_at` newest-first and stopping after one page. So the
GLOB is wrapped in `likelihood(..., p)`, the planner's hint of how many rows pass: a
district, street or community (path depth <= 3: roots are districts) holds thousands of
cases, so p = 0.9 and a page walks `created_at`; a grid or compound (depth >= 4) holds
few, so p = 0.001 and the path index finds them (the one-grid list: 60 -> 5 ms at a
million cases; docs/benchmarks.md, "Admin queries").
"""

import re
from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

_PATH = re.compile(r"^/(?:\d+/)*$")  # digits and slashes: no LIKE/GLOB wildcard to escape
SMALL_AREA_DEPTH = 4  # grids and compounds: /district/street/community/grid/
LIKELY_SMALL = 0.001  # the share of rows a grid's range is expected to hold (a hint)
LIKELY_LARGE = 0.9  # a street's: "most rows": walk another index for a page


class _PathWithin(ColumnElement[bool]):
    """`column LIKE 'prefix%'`; on SQLite `likelihood(column GLOB 'prefix*', p)`."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a predicate: never rendered as `(...) = 1` on SQLite
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy declares it a plain attribute
        ("column", InternalTraversal.dp_clauseelement),
        ("like_pattern", InternalTraversal.dp_clauseelement),
        ("glob_pattern", InternalTraversal.dp_clauseelement),
        ("small", InternalTraversal.dp_boolean),
    ]

    def __init__(self, column: Any, prefix: str) -> None:
        self.column = column
        self.like_pattern: BindParameter[str] = bindparam(None, prefix + "%", unique=True)
        self.glob_pattern: BindParameter[str] = bindparam(None, prefix + "*", unique=True)
        self.small = prefix.count("/") - 1 >= SMALL_AREA_DEPTH


@compiles(_PathWithin)
def _like(element: _PathWithin, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} LIKE {compiler.process(element.like_pattern, **kw)}"


@compiles(_PathWithin, "sqlite")
def _glob(element: _PathWithin, compiler: SQLCompiler, **kw: Any) -> str:
    likely = LIKELY_SMALL if element.small else LIKELY_LARGE
    column = compiler.process(element.column, **kw)
    return f"likelihood({column} GLOB {compiler.process(element.glob_pattern, **kw)}, {likely})"


def path_within(column: Any, prefix: str) -> ColumnElement[bool]:
    """The rows whose path lies inside the area with path `prefix` (itself included)."""
    if not _PATH.match(prefix):
        raise ValueError(f"not an area path: {prefix!r}")
    return _PathWithin(column, prefix)
