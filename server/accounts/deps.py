"""Authentication dependencies: CurrentUser, CurrentScope, role requirements."""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session, col, select

from server.accounts.models import RefreshToken, User
from server.accounts.refresh import REASON_SUPERSEDED
from server.accounts.scope import Scope, scope_for
from server.accounts.tokens import AccessClaims, auth_error, decode_access_token
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import Forbidden
from shared_schemas.enums import Role

_bearer = HTTPBearer(auto_error=False, description="The access token from /auth/login")


async def get_access_claims(  # async: CPU only (a signature check), no threadpool trip
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise auth_error("not_authenticated", "sign in first: no bearer token was sent")
    return decode_access_token(settings, credentials.credentials)


AccessClaimsDep = Annotated[AccessClaims, Depends(get_access_claims)]


def user_for_claims(session: Session, claims: AccessClaims) -> User:
    """The signed-in user behind a valid token: 401 when its sign-in was ended or the
    account is disabled. (For routes that open their session late, after a long body.)"""
    if claims.family_id is not None:
        revoked = session.exec(
            select(RefreshToken.id)
            .where(RefreshToken.family_id == claims.family_id)
            .where(col(RefreshToken.revoked_at).is_not(None))
            .where(col(RefreshToken.revoked_reason) != REASON_SUPERSEDED)
            .limit(1)
        ).first()
        if revoked is not None:
            raise auth_error("token_revoked", "this sign-in was ended; sign in again")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise auth_error("user_disabled", "this account is disabled or no longer exists")
    return user


def get_current_user(session: SessionDep, claims: AccessClaimsDep) -> User:
    return user_for_claims(session, claims)


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_scope(session: SessionDep, user: CurrentUser) -> Scope:
    return scope_for(session, user)


CurrentScope = Annotated[Scope, Depends(get_scope)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency that lets only these roles through (403 names the allowed roles)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"only {names} may do this; you are {user.role.value}")
        return user

    return check
