"""Counting reads over the store for the home and settings screens.

Plain SQL on the store's connection (the store has no counting methods yet; these are
read-only and take the store's lock like its own reads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from inspector_app.core.store import Store


@dataclass(frozen=True)
class Counts:
    drafts: int
    waiting: int  # submitted reports and verification results not yet accepted by the server
    failed: int  # rejected by the server (or invalid locally): shown with the reason
    synced: int
    tasks_open: int
    tasks_overdue: int

    @property
    def unsynced(self) -> int:
        """What signing out would leave unsent on the tablet (drafts included)."""
        return self.drafts + self.waiting


def _owned_by_state(store: Store, table: str) -> dict[str, int]:
    """The signed-in owner's rows (as the lists show them), by state."""
    rows = store._all(
        f"SELECT state, COUNT(*) FROM {table}"  # noqa: S608 - table is ours
        " WHERE owner IS ? OR owner IS NULL GROUP BY state",
        (store.data_owner(),),
    )
    return {row[0]: int(row[1]) for row in rows}


def counts(store: Store, *, now: datetime) -> Counts:
    reports = _owned_by_state(store, "reports")
    inspections = _owned_by_state(store, "inspections")
    overdue = 0
    open_tasks = store._all("SELECT data FROM tasks WHERE state = 'open'")
    for row in open_tasks:
        due = _due_at(row[0])
        if due is not None and due < now:
            overdue += 1
    return Counts(
        drafts=reports.get("draft", 0),
        waiting=reports.get("queued", 0) + inspections.get("queued", 0),
        failed=reports.get("rejected", 0) + inspections.get("rejected", 0),
        synced=reports.get("synced", 0),
        tasks_open=len(open_tasks),
        tasks_overdue=overdue,
    )


def _due_at(data: str) -> datetime | None:
    try:
        value = json.loads(data).get("due_at")
        if not isinstance(value, str):
            return None
        due = datetime.fromisoformat(value)
        return due if due.utcoffset() is not None else due.replace(tzinfo=UTC)
    except (ValueError, AttributeError):
        return None


__all__ = ["Counts", "counts"]
