"""The tablet's API client against a real server: sign-in, tokens kept in the store,
refresh once on 401 (one refresh for all threads), refused refresh, error classes."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from inspector_app.core.api_client import (
    ApiClient,
    AuthRequired,
    NetworkError,
    Refused,
    RetryableError,
    error_for,
    json_body,
    parse_retry_after,
)
from inspector_app.core.store import Store
from server.core.config import Settings
from tests.inspector_app.core import sync_fixtures as fx
from tests.live_server import LiveServer
from tests.world import PASSWORD, World

live_server = fx.live_server
tablet = fx.tablet


def expire_access_token(store: Store, settings: Settings) -> str:
    """Replace the stored access token by the same token, expired a minute ago."""
    auth = dict(store.kv_get("auth"))
    claims = jwt.decode(auth["access_token"], options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 3600, exp=now - 60)
    auth["access_token"] = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    with store.transaction() as tx:
        tx.kv_set("auth", auth)
    return str(auth["access_token"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------- sign-in


def test_login_keeps_tokens_account_and_device_in_the_store(
    live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    with Store(tmp_path / "whistle.db") as store:
        client = ApiClient(store=store, base_url=live_server.url + "/")
        account = client.login(username="inspector_a", password=PASSWORD)
        assert account.username == "inspector_a" and account.role == "inspector"
        assert [a["code"] for a in account.areas] == ["G_A"]
        assert client.cached_account() == account
        assert store.kv_get("server_url") == live_server.url
        device = client.device_id
        client.close()
        # a restarted app: same device, still signed in, no network needed
        again = ApiClient(store=store)
        assert again.device_id == device and again.base_url == live_server.url
        assert again.cached_account() == account
        me = again.request("GET", "/me").json()
        assert me["username"] == "inspector_a"
        again.close()


def test_wrong_password_then_another_user_starts_pull_from_the_beginning(
    live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    with (
        Store(tmp_path / "whistle.db") as store,
        ApiClient(store=store, base_url=live_server.url) as client,
    ):
        with pytest.raises(Refused) as caught:
            client.login(username="inspector_a", password="wrong")
        assert caught.value.status == 401 and caught.value.code == "invalid_credentials"
        assert client.cached_account() is None
        with pytest.raises(AuthRequired, match="not signed in"):
            client.request("GET", "/me")

        client.login(username="inspector_a", password=PASSWORD)
        with store.transaction() as tx:
            tx.kv_set("pull_cursor", 99)
        client.login(username="inspector_a", password=PASSWORD)
        assert store.kv_get("pull_cursor") == 99
        client.login(username="patrol_a", password=PASSWORD)  # pull is per user
        assert store.kv_get("pull_cursor") == 0


def test_another_user_cannot_sign_in_over_unsynced_data(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    """inspector_a signs out with a report still queued: patrol_a must not take over the
    store, or the report would be pushed (and attributed) under patrol_a's account."""
    report_id = tablet.report(photos=1)
    assert tablet.store.get_report(report_id).owner == "inspector_a"  # type: ignore[union-attr]
    tablet.client.logout()
    with pytest.raises(Refused) as caught:
        tablet.client.login(username="patrol_a", password=PASSWORD)
    assert caught.value.code == "other_users_data"
    assert "inspector_a" in caught.value.message
    assert caught.value.details["unsynced"] == 2  # the operation and its photo
    assert tablet.transport.count("POST", "/auth/login") == 1  # never asked the server

    # The owner signs in, syncs; then the other user is welcome.
    tablet.client.login(username="inspector_a", password=PASSWORD)
    assert tablet.engine().sync_once().ok
    assert tablet.store.get_report(report_id).state == "synced"  # type: ignore[union-attr]
    tablet.client.logout()
    assert tablet.client.login(username="patrol_a", password=PASSWORD).username == "patrol_a"


def test_no_server_known_is_a_clear_error(tmp_path: Path) -> None:
    with Store(tmp_path / "whistle.db") as store, pytest.raises(ValueError, match="server"):
        ApiClient(store=store)


