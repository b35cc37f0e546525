"""Home: counts from the store, and the progress bars moving during a real sync."""

from __future__ import annotations

from typing import Any

from tests.inspector_app.ui.conftest import AppFactory
from tests.inspector_app.ui.helpers import (
    add_task,
    draft_report,
    queue_report,
    reject_report,
    signed_in,
)
from tests.live_server import LiveServer
from tests.world import World


def test_counts_waiting_failed_tasks_due_and_overdue(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = signed_in(ui_factory, live_server, world)
    grid = world.a.grid.code
    queue_report(d, grid=grid)
    reject_report(d, queue_report(d, grid=grid))
    draft_report(d, grid=grid)
    add_task(d, "00000000-0000-4000-8000-000000000001", due_in_days=3)
    add_task(d, "00000000-0000-4000-8000-000000000002", due_in_days=-2)
    d.app.data_changed()
    d.pump(3)
    ids = d.screen.ids
    assert (ids.waiting.count, ids.failed.count) == (1, 1)
    assert (ids.tasks_due.count, ids.tasks_overdue.count) == (2, 1)
    assert ids.waiting.caption == "Waiting to sync"
    assert ids.pending_note.text == "Drafts: 1 · photos still to send: 1"  # not the rejected one's
    assert ids.last_sync.text == "Not synced yet"


def test_sync_now_moves_the_progress_bars_and_empties_the_queue(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = signed_in(ui_factory, live_server, world)
    grid = world.a.grid.code
    for _ in range(3):
        queue_report(d, grid=grid, photos=1, noise=True)
    d.app.ctx.engine.batch_size = 1  # one push per report: the bar moves per report
    d.app.data_changed()
    d.pump(2)
    ids = d.screen.ids
    assert ids.waiting.count == 3
    ops_values: list[float] = []
    byte_values: list[float] = []
    ids.ops_bar.bind(value=lambda _w, v: ops_values.append(v))
    ids.bytes_bar.bind(value=lambda _w, v: byte_values.append(v))
    texts: list[str] = []
    ids.progress_label.bind(text=lambda _w, v: texts.append(v))

    labels: list[str] = []
    disabled: list[bool] = []
    ids.sync_button.bind(text=lambda _w, v: labels.append(v))
    ids.sync_button.bind(disabled=lambda _w, v: disabled.append(v))
    d.tap(ids.sync_button)
    d.wait_until(lambda: not d.app.syncing, what="the sync to finish")
    d.wait_idle()

    assert any(0 < v < 1 for v in ops_values), ops_values
    assert ops_values[-1] == 1.0
    assert any(0 < v < 1 for v in byte_values), byte_values
    assert byte_values[-1] == 1.0
    assert any("of 3 reports and results sent" in t for t in texts), texts
    assert any("photos " in t and " of " in t for t in texts), texts
    assert labels == ["Syncing…", "Sync now"]
    assert disabled[0] and not disabled[-1]  # no second sync while one runs
    assert ids.waiting.count == 0
    assert ids.last_sync.text == "Last successful sync: just now"
    notice: Any = d.app.notice
    assert notice is not None and notice.msgid == "Everything is synced."
    assert d.app.ctx.store.queue_stats().photos_pending == 0
