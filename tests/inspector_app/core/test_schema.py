"""The local schema: pragmas, version, in-place upgrades that keep data."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inspector_app.core import schema
from inspector_app.core.store import Store

NOW = datetime(2026, 5, 2, 8, 0, tzinfo=UTC)


def _dump_schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            " ORDER BY type, name"
        ).fetchall()
        return [(t, n, s or "") for t, n, s in rows]
    finally:
        conn.close()


def _make_v1(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    schema.upgrade(conn, target=1)
    conn.execute(
        "INSERT INTO reports (id, state, category, observed_at, created_at, updated_at, grid)"
        " VALUES ('r1', 'queued', 'GARBAGE', '2026-05-01T01:00:00+00:00',"
        " '2026-05-01T01:00:00+00:00', '2026-05-01T01:00:00+00:00', 'G1')"
    )
    conn.execute(
        "INSERT INTO photos (id, report_id, original_path, original_sha256, original_size,"
        " taken_at, created_at) VALUES ('p1', 'r1', 'originals/p1.jpg', 'ab', 3,"
        " '2026-05-01T01:00:00+00:00', '2026-05-01T01:00:00+00:00')"
    )
    conn.execute(
        "INSERT INTO outbox (op_id, kind, entity_id, payload, created_at, state, updated_at)"
        " VALUES ('o1', 'report.create', 'r1', '{}', '2026-05-01T01:00:00+00:00', 'pending',"
        " '2026-05-01T01:00:00+00:00')"
    )
    conn.execute("INSERT INTO kv (key, value) VALUES ('pull_cursor', '41')")
    conn.close()


def test_new_file_is_at_the_latest_version_with_durable_pragmas(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        assert store.schema_version == schema.LATEST_VERSION >= 2
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert store.integrity_check() == "ok"


def test_v1_file_is_upgraded_in_place_and_keeps_its_data(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    _make_v1(old)
    with Store(old) as store:
        assert store.schema_version == schema.LATEST_VERSION
        report = store.get_report("r1")
        assert report is not None
        assert (report.state, report.category, report.grid) == ("queued", "GARBAGE", "G1")
        assert report.case_status is None
        photo = store.get_photo("p1")
        assert photo is not None and photo.report_id == "r1" and photo.inspection_id is None
        op = store.get_op("o1")
        assert op is not None and op.seq == 1 and op.state == "pending"
        assert store.kv_get("pull_cursor") == 41
        assert store.foreign_key_problems() == []
        # the new tables work
        with store.transaction() as tx:
            tx.upsert_task("t1", case_id="c1", data={"kind": "verify"})
            tx.set_case("r1", status="reported")
        assert store.get_task("t1") is not None
    # an upgraded file has exactly the schema of a new one
    with Store(tmp_path / "new.db"):
        pass
    assert _dump_schema(old) == _dump_schema(tmp_path / "new.db")


def test_reopening_an_upgraded_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path).close()
    before = _dump_schema(path)
    Store(path).close()
    assert _dump_schema(path) == before


def test_a_file_from_a_newer_app_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(schema.SchemaTooNewError, match="update the app"):
        Store(path)


def test_a_failed_step_leaves_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.db"
    _make_v1(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("power cut")

    monkeypatch.setattr(schema, "STEPS", (schema.STEPS[0], broken))
    with pytest.raises(RuntimeError, match="power cut"):
        Store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables
    conn.close()


def test_v2_reports_are_stamped_with_the_user_the_store_holds_data_for(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    _make_v1(old)
    conn = sqlite3.connect(old, isolation_level=None)
    schema.upgrade(conn, target=2)
    conn.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (schema.KV_OWNER, json.dumps("李四")))
    stamp = "2026-05-01T02:00:00+00:00"
    conn.execute(
        "INSERT INTO tasks (id, case_id, received_at, updated_at) VALUES ('t1', 'r1', ?, ?)",
        (stamp, stamp),
    )
    conn.execute(
        "INSERT INTO inspections (id, task_id, case_id, rectified, inspected_at, created_at)"
        " VALUES ('i1', 't1', 'r1', 1, ?, ?)",
        (stamp, stamp),
    )
    conn.close()
    with Store(old) as store:
        assert store.schema_version == schema.LATEST_VERSION >= 3
        report = store.get_report("r1")
        assert report is not None and report.owner == "李四" and report.state == "queued"
        inspection = store._one("SELECT owner FROM inspections WHERE id = 'i1'")
        assert inspection is not None and inspection[0] == "李四"
        with store.transaction() as tx:
            tx.insert_report("r2", observed_at=NOW)
        assert store.get_report("r2").owner == "李四"  # type: ignore[union-attr]


def test_v2_reports_with_nobody_signed_in_yet_have_no_owner(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    _make_v1(old)
    with Store(old) as store:
        report = store.get_report("r1")
        assert report is not None and report.owner is None
