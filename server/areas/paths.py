""" "Inside this area": a prefix match on a materialised path (`/1/4/9/`), written so that
both databases answer it from an index.

PostgreSQL: `path LIKE '/1/4/%'`, served by the `text_pattern_ops` index. SQLite: its LIKE
is case-insensitive and never uses an ordinary index, so the same test is written
`path GLOB '/1/4/*'` (case-sensitive), which does. The pattern is one bound parameter, not
`:prefix || '%'`: an expression on the right-hand side also stops SQLite's optimisation.
"""

import re
from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

_PATH = re.compile(r"^/(?:\d+/)*$")  # digits and slashes: no wildcard of LIKE or GLOB


class PathPrefix(ColumnElement[bool]):
    """`column` starts with `prefix`; compiled per dialect (see the module's docstring)."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a comparison: no "= 1" after it on SQLite
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own convention)
        ("like_expr", InternalTraversal.dp_clauseelement),
        ("glob_expr", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, prefix: str) -> None:
        if not _PATH.match(prefix):
            raise ValueError(f"not an area path: {prefix!r}")
        self.like_expr = column.like(prefix + "%")
        self.glob_expr = column.op("GLOB", is_comparison=True)(prefix + "*")


@compiles(PathPrefix)
def _like(element: PathPrefix, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.like_expr, **kw)


@compiles(PathPrefix, "sqlite")
def _glob(element: PathPrefix, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.glob_expr, **kw)


def path_within(column: Any, prefix: str) -> ColumnElement[bool]:
    """The rows whose path lies inside the area with path `prefix` (itself included)."""
    return PathPrefix(column, prefix)
