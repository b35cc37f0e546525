"""A `conflict` push result never applies later either: the report (or verification) is
shown as failed with the server's reason, kept whole, not left "queued" for good."""

from __future__ import annotations

import uuid

from inspector_app.core.store import Store
from tests.inspector_app.core.test_store import _op


def test_a_conflicting_report_is_shown_failed_with_the_reason(store: Store) -> None:
    op_id = _op(store, entity="r-clash", kind="report.create", photos=1)
    with store.transaction() as tx:
        tx.record_result(
            op_id, status="conflict", code="photo_id_in_use", message="photo id in use"
        )
    op = store.get_op(op_id)
    assert op is not None and op.state == "conflict"
    report = store.get_report("r-clash")
    assert report is not None
    assert (report.state, report.reject_code, report.reject_message) == (
        "rejected",
        "photo_id_in_use",
        "photo id in use",
    )
    assert store.unsynced_items() == 0  # nothing will ever be sent for it again


def test_a_conflicting_amend_leaves_the_synced_report_as_it_was(store: Store) -> None:
    created = _op(store, entity="r-1", kind="report.create", photos=1)
    with store.transaction() as tx:
        tx.record_result(created, status="applied", case_id=str(uuid.uuid4()))
    amend = _op(store, entity="r-1", kind="report.amend")
    with store.transaction() as tx:
        tx.record_result(amend, status="conflict", code="integrity_conflict", message="x")
    report = store.get_report("r-1")
    assert report is not None and report.state == "synced"
