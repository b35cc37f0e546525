"""Sign in, sign out, the language switch, and /admin itself (the role's home page)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from server.admin import auth
from server.admin.context import AdminContext
from server.admin.csrf import LOGIN_COOKIE, new_login_token
from server.admin.deps import AdminCtx, get_optional_admin
from server.admin.i18n import LOCALES, normalise_locale
from server.admin.nav import home_path
from server.admin.templating import render
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ApiError

router = APIRouter()

_LOGIN_ERRORS = {
    "invalid_credentials": "login.invalid",
    "account_disabled": "login.disabled",
    "wrong_role": "login.wrong_role",
    "too_many_attempts": "login.throttled",
}


def safe_next(value: str | None, fallback: str) -> str:
    """Only a path inside the admin: never another site (no open redirect)."""
    if (
        value
        and value.startswith("/admin")
        and not value.startswith("/admin/login")
        and "\\" not in value
        and "//" not in value
        and not any(ord(c) < 32 for c in value)
    ):
        return value
    return fallback


def _login_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    error_seconds: int = 0,
    status_code: int = 200,
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_login_token()
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_token=token,
        next_path=next_path,
        username=username,
        error=error,
        error_seconds=error_seconds,
        expired=request.query_params.get("expired") == "1",
        signed_out=request.query_params.get("bye") == "1",
    )
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=auth.cookie_secure(settings),
        path="/admin",
    )
    return response


@router.get("/")  # /admin redirects here (redirect_slashes)
def admin_home(ctx: AdminCtx) -> RedirectResponse:
    return RedirectResponse(home_path(ctx.user.role), status_code=303)


@router.get("/login")
def login_form(
    request: Request,
    ctx: Annotated[AdminContext | None, Depends(get_optional_admin)],
    next: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    if ctx is not None:
        return RedirectResponse(safe_next(next, home_path(ctx.user.role)), status_code=303)
    return _login_page(request, next_path=next or "")


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        signed = auth.sign_in(
            session,
            settings,
            username=username.strip(),
            password=password,
            address=request.client.host if request.client else None,
            now=utcnow(),
        )
    except ApiError as exc:
        key = _LOGIN_ERRORS.get(exc.code)
        if key is None:
            raise
        seconds = (exc.details or {}).get("retry_after_s", 60) if exc.status_code == 429 else 0
        return _login_page(
            request,
            next_path=next,
            username=username,
            error=key,
            error_seconds=int(seconds),
            status_code=exc.status_code,
        )
    session.commit()
    response = RedirectResponse(safe_next(next, home_path(signed.user.role)), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        signed.token,
        max_age=int(auth.SESSION_MAX.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=auth.cookie_secure(settings),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
def logout(ctx: AdminCtx, session: SessionDep, settings: SettingsDep) -> Response:
    auth.sign_out(session, row=ctx.row)
    session.commit()
    response = RedirectResponse("/admin/login?bye=1", status_code=303)
    response.delete_cookie(
        auth.SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=auth.cookie_secure(settings),
    )
    return response


@router.post("/locale")
def set_locale(
    ctx: AdminCtx,
    session: SessionDep,
    locale: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    chosen = normalise_locale(locale)
    if chosen in LOCALES:
        auth.set_locale(session, user=ctx.user, locale=chosen)
        session.commit()
    return RedirectResponse(safe_next(next, home_path(ctx.user.role)), status_code=303)
