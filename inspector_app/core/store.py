"""The tablet's local store: one SQLite file, durable and shared by the UI and sync threads.

* WAL journal, ``synchronous=FULL`` (a commit survives power loss), foreign keys on.
* One connection guarded by a re-entrant lock: the UI thread, the photo worker and the
  sync thread take turns; every write is a ``BEGIN IMMEDIATE`` transaction.
* Write methods live on :class:`Tx` (``with store.transaction() as tx: ...``), so a caller
  composes several writes into one atomic commit; reads are on :class:`Store`.
* A full disk surfaces as :class:`~inspector_app.core.files.StorageFullError`, after the
  transaction was rolled back.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector_app.core import schema
from inspector_app.core.files import StorageFullError

Clock = Callable[[], datetime]

REPORT_STATES = ("draft", "queued", "synced", "rejected")
OP_STATES = ("waiting_photos", "pending", "sending", "done", "rejected", "conflict")
OPEN_OP_STATES = ("waiting_photos", "pending", "sending")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """The stored form of a time: UTC, microseconds, '+00:00' (sorts as text)."""
    if value.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _storage_full(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or (
        isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)
    )


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class Report:
    id: str
    state: str
    category: str | None
    severity: str | None
    description: str
    observed_at: datetime
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_source: str | None
    location_captured_at: datetime | None
    grid: str | None
    address: str
    created_at: datetime
    updated_at: datetime
    reject_code: str | None
    reject_message: str | None
    case_id: str | None
    case_status: str | None
    case_deadline: str | None
    owner: str | None  # who recorded it (the username signed in then; schema version 3)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Report:
        return cls(
            id=row["id"],
            state=row["state"],
            category=row["category"],
            severity=row["severity"],
            description=row["description"],
            observed_at=datetime.fromisoformat(row["observed_at"]),
            lat=row["lat"],
            lon=row["lon"],
            accuracy_m=row["accuracy_m"],
            location_source=row["location_source"],
            location_captured_at=parse_time(row["location_captured_at"]),
            grid=row["grid"],
            address=row["address"],
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            reject_code=row["reject_code"],
            reject_message=row["reject_message"],
            case_id=row["case_id"],
            case_status=row["case_status"],
            case_deadline=row["case_deadline"],
            owner=row["owner"],
        )

    @property
    def has_location(self) -> bool:
        return None not in (
            self.lat,
            self.lon,
            self.accuracy_m,
            self.location_source,
            self.location_captured_at,
        )


@dataclass(frozen=True)
class Photo:
    id: str
    report_id: str | None
    inspection_id: str | None
    kind: str
    position: int
    original_path: str
    original_sha256: str
    original_size: int
    processed_path: str | None
    thumb_path: str | None
    sha256: str | None
    size_bytes: int | None
    media_type: str | None
    width: int | None
    height: int | None
    taken_at: datetime
    processed: bool
    process_error: str | None
    upload_url: str | None
    uploaded: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Photo:
        return cls(
            id=row["id"],
            report_id=row["report_id"],
            inspection_id=row["inspection_id"],
            kind=row["kind"],
            position=row["position"],
            original_path=row["original_path"],
            original_sha256=row["original_sha256"],
            original_size=row["original_size"],
            processed_path=row["processed_path"],
            thumb_path=row["thumb_path"],
            sha256=row["sha256"],
            size_bytes=row["size_bytes"],
            media_type=row["media_type"],
            width=row["width"],
            height=row["height"],
            taken_at=datetime.fromisoformat(row["taken_at"]),
            processed=bool(row["processed"]),
            process_error=row["process_error"],
            upload_url=row["upload_url"],
            uploaded=bool(row["uploaded"]),
        )

    def descriptor(self) -> dict[str, Any]:
        """The PhotoDescriptor JSON of the processed file (the one that is uploaded)."""
        if not self.processed:
            raise ValueError(f"photo {self.id} is not processed yet")
        return {
            "id": self.id,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "media_type": self.media_type,
            "width": self.width,
            "height": self.height,
            "taken_at": self.taken_at.isoformat(),
        }


@dataclass(frozen=True)
class Operation:
    seq: int
    op_id: str
    kind: str
    entity_id: str
    payload: dict[str, Any]
    created_at: datetime
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    result_code: str | None
    result_message: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Operation:
        return cls(
            seq=row["seq"],
            op_id=row["op_id"],
            kind=row["kind"],
            entity_id=row["entity_id"],
            payload=json.loads(row["payload"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            state=row["state"],
            attempts=row["attempts"],
            next_attempt_at=parse_time(row["next_attempt_at"]),
            last_error=row["last_error"],
            result_code=row["result_code"],
            result_message=row["result_message"],
        )

    def wire(self) -> dict[str, Any]:
        """The operation as push sends it (validates as shared_schemas SyncOperation)."""
        return {
            "op_id": self.op_id,
            "seq": self.seq,
            "kind": self.kind,
            "entity_id": self.entity_id,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Task:
    id: str
    case_id: str
    data: dict[str, Any]
    state: str


@dataclass(frozen=True)
class CreatedResult:
    """A report.create the server applied or already had (Tx.record_created)."""

    op_id: str
    report_id: str
    case_id: str | None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class QueueStats:
    """What push reports as the device status (design.md, sync rule 8)."""

    queue_depth: int
    oldest_pending_s: int
    photos_pending: int


# ---------------------------------------------------------------- writes


class Tx:
    """Write access inside one transaction (obtained from :meth:`Store.transaction`)."""

    def __init__(self, conn: sqlite3.Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    # reports
    def insert_report(self, report_id: str, *, observed_at: datetime) -> None:
        stamp = iso(self.now)
        self.execute(
            "INSERT INTO reports (id, state, observed_at, created_at, updated_at, owner) "
            "VALUES (?, 'draft', ?, ?, ?, ?)",
            (report_id, iso(observed_at), stamp, stamp, self.data_owner()),
        )

    def data_owner(self) -> str | None:
        """The user whose data the store holds (the last to sign in); None before any."""
        return schema.data_owner(self.conn)

    def update_report(self, report_id: str, fields: dict[str, Any]) -> None:
        if not fields:
            return
        columns = ", ".join(f"{name} = ?" for name in fields)
        values = [iso(v) if isinstance(v, datetime) else v for v in fields.values()]
        self.execute(
            f"UPDATE reports SET {columns}, updated_at = ? WHERE id = ?",  # noqa: S608 (names are ours)
            (*values, iso(self.now), report_id),
        )

    def delete_report(self, report_id: str) -> None:
        self.execute("DELETE FROM reports WHERE id = ?", (report_id,))

    # photos
    def insert_photo(
        self,
        *,
        photo_id: str,
        report_id: str | None,
        inspection_id: str | None,
        kind: str,
        original_path: str,
        original_sha256: str,
        original_size: int,
        taken_at: datetime,
    ) -> None:
        if (report_id is None) == (inspection_id is None):
            raise ValueError("a photo belongs to exactly one report or inspection")
        owner_col = "report_id" if report_id is not None else "inspection_id"
        owner = report_id if report_id is not None else inspection_id
        position = self.execute(
            f"SELECT COALESCE(MAX(position), -1) + 1 FROM photos WHERE {owner_col} = ?",  # noqa: S608
            (owner,),
        ).fetchone()[0]
        self.execute(
            "INSERT INTO photos (id, report_id, inspection_id, kind, position, original_path,"
            " original_sha256, original_size, taken_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                photo_id,
                report_id,
                inspection_id,
                kind,
                position,
                original_path,
                original_sha256,
                original_size,
                iso(taken_at),
                iso(self.now),
            ),
        )

    def delete_photo(self, photo_id: str) -> None:
        self.execute("DELETE FROM photos WHERE id = ?", (photo_id,))

    def mark_photo_processed(
        self,
        photo_id: str,
        *,
        processed_path: str,
        thumb_path: str,
        sha256: str,
        size_bytes: int,
        media_type: str,
        width: int,
        height: int,
    ) -> bool:
        """Record the processed file; False when the photo no longer exists."""
        cur = self.execute(
            "UPDATE photos SET processed = 1, process_error = NULL, processed_path = ?,"
            " thumb_path = ?, sha256 = ?, size_bytes = ?, media_type = ?, width = ?,"
            " height = ? WHERE id = ?",
            (processed_path, thumb_path, sha256, size_bytes, media_type, width, height, photo_id),
        )
        return cur.rowcount == 1

    def mark_photo_failed(self, photo_id: str, error: str) -> None:
        self.execute("UPDATE photos SET process_error = ? WHERE id = ?", (error, photo_id))

    def set_upload(self, photo_id: str, *, upload_url: str | None, uploaded: bool) -> None:
        self.execute(
            "UPDATE photos SET upload_url = ?, uploaded = ? WHERE id = ?",
            (upload_url, int(uploaded), photo_id),
        )

    def mark_uploaded(self, photo_ids: Sequence[str]) -> None:
        """Mark photos uploaded, keeping any tus URL (a batch upload has none)."""
        self.conn.executemany(
            "UPDATE photos SET uploaded = 1 WHERE id = ?", [(i,) for i in photo_ids]
        )

    # inspections and tasks
    def insert_inspection(self, values: dict[str, Any]) -> None:
        row = {k: iso(v) if isinstance(v, datetime) else v for k, v in values.items()}
        row.setdefault("created_at", iso(self.now))
        row.setdefault("owner", self.data_owner())
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.execute(f"INSERT INTO inspections ({names}) VALUES ({marks})", tuple(row.values()))  # noqa: S608

    def upsert_task(self, task_id: str, *, case_id: str, data: dict[str, Any]) -> None:
        stamp = iso(self.now)
        self.execute(
            "INSERT INTO tasks (id, case_id, data, received_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET case_id = excluded.case_id,"
            " data = excluded.data, updated_at = excluded.updated_at",
            (task_id, case_id, json.dumps(data, ensure_ascii=False), stamp, stamp),
        )

    def set_task_state(self, task_id: str, state: str) -> None:
        self.execute(
            "UPDATE tasks SET state = ?, updated_at = ? WHERE id = ?",
            (state, iso(self.now), task_id),
        )

    def set_case(
        self,
        report_id: str,
        *,
        case_id: str | None = None,
        status: str | None = None,
        deadline: str | None = None,
    ) -> None:
        """What pull says about the case made from a report (server-owned fields)."""
        self.execute(
            "UPDATE reports SET case_id = COALESCE(?, case_id), case_status = ?,"
            " case_deadline = ?, case_updated_at = ? WHERE id = ?",
            (case_id, status, deadline, iso(self.now), report_id),
        )

    # outbox
    def add_op(
        self,
        *,
        op_id: str,
        kind: str,
        entity_id: str,
        payload: dict[str, Any],
        photo_ids: Sequence[str] = (),
    ) -> int:
        """Append an operation; with photos it waits for them (state waiting_photos)."""
        state = "waiting_photos" if photo_ids else "pending"
        stamp = iso(self.now)
        cur = self.execute(
            "INSERT INTO outbox (op_id, kind, entity_id, payload, created_at, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (op_id, kind, entity_id, _dumps(payload), stamp, state, stamp),
        )
        self.conn.executemany(
            "INSERT INTO op_photos (op_id, photo_id, position) VALUES (?, ?, ?)",
            [(op_id, photo_id, i) for i, photo_id in enumerate(photo_ids)],
        )
        seq = cur.lastrowid
        assert seq is not None  # noqa: S101 (an INSERT always sets it)
        return seq

    def set_op_payload(self, op_id: str, payload: dict[str, Any], *, state: str) -> None:
        self.execute(
            "UPDATE outbox SET payload = ?, state = ?, updated_at = ? WHERE op_id = ?",
            (_dumps(payload), state, iso(self.now), op_id),
        )

    def set_op_state(
        self,
        op_id: str,
        state: str,
        *,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        self.execute(
            "UPDATE outbox SET state = ?, result_code = ?, result_message = ?, updated_at = ?"
            " WHERE op_id = ?",
            (state, code, message, iso(self.now), op_id),
        )

    def mark_sending(self, op_ids: Iterable[str]) -> None:
        self.conn.executemany(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE op_id = ? AND state = 'pending'",
            [(iso(self.now), op_id) for op_id in op_ids],
        )

    def schedule_retry(self, op_id: str, *, error: str, next_attempt_at: datetime) -> None:
        self.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ?,"
            " updated_at = ? WHERE op_id = ?",
            (error, iso(next_attempt_at), iso(self.now), op_id),
        )

    def record_created(self, done: Sequence[CreatedResult]) -> None:
        """Many report.create ops the server applied (or had already): what record_result
        does for each, in two statements for all of them."""
        stamp = iso(self.now)
        self.conn.executemany(
            "UPDATE outbox SET state = 'done', result_code = ?, result_message = ?,"
            " updated_at = ? WHERE op_id = ?",
            [(d.code, d.message, stamp, d.op_id) for d in done],
        )
        self.conn.executemany(
            "UPDATE reports SET state = 'synced', case_id = COALESCE(?, case_id),"
            " updated_at = ? WHERE id = ?",
            [(d.case_id, stamp, d.report_id) for d in done],
        )

    def record_result(
        self,
        op_id: str,
        *,
        status: str,
        code: str | None = None,
        message: str | None = None,
        case_id: str | None = None,
        of: tuple[str, str] | None = None,
    ) -> None:
        """Apply one push result (applied|duplicate|rejected|conflict) to op and entity.
        `of`: the op's (kind, entity_id) when the caller has them (saves a read)."""
        if of is None:
            row = self.execute("SELECT kind, entity_id FROM outbox WHERE op_id = ?", (op_id,))
            of = row.fetchone()
            if of is None:
                return
        kind, entity_id = of
        state = {"applied": "done", "duplicate": "done"}.get(status, status)
        if state not in ("done", "rejected", "conflict"):
            raise ValueError(f"unknown push result status {status!r}")
        if kind == "report.create" and state == "done":
            self.record_created([CreatedResult(op_id, entity_id, case_id, code, message)])
            return
        self.set_op_state(op_id, state, code=code, message=message)
        if kind == "report.create":
            # A conflict (its id or a photo id already used by someone else's data) will
            # never apply either: shown with the server's reason like a rejection, the
            # report kept whole, instead of "queued" for good.
            self.update_report(
                entity_id,
                {"state": "rejected", "reject_code": code, "reject_message": message},
            )
        elif kind == "inspection.create":
            new_state = "synced" if state == "done" else "rejected"
            self.execute(
                "UPDATE inspections SET state = ? WHERE id = ?",
                (new_state, entity_id),
            )

    # what pull brings (sync engine; see sync_pull.py)
    def set_task_from_server(self, task_id: str, *, case_id: str, data: dict[str, Any]) -> None:
        """A pulled task: its data, and its state unless the tablet already answered it
        (a local verification not yet pushed keeps the task 'done')."""
        self.upsert_task(task_id, case_id=case_id, data=data)
        state = data.get("status")
        if state not in ("open", "done", "cancelled"):
            return
        if state == "open":
            answered = self.execute(
                "SELECT 1 FROM inspections WHERE task_id = ? AND state != 'rejected' LIMIT 1",
                (task_id,),
            ).fetchone()
            if answered is not None:
                return
        self.set_task_state(task_id, state)

    def withdraw_task(self, task_id: str) -> None:
        """A task gone from the server (or reassigned): cancelled, kept for its history."""
        self.execute(
            "UPDATE tasks SET state = 'cancelled', updated_at = ? WHERE id = ? AND state = 'open'",
            (iso(self.now), task_id),
        )

    def cache_taxonomy(self, code: str, data: dict[str, Any] | None) -> None:
        """Upsert a pulled category (None: delete it from the cache)."""
        if data is None:
            self.execute("DELETE FROM taxonomy_cache WHERE code = ?", (code,))
            return
        self.execute(
            "INSERT INTO taxonomy_cache (code, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (code) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (code, json.dumps(data, ensure_ascii=False), iso(self.now)),
        )

    def cache_area(self, code: str, data: dict[str, Any] | None) -> None:
        """Upsert a pulled area (None: delete it from the cache)."""
        if data is None:
            self.execute("DELETE FROM areas_cache WHERE code = ?", (code,))
            return
        self.execute(
            "INSERT INTO areas_cache (code, parent_code, level, name, data, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET"
            " parent_code = excluded.parent_code, level = excluded.level,"
            " name = excluded.name, data = excluded.data, updated_at = excluded.updated_at",
            (
                code,
                data.get("parent_code"),
                str(data.get("level") or ""),
                str(data.get("name") or code),
                json.dumps(data, ensure_ascii=False),
                iso(self.now),
            ),
        )

    def replace_areas(self, areas: list[dict[str, Any]]) -> None:
        """The whole area cache from GET /areas: what the signed-in user may see now."""
        self.execute("DELETE FROM areas_cache")
        for area in areas:
            self.cache_area(str(area["code"]), area)

    def forget_previous_user(self) -> None:
        """Another user signed in: drop what the server sent for the previous one (their
        areas, and their tasks not yet answered here). Their own reports stay: those
        synced are on the server, and nothing unsynced can be left (api_client refuses
        the sign-in otherwise)."""
        self.execute("DELETE FROM areas_cache")
        self.execute("DELETE FROM tasks WHERE id NOT IN (SELECT task_id FROM inspections)")

    def kv_set(self, key: str, value: Any) -> None:
        self.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, ensure_ascii=False)),
        )

    def kv_delete(self, key: str) -> None:
        self.execute("DELETE FROM kv WHERE key = ?", (key,))


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------- the store


