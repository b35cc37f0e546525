"""Login throttling per user name and per client address, shared through the database."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from server.accounts.models import LoginFailure
from server.core.config import Settings
from tests.server.accounts.helpers import Auth, error_code

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
WRONG = "definitely not the password"


def fail(auth: Auth, username: str, times: int, client: TestClient | None = None) -> None:
    for _ in range(times):
        response = auth.login(username, WRONG, client=client)
        assert response.status_code == 401, response.text


def assert_throttled(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert error_code(response) == "too_many_attempts"
    assert response.headers["Retry-After"] == str(retry_after)
    assert f"try again in {retry_after} second" in response.json()["error"]["message"]


def test_five_failures_then_429_even_with_the_right_password(
    auth: Auth, settings: Settings
) -> None:
    assert settings.login_max_failures == 5
    with time_machine.travel(NOW, tick=False):
        fail(auth, "inspector_a", 5)
        assert_throttled(auth.login("inspector_a"), settings.login_window_s)
        assert_throttled(auth.login("inspector_a", WRONG), settings.login_window_s)


def test_retry_after_counts_down_to_the_oldest_failure_leaving(
    auth: Auth, settings: Settings
) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        fail(auth, "inspector_a", 1)
        clock.move_to(NOW + timedelta(seconds=20))
        fail(auth, "inspector_a", 4)
        clock.move_to(NOW + timedelta(seconds=30.5))
        assert_throttled(auth.login("inspector_a"), settings.login_window_s - 30)
        clock.move_to(NOW + timedelta(seconds=settings.login_window_s - 0.2))
        assert_throttled(auth.login("inspector_a"), 1)  # never 0


def test_window_expiry_lets_the_user_in_again(auth: Auth, settings: Settings) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        fail(auth, "inspector_a", 5)
        assert auth.login("inspector_a").status_code == 429
        clock.move_to(NOW + timedelta(seconds=settings.login_window_s + 1))
        assert auth.login("inspector_a").status_code == 200


def test_the_limit_per_address_spans_user_names(
    auth: Auth, client_from: Callable[[str], TestClient]
) -> None:
    attacker = client_from("203.0.113.9")
    for name in ("inspector_a", "inspector_b", "supervisor_a", "no_such_user", "admin"):
        fail(auth, name, 1, client=attacker)

    throttled = auth.login("patrol_a", client=attacker)
    assert throttled.status_code == 429
    assert error_code(throttled) == "too_many_attempts"
    # The same user from another address is not affected.
    assert auth.login("patrol_a", client=client_from("198.51.100.4")).status_code == 200


def test_the_limit_per_user_spans_addresses(
    auth: Auth, client_from: Callable[[str], TestClient]
) -> None:
    for i in range(5):
        fail(auth, "inspector_a", 1, client=client_from(f"192.0.2.{i + 1}"))
    assert auth.login("inspector_a", client=client_from("192.0.2.99")).status_code == 429
    # Case does not help the guesser.
    assert auth.login("INSPECTOR_A", WRONG, client=client_from("192.0.2.98")).status_code == 429
    assert auth.login("inspector_b", client=client_from("192.0.2.97")).status_code == 200


def test_unknown_user_names_are_throttled_too(auth: Auth) -> None:
    fail(auth, "ghost", 5)
    response = auth.login("ghost", WRONG)
    assert response.status_code == 429


def test_success_clears_the_users_failures(
    auth: Auth, client_from: Callable[[str], TestClient], session: Session
) -> None:
    fail(auth, "inspector_a", 4, client=client_from("192.0.2.1"))
    assert auth.login("inspector_a", client=client_from("192.0.2.2")).status_code == 200
    assert not session.exec(
        select(LoginFailure).where(LoginFailure.key == "user:inspector_a")
    ).all()
    # Four more failures are fine: the count started again.
    fail(auth, "inspector_a", 4, client=client_from("192.0.2.3"))
    assert auth.login("inspector_a", client=client_from("192.0.2.4")).status_code == 200


def test_a_disabled_account_with_the_right_password_is_not_a_failure(
    auth: Auth, set_active: Callable[[str, bool], None], session: Session
) -> None:
    set_active("inspector_a", False)
    assert auth.login("inspector_a").status_code == 403
    assert not session.exec(select(LoginFailure)).all()


def test_old_failures_are_pruned(auth: Auth, settings: Settings, session: Session) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        fail(auth, "inspector_a", 3)
        clock.move_to(NOW + timedelta(seconds=settings.login_window_s + 1))
        fail(auth, "inspector_b", 1)

    rows = session.exec(select(LoginFailure).order_by(col(LoginFailure.key))).all()
    assert [r.key for r in rows] == ["ip:testclient", "user:inspector_b"]
