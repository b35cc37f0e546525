"""The outbox reads and writes of a push: ready_batch against a plain reference over
every op, and record_created (the bulk path) against record_result op by op."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector_app.core.store import CreatedResult, Operation, Store
from tests.inspector_app.core.test_store import _op

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STATES = ("waiting_photos", "pending", "sending", "done", "rejected", "conflict")

# One op: its entity (few, so entities repeat), its state, and whether it is due yet.
ops_strategy = st.lists(
    st.tuples(st.sampled_from("abcde"), st.sampled_from(STATES), st.booleans()),
    max_size=25,
)


def _reference(ops: list[Operation], *, limit: int) -> list[str]:
    """ready_batch's rule, written plainly: pending and due, oldest first; an entity
    whose earlier open op is not ready holds its later ops back."""
    blocked: set[str] = set()
    batch: list[str] = []
    for op in sorted(ops, key=lambda o: o.seq):
        if op.state not in ("waiting_photos", "pending", "sending") or op.entity_id in blocked:
            continue
        due = op.next_attempt_at is None or op.next_attempt_at <= NOW
        if op.state != "pending" or not due:
            blocked.add(op.entity_id)
            continue
        batch.append(op.op_id)
        if len(batch) == limit:
            break
    return batch


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops_strategy, limit=st.integers(min_value=1, max_value=30))
def test_ready_batch_matches_the_plain_rule(
    tmp_path_factory: object, ops: list[tuple[str, str, bool]], limit: int
) -> None:
    root = Path(tmp_path_factory.mktemp("store"))  # type: ignore[attr-defined]
    with Store(root / "whistle.db") as store:
        for entity, state, due in ops:
            op_id = _op(store, entity=entity)
            with store.transaction() as tx:
                tx.set_op_state(op_id, state)
                if not due:
                    tx.execute(
                        "UPDATE outbox SET next_attempt_at = ? WHERE op_id = ?",
                        ((NOW + timedelta(minutes=5)).isoformat(), op_id),
                    )
        expected = _reference(store.list_ops(), limit=limit)
        assert [o.op_id for o in store.ready_batch(limit=limit, now=NOW)] == expected


def test_record_created_does_what_record_result_does(tmp_path: Path) -> None:
    def outcome(store: Store, op_ids: list[str]) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = []
        for op_id in op_ids:
            op = store.get_op(op_id)
            assert op is not None
            report = store.get_report(op.entity_id)
            assert report is not None
            rows.append((op.state, op.result_code, op.result_message, report.state, report.case_id))
        return rows

    results = [
        (str(uuid.uuid4()), "applied", None, None),
        (str(uuid.uuid4()), "duplicate", "duplicate", "已经上报 / already reported"),
        (None, "applied", None, None),  # no case id in the answer: the report keeps its own
    ]
    seen = []
    for bulk in (False, True):
        with Store(tmp_path / f"bulk-{bulk}.db") as store:
            op_ids = [
                _op(store, entity=f"r{i}", kind="report.create", photos=1)
                for i in range(len(results))
            ]
            with store.transaction() as tx:
                if bulk:
                    tx.record_created(
                        [
                            CreatedResult(op_id, f"r{i}", case_id, code, message)
                            for i, (op_id, (case_id, _s, code, message)) in enumerate(
                                zip(op_ids, results, strict=True)
                            )
                        ]
                    )
                else:
                    for op_id, (case_id, status, code, message) in zip(
                        op_ids, results, strict=True
                    ):
                        tx.record_result(
                            op_id, status=status, code=code, message=message, case_id=case_id
                        )
            seen.append(outcome(store, op_ids))
    assert seen[0] == seen[1]
    assert [row[0] for row in seen[1]] == ["done"] * 3
    assert seen[1][0][4] == results[0][0]
