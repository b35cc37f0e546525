"""Inside an area: a prefix match on a materialised path (`/1/4/9/`).

PostgreSQL: `path LIKE '/1/4/%'` as ONE bound pattern (not `:prefix || '%'`, which a
generic plan cannot match to an index), served by the `text_pattern_ops` index.

SQLite: the same LIKE, which SQLite answers without the path index (its LIKE is
case-insensitive). `GLOB '/1/4/*'` would use the index, and was tried: the one-grid list
went from 58 to 10 ms at a million cases, but every street-scoped list got slower (a
supervisor's first page 5 -> 217 ms, triage 5 -> 171 ms): SQLite cannot estimate how many
rows a path range holds, so it read a whole street through the path index and sorted it,
instead of walking `created_at` newest-first and stopping after one page. Kept as LIKE
(docs/benchmarks.md, "Admin queries").
"""

import re
from typing import Any

from sqlalchemy import ColumnElement

_PATH = re.compile(r"^/(?:\d+/)*$")  # digits and slashes: no LIKE wildcard to escape


def path_within(column: Any, prefix: str) -> ColumnElement[bool]:
    """The rows whose path lies inside the area with path `prefix` (itself included)."""
    if not _PATH.match(prefix):
        raise ValueError(f"not an area path: {prefix!r}")
    result: ColumnElement[bool] = column.like(prefix + "%")
    return result
