"""Dependencies of the admin pages: the signed-in user, their scope, role checks.

    @router.get("/things")
    def things(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
        ...  # ctx.user, ctx.scope, ctx.t, ctx.locale

Not signed in: a page answers 303 to the sign-in page (which returns here afterwards), an
htmx request gets HX-Redirect. `require_admin_roles(Role.ADMIN)` narrows a route further.
"""

from collections.abc import Callable
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlmodel import Session

from server.accounts.models import User
from server.accounts.scope import Scope, scope_for
from server.admin.auth import SESSION_COOKIE, load_session, pop_flashes
from server.admin.context import AdminContext
from server.admin.i18n import Translator, normalise_locale
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ApiError
from shared_schemas.enums import Role


class SignInRequired(Exception):
    """Raised by `get_admin`; the admin's exception handler redirects to the sign-in page."""


def _build_context(request: Request, session: Session, tz_name: str) -> AdminContext | None:
    loaded = load_session(session, token=request.cookies.get(SESSION_COOKIE), now=utcnow())
    if loaded is None:
        return None
    row, user = loaded
    locale = normalise_locale(user.locale)
    return AdminContext(
        user=user,
        row=row,
        scope=scope_for(session, user),
        locale=locale,
        t=Translator(locale),
        tz=ZoneInfo(tz_name),
    )


def _is_page_load(request: Request) -> bool:
    """A browser loading a page (not an image, a script's fetch or an htmx swap)."""
    accept = request.headers.get("accept", "*/*")
    return (
        request.method == "GET"
        and "hx-request" not in request.headers
        and ("text/html" in accept or accept == "*/*")
    )


def get_optional_admin(
    request: Request, session: SessionDep, settings: SettingsDep
) -> AdminContext | None:
    """The caller's context, or None when not signed in. Also kept on request.state.admin
    so `render()` and the error pages can show the navigation."""
    if hasattr(request.state, "admin"):
        cached: AdminContext | None = request.state.admin
        return cached
    ctx = _build_context(request, session, settings.admin_timezone)
    request.state.admin = ctx
    if ctx is not None and _is_page_load(request):
        # Messages left by the previous POST are shown on the next full page.
        request.state.flashes = pop_flashes(session, row=ctx.row)
    return ctx


def context_outside_dependencies(request: Request) -> AdminContext | None:
    """For error pages: the request's own session is closed (and rolled back, which
    expired what it loaded), or its dependencies never ran (unknown path). A fresh
    session loads the caller again, so the navigation still shows. Never raises."""
    if getattr(request.state, "admin", "unknown") is None:
        return None  # known: not signed in
    try:
        with Session(request.app.state.engine, expire_on_commit=False) as session:
            ctx = _build_context(request, session, request.app.state.settings.admin_timezone)
    except Exception:  # the database may be what failed
        ctx = None
    request.state.admin = ctx
    return ctx


def get_admin(ctx: Annotated[AdminContext | None, Depends(get_optional_admin)]) -> AdminContext:
    if ctx is None:
        raise SignInRequired()
    return ctx


AdminCtx = Annotated[AdminContext, Depends(get_admin)]


def get_admin_user(ctx: AdminCtx) -> User:
    return ctx.user


def get_admin_scope(ctx: AdminCtx) -> Scope:
    return ctx.scope


AdminUser = Annotated[User, Depends(get_admin_user)]
AdminScope = Annotated[Scope, Depends(get_admin_scope)]


def require_admin_roles(*roles: Role) -> Callable[[AdminContext], AdminContext]:
    """A dependency letting only these roles through (403 page otherwise)."""
    allowed = frozenset(roles)

    def check(ctx: AdminCtx) -> AdminContext:
        if ctx.user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ApiError(403, "forbidden", f"only {names} may open this page")
        return ctx

    return check
