"""Errors on admin pages are pages (or htmx fragments), not JSON envelopes.

`install_admin_error_handlers` wraps the API's handlers: a request under /admin that
wants HTML gets the error page in the user's language; everything else (the JSON API,
the admin's own .json/.geojson endpoints) keeps the envelope.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.admin.auth import SESSION_COOKIE
from server.admin.deps import SignInRequired, context_outside_dependencies
from server.admin.templating import is_htmx, render
from server.core.errors import ApiError, validation_details, validation_message

log = logging.getLogger(__name__)
Handler = Callable[[Request, Any], Awaitable[Response]]
LOGIN_PATH = "/admin/login"


def wants_admin_html(request: Request) -> bool:
    path = request.url.path
    return (
        (path == "/admin" or path.startswith("/admin/"))
        and not path.startswith("/admin/static/")
        and not path.endswith((".json", ".geojson", ".csv", ".xlsx"))
    )


def _message_key(status: int, code: str) -> str:
    if code == "csrf_failed":
        return "error.csrf"
    return {
        404: "error.not_found",
        403: "error.forbidden",
        422: "error.invalid",
        503: "error.unavailable",
    }.get(status, "error.server" if status >= 500 else "")


def error_page(request: Request, *, status: int, code: str, message: str) -> Response:
    key = _message_key(status, code)
    context_outside_dependencies(request)
    template = "_error.html" if is_htmx(request) else "error.html"
    headers = {"HX-Retarget": "#htmx-error", "HX-Reswap": "innerHTML"} if is_htmx(request) else {}
    return render(
        request,
        template,
        status_code=status,
        headers=headers,
        error_key=key,
        error_code=code,
        error_message=message,
    )


def sign_in_redirect(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        back = request.headers.get("hx-current-url") or "/admin"
    target = f"{LOGIN_PATH}?next={quote(back, safe='/')}"
    if SESSION_COOKIE in request.cookies:  # it was a session that ended, not a first visit
        target += "&expired=1"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_admin_error_handlers(app: FastAPI) -> None:
    def wrap(exc_class: type[Exception], page: Callable[[Request, Any], Response]) -> None:
        original: Handler | None = app.exception_handlers.get(exc_class)  # type: ignore[assignment]

        async def handler(request: Request, exc: Any) -> Response:
            if wants_admin_html(request) or original is None:
                return page(request, exc)
            return await original(request, exc)

        app.add_exception_handler(exc_class, handler)

    def api_error(request: Request, exc: ApiError) -> Response:
        return error_page(request, status=exc.status_code, code=exc.code, message=exc.message)

    def validation(request: Request, exc: RequestValidationError) -> Response:
        message = validation_message(validation_details(exc.errors()))
        return error_page(request, status=422, code="validation_error", message=message)

    def http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(
            request, status=exc.status_code, code="http_error", message=str(exc.detail)
        )

    def database(request: Request, exc: DBAPIError) -> Response:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return error_page(request, status=503, code="database_unavailable", message="")
        log.exception("database error on an admin page", exc_info=exc)
        return error_page(request, status=500, code="internal_error", message="")

    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on an admin page", exc_info=exc)
        return error_page(request, status=500, code="internal_error", message="")

    wrap(ApiError, api_error)
    wrap(RequestValidationError, validation)
    wrap(StarletteHTTPException, http)
    wrap(DBAPIError, database)
    wrap(Exception, unexpected)

    async def signin(request: Request, _exc: Exception) -> Response:
        return sign_in_redirect(request)

    app.add_exception_handler(SignInRequired, signin)
