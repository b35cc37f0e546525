"""Jinja2 for the web admin: autoescaping on, strict undefined, `render()`.

    return render(request, "cases/list.html", active="cases", page=page)

Every template gets: `t` (translate: t("cases.count", n=3)), `locale`, `user` (or None), `ctx`
(the AdminContext or None), `csrf_token` and `csrf_field()` (the hidden form input),
`nav` (the entries this role sees), `active` (which entry to highlight), `flashes`,
`static(path)` (a cache-busted /admin/static URL), `is_htmx`, and the filters `dt`
(local date and time), `day` (local date), `ago` (3 d ago) and `duration` (seconds ->
"5 h"). Templates live in server/admin/templates/; partials start with "_".
"""

import hashlib
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from server.admin.context import AdminContext
from server.admin.csrf import FORM_FIELD
from server.admin.i18n import LOCALE_NAMES, Translator, normalise_locale
from server.admin.nav import nav_for
from server.admin.words import action_label, status_label
from server.core.clock import utcnow
from server.core.config import Settings

ADMIN_DIR = Path(__file__).parent
TEMPLATE_DIR = ADMIN_DIR / "templates"
STATIC_DIR = ADMIN_DIR / "static"
STATIC_PREFIX = "/admin/static"


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.glob("*.*")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


ASSET_VERSION = _asset_version()


def static_url(path: str) -> str:
    return f"{STATIC_PREFIX}/{path.lstrip('/')}?v={ASSET_VERSION}"


def _tz(context: Context) -> tzinfo:
    tz = context.get("tz")
    return tz if isinstance(tz, tzinfo) else UTC


@pass_context
def _dt(context: Context, value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(_tz(context)).strftime("%Y-%m-%d %H:%M")


@pass_context
def _day(context: Context, value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(_tz(context)).strftime("%Y-%m-%d")


_UNITS = ((86400, "d"), (3600, "h"), (60, "m"))


def _duration_words(t: Translator, seconds: float, *, ago: bool) -> str:
    whole = max(0, int(seconds))
    prefix = "common.ago_" if ago else "common.duration_"
    for size, unit in _UNITS:
        if whole >= size:
            return t(prefix + unit, n=whole // size)
    return t("common.just_now") if ago else t("common.duration_m", n=0)


@pass_context
def _ago(context: Context, value: datetime | None) -> str:
    if value is None:
        return "—"
    now: datetime = context.get("now") or utcnow()
    return _duration_words(context["t"], (now - value).total_seconds(), ago=True)


@pass_context
def _duration(context: Context, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return _duration_words(context["t"], seconds, ago=False)


@pass_context
def _csrf_field(context: Context) -> Markup:
    token = context.get("csrf_token") or ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FORM_FIELD, token)


def _make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,  # every {{ value }} is HTML-escaped; user text is never markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(dt=_dt, day=_day, ago=_ago, duration=_duration)
    env.globals.update(static=static_url, csrf_field=_csrf_field, locale_names=LOCALE_NAMES)
    return env


env = _make_env()


def is_htmx(request: Request) -> bool:
    """An htmx request (not a boosted navigation) wants a fragment, not a page."""
    return request.headers.get("hx-request") == "true" and "hx-boosted" not in request.headers


def admin_context(request: Request) -> AdminContext | None:
    ctx: AdminContext | None = getattr(request.state, "admin", None)
    return ctx


def _tile_origin(tile_url: str) -> str:
    parts = urlsplit(tile_url.replace("{s}.", "*."))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def security_headers(settings: Settings) -> dict[str, str]:
    """No inline scripts (CSP): even if escaping failed somewhere, injected script would
    not run. Pages pass data to scripts in data-* attributes or JSON <script> blocks."""
    tiles = _tile_origin(settings.map_tile_url)
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: blob: {tiles}; connect-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'self'; object-src 'none'"
        ).replace("  ", " "),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def base_context(request: Request) -> dict[str, Any]:
    ctx = admin_context(request)
    settings: Settings = request.app.state.settings
    if ctx is not None:
        locale = ctx.locale
        t = ctx.t
        tz: tzinfo = ctx.tz
    else:
        locale = normalise_locale(
            request.query_params.get("lang") or request.headers.get("accept-language")
        )
        t = Translator(locale)
        tz = ZoneInfo(settings.admin_timezone)
    return {
        "status_label": partial(status_label, locale),
        "action_label": partial(action_label, locale),
        "request": request,
        "ctx": ctx,
        "user": ctx.user if ctx else None,
        "t": t,
        "locale": locale,
        "tz": tz,
        "now": utcnow(),
        "csrf_token": ctx.csrf_token if ctx else "",
        "nav": nav_for(ctx.user.role) if ctx else [],
        "active": "",
        "flashes": getattr(request.state, "flashes", []),
        "is_htmx": is_htmx(request),
        "settings": settings,
        "current_path": request.url.path,
        "current_url": str(request.url.path)
        + (f"?{request.url.query}" if request.url.query else ""),
    }


def render_string(request: Request, template: str, /, **context: Any) -> str:
    return env.get_template(template).render({**base_context(request), **context})


def render(
    request: Request,
    template: str,
    /,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = render_string(request, template, **context)
    settings: Settings = request.app.state.settings
    return HTMLResponse(
        html, status_code=status_code, headers={**security_headers(settings), **(headers or {})}
    )


def plain_escape(value: object) -> str:
    """For the rare string built in Python (error details): escaped like a template."""
    return str(escape(str(value)))
