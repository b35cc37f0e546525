"""Login throttling, counted in the LoginFailure table so every worker sees the same count.

Failures are counted per user name (`user:<lowercased name>`) and per client address
(`ip:<address>`) within a sliding window of Settings.login_window_s. Once either key has
Settings.login_max_failures failures in the window, further attempts are refused with 429
(even with the right password) until enough failures have left the window. Refused
attempts are not counted, so waiting always helps.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.accounts.models import LoginFailure
from server.accounts.refresh import rowcount
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.errors import ApiError


def user_key(username: str) -> str:
    return f"user:{username.strip().lower()}"[:120]


def address_key(address: str) -> str:
    return f"ip:{address}"[:120]


def keys_for(*, username: str, address: str | None) -> list[str]:
    keys = [user_key(username)]
    if address:
        keys.append(address_key(address))
    return keys


class TooManyAttempts(ApiError):
    def __init__(self, retry_after_s: int) -> None:
        unit = "second" if retry_after_s == 1 else "seconds"
        super().__init__(
            429,
            "too_many_attempts",
            f"too many failed sign-in attempts; try again in {retry_after_s} {unit}",
            details={"retry_after_s": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s


def _blocked_until(
    session: Session, settings: Settings, key: str, now: datetime
) -> datetime | None:
    """When this key may try again, or None if it may now."""
    window = timedelta(seconds=settings.login_window_s)
    times = session.exec(
        select(LoginFailure.at)
        .where(LoginFailure.key == key)
        .where(col(LoginFailure.at) > now - window)
        .order_by(col(LoginFailure.at))
    ).all()
    excess = len(times) - settings.login_max_failures
    if excess < 0:
        return None
    # Below the limit again once the (excess + 1) oldest failures have left the window.
    return times[excess] + window


def check_allowed(
    session: Session, settings: Settings, *, username: str, address: str | None
) -> None:
    """Raise 429 too_many_attempts (with Retry-After) if this attempt must wait."""
    now = utcnow()
    until = [
        t
        for key in keys_for(username=username, address=address)
        if (t := _blocked_until(session, settings, key, now)) is not None
    ]
    if until:
        wait = (max(until) - now).total_seconds()
        raise TooManyAttempts(max(1, math.ceil(wait)))


def record_failure(
    session: Session, settings: Settings, *, username: str, address: str | None
) -> None:
    now = utcnow()
    for key in keys_for(username=username, address=address):
        session.add(LoginFailure(key=key, at=now))
    prune(session, settings)
    session.flush()


def clear_user(session: Session, *, username: str) -> None:
    """A successful sign-in forgives the user's failures (not the address's)."""
    session.execute(delete(LoginFailure).where(col(LoginFailure.key) == user_key(username)))


def prune(session: Session, settings: Settings) -> int:
    """Delete failures that no longer count (done on the way, nothing schedules it)."""
    cutoff = utcnow() - timedelta(seconds=settings.login_window_s)
    result = session.execute(delete(LoginFailure).where(col(LoginFailure.at) <= cutoff))
    return rowcount(result)
