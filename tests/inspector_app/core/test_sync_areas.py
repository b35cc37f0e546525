"""The tablet's area cache: the whole visible tree from GET /areas on a first sync (the
change log only knows areas changed since it exists), and nothing of a previous user's
areas or open tasks once another user signs in."""

from __future__ import annotations

from pathlib import Path

from inspector_app.core.api_client import ApiClient
from tests.inspector_app.core import sync_fixtures as fx
from tests.live_server import LiveServer
from tests.world import PASSWORD, World

live_server = fx.live_server
tablet = fx.tablet

SIDE_A = {"D1", "ST_A", "CM_A", "G_A", "CP_A"}  # inspector_a's grid and its ancestors


def test_a_first_sync_caches_the_visible_tree_without_change_log_entries(
    tablet: fx.Tablet,
) -> None:
    assert tablet.store.cached_areas() == {}
    assert tablet.engine().sync_once().ok
    cached = tablet.store.cached_areas()
    assert set(cached) == SIDE_A  # nothing of street B
    assert cached["G_A"]["parent_code"] == "CM_A"
    assert cached["G_A"]["level"] == "grid"
    assert tablet.transport.count("GET", "/areas") == 1
    assert tablet.engine().sync_once().ok
    assert tablet.transport.count("GET", "/areas") == 1  # once per user


def test_another_user_starts_from_their_own_areas_and_no_foreign_tasks(
    tablet: fx.Tablet, live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    assert tablet.engine().sync_once().ok
    with tablet.store.transaction() as tx:
        tx.set_task_from_server(
            "7f1d2c0e-0000-4000-8000-000000000001",
            case_id=str(world.a.case_id),
            data={"kind": "verification", "status": "open"},
        )
    tablet.client.logout()
    other = ApiClient(store=tablet.store, base_url=live_server.url, transport=tablet.transport)
    other.login(username="patrol_b", password=PASSWORD)
    assert tablet.store.cached_areas() == {}
    assert tablet.store._all("SELECT id FROM tasks") == []
    tablet.client = other
    assert tablet.engine().sync_once().ok
    cached = tablet.store.cached_areas()
    assert "CP_B" in cached  # the patrol's company's compound
    assert not SIDE_A & set(cached) - {"D1"}
