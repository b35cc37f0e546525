"""The workflow's JSON endpoints: transitions (one case or many), allowed actions,
duplicate candidates. Thin: the rules live in server/workflow/rules.py, the logic in
service.py; these routes commit what the service did."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from server.accounts.deps import CurrentScope, CurrentUser, require_roles
from server.accounts.models import User
from server.cases.queries import case_detail, case_summaries, get_visible_case
from server.cases.routes import API_PREFIX
from server.cases.schemas import CaseDetail
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES
from server.workflow.duplicates import distance_m, duplicate_candidates
from server.workflow.rules import RULES, Action, Need
from server.workflow.schemas import (
    ActionOut,
    ActionsOut,
    BulkResponse,
    BulkTransitionRequest,
    DuplicateCandidate,
    DuplicatesOut,
    TransitionRequest,
)
from server.workflow.service import (
    allowed_actions,
    apply_bulk,
    apply_transition,
    default_deadline,
    default_department,
)
from server.workflow.words import ACTION_LABELS
from shared_schemas.enums import Role
from shared_schemas.errors import ErrorEnvelope

_409 = {
    "model": ErrorEnvelope,
    "description": "Not allowed from the current state (`invalid_transition`) or the case "
    "changed meanwhile (`version_conflict`); details give the current status, version and "
    "the actions allowed now",
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: ERROR_RESPONSES[k] for k in (401, 403, 404, 422)},
    409: _409,
}

# Field roles take no workflow action through the API (their verification comes by sync).
BULK_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.DEPARTMENT)

router = APIRouter(tags=["workflow"])


@router.post("/cases/{case_id}/transitions", response_model=CaseDetail, responses=_ERRORS)
def post_transition(
    case_id: UUID,
    body: TransitionRequest,
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
) -> CaseDetail:
    """Take one workflow action on the case; answers the case as it is now."""
    apply_transition(session, user=user, scope=scope, case_id=case_id, request=body)
    session.commit()
    return case_detail(session, scope=scope, case_id=case_id, api_prefix=API_PREFIX)


@router.post(
    "/cases/bulk-transitions",
    response_model=BulkResponse,
    responses={k: v for k, v in _ERRORS.items() if k in (401, 403, 422)},
)
def post_bulk_transitions(
    body: BulkTransitionRequest,
    session: SessionDep,
    user: Annotated[User, Depends(require_roles(*BULK_ROLES))],
    scope: CurrentScope,
) -> BulkResponse:
    """The same action on many cases; each succeeds or fails on its own (see `results`)."""
    results = apply_bulk(
        session, user=user, scope=scope, case_ids=body.case_ids, request=body.transition
    )
    session.commit()
    return BulkResponse(results=results)


@router.get(
    "/cases/{case_id}/actions",
    response_model=ActionsOut,
    responses={k: v for k, v in _ERRORS.items() if k in (401, 404)},
)
def get_actions(
    case_id: UUID, session: SessionDep, user: CurrentUser, scope: CurrentScope
) -> ActionsOut:
    """The actions the caller may take on the case now, with labels and form defaults."""
    case = get_visible_case(session, scope=scope, case_id=case_id)
    out: list[ActionOut] = []
    for action in allowed_actions(session, user=user, scope=scope, case=case):
        rule = RULES[action]
        defaults: dict[str, Any] = {}
        if Need.DEPARTMENT in rule.needs:
            org = default_department(session, case=case)
            defaults["department"] = org.code if org else None
        if Need.DEADLINE in rule.needs:
            defaults["deadline"] = default_deadline(session, case=case, now=utcnow())
        if action is Action.EXTEND_DEADLINE:
            defaults["current_deadline"] = case.deadline
        zh, en = ACTION_LABELS[action]
        out.append(
            ActionOut(
                action=action,
                label_zh=zh,
                label_en=en,
                to_status=rule.to_state,
                fields=sorted(rule.fields),
                needs=[n.value for n in rule.needs],
                defaults=defaults,
            )
        )
    return ActionsOut(case_id=case.id, status=case.status, version=case.version, actions=out)


@router.get(
    "/cases/{case_id}/duplicates",
    response_model=DuplicatesOut,
    responses={k: v for k, v in _ERRORS.items() if k in (401, 404, 422)},
)
def get_duplicates(
    case_id: UUID,
    session: SessionDep,
    settings: SettingsDep,
    scope: CurrentScope,
    radius_m: Annotated[float | None, Query(gt=0, le=5000)] = None,
    window_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
) -> DuplicatesOut:
    """Open cases of the same category near this one (default radius and window from
    WHISTLE_DUPLICATE_RADIUS_M and WHISTLE_DUPLICATE_WINDOW_DAYS), nearest first."""
    case = get_visible_case(session, scope=scope, case_id=case_id)
    radius = radius_m if radius_m is not None else settings.duplicate_radius_m
    window = window_days if window_days is not None else settings.duplicate_window_days
    found = duplicate_candidates(
        session, scope=scope, case=case, radius_m=radius, window_days=window
    )
    items = [
        DuplicateCandidate(
            **summary.model_dump(),
            distance_m=round(distance_m(case.lat, case.lon, c.lat, c.lon), 1),
        )
        for c, summary in zip(found, case_summaries(session, found, utcnow()), strict=True)
    ]
    return DuplicatesOut(radius_m=radius, window_days=window, items=items)
