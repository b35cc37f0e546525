"""The tablet's SQLite schema and its ordered, in-place upgrade steps.

The version lives in ``PRAGMA user_version``. A new file runs every step from 1; an older
file runs the steps it has not seen, each in its own transaction together with the new
``user_version``, so a crash during an upgrade leaves the previous version intact. A step
is never edited once released: change the schema by appending a step.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence

# ---------------------------------------------------------------- version 1 (first release)
# Reports, their photos, the outbox and a key-value table.
V1_DDL = """
CREATE TABLE reports (
    id                    TEXT PRIMARY KEY,
    state                 TEXT NOT NULL DEFAULT 'draft'
                          CHECK (state IN ('draft', 'queued', 'synced', 'rejected')),
    category              TEXT,
    severity              TEXT CHECK (severity IN ('minor', 'general', 'major')),
    description           TEXT NOT NULL DEFAULT '',
    observed_at           TEXT NOT NULL,
    lat                   REAL,
    lon                   REAL,
    accuracy_m            REAL,
    location_source       TEXT CHECK (location_source IN ('gps', 'map', 'manual')),
    location_captured_at  TEXT,
    grid                  TEXT,
    address               TEXT NOT NULL DEFAULT '',
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    reject_code           TEXT,
    reject_message        TEXT
);
CREATE INDEX ix_reports_state ON reports (state);

CREATE TABLE photos (
    id               TEXT PRIMARY KEY,
    report_id        TEXT REFERENCES reports (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL DEFAULT 'before' CHECK (kind IN ('before', 'after')),
    position         INTEGER NOT NULL DEFAULT 0,
    original_path    TEXT NOT NULL,
    original_sha256  TEXT NOT NULL,
    original_size    INTEGER NOT NULL,
    processed_path   TEXT,
    thumb_path       TEXT,
    sha256           TEXT,
    size_bytes       INTEGER,
    media_type       TEXT,
    width            INTEGER,
    height           INTEGER,
    taken_at         TEXT NOT NULL,
    processed        INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1)),
    process_error    TEXT,
    upload_url       TEXT,
    uploaded         INTEGER NOT NULL DEFAULT 0 CHECK (uploaded IN (0, 1)),
    created_at       TEXT NOT NULL
);
CREATE INDEX ix_photos_report ON photos (report_id);

CREATE TABLE outbox (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id            TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL
                     CHECK (kind IN ('report.create', 'report.amend', 'inspection.create')),
    entity_id        TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('waiting_photos', 'pending', 'sending',
                                                    'done', 'rejected', 'conflict')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_error       TEXT,
    result_code      TEXT,
    result_message   TEXT,
    updated_at       TEXT NOT NULL
);
CREATE INDEX ix_outbox_state ON outbox (state, seq);
CREATE INDEX ix_outbox_entity ON outbox (entity_id);

-- The photos an operation declares, in order; the op stays 'waiting_photos' until all of
-- them are processed, then its payload gets their descriptors and it becomes 'pending'.
CREATE TABLE op_photos (
    op_id     TEXT NOT NULL REFERENCES outbox (op_id) ON DELETE CASCADE,
    photo_id  TEXT NOT NULL REFERENCES photos (id),
    position  INTEGER NOT NULL,
    PRIMARY KEY (op_id, photo_id)
);
CREATE INDEX ix_op_photos_photo ON op_photos (photo_id);