def test_logout_revokes_on_the_server_and_forgets_locally(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    refresh_token = tablet.store.kv_get("auth")["refresh_token"]
    tablet.client.logout()
    assert tablet.client.cached_account() is None and tablet.store.kv_get("auth") is None
    with httpx.Client(base_url=live_server.api("")) as http:
        answer = http.post("/auth/refresh", json={"refresh_token": refresh_token})
    assert answer.status_code == 401
    # unreachable while signing out: the tokens are forgotten all the same
    tablet.client.login(username="inspector_a", password=PASSWORD)
    tablet.transport.fail("POST", "/auth/logout", fx.Fault("refuse"))
    tablet.client.logout()
    assert tablet.store.kv_get("auth") is None
    assert tablet.transport.count("POST", "/auth/logout") == 2


# ---------------------------------------------------------------- 401 and refresh


def test_expired_access_token_is_refreshed_once_then_the_request_repeated(
    tablet: fx.Tablet, settings: Settings
) -> None:
    old_refresh = tablet.store.kv_get("auth")["refresh_token"]
    expired = expire_access_token(tablet.store, settings)
    me = tablet.client.request("GET", "/me")
    assert me.json()["username"] == "inspector_a"
    assert tablet.transport.count("POST", "/auth/refresh") == 1
    auth = tablet.store.kv_get("auth")
    assert auth["access_token"] != expired and auth["refresh_token"] != old_refresh
    statuses = [s.status for s in tablet.transport.seen if s.path.endswith("/me")]
    assert statuses == [401, 200]


def test_threads_hitting_401_together_share_one_refresh(
    tablet: fx.Tablet, settings: Settings
) -> None:
    expire_access_token(tablet.store, settings)
    barrier = threading.Barrier(6)
    answers: list[int] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            barrier.wait(10)
            answers.append(tablet.client.request("GET", "/me").status_code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and answers == [200] * 6
    assert tablet.transport.count("POST", "/auth/refresh") == 1


def test_refused_refresh_raises_auth_required_and_keeps_every_report(
    tablet: fx.Tablet, settings: Settings
) -> None:
    report_id = tablet.report(photos=1)
    # the sign-in was ended elsewhere (e.g. an admin disabled the tablet's session)
    auth = dict(tablet.store.kv_get("auth"))
    with httpx.Client(base_url=tablet.client.base_url + "/api/v1") as http:
        http.post(
            "/auth/logout",
            json={"refresh_token": auth["refresh_token"]},
            headers={"Authorization": f"Bearer {auth['access_token']}"},
        )
    expire_access_token(tablet.store, settings)
    with pytest.raises(AuthRequired) as caught:
        tablet.client.request("GET", "/me")
    assert caught.value.code.startswith("refresh_token_") and caught.value.status == 401
    assert tablet.store.kv_get("auth") is None and tablet.client.cached_account() is None

    outcome = tablet.engine().sync_once()
    assert not outcome.ok and outcome.error is not None and "sign in" in outcome.error
    (op,) = tablet.store.list_ops()
    assert op.state == "pending"
    assert tablet.store.get_report(report_id).state == "queued"  # type: ignore[union-attr]
    assert len(tablet.store.photos_of(report_id=report_id)) == 1
    # signing in again sends it
    tablet.client.login(username="inspector_a", password=PASSWORD)
    assert tablet.engine().sync_once().ok


def test_refused_refresh_during_a_sync_stops_with_auth_required(
    tablet: fx.Tablet, settings: Settings
) -> None:
    tablet.report()
    expire_access_token(tablet.store, settings)
    with tablet.store.transaction() as tx:
        auth = dict(tablet.store.kv_get("auth"))
        auth["refresh_token"] = "not-a-token-" + "x" * 20
        tx.kv_set("auth", auth)
    engine = tablet.engine()
    outcome = engine.sync_once()
    assert engine.auth_required and outcome.retry_in_s is None
    assert outcome.error is not None and "refresh_token_invalid" in outcome.error
    assert [op.state for op in tablet.store.list_ops()] == ["pending"]


# ---------------------------------------------------------------- error classes


def test_network_errors_are_network_errors(tmp_path: Path) -> None:
    with (
        Store(tmp_path / "whistle.db") as store,
        ApiClient(
            store=store, base_url=f"http://127.0.0.1:{_closed_port()}", timeout_s=5
        ) as client,
        pytest.raises(NetworkError, match="ConnectError"),
    ):
        client.login(username="x", password="y")


def test_http_failures_map_to_their_retry_class(tablet: fx.Tablet) -> None:
    with pytest.raises(Refused) as caught:
        tablet.client.request("GET", f"/cases/{'0' * 8}-0000-4000-8000-{'0' * 12}")
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(Refused) as invalid:
        tablet.client.request("GET", "/sync/pull", params={"limit": 0})
    assert invalid.value.status == 422 and invalid.value.details
    tablet.transport.fail(
        "GET", "/me", fx.Fault("status", status=503, headers={"Retry-After": "7"})
    )
    with pytest.raises(RetryableError) as busy:
        tablet.client.request("GET", "/me")
    assert busy.value.status == 503 and busy.value.retry_after_s == 7


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, RetryableError),
        (502, RetryableError),
        (429, RetryableError),
        (423, RetryableError),
        (408, RetryableError),
        (401, AuthRequired),
        (400, Refused),
        (403, Refused),
        (409, Refused),
        (460, Refused),
    ],
)
def test_error_for_each_status(status: int, kind: type[Exception]) -> None:
    request = httpx.Request("GET", "http://x/")
    body: Any = {"error": {"code": "c", "message": "m", "details": {"offset": 3}}}
    error = error_for(httpx.Response(status, json=body, request=request))
    assert type(error) is kind and error.code == "c" and error.details == {"offset": 3}
    bare = error_for(httpx.Response(status, text="<html>proxy</html>", request=request))
    assert type(bare) is kind and bare.code == f"http_{status}"


def test_a_garbled_answer_is_a_network_error() -> None:
    response = httpx.Response(
        200, content=b'{"results": [', request=httpx.Request("GET", "http://x")
    )
    with pytest.raises(NetworkError, match="cut off"):
        json_body(response)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    later = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after("30") == 30
    assert parse_retry_after(later, now=now.timestamp()) == pytest.approx(90)
    earlier = (now - timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(earlier, now=now.timestamp()) == 0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
