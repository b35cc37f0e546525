"""CSRF protection for the web admin.

Every state-changing request (anything but GET/HEAD/OPTIONS) must carry the session's
synchronizer token: forms in a hidden `csrf_token` field (`{{ csrf_field() }}` in a
template; urlencoded or multipart), htmx requests in the `X-CSRF-Token` header (base.html
sets it on <body> with hx-headers, so every htmx request inherits it). Without a valid
token the request is refused with 403 before the route runs, so nothing changes.

The sign-in form has no session yet: it uses a double-submit cookie (a random value in a
cookie and the same value in the form), which stops another site from signing a victim
into the attacker's account.

The admin router applies `csrf_protect` to every route; no route has to remember it.
"""

import secrets
from typing import Annotated

from fastapi import Depends, Request

from server.admin.context import AdminContext
from server.admin.deps import get_optional_admin
from server.core.errors import ApiError

FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
LOGIN_COOKIE = "whistle_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(ApiError):
    def __init__(self) -> None:
        super().__init__(
            403,
            "csrf_failed",
            "the form's security token is missing or wrong; reload the page and try again",
        )


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _sent_token(request: Request) -> str | None:
    """The header, else the form's field. Multipart forms (the case page's photo forms)
    too: a route with Form/File parameters has parsed the body already (cached on the
    request), and the field counts wherever it lies among the parts. A file part named
    like the field is not a token."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


def _same(sent: str | None, expected: str | None) -> bool:
    if not sent or not expected:
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())


async def csrf_protect(
    request: Request, ctx: Annotated[AdminContext | None, Depends(get_optional_admin)]
) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = ctx.csrf_token if ctx is not None else request.cookies.get(LOGIN_COOKIE)
    if not expected:  # nothing can match: no need to look at the body
        raise CsrfRefused()
    if not _same(await _sent_token(request), expected):
        raise CsrfRefused()
