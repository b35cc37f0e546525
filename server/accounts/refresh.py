"""Refresh tokens: opaque random strings, stored only as their sha256, rotated on use.

The tokens of one sign-in form a family. Each refresh marks the presented token rotated
and issues its successor in the same family. A rotated token presented again means two
parties hold it (likely theft): the whole family is revoked, which also stops the access
tokens of that sign-in (they carry the family id, see deps.get_current_user).

Functions that refuse after changing something (reuse revokes the family) commit that
change themselves before raising, since the caller's session is rolled back on errors.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import CursorResult, Result, update
from sqlmodel import Session, col, select

from server.accounts.models import RefreshToken
from server.accounts.tokens import auth_error
from server.core.clock import utcnow
from server.core.config import Settings

TOKEN_BYTES = 32

REASON_REUSE = "reuse"
REASON_LOGOUT = "logout"
# Replaced by a retried refresh: dead, but the sign-in goes on (see deps.get_current_user).
REASON_SUPERSEDED = "superseded"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedRefreshToken:
    token: str  # the only place the plain token exists: hand it to the client
    row: RefreshToken

    @property
    def family_id(self) -> UUID:
        return self.row.family_id

    @property
    def expires_in(self) -> int:
        """Seconds the new token lives (it was issued just now)."""
        return int((self.row.expires_at - self.row.issued_at).total_seconds())


def issue_refresh_token(
    session: Session,
    settings: Settings,
    *,
    user_id: UUID,
    device_id: str | None,
    family_id: UUID | None = None,
    parent_id: UUID | None = None,
) -> IssuedRefreshToken:
    """A new token; a new family unless one is given (rotation)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = RefreshToken(
        family_id=family_id or uuid4(),
        parent_id=parent_id,
        user_id=user_id,
        device_id=device_id,
        token_hash=hash_token(token),
        issued_at=now,
        expires_at=now + timedelta(days=settings.refresh_token_ttl_days),
    )
    session.add(row)
    session.flush()
    return IssuedRefreshToken(token=token, row=row)


def find_refresh_token(session: Session, token: str) -> RefreshToken | None:
    return session.exec(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    ).first()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched."""
    # An UPDATE's result is a CursorResult; Session.execute is typed more loosely.
    return int(cast("CursorResult[Any]", result).rowcount)


def revoke_family(session: Session, *, family_id: UUID, reason: str) -> int:
    """Revoke every not yet revoked token of the family; returns how many."""
    result = session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id)
        .where(col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def revoke_device(session: Session, *, user_id: UUID, device_id: str, reason: str) -> int:
    """Revoke the families of every active token of this user on this device."""
    families = session.exec(
        select(RefreshToken.family_id)
        .where(RefreshToken.user_id == user_id)
        .where(RefreshToken.device_id == device_id)
        .where(col(RefreshToken.revoked_at).is_(None))
        .where(col(RefreshToken.rotated_at).is_(None))
        .distinct()
    ).all()
    return sum(revoke_family(session, family_id=f, reason=reason) for f in families)


def _reused(session: Session, row: RefreshToken) -> Exception:
    revoke_family(session, family_id=row.family_id, reason=REASON_REUSE)
    session.commit()  # the revocation must survive the error response
    return auth_error(
        "refresh_token_reused",
        "this refresh token was already used; the sign-in was ended for safety, sign in again",
    )


def rotate_refresh_token(
    session: Session, settings: Settings, *, token: str
) -> tuple[RefreshToken, IssuedRefreshToken]:
    """Check the presented token, mark it rotated and issue its successor.

    Returns (the presented token's row, the new token). Raises 401 with code
    refresh_token_invalid, _revoked, _reused (and revokes the family) or _expired.
    """
    row = find_refresh_token(session, token)
    if row is None:
        raise auth_error("refresh_token_invalid", "the refresh token is not valid; sign in again")
    if row.revoked_at is not None:
        raise auth_error("refresh_token_revoked", "this sign-in was ended; sign in again")
    now = utcnow()
    if row.rotated_at is not None:
        return row, _retry_or_reused(session, settings, row, now)
    if row.expires_at <= now:
        raise auth_error("refresh_token_expired", "the refresh token has expired; sign in again")
    # Only one of two concurrent refreshes with the same token may win: the UPDATE is
    # conditional and the loser, finding nothing to update, is treated as a reuse.
    result = session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id)
        .where(col(RefreshToken.rotated_at).is_(None))
        .where(col(RefreshToken.revoked_at).is_(None))
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        session.refresh(row)
        return row, _retry_or_reused(session, settings, row, now)
    session.expire(row)
    return row, _successor(session, settings, row)


def _successor(session: Session, settings: Settings, row: RefreshToken) -> IssuedRefreshToken:
    return issue_refresh_token(
        session,
        settings,
        user_id=row.user_id,
        device_id=row.device_id,
        family_id=row.family_id,
        parent_id=row.id,
    )


def _retry_or_reused(
    session: Session, settings: Settings, row: RefreshToken, now: datetime
) -> IssuedRefreshToken:
    """A rotated token came back. If it was rotated moments ago and its successor was never
    used, the client most likely lost the response: supersede the successor and issue
    another. Otherwise two parties hold the token: revoke the family."""
    grace = timedelta(seconds=settings.refresh_retry_grace_s)
    if row.rotated_at is None or row.revoked_at is not None:
        raise _reused(session, row)
    # A concurrent refresh may have rotated the token after `now` was read: a negative
    # age counts as zero, so that with no grace at all the loser is always a reuse.
    if max(now - row.rotated_at, timedelta(0)) >= grace:
        raise _reused(session, row)
    children = session.exec(select(RefreshToken).where(RefreshToken.parent_id == row.id)).all()
    if any(c.rotated_at is not None or c.revoked_at is not None for c in children):
        raise _reused(session, row)
    result = session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.parent_id) == row.id)
        .where(col(RefreshToken.rotated_at).is_(None))
        .where(col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=REASON_SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != len(children):  # a concurrent retry got there first
        raise _reused(session, row)
    return _successor(session, settings, row)
