"""The token lifecycle: use, refresh and rotation, reuse detection, logout, expiry, forgery."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import time_machine
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import RefreshToken
from server.accounts.refresh import rotate_refresh_token
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.errors import ApiError
from tests.server.accounts.helpers import Auth, error_code, jwt_claims, tamper_signature

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 401, response.text
    assert error_code(response) == code


def test_refresh_rotates_the_token(auth: Auth) -> None:
    first = auth.tokens("inspector_a")

    response = auth.refresh(first["refresh_token"])
    assert response.status_code == 200, response.text
    second = response.json()

    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["username"] == "inspector_a"
    assert auth.me(second["access_token"]).status_code == 200
    # Same sign-in (family) and device; the first access token stays valid until it expires.
    assert jwt_claims(second["access_token"])["fam"] == jwt_claims(first["access_token"])["fam"]
    assert jwt_claims(second["access_token"])["dev"] == "tablet-1"
    assert auth.me(first["access_token"]).status_code == 200
    # The new refresh token works in turn.
    assert auth.refresh(second["refresh_token"]).status_code == 200


def test_reuse_revokes_the_whole_family(auth: Auth, session: Session) -> None:
    first = auth.tokens("inspector_a")
    second = auth.refresh(first["refresh_token"]).json()
    third = auth.refresh(second["refresh_token"]).json()
    other_sign_in = auth.tokens("inspector_a", device_id="tablet-2")

    # An old token comes back: someone else has a copy.
    assert_refused(auth.refresh(first["refresh_token"]), "refresh_token_reused")

    # Every token of that sign-in is dead, the newest refresh token included ...
    assert_refused(auth.refresh(third["refresh_token"]), "refresh_token_revoked")
    for body in (first, second, third):
        assert_refused(auth.me(body["access_token"]), "token_revoked")
    family = jwt_claims(first["access_token"])["fam"]
    rows = session.exec(select(RefreshToken)).all()
    assert {r.revoked_reason for r in rows if str(r.family_id) == family} == {"reuse"}
    # ... while another sign-in of the same user goes on.
    assert auth.me(other_sign_in["access_token"]).status_code == 200
    assert auth.refresh(other_sign_in["refresh_token"]).status_code == 200


def test_concurrent_refreshes_with_one_token_cannot_both_win(
    auth: Auth, settings: Settings
) -> None:
    settings.refresh_retry_grace_s = 0  # the strict rule, without the lost-response grace
    token = auth.tokens("inspector_a")["refresh_token"]
    start = threading.Barrier(4)
    statuses: list[int] = []

    def refresh() -> None:
        start.wait()
        statuses.append(auth.refresh(token).status_code)

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200, 401, 401, 401]


def test_refresh_race_loser_finds_the_token_rotated(
    auth: Auth, engine: Engine, settings: Settings
) -> None:
    """The interleaving the conditional UPDATE guards against, made deterministic: the
    loser read the token before the winner rotated it, and updates after."""
    settings.refresh_retry_grace_s = 0  # the strict rule, without the lost-response grace
    token = auth.tokens("inspector_a")["refresh_token"]
    with Session(engine, expire_on_commit=False) as loser:
        rotate_first_read = loser.exec(select(RefreshToken)).one()  # loaded, not yet rotated
        assert rotate_first_read.rotated_at is None

        assert auth.refresh(token).status_code == 200  # the winner

        # The loser's identity map still says "not rotated": only the UPDATE can tell.
        with pytest.raises(ApiError) as refused:
            rotate_refresh_token(loser, settings, token=token)
        assert refused.value.code == "refresh_token_reused"


def test_refresh_race_loser_whose_clock_read_came_first_is_still_a_reuse(
    auth: Auth, engine: Engine, settings: Settings
) -> None:
    """The interleaving CI hit once: the loser read the time, then the winner rotated the
    token a moment later. The negative age must not pass for "within the grace"."""
    settings.refresh_retry_grace_s = 0
    token = auth.tokens("inspector_a")["refresh_token"]
    with time_machine.travel(utcnow(), tick=False) as traveller:
        loser_started = utcnow()
        traveller.shift(0.5)
        assert auth.refresh(token).status_code == 200  # the winner, half a second later
        traveller.move_to(loser_started)
        with Session(engine) as loser, pytest.raises(ApiError) as refused:
            rotate_refresh_token(loser, settings, token=token)
    assert refused.value.code == "refresh_token_reused"


def test_retry_after_a_lost_refresh_response_keeps_the_sign_in(auth: Auth) -> None:
    """The tablet refreshed, the answer was lost in a basement; it retries with the old
    token. That is not theft: the unused successor is superseded, the sign-in goes on."""
    first = auth.tokens("inspector_a")
    lost = auth.refresh(first["refresh_token"]).json()  # never reached the tablet
    retried = auth.refresh(first["refresh_token"])
    assert retried.status_code == 200, retried.text
    assert auth.me(retried.json()["access_token"]).status_code == 200
    assert auth.me(first["access_token"]).status_code == 200  # same sign-in, still alive
    assert_refused(auth.refresh(lost["refresh_token"]), "refresh_token_revoked")
    assert auth.refresh(retried.json()["refresh_token"]).status_code == 200


def test_retry_after_the_grace_period_is_reuse(auth: Auth, settings: Settings) -> None:
    first = auth.tokens("inspector_a")
    with time_machine.travel(utcnow(), tick=False) as traveller:
        second = auth.refresh(first["refresh_token"]).json()
        traveller.shift(settings.refresh_retry_grace_s + 1)
        assert_refused(auth.refresh(first["refresh_token"]), "refresh_token_reused")
        assert_refused(auth.refresh(second["refresh_token"]), "refresh_token_revoked")


def test_old_token_after_its_successor_was_used_is_reuse(auth: Auth) -> None:
    first = auth.tokens("inspector_a")
    second = auth.refresh(first["refresh_token"]).json()
    auth.refresh(second["refresh_token"])  # the successor was used: the chain moved on
    assert_refused(auth.refresh(first["refresh_token"]), "refresh_token_reused")


@pytest.mark.parametrize(
    "garbage", ["x" * 43, "not-a-token-at-all", "a" * 512], ids=["random", "text", "long"]
)
def test_unknown_refresh_token(auth: Auth, garbage: str) -> None:
    assert_refused(auth.refresh(garbage), "refresh_token_invalid")


def test_access_and_refresh_tokens_are_not_interchangeable(auth: Auth) -> None:
    body = auth.tokens("inspector_a")
    assert_refused(auth.me(body["refresh_token"]), "token_invalid")
    assert_refused(auth.refresh(body["access_token"]), "refresh_token_invalid")
    # Neither attempt harmed the sign-in.
    assert auth.refresh(body["refresh_token"]).status_code == 200


def test_tampered_access_token(auth: Auth) -> None:
    access = auth.tokens("inspector_a")["access_token"]
    assert_refused(auth.me(tamper_signature(access)), "token_invalid")
    assert_refused(auth.me(access[:-1] + ("A" if access[-1] != "A" else "B")), "token_invalid")
    assert auth.me(access).status_code == 200


def test_access_token_signed_with_another_key(auth: Auth) -> None:
    genuine = jwt_claims(auth.tokens("inspector_a")["access_token"])
    forged = jwt.encode(genuine, "another-key-" + "y" * 32, algorithm="HS256")
    assert_refused(auth.me(forged), "token_invalid")
    unsigned = jwt.encode(genuine, key="", algorithm="none")
    assert_refused(auth.me(unsigned), "token_invalid")


def test_access_token_expires(auth: Auth, settings: Settings) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        body = auth.tokens("inspector_a")
        clock.move_to(NOW + timedelta(seconds=settings.access_token_ttl_s - 1))
        assert auth.me(body["access_token"]).status_code == 200
        clock.move_to(NOW + timedelta(seconds=settings.access_token_ttl_s + 1))
        assert_refused(auth.me(body["access_token"]), "token_expired")
        # The refresh token gets a working one.
        fresh = auth.refresh(body["refresh_token"]).json()
        assert auth.me(fresh["access_token"]).status_code == 200


def test_refresh_token_outlives_a_long_offline_trip_then_expires(
    auth: Auth, settings: Settings
) -> None:
    lifetime = timedelta(days=settings.refresh_token_ttl_days)
    assert lifetime >= timedelta(days=30)
    with time_machine.travel(NOW, tick=False) as clock:
        body = auth.tokens("inspector_a")
        clock.move_to(NOW + lifetime - timedelta(seconds=1))
        response = auth.refresh(body["refresh_token"])
        assert response.status_code == 200
        renewed = response.json()["refresh_token"]  # a full lifetime from now

        clock.move_to(NOW + 2 * lifetime - timedelta(seconds=2))
        assert auth.refresh(renewed).status_code == 200

        expiring = auth.tokens("inspector_a")["refresh_token"]
        clock.move_to(NOW + 3 * lifetime)
        assert_refused(auth.refresh(expiring), "refresh_token_expired")


def test_refresh_of_a_disabled_user(auth: Auth, set_active: Callable[[str, bool], None]) -> None:
    body = auth.tokens("inspector_a")
    set_active("inspector_a", False)
    assert_refused(auth.refresh(body["refresh_token"]), "user_disabled")
    assert_refused(auth.me(body["access_token"]), "user_disabled")
    # Refusing did not use the token up.
    set_active("inspector_a", True)
    assert auth.refresh(body["refresh_token"]).status_code == 200


def test_logout_ends_the_sign_in(auth: Auth) -> None:
    body = auth.tokens("inspector_a")

    response = auth.logout(body["access_token"], body["refresh_token"])
    assert response.status_code == 204
    assert response.content == b""

    assert_refused(auth.me(body["access_token"]), "token_revoked")
    assert_refused(auth.refresh(body["refresh_token"]), "refresh_token_revoked")
    # Signing out again is harmless.
    assert auth.logout(body["access_token"], body["refresh_token"]).status_code == 204


def test_logout_without_body_revokes_this_device_only(auth: Auth, session: Session) -> None:
    earlier = auth.tokens("inspector_a", device_id="tablet-1")
    current = auth.tokens("inspector_a", device_id="tablet-1")
    elsewhere = auth.tokens("inspector_a", device_id="tablet-2")
    colleague = auth.tokens("inspector_b", device_id="tablet-1")

    assert auth.logout(current["access_token"]).status_code == 204

    assert_refused(auth.refresh(earlier["refresh_token"]), "refresh_token_revoked")
    assert_refused(auth.refresh(current["refresh_token"]), "refresh_token_revoked")
    assert_refused(auth.me(earlier["access_token"]), "token_revoked")
    assert auth.refresh(elsewhere["refresh_token"]).status_code == 200
    assert auth.refresh(colleague["refresh_token"]).status_code == 200
    reasons = {r.revoked_reason for r in session.exec(select(RefreshToken)) if r.revoked_at}
    assert reasons == {"logout"}


def test_logout_ignores_another_users_refresh_token(auth: Auth) -> None:
    mine = auth.tokens("inspector_a", device_id="tablet-1")
    theirs = auth.tokens("inspector_b", device_id="tablet-9")

    assert auth.logout(mine["access_token"], theirs["refresh_token"]).status_code == 204
    assert auth.refresh(theirs["refresh_token"]).status_code == 200


def test_logout_needs_a_valid_access_token(auth: Auth) -> None:
    body = auth.tokens("inspector_a")
    assert_refused(auth.logout(tamper_signature(body["access_token"])), "token_invalid")
    assert auth.refresh(body["refresh_token"]).status_code == 200
