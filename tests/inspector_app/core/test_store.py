"""The store's outbox mechanics, key-value table and thread safety."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from inspector_app.core.store import Store


def _op(store: Store, *, entity: str, kind: str = "report.amend", photos: int = 0) -> str:
    op_id = str(uuid.uuid4())
    with store.transaction() as tx:
        if photos:
            tx.insert_report(entity, observed_at=tx.now)
            for _ in range(photos):
                tx.insert_photo(
                    photo_id=(pid := str(uuid.uuid4())),
                    report_id=entity,
                    inspection_id=None,
                    kind="before",
                    original_path=f"originals/{pid}.jpg",
                    original_sha256="0" * 64,
                    original_size=1,
                    taken_at=tx.now,
                )
            ids = [r[0] for r in tx.execute("SELECT id FROM photos WHERE report_id = ?", (entity,))]
        else:
            ids = []
        tx.add_op(op_id=op_id, kind=kind, entity_id=entity, payload={"id": entity}, photo_ids=ids)
    return op_id


def test_seq_strictly_increases_and_is_never_reused(store: Store) -> None:
    first = _op(store, entity="e1")
    second = _op(store, entity="e2")
    with store.transaction() as tx:
        tx.execute("DELETE FROM outbox WHERE op_id = ?", (second,))
    third = _op(store, entity="e3")
    seqs = [store.get_op(o).seq for o in (first, third)]  # type: ignore[union-attr]
    assert seqs[0] < seqs[1]
    assert seqs[1] == seqs[0] + 2  # AUTOINCREMENT: a deleted seq is not handed out again


def test_ready_batch_keeps_order_per_entity(store: Store) -> None:
    a_create = _op(store, entity="a", kind="report.create", photos=1)  # waiting_photos
    a_amend = _op(store, entity="a")
    b_amend = _op(store, entity="b")
    assert store.get_op(a_create).state == "waiting_photos"  # type: ignore[union-attr]
    batch = [op.op_id for op in store.ready_batch()]
    assert batch == [b_amend]  # a's amend waits behind a's create; b is not held up
    with store.transaction() as tx:
        tx.set_op_state(a_create, "pending")
    assert [op.op_id for op in store.ready_batch()] == [a_create, a_amend, b_amend]
    assert [op.op_id for op in store.ready_batch(limit=2)] == [a_create, a_amend]


def test_retry_schedule_sending_reset_and_results(store: Store) -> None:
    op_id = _op(store, entity="x")
    with store.transaction() as tx:
        tx.mark_sending([op_id])
    assert store.ready_batch() == []
    assert store.reset_sending() == 1  # as after a crash mid-send
    op = store.get_op(op_id)
    assert op is not None and op.state == "pending" and op.attempts == 1
    later = datetime.now(UTC) + timedelta(minutes=5)
    with store.transaction() as tx:
        tx.schedule_retry(op_id, error="503 Service Unavailable", next_attempt_at=later)
    assert store.ready_batch() == []
    assert [o.op_id for o in store.ready_batch(now=later)] == [op_id]
    with store.transaction() as tx:
        tx.record_result(op_id, status="rejected", code="case_registered", message="too late")
    op = store.get_op(op_id)
    assert op is not None
    assert (op.state, op.result_code, op.last_error) == (
        "rejected",
        "case_registered",
        "503 Service Unavailable",
    )


def test_push_results_move_the_report(store: Store) -> None:
    ok = _op(store, entity="r-ok", kind="report.create", photos=1)
    bad = _op(store, entity="r-bad", kind="report.create", photos=1)
    with store.transaction() as tx:
        case_id = str(uuid.uuid4())
        tx.record_result(ok, status="applied", case_id=case_id)
        tx.record_result(bad, status="rejected", code="grid_unknown", message="no such grid")
    good = store.get_report("r-ok")
    assert good is not None and good.state == "synced" and good.case_id == case_id
    refused = store.get_report("r-bad")
    assert refused is not None
    assert (refused.state, refused.reject_code, refused.reject_message) == (
        "rejected",
        "grid_unknown",
        "no such grid",
    )
    with pytest.raises(ValueError, match="unknown push result"), store.transaction() as tx:
        tx.record_result(ok, status="maybe")


def test_queue_stats(store: Store) -> None:
    _op(store, entity="q")
    stats = store.queue_stats(now=datetime.now(UTC) + timedelta(seconds=90))
    assert stats.queue_depth == 1
    assert 89 <= stats.oldest_pending_s <= 91


def test_kv_round_trip(store: Store) -> None:
    assert store.kv_get("pull_cursor", 0) == 0
    with store.transaction() as tx:
        tx.kv_set("pull_cursor", 17)
        tx.kv_set("account", {"username": "网格员一", "device_id": "tab-1"})
    assert store.kv_get("pull_cursor") == 17
    assert store.kv_get("account") == {"username": "网格员一", "device_id": "tab-1"}
    with store.transaction() as tx:
        tx.kv_delete("account")
    assert store.kv_get("account") is None


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.insert_report("r1", observed_at=tx.now)
        raise RuntimeError("boom")
    assert store.get_report("r1") is None
    outer = store.transaction()
    with pytest.raises(RuntimeError, match="nested"), outer, store.transaction():
        pass


def test_ui_and_sync_threads_share_the_store(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        try:
            for i in range(40):
                _op(store, entity=f"{prefix}{i}")
                store.ready_batch(limit=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(p,)) for p in ("ui", "sync", "photo")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ops = store.list_ops()
    assert len(ops) == 120
    assert [o.seq for o in ops] == sorted(o.seq for o in ops)
    assert store.integrity_check() == "ok"
