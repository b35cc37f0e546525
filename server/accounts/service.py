"""Signing in, refreshing, signing out, and what a user sees of themselves.

The caller (a route) commits on success. Paths that must record something and still
refuse (a failed login is counted, a reused refresh token revokes its family) commit that
record here before raising, because the request's session is rolled back on errors.
"""

from uuid import UUID

from sqlmodel import Session, col, select

from server.accounts import refresh as refresh_tokens
from server.accounts import throttle
from server.accounts.models import Organisation, User, UserArea
from server.accounts.passwords import burn_verify_time, hasher_for, verify_password
from server.accounts.tokens import AccessClaims, auth_error, issue_access_token
from server.areas.models import Area
from server.core.config import Settings
from server.core.errors import ApiError
from shared_schemas.api import AreaRef, OrganisationRef, TokenResponse, UserInfo
from shared_schemas.enums import Role


def _invalid_credentials() -> ApiError:
    # One code and one message for an unknown name and a wrong password.
    return auth_error("invalid_credentials", "the user name or password is wrong")


def _english(user: User) -> bool:
    return user.locale.lower().startswith("en")


def user_info(session: Session, user: User) -> UserInfo:
    english = _english(user)
    organisation = None
    if user.organisation_id is not None:
        org = session.get(Organisation, user.organisation_id)
        if org is not None:
            organisation = OrganisationRef(
                code=org.code, name=org.name_en if english else org.name_zh, kind=org.kind
            )
    if user.role == Role.PATROL:
        # A patrol works in the compounds its property company manages.
        stmt = select(Area).where(Area.property_company_id == user.organisation_id)
    else:
        stmt = select(Area).join(UserArea, col(UserArea.area_id) == col(Area.id))
        stmt = stmt.where(UserArea.user_id == user.id)
    areas = session.exec(stmt.order_by(col(Area.path))).all()
    return UserInfo(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organisation=organisation,
        areas=[
            AreaRef(
                code=a.code, name=(a.name_en if english and a.name_en else a.name), level=a.level
            )
            for a in areas
        ],
    )


def _token_response(
    session: Session,
    settings: Settings,
    *,
    user: User,
    issued: refresh_tokens.IssuedRefreshToken,
) -> TokenResponse:
    access = issue_access_token(
        settings,
        user_id=user.id,
        role=user.role,
        family_id=issued.family_id,
        device_id=issued.row.device_id,
    )
    return TokenResponse(
        access_token=access,
        refresh_token=issued.token,
        expires_in=settings.access_token_ttl_s,
        refresh_expires_in=issued.expires_in,
        user=user_info(session, user),
    )


def _find_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def login(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    device_id: str | None,
    address: str | None,
) -> TokenResponse:
    """Check the password and start a sign-in (a new refresh-token family).

    401 invalid_credentials for an unknown name or a wrong password (same message, similar
    time); 403 account_disabled only when the password was right; 429 too_many_attempts
    when the name or the address has failed too often recently.
    """
    throttle.check_allowed(session, settings, username=username, address=address)
    user = _find_user(session, username)
    if user is None:
        burn_verify_time(settings)
        ok = False
    else:
        ok = verify_password(user.password_hash, password, settings)
    if user is None or not ok:
        throttle.record_failure(session, settings, username=username, address=address)
        session.commit()
        raise _invalid_credentials()
    if not user.is_active:
        raise ApiError(
            403, "account_disabled", "this account is disabled; ask your supervisor to unlock it"
        )
    throttle.clear_user(session, username=username)
    if hasher_for(settings).check_needs_rehash(user.password_hash):
        user.password_hash = hasher_for(settings).hash(password)
        session.add(user)
    issued = refresh_tokens.issue_refresh_token(
        session, settings, user_id=user.id, device_id=device_id
    )
    return _token_response(session, settings, user=user, issued=issued)


def refresh(session: Session, settings: Settings, *, refresh_token: str) -> TokenResponse:
    """Rotate the refresh token: the presented one stops working, a new one is returned.

    The role and areas are read afresh, so changes reach the tablet at its next refresh.
    """
    _old, issued = refresh_tokens.rotate_refresh_token(session, settings, token=refresh_token)
    user = session.get(User, issued.row.user_id)
    if user is None or not user.is_active:
        # Raising rolls the rotation back: the token stays as it was.
        raise auth_error("user_disabled", "this account is disabled or no longer exists")
    return _token_response(session, settings, user=user, issued=issued)


def logout(session: Session, *, claims: AccessClaims, refresh_token: str | None = None) -> None:
    """End the sign-in: the presented refresh token's family, the family of the access
    token used, and every active token of this user on this device. Idempotent."""
    reason = refresh_tokens.REASON_LOGOUT
    user_id = claims.user_id
    families: set[UUID] = set()
    if claims.family_id is not None:
        families.add(claims.family_id)
    if refresh_token:
        row = refresh_tokens.find_refresh_token(session, refresh_token)
        if row is not None and row.user_id == user_id:
            families.add(row.family_id)
    for family_id in families:
        refresh_tokens.revoke_family(session, family_id=family_id, reason=reason)
    if claims.device_id is not None:
        refresh_tokens.revoke_device(
            session, user_id=user_id, device_id=claims.device_id, reason=reason
        )
