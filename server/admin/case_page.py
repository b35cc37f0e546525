"""What the case page shows: the detail, names in the user's language, and one form for
each action this user may take now (from the workflow's table, with its defaults)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel import Session, col, select

from server.accounts.models import User
from server.admin.context import AdminContext
from server.admin.i18n import has_message
from server.admin.triage_service import Candidate, candidate_rows
from server.admin.words import (
    Option,
    action_label,
    area_names,
    category_names,
    department_names,
    department_options,
)
from server.cases.queries import case_detail, get_visible_case
from server.cases.schemas import CaseDetail, EventOut, PhotoOut
from server.workflow.rules import FIELD_DEADLINE, FIELD_DEPARTMENT, RULES, Action, Need
from server.workflow.service import allowed_actions, default_deadline, default_department

ADMIN_PREFIX = "/admin"
# Photo kinds shown, in this order (withdrawn photos were taken back by the inspector).
PHOTO_GROUPS = ("before", "after", "verification")


@dataclass(frozen=True)
class ActionForm:
    action: Action
    label: str
    fields: frozenset[str]
    note_required: bool
    needs: tuple[Need, ...]
    defaults: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelineEntry:
    event: EventOut
    label: str
    actor: str


@dataclass
class CasePageData:
    case: CaseDetail
    category: str
    area: str
    department: str | None
    reporter: str
    photos: dict[str, list[PhotoOut]]
    timeline: list[TimelineEntry]
    forms: list[ActionForm]
    departments: list[Option]
    candidates: list[Candidate]
    extra: dict[str, Any] = field(default_factory=dict)


def _event_label(ctx: AdminContext, action: str) -> str:
    if action in set(Action):
        return action_label(ctx.locale, action)
    key = f"event.{action}"
    return ctx.t(key) if has_message(key) else action


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = session.exec(select(User).where(col(User.username).in_(usernames)))
    return {u.username: u.display_name for u in rows}


def _forms(
    session: Session, ctx: AdminContext, *, case_id: UUID, now: datetime
) -> list[ActionForm]:
    case = get_visible_case(session, scope=ctx.scope, case_id=case_id)
    forms = []
    for action in allowed_actions(session, user=ctx.user, scope=ctx.scope, case=case):
        rule = RULES[action]
        defaults: dict[str, str] = {}
        if FIELD_DEPARTMENT in rule.fields:
            dept = default_department(session, case=case)
            defaults[FIELD_DEPARTMENT] = dept.code if dept else ""
        if Need.DEADLINE in rule.needs:
            deadline = default_deadline(session, case=case, now=now)
            defaults[FIELD_DEADLINE] = deadline.astimezone(ctx.tz).date().isoformat()
        forms.append(
            ActionForm(
                action=action,
                label=action_label(ctx.locale, action),
                fields=rule.fields,
                # A supervisor closing or reworking without an inspector's result
                # overrides, and an override needs its reason.
                note_required=bool(
                    {Need.REASON, Need.NOTE_OR_PHOTOS, Need.VERIFICATION_OR_OVERRIDE}
                    & set(rule.needs)
                ),
                needs=rule.needs,
                defaults=defaults,
            )
        )
    return forms


def case_page_data(
    session: Session, ctx: AdminContext, *, case_id: UUID, now: datetime
) -> CasePageData:
    detail = case_detail(session, scope=ctx.scope, case_id=case_id, api_prefix=ADMIN_PREFIX)
    forms = _forms(session, ctx, case_id=case_id, now=now)
    people = _display_names(
        session, {detail.reporter} | {e.actor for e in detail.timeline if e.actor}
    )
    photos: dict[str, list[PhotoOut]] = {kind: [] for kind in PHOTO_GROUPS}
    for photo in detail.photos:
        if photo.kind in photos:
            photos[photo.kind].append(photo)
    wants_candidates = any(f.action is Action.MARK_DUPLICATE for f in forms)
    return CasePageData(
        case=detail,
        category=category_names(session, ctx.locale).get(detail.category, detail.category),
        area=area_names(session, ctx.locale, {detail.area_code}).get(
            detail.area_code, detail.area_code
        ),
        department=(
            department_names(session, ctx.locale).get(detail.department, detail.department)
            if detail.department
            else None
        ),
        reporter=people.get(detail.reporter, detail.reporter),
        photos=photos,
        timeline=[
            TimelineEntry(
                event=e,
                label=_event_label(ctx, e.action),
                actor=people.get(e.actor, e.actor) if e.actor else "",
            )
            for e in detail.timeline
        ],
        forms=forms,
        departments=department_options(session, ctx.locale),
        candidates=candidate_rows(session, ctx, case_id=case_id) if wants_candidates else [],
    )
