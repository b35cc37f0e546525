"""POST /sync/push, GET /sync/pull, GET /devices: thin routes over server/sync/service.py."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from server.accounts.deps import CurrentScope, CurrentUser, require_roles
from server.accounts.models import User
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES
from server.sync.schemas import DevicesOut
from server.sync.service import PUSH_ROLES, list_devices, pull_changes, push_batch
from shared_schemas.enums import Role
from shared_schemas.sync import MAX_PULL_LIMIT, PullResponse, PushRequest, PushResponse

router = APIRouter(tags=["sync"])

Pusher = Annotated[User, Depends(require_roles(*PUSH_ROLES))]
DeviceViewer = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]

_PUSH_ERRORS: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (401, 403, 503)}
_PUSH_ERRORS[422] = {
    "model": ERROR_RESPONSES[422]["model"],
    "description": "The request itself is invalid (an op's envelope, more than "
    "MAX_OPS_PER_PUSH ops, a repeated op_id) or its schema_version is not supported "
    "(code unsupported_schema_version); nothing was applied. An invalid *payload* is "
    "not a 422: that operation alone is rejected with code invalid_payload.",
}


@router.post(
    "/sync/push",
    response_model=PushResponse,
    responses=_PUSH_ERRORS,
    summary="Apply a batch of outbox operations",
    description="Inspectors and patrols only. Each operation applies in its own savepoint; "
    "a replayed (device_id, op_id) returns its stored result and changes nothing. Results "
    "are in the order of the request. The device status is stored for GET /devices.",
)
def push(body: PushRequest, session: SessionDep, user: Pusher, scope: CurrentScope) -> PushResponse:
    return push_batch(session, user=user, scope=scope, request=body)


@router.get(
    "/sync/pull",
    response_model=PullResponse,
    responses={k: ERROR_RESPONSES[k] for k in (401, 422, 503)},
    summary="Changes after a cursor",
    description="Changes the caller may see with seq > cursor, oldest first, the current "
    "state of each changed entity. Store the returned cursor after applying the page; "
    "repeat while has_more.",
)
def pull(
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    cursor: Annotated[int, Query(ge=0, description="the cursor of the last applied page")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 200,
) -> PullResponse:
    return pull_changes(session, user=user, scope=scope, cursor=cursor, limit=limit)


@router.get(
    "/devices",
    response_model=DevicesOut,
    responses={k: ERROR_RESPONSES[k] for k in (401, 403, 503)},
    summary="Devices and their sync backlog",
    description="Supervisors see the devices of users working in their areas; admins all.",
)
def devices(
    session: SessionDep, settings: SettingsDep, _user: DeviceViewer, scope: CurrentScope
) -> DevicesOut:
    return list_devices(session, scope=scope, settings=settings)
