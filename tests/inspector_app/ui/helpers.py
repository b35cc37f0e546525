"""Helpers for UI tests: a signed-in app, reports and tasks put straight into its store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared_schemas.enums import Role
from tests.inspector_app.core import images
from tests.inspector_app.core.conftest import LOCATION
from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.live_server import LiveServer
from tests.world import PASSWORD, World


def signed_in(
    ui_factory: AppFactory,
    live_server: LiveServer,
    world: World,
    *,
    role: Role = Role.INSPECTOR,
    **options: Any,
) -> UiDriver:
    """An app signed in as world.a's inspector (through the real login endpoint), on home."""
    d = ui_factory(server_url=live_server.url, **options)
    d.app.ctx.sign_in(server=live_server.url, username=world.a.users[role], password=PASSWORD)
    d.app.account_name = d.app.ctx.account.display_name
    d.app.reset_to("home")
    d.pump(3)
    return d


def queue_report(
    d: UiDriver, *, grid: str, photos: int = 1, noise: bool = False, **fields: Any
) -> str:
    """A submitted report (queued) with processed photos; returns its id."""
    capture = d.app.ctx.capture
    report_id = capture.create_draft(category="FIRE_LANE", grid=grid, **fields)
    capture.set_location(report_id, **LOCATION)
    for i in range(photos):
        data = (
            images.noise_jpeg(700, 700, seed=i)
            if noise
            else images.jpeg(colour=(i * 50 % 256, 90, 120))
        )
        capture.attach_photo(report_id, data)
    capture.submit(report_id)
    d.app.ctx.processor.wait_idle()
    return str(report_id)


def draft_report(d: UiDriver, *, grid: str) -> str:
    return str(d.app.ctx.capture.create_draft(category="GARBAGE", grid=grid))


def reject_report(d: UiDriver, report_id: str) -> None:
    store = d.app.ctx.store
    op = store.ops_for(report_id)[0]
    with store.transaction() as tx:
        tx.record_result(op.op_id, status="rejected", code="area_out_of_scope", message="no")


def add_task(d: UiDriver, task_id: str, *, due_in_days: float) -> None:
    due = datetime.now(UTC) + timedelta(days=due_in_days)
    with d.app.ctx.store.transaction() as tx:
        tx.set_task_from_server(
            task_id,
            case_id="00000000-0000-4000-8000-0000000000aa",
            data={
                "id": task_id,
                "status": "open",
                "due_at": due.isoformat(),
                "kind": "verification",
            },
        )