CREATE TABLE kv (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""

# ---------------------------------------------------------------- version 2
# What pull brings (case status and deadline, verification tasks, taxonomy and area
# caches) and the inspections recorded against tasks; photos may belong to an inspection.
V2_DDL = """
ALTER TABLE reports ADD COLUMN case_id TEXT;
ALTER TABLE reports ADD COLUMN case_status TEXT;
ALTER TABLE reports ADD COLUMN case_deadline TEXT;
ALTER TABLE reports ADD COLUMN case_updated_at TEXT;

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
    received_at  TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE inspections (
    id                    TEXT PRIMARY KEY,
    task_id               TEXT NOT NULL REFERENCES tasks (id),
    case_id               TEXT NOT NULL,
    rectified             INTEGER NOT NULL CHECK (rectified IN (0, 1)),
    note                  TEXT NOT NULL DEFAULT '',
    inspected_at          TEXT NOT NULL,
    lat                   REAL,
    lon                   REAL,
    accuracy_m            REAL,
    location_source       TEXT CHECK (location_source IN ('gps', 'map', 'manual')),
    location_captured_at  TEXT,
    state                 TEXT NOT NULL DEFAULT 'queued'
                          CHECK (state IN ('queued', 'synced', 'rejected')),
    created_at            TEXT NOT NULL
);

ALTER TABLE photos ADD COLUMN inspection_id TEXT REFERENCES inspections (id) ON DELETE CASCADE;
CREATE INDEX ix_photos_inspection ON photos (inspection_id);

CREATE TABLE taxonomy_cache (
    code        TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE areas_cache (
    code         TEXT PRIMARY KEY,
    parent_code  TEXT,
    level        TEXT NOT NULL,
    name         TEXT NOT NULL,
    data         TEXT NOT NULL DEFAULT '{}',
    updated_at   TEXT NOT NULL
);
"""

Step = Callable[[sqlite3.Connection], None]

# ---------------------------------------------------------------- version 3
# Who recorded each report and each verification result, so that a tablet passed from one
# user to the next lists only the signed-in user's (the others' stay in the file, and show
# again when their owner signs back in). The key in `kv` naming the user whose data the
# store holds:
KV_OWNER = "data_owner"


def data_owner(conn: sqlite3.Connection) -> str | None:
    """The username `kv` holds under KV_OWNER (None: nobody has signed in yet). The store,
    its transactions and the screens' read-only connection all read it here."""
    row = conn.execute("SELECT value FROM kv WHERE key = ?", (KV_OWNER,)).fetchone()
    owner = None if row is None else json.loads(row[0])
    return owner if isinstance(owner, str) else None


def _v3(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE reports ADD COLUMN owner TEXT")
    conn.execute("ALTER TABLE inspections ADD COLUMN owner TEXT")
    # Rows from before this version: the user the store holds data for now. (Those of
    # an earlier user on the same tablet cannot be told apart; they were all synced, or
    # the current user could not have signed in.)
    owner = data_owner(conn)
    conn.execute("UPDATE reports SET owner = ?", (owner,))
    conn.execute("UPDATE inspections SET owner = ?", (owner,))


def _script(ddl: str) -> Step:
    def run(conn: sqlite3.Connection) -> None:
        for statement in _statements(ddl):
            conn.execute(statement)

    return run


def _statements(ddl: str) -> list[str]:
    """Split a DDL script on ';' (the DDL here has no ';' inside literals or triggers)."""
    lines = [line for line in ddl.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


# STEPS[i] upgrades version i to version i + 1.
STEPS: Sequence[Step] = (_script(V1_DDL), _script(V2_DDL), _v3)
LATEST_VERSION = len(STEPS)


class SchemaTooNewError(RuntimeError):
    """The file was written by a newer app version: refuse rather than guess."""


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def upgrade(conn: sqlite3.Connection, *, target: int = LATEST_VERSION) -> int:
    """Bring the file to ``target``; returns the version it had before.

    ``conn`` must be in autocommit mode (isolation_level=None): each step and its
    ``user_version`` commit together.
    """
    before = current_version(conn)
    if before > LATEST_VERSION:
        raise SchemaTooNewError(
            f"the local database has schema version {before}, this app knows up to "
            f"{LATEST_VERSION}: update the app (the data is kept)"
        )
    for version in range(before, target):
        conn.execute("BEGIN IMMEDIATE")
        try:
            STEPS[version](conn)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return before
