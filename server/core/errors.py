"""The error envelope: every error leaves the API as {"error": {code, message, details}}."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared_schemas.errors import ErrorEnvelope

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with a stable machine code and a message a person can act on."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})


class NotFound(ApiError):
    """Also used for things out of the caller's scope: existence is never revealed."""

    def __init__(self, what: str = "resource") -> None:
        super().__init__(404, "not_found", f"{what} not found")


class Forbidden(ApiError):
    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__(403, "forbidden", message)


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def field_path(loc: Sequence[int | str]) -> str:
    """('body', 'location', 'lat') -> 'location.lat'; ('query', 'limit') -> 'query.limit'."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def _detail(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        # pydantic puts the character offset in loc; say it in words instead.
        where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        return {
            "field": "body",
            "message": f"{error.get('msg', 'invalid JSON')}{where}",
            "type": "json_invalid",
        }
    return {
        "field": field_path(loc),
        "message": str(error.get("msg", "")),
        "type": error.get("type"),
    }


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [_detail(e) for e in errors]


def validation_message(details: list[dict[str, Any]]) -> str:
    if not details:
        return "the request is not valid"
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    if first["type"] == "json_invalid":
        return f"the request body is not valid JSON: {first['message']}"
    return f"{first['field']}: {first['message']}{more}"


_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _is_database_down(exc: DBAPIError) -> bool:
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc.errors())
        return error_response(422, "validation_error", validation_message(details), details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), None, exc.headers)

    @app.exception_handler(DBAPIError)
    async def _database(_request: Request, exc: DBAPIError) -> JSONResponse:
        if _is_database_down(exc):
            log.error("database unavailable: %s", exc.orig)
            return error_response(
                503,
                "database_unavailable",
                "the database is unavailable; nothing was changed, try again shortly",
                headers={"Retry-After": "5"},
            )
        log.exception("database error")
        return error_response(500, "internal_error", "internal server error")

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(_request: Request, exc: PoolTimeout) -> JSONResponse:
        # Admission should prevent it; if it happens anyway the request did nothing.
        log.error("no database connection free: %s", exc)
        return error_response(
            503,
            "server_busy",
            "the server is busy; nothing was changed, try again shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "internal server error")


# For OpenAPI: the error responses every authenticated route may give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorEnvelope,
        "description": "Not signed in, or the token is expired, revoked or invalid",
    },
    403: {"model": ErrorEnvelope, "description": "The role may not do this"},
    404: {"model": ErrorEnvelope, "description": "Not found or outside the caller's areas"},
    422: {"model": ErrorEnvelope, "description": "Invalid input; details name each field"},
    503: {"model": ErrorEnvelope, "description": "The database is unavailable"},
}
