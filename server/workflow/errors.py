"""The workflow's errors, in the API's envelope (server/core/errors.py).

403 and 409 name the actions the caller may take now, with the case's current state, so a
client that lost a race can show the new state without another request.
"""

from typing import Any

from server.cases.models import Case
from server.core.errors import ApiError


def field_error(field: str, message: str, *more: tuple[str, str]) -> ApiError:
    """422 naming the field(s), like the request validation errors."""
    details = [
        {"field": f, "message": m, "type": "value_error"} for f, m in ((field, message), *more)
    ]
    names = " or ".join(d["field"] for d in details)
    return ApiError(422, "validation_error", f"{names}: {message}", details)


def state_details(case: Case, allowed: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "status": case.status.value,
        "version": case.version,
        "allowed_actions": allowed,
        **extra,
    }


def forbidden(message: str, case: Case, allowed: list[str], action: str) -> ApiError:
    return ApiError(403, "forbidden", message, state_details(case, allowed, action=action))


def invalid_transition(case: Case, allowed: list[str], action: str) -> ApiError:
    now = ", ".join(allowed) or "nothing"
    return ApiError(
        409,
        "invalid_transition",
        f"cannot {action} a case that is {case.status.value}; you may now: {now}",
        state_details(case, allowed, action=action),
    )


def version_conflict(case: Case, allowed: list[str], action: str, expected: int) -> ApiError:
    return ApiError(
        409,
        "version_conflict",
        f"the case was changed meanwhile (now {case.status.value}, version {case.version}, "
        f"you saw version {expected}); look at it again before acting",
        state_details(case, allowed, action=action, expected_version=expected),
    )
