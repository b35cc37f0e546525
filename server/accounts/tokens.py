"""Access tokens: short-lived signed JWTs (PyJWT, HS256).

An access token names its user, role, device and the refresh-token family it came from,
so signing out (which revokes the family) also stops the access tokens of that sign-in.
Refresh tokens are opaque random strings stored hashed: see refresh.py.
"""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

import jwt

from server.core.clock import utcnow
from server.core.config import Settings
from server.core.errors import ApiError
from shared_schemas.enums import Role

ALGORITHM = "HS256"
ACCESS_TYPE = "access"


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    role: Role
    family_id: UUID | None
    device_id: str | None


def issue_access_token(
    settings: Settings,
    *,
    user_id: UUID,
    role: Role,
    family_id: UUID | None,
    device_id: str | None,
) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "fam": str(family_id) if family_id else None,
        "dev": device_id,
        "typ": ACCESS_TYPE,
        "iat": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_s),
        "jti": uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def auth_error(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature, expiry and type; the 401 code says which check failed."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise auth_error("token_expired", "the access token has expired; refresh it") from exc
    except jwt.InvalidTokenError as exc:
        raise auth_error("token_invalid", "the access token is not valid") from exc
    if claims.get("typ") != ACCESS_TYPE:
        raise auth_error("token_invalid", "not an access token")
    try:
        return AccessClaims(
            user_id=UUID(claims["sub"]),
            role=Role(claims["role"]),
            family_id=UUID(claims["fam"]) if claims.get("fam") else None,
            device_id=claims.get("dev"),
        )
    except (KeyError, ValueError) as exc:
        raise auth_error("token_invalid", "the access token is not valid") from exc
