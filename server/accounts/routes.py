"""POST /auth/login, /auth/refresh, /auth/logout and GET /me. Logic lives in service.py."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from server.accounts import service
from server.accounts.deps import CurrentUser, get_access_claims
from server.accounts.tokens import AccessClaims
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES
from shared_schemas.api import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    TokenResponse,
    UserInfo,
)
from shared_schemas.errors import ErrorEnvelope

router = APIRouter(tags=["auth"])


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


_COMMON: dict[int | str, dict[str, Any]] = {
    422: ERROR_RESPONSES[422],
    503: ERROR_RESPONSES[503],
}


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    summary="Sign in with user name and password",
    responses={
        401: _error("invalid_credentials: unknown user name or wrong password"),
        403: _error("account_disabled: the password was right but the account is disabled"),
        429: {
            **_error("too_many_attempts: too many recent failures for this name or address"),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer"},
                }
            },
        },
        **_COMMON,
    },
)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    result = service.login(
        session,
        settings,
        username=body.username,
        password=body.password,
        device_id=body.device_id,
        address=request.client.host if request.client else None,
    )
    session.commit()
    return result


@router.post(
    "/auth/refresh",
    response_model=TokenResponse,
    summary="Exchange a refresh token for new tokens (the old refresh token stops working)",
    responses={
        401: _error(
            "refresh_token_invalid, refresh_token_expired, refresh_token_revoked, "
            "refresh_token_reused (the sign-in was ended: sign in again) or user_disabled"
        ),
        **_COMMON,
    },
)
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    result = service.refresh(session, settings, refresh_token=body.refresh_token)
    session.commit()
    return result


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Sign out: revoke this sign-in and this device's refresh tokens",
    responses={401: ERROR_RESPONSES[401], **_COMMON},
)
def logout(
    session: SessionDep,
    claims: Annotated[AccessClaims, Depends(get_access_claims)],
    body: LogoutRequest | None = None,
) -> Response:
    # Only the access token's signature and expiry are checked (not revocation), so
    # signing out twice answers 204 both times.
    service.logout(session, claims=claims, refresh_token=body.refresh_token if body else None)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    response_model=UserInfo,
    summary="The signed-in user, their role, organisation and areas",
    responses={401: ERROR_RESPONSES[401], 503: ERROR_RESPONSES[503]},
)
def me(user: CurrentUser, session: SessionDep) -> UserInfo:
    return service.user_info(session, user)
