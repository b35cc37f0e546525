"""Signing in to the web admin: server-side sessions behind an HttpOnly cookie.

The password check and throttling are the API's (server/accounts): the same failure
counts, the same 429. Only supervisors, departments and administrators may sign in; a
tablet role learns that only after giving the right password (names stay unguessable).

Sessions end after SESSION_IDLE without a request or SESSION_MAX after sign-in, on
sign-out, and at once when the user is disabled (every request re-reads the user).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.accounts import throttle
from server.accounts.models import User
from server.accounts.passwords import burn_verify_time, hasher_for, verify_password
from server.admin.models import AdminSession
from server.core.config import Settings
from server.core.errors import ApiError
from shared_schemas.enums import Role

ADMIN_ROLES = frozenset({Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN})
SESSION_COOKIE = "whistle_admin"
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(days=7)
# last_seen_at is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_secure(settings: Settings) -> bool:
    """Secure cookies need HTTPS; development and test servers speak plain HTTP."""
    return settings.env == "production"


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # goes into the cookie; never stored
    row: AdminSession


def sign_in(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    address: str | None,
    now: datetime,
) -> SignedIn:
    """Check the password and open a session. Raises ApiError: 401 invalid_credentials,
    403 account_disabled / wrong_role, 429 too_many_attempts. Failures are committed
    here (the request's session rolls back on errors); the caller commits on success."""
    throttle.check_allowed(session, settings, username=username, address=address)
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        burn_verify_time(settings)
        ok = False
    else:
        ok = verify_password(user.password_hash, password, settings)
    if user is None or not ok:
        throttle.record_failure(session, settings, username=username, address=address)
        session.commit()
        raise ApiError(401, "invalid_credentials", "the user name or password is wrong")
    if not user.is_active:
        raise ApiError(403, "account_disabled", "this account is disabled")
    if user.role not in ADMIN_ROLES:
        raise ApiError(403, "wrong_role", "this role uses the tablet app, not the web admin")
    throttle.clear_user(session, username=username)
    if hasher_for(settings).check_needs_rehash(user.password_hash):
        user.password_hash = hasher_for(settings).hash(password)
        session.add(user)
    # Sessions past their end are no longer worth keeping (anyone's: an indexed delete).
    session.execute(delete(AdminSession).where(col(AdminSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    row = AdminSession(
        id=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_MAX,
    )
    session.add(row)
    session.flush()
    return SignedIn(user=user, token=token, row=row)


def load_session(
    session: Session, *, token: str | None, now: datetime
) -> tuple[AdminSession, User] | None:
    """The live session and its user for a cookie token, or None (unknown, idle too long,
    past its end, user disabled or no longer an admin role). Commits a touch now and then."""
    if not token or len(token) > 200:
        return None
    row = session.get(AdminSession, token_hash(token))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
        session.delete(row)
        session.commit()
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.role not in ADMIN_ROLES:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return row, user


def sign_out(session: Session, *, row: AdminSession) -> None:
    session.execute(delete(AdminSession).where(col(AdminSession.id) == row.id))


def push_flash(session: Session, *, row: AdminSession, level: str, text: str) -> None:
    """A message for the next page this browser shows (the caller commits)."""
    row.flash = [*row.flash, {"level": level, "text": text}]
    session.add(row)


def pop_flashes(session: Session, *, row: AdminSession) -> list[dict[str, Any]]:
    if not row.flash:
        return []
    messages = list(row.flash)
    row.flash = []
    session.add(row)
    session.commit()
    return messages


def set_locale(session: Session, *, user: User, locale: str) -> None:
    user.locale = locale
    session.add(user)
