"""Signing out offline: the tablet forgets the sign-in at once and ends it on the server
before the next sign-in, so a sign-out in a basement does not leave a live sign-in behind."""

from __future__ import annotations

import httpx

from inspector_app.core.api_client import KV_PENDING_LOGOUTS
from tests.inspector_app.core import sync_fixtures as fx
from tests.live_server import LiveServer
from tests.world import PASSWORD

live_server = fx.live_server
tablet = fx.tablet


def _refresh_works(live_server: LiveServer, refresh_token: str) -> bool:
    with httpx.Client(base_url=live_server.api("")) as http:
        return http.post("/auth/refresh", json={"refresh_token": refresh_token}).is_success


def _sign_out_offline(tablet: fx.Tablet) -> str:
    refresh_token = str(tablet.store.kv_get("auth")["refresh_token"])
    tablet.transport.fail("POST", "/auth/logout", fx.Fault("refuse"))
    tablet.client.logout()
    assert tablet.store.kv_get("auth") is None and tablet.client.cached_account() is None
    assert tablet.store.kv_get(KV_PENDING_LOGOUTS) == [refresh_token]
    return refresh_token


def test_a_sign_out_offline_is_ended_on_the_server_at_the_next_chance(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    refresh_token = _sign_out_offline(tablet)
    # Still offline: kept for later.
    tablet.transport.fail("POST", "/auth/refresh", fx.Fault("refuse"))
    assert tablet.client.finish_pending_logouts() == 1
    assert tablet.store.kv_get(KV_PENDING_LOGOUTS) == [refresh_token]
    # Online: exchanged for fresh tokens, which sign out; the sign-in is over.
    assert tablet.client.finish_pending_logouts() == 0
    assert tablet.store.kv_get(KV_PENDING_LOGOUTS) == []
    assert tablet.transport.count("POST", "/auth/logout") == 2
    assert not _refresh_works(live_server, refresh_token)


def test_the_next_sign_in_ends_the_pending_ones_first(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    refresh_token = _sign_out_offline(tablet)
    tablet.client.login(username="inspector_a", password=PASSWORD)
    assert tablet.store.kv_get(KV_PENDING_LOGOUTS) == []
    assert not _refresh_works(live_server, refresh_token)
    # The new sign-in (same user, same device) was made after, so it is unharmed.
    assert tablet.client.request("GET", "/me").json()["username"] == "inspector_a"
    logouts = [s.path for s in tablet.transport.seen if s.path.endswith(("/logout", "/login"))]
    assert logouts[-2:] == ["/api/v1/auth/logout", "/api/v1/auth/login"]


def test_a_sign_in_that_ended_meanwhile_is_dropped(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    refresh_token = _sign_out_offline(tablet)
    with httpx.Client(base_url=live_server.api("")) as http:  # ended elsewhere meanwhile
        fresh = http.post("/auth/refresh", json={"refresh_token": refresh_token}).json()
        ended = http.post(
            "/auth/logout",
            json={"refresh_token": fresh["refresh_token"]},
            headers={"Authorization": f"Bearer {fresh['access_token']}"},
        )
        assert ended.status_code == 204
    assert tablet.client.finish_pending_logouts() == 0
    assert tablet.store.kv_get(KV_PENDING_LOGOUTS) == []