class Store:
    """The local SQLite store. Thread-safe: one connection behind a re-entrant lock."""

    def __init__(self, path: Path | str, *, clock: Clock = utcnow) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._in_tx = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._connect()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=15.0
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 15000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            schema.upgrade(conn)
        except BaseException as exc:
            conn.close()
            if _storage_full(exc):
                raise StorageFullError("the local database") from exc
            raise
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return schema.current_version(self._conn)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Tx]:
        """One atomic write (BEGIN IMMEDIATE ... COMMIT); rolled back on any error.

        ``durable=False`` commits without the fsync of ``synchronous=FULL`` (NORMAL for
        this commit only), for bookkeeping whose loss costs work, never data (sync
        progress: upload URLs, "sending" marks, push results the server replays). WAL
        keeps commits in order: such a commit becomes durable with the next FULL commit
        or checkpoint, and a power cut can only lose it, never corrupt the file or
        reorder it after a later one. Captures (reports, photos, operations) stay FULL."""
        with self._lock:
            if self._in_tx:
                raise RuntimeError("nested transactions are not supported")
            self._in_tx = True
            if not durable:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self._conn, self.clock())
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                if _storage_full(exc):
                    raise StorageFullError("your changes") from exc
                raise
            finally:
                self._in_tx = False
                if not durable:
                    self._conn.execute("PRAGMA synchronous = FULL")

    def record_upload(self, photo_id: str, *, upload_url: str | None, uploaded: bool) -> None:
        """Photo-upload bookkeeping (the tus URL, "uploaded") in its own, non-durable
        commit (see :meth:`transaction`). Losing it costs work, never data: a lost URL
        means a new upload (the old one expires on the server); a lost "uploaded" means
        the photo is offered again and the server, which has it by photo id and sha256,
        answers with a finished upload and changes nothing."""
        with self.transaction(durable=False) as tx:
            tx.set_upload(photo_id, upload_url=upload_url, uploaded=uploaded)

    def record_uploads(self, photo_ids: Sequence[str]) -> None:
        """Several photos uploaded (one photo batch): one non-durable commit, as
        :meth:`record_upload` (a lost mark means the photo is offered again and the server
        answers ``already_received``)."""
        if not photo_ids:
            return
        with self.transaction(durable=False) as tx:
            tx.mark_uploaded(photo_ids)

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
            return row

    # ------------------------------------------------------------ reads
    def get_report(self, report_id: str) -> Report | None:
        row = self._one("SELECT * FROM reports WHERE id = ?", (report_id,))
        return None if row is None else Report.from_row(row)

    def list_reports(self, *, state: str | None = None) -> list[Report]:
        if state is None:
            rows = self._all("SELECT * FROM reports ORDER BY created_at, id")
        else:
            rows = self._all(
                "SELECT * FROM reports WHERE state = ? ORDER BY created_at, id", (state,)
            )
        return [Report.from_row(r) for r in rows]

    def get_photo(self, photo_id: str) -> Photo | None:
        row = self._one("SELECT * FROM photos WHERE id = ?", (photo_id,))
        return None if row is None else Photo.from_row(row)

    def photos_of(
        self, *, report_id: str | None = None, inspection_id: str | None = None
    ) -> list[Photo]:
        column, owner = ("report_id", report_id) if report_id else ("inspection_id", inspection_id)
        rows = self._all(
            f"SELECT * FROM photos WHERE {column} = ? ORDER BY position, id",  # noqa: S608
            (owner,),
        )
        return [Photo.from_row(r) for r in rows]

    def all_photos(self) -> list[Photo]:
        return [Photo.from_row(r) for r in self._all("SELECT * FROM photos ORDER BY id")]

    def unprocessed_photos(self) -> list[Photo]:
        rows = self._all("SELECT * FROM photos WHERE processed = 0 ORDER BY created_at, id")
        return [Photo.from_row(r) for r in rows]

    def get_op(self, op_id: str) -> Operation | None:
        row = self._one("SELECT * FROM outbox WHERE op_id = ?", (op_id,))
        return None if row is None else Operation.from_row(row)

    def list_ops(self, *, states: Sequence[str] | None = None) -> list[Operation]:
        if states is None:
            rows = self._all("SELECT * FROM outbox ORDER BY seq")
        else:
            marks = ", ".join("?" for _ in states)
            rows = self._all(
                f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY seq",  # noqa: S608
                tuple(states),
            )
        return [Operation.from_row(r) for r in rows]

    def ops_for(self, entity_id: str) -> list[Operation]:
        rows = self._all("SELECT * FROM outbox WHERE entity_id = ? ORDER BY seq", (entity_id,))
        return [Operation.from_row(r) for r in rows]

    def op_photo_ids(self, op_id: str) -> list[str]:
        rows = self._all(
            "SELECT photo_id FROM op_photos WHERE op_id = ? ORDER BY position", (op_id,)
        )
        return [r[0] for r in rows]

    def ready_batch(self, *, limit: int = 100, now: datetime | None = None) -> list[Operation]:
        """The next operations to push, oldest first.

        An operation is ready when it is ``pending`` and due (``next_attempt_at`` passed).
        Operations on one entity keep their order: once an earlier operation on an entity
        is not ready (still waiting for photos, not due, or being sent), later ones on the
        same entity wait too; other entities are not held up.
        """
        due = iso(now or self.clock())
        blocked: set[str] = set()
        batch: list[Operation] = []
        marks = ", ".join("?" for _ in OPEN_OP_STATES)
        # In seq (rowid) order from the oldest open op, read row by row, and only the
        # batch's operations built: the queue can be long (a push of 100 from 1,000 queued
        # must neither sort nor parse all 1,000). `+state`: not by the state index, which
        # would sort every open row, payloads and all, before the first one came back.
        sql = (
            "SELECT * FROM outbox WHERE seq >= "  # noqa: S608 (only placeholders added)
            f"(SELECT MIN(seq) FROM outbox WHERE state IN ({marks}))"
            f" AND +state IN ({marks}) ORDER BY seq"
        )
        with self._lock:
            for row in self._conn.execute(sql, OPEN_OP_STATES * 2):
                if row["entity_id"] in blocked:
                    continue
                next_at = parse_time(row["next_attempt_at"])
                ready = row["state"] == "pending" and (next_at is None or iso(next_at) <= due)
                if not ready:
                    blocked.add(row["entity_id"])
                    continue
                batch.append(Operation.from_row(row))
                if len(batch) >= limit:
                    break
        return batch

    def get_task(self, task_id: str) -> Task | None:
        row = self._one("SELECT * FROM tasks WHERE id = ?", (task_id,))
        if row is None:
            return None
        return Task(row["id"], row["case_id"], json.loads(row["data"]), row["state"])

    def inspection(self, inspection_id: str) -> dict[str, Any] | None:
        row = self._one("SELECT * FROM inspections WHERE id = ?", (inspection_id,))
        return None if row is None else dict(row)

    def photos_to_upload(self) -> list[tuple[Photo, str]]:
        """Processed photos not uploaded yet whose operation the server applied, oldest
        operation first, each with the id tus metadata names as report_id (the report, or
        for a verification photo the case)."""
        rows = self._all(
            "SELECT p.*, COALESCE(p.report_id, i.case_id) AS upload_report_id"
            " FROM photos p JOIN op_photos op ON op.photo_id = p.id"
            " JOIN outbox o ON o.op_id = op.op_id"
            " LEFT JOIN inspections i ON i.id = p.inspection_id"
            " WHERE p.uploaded = 0 AND p.processed = 1 AND o.state = 'done'"
            " ORDER BY o.seq, op.position"
        )
        seen: set[str] = set()
        out: list[tuple[Photo, str]] = []
        for row in rows:
            if row["id"] not in seen:
                seen.add(row["id"])
                out.append((Photo.from_row(row), row["upload_report_id"]))
        return out

    def unsynced_items(self) -> int:
        """Drafts, operations still to be sent and photos still to be uploaded: what would
        be sent under the wrong account if another user took over this store. Rejected
        and conflicting operations are not counted: they are never sent again (they stay
        visible)."""
        row = self._one(
            "SELECT (SELECT COUNT(*) FROM reports WHERE state = 'draft')"
            " + (SELECT COUNT(*) FROM outbox WHERE state NOT IN ('done', 'rejected', 'conflict'))"
            " + (SELECT COUNT(*) FROM photos p LEFT JOIN reports r ON r.id = p.report_id"
            "    WHERE p.uploaded = 0 AND (r.state IS NULL OR r.state != 'rejected'))"
        )
        return int(row[0]) if row is not None else 0

    def op_counts(self) -> dict[str, int]:
        """How many operations are in each state."""
        rows = self._all("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        return {row[0]: row[1] for row in rows}

    def cached_taxonomy(self) -> dict[str, dict[str, Any]]:
        rows = self._all("SELECT code, data FROM taxonomy_cache ORDER BY code")
        return {row[0]: json.loads(row[1]) for row in rows}

    def cached_areas(self) -> dict[str, dict[str, Any]]:
        rows = self._all("SELECT code, data FROM areas_cache ORDER BY code")
        return {row[0]: json.loads(row[1]) for row in rows}

    def data_owner(self) -> str | None:
        """The user whose data the store holds (the last to sign in); None before any."""
        with self._lock:
            return schema.data_owner(self._conn)

    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self._one("SELECT value FROM kv WHERE key = ?", (key,))
        return default if row is None else json.loads(row[0])

    def queue_stats(
        self, *, now: datetime | None = None, photos_pending: int | None = None
    ) -> QueueStats:
        """The device status push reports. `photos_pending`: a count the caller already
        has (the push phase counts once: pushing does not change it, and the count reads
        every photo of every queued report)."""
        with self._lock:
            depth, oldest = self._conn.execute(
                "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state IN (?, ?, ?)",
                OPEN_OP_STATES,
            ).fetchone()
        age = 0
        if oldest is not None:
            age = max(
                0, int(((now or self.clock()) - datetime.fromisoformat(oldest)).total_seconds())
            )
        if photos_pending is None:
            photos_pending = self.photos_pending()
        return QueueStats(queue_depth=depth, oldest_pending_s=age, photos_pending=photos_pending)

    def photos_pending(self) -> int:
        """Photos still to upload, of reports and inspections that will go (or went)."""
        row = self._one(
            "SELECT COUNT(*) FROM photos p WHERE p.uploaded = 0 AND ("
            " p.report_id IN (SELECT id FROM reports WHERE state IN ('queued', 'synced'))"
            " OR p.inspection_id IN (SELECT id FROM inspections WHERE state != 'rejected'))"
        )
        assert row is not None  # noqa: S101 (COUNT always answers)
        return int(row[0])

    # ------------------------------------------------------------ start-up and checks
    def reset_sending(self) -> int:
        """Operations caught in 'sending' by a crash go back to 'pending' (sync rule 4)."""
        with self.transaction() as tx:
            cur = tx.execute(
                "UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sending'",
                (iso(tx.now),),
            )
            return cur.rowcount

    def integrity_check(self) -> str:
        row = self._one("PRAGMA integrity_check")
        assert row is not None  # noqa: S101
        return str(row[0])

    def foreign_key_problems(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._all("PRAGMA foreign_key_check")]
