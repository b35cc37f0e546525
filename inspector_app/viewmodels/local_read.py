"""A read-only view of the tablet's SQLite file for the screens' lists.

The store serialises every access behind one lock, shared with the sync thread and the
photo worker. The lists (thousands of reports) read through a second, read-only
connection instead: in WAL mode readers never wait for a writer, so a sync in progress
cannot stall a scroll, and a list query cannot hold up a save.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inspector_app.core.schema import data_owner


class LocalReader:
    """Read-only queries against the store's file (thread-safe, one connection)."""

    def __init__(self, db_path: Path | str) -> None:
        self.path = Path(db_path)
        if not self.path.exists():
            raise FileNotFoundError(f"the local database {self.path} does not exist yet")
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=15.0
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 15000")

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def data_owner(self) -> str | None:
        """The user whose data the store holds (Store.data_owner, on this connection)."""
        with self._lock:
            return data_owner(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
