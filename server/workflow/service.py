"""Applying the transition table (rules.py) to cases.

Every change of a case's workflow goes through `apply_transition`: the JSON API, the web
admin, bulk actions, the demo seed and the tablet's verification results. It checks, in
this order: the case exists and is in scope (404), the role may take the action (403),
the caller saw the current version (409 `version_conflict`), the action is allowed from
the current state (409 `invalid_transition`), the request carries what the action needs
(422 naming the field). Then it writes with a compare-and-set on `Case.version`, so of two
concurrent actions the second gets 409 and the current state, never a silent overwrite.

The service never commits: the caller's request (or push batch, or seed) commits, so a
transition and everything it records land together or not at all.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import update
from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.accounts.scope import Scope, can_see_case, scope_for
from server.cases.models import Case, CaseEvent, Photo
from server.core.clock import utcnow
from server.core.errors import ApiError, NotFound
from server.sync.changes import record_case_change, record_change
from server.sync.models import ChangeEntity, TaskKind, VerificationTask
from server.sync.operations import (
    PHOTO_KIND_REPORT,
    PHOTO_KIND_VERIFICATION,
    PHOTO_KIND_WITHDRAWN,
)
from server.sync.tasks import create_verification_task
from server.taxonomy.models import Category
from server.workflow.deadlines import (
    VERIFICATION_DUE,
    check_extension,
    check_future,
    default_deadline,
)
from server.workflow.duplicates import check_original, duplicate_candidates, link_duplicate
from server.workflow.errors import field_error, forbidden, invalid_transition, version_conflict
from server.workflow.rules import (
    OPTIONAL_FIELDS,
    RULES,
    Action,
    Effect,
    Need,
    Rule,
    Via,
    api_roles,
)
from server.workflow.schemas import BulkResult, TransitionRequest
from server.workflow.verification import cancel_open_tasks, choose_inspector
from shared_schemas.enums import CaseStatus, OrganisationKind
from shared_schemas.errors import ErrorBody

__all__ = [
    "Action",
    "TransitionRequest",
    "allowed_actions",
    "apply_bulk",
    "apply_transition",
    "apply_verification_result",
    "default_deadline",
    "default_department",
    "duplicate_candidates",
]

# Photos that belong to the report or to an inspection, never to a workflow step.
_NOT_ATTACHABLE = (PHOTO_KIND_REPORT, PHOTO_KIND_WITHDRAWN, PHOTO_KIND_VERIFICATION)


@dataclass
class _Plan:
    """What a validated transition will write."""

    values: dict[str, Any] = field(default_factory=dict)  # Case columns
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in the event
    original: Case | None = None
    assignee: User | None = None
    due_at: datetime | None = None
    photos: list[Photo] = field(default_factory=list)


# ---------------------------------------------------------------- who may


def _answers_task(verification: VerificationTask | None, user: User, case: Case) -> bool:
    return (
        verification is not None
        and verification.kind == TaskKind.VERIFICATION
        and verification.case_id == case.id
        and verification.assignee_id == user.id
    )


def _may(rule: Rule, *, user: User, case: Case, verification: VerificationTask | None) -> bool:
    via = rule.who.get(user.role)
    if via is None:
        return False
    if via is Via.VERIFICATION_TASK:
        return _answers_task(verification, user, case)
    if via is Via.OWN_DEPARTMENT:
        return user.organisation_id is not None and case.department_id == user.organisation_id
    return True  # Via.AREA: the case is in scope (checked when it was loaded)


def allowed_actions(session: Session, *, user: User, scope: Scope, case: Case) -> list[Action]:
    """The actions this user may take on the case now (table order); [] out of scope.
    Tablet-only ways (a verification result) are not listed."""
    del session  # part of the agreed signature; the rules need no queries today
    if not can_see_case(scope, case):
        return []
    return [
        action
        for action, rule in RULES.items()
        if case.status in rule.from_states and _may(rule, user=user, case=case, verification=None)
    ]


def _role_message(rule: Rule, user: User) -> str:
    if rule.who.get(user.role) is Via.VERIFICATION_TASK:
        return (
            f"{user.role.value}s {rule.action.value} a case only by sending the verification "
            "result from the tablet"
        )
    if rule.who.get(user.role) is Via.OWN_DEPARTMENT:
        return f"only the department the case is dispatched to may {rule.action.value} it"
    names = ", ".join(r.value for r in api_roles(rule))
    return f"{user.role.value} may not {rule.action.value}; only {names} may"


# ---------------------------------------------------------------- what it needs


def _check_fields(rule: Rule, request: TransitionRequest) -> None:
    for name in OPTIONAL_FIELDS:
        if getattr(request, name) is not None and name not in rule.fields:
            raise field_error(name, f"not used by {rule.action.value}; leave it out")


def default_department(session: Session, *, case: Case) -> Organisation | None:
    """The department a dispatch goes to unless one is named: the case's previous one
    (a reopened case), else the category's default (None for e.g. OTHER)."""
    dept_id = case.department_id
    if dept_id is None:
        category = session.get(Category, case.category_code)
        dept_id = category.default_department_id if category else None
    return session.get(Organisation, dept_id) if dept_id is not None else None


def _department(session: Session, case: Case, code: str | None) -> Organisation:
    if code is None:
        org = default_department(session, case=case)
        if org is None:
            raise field_error(
                "department",
                f"category {case.category_code} has no default department: choose one",
            )
    else:
        org = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if org is None or org.kind != OrganisationKind.DEPARTMENT or not org.is_active:
        raise field_error("department", f"there is no active department {code or ''}".strip())
    return org


def _photos(session: Session, case: Case, ids: list[UUID]) -> list[Photo]:
    if not ids:
        return []
    rows = {p.id: p for p in session.exec(select(Photo).where(col(Photo.id).in_(ids)))}
    for photo_id in ids:
        photo = rows.get(photo_id)
        if photo is None or photo.case_id != case.id:
            raise field_error("photo_ids", f"photo {photo_id} is not a photo of this case")
        if photo.event_id is not None or photo.kind in _NOT_ATTACHABLE:
            raise field_error(
                "photo_ids", f"photo {photo_id} already belongs to the report or to another step"
            )
    return [rows[i] for i in ids]


def _plan(
    session: Session,
    *,
    rule: Rule,
    user: User,
    scope: Scope,
    case: Case,
    request: TransitionRequest,
    now: datetime,
    verification: VerificationTask | None,
) -> _Plan:
    plan = _Plan()
    note = request.note.strip()
    for need in rule.needs:
        if need is Need.REASON and not note:
            raise field_error("note", f"a reason is required to {rule.action.value}")
        if need is Need.DEPARTMENT:
            plan.values["department_id"] = _department(session, case, request.department).id
        elif need is Need.DEADLINE:
            plan.values["deadline"] = (
                check_future(request.deadline, now=now)
                if request.deadline is not None
                else default_deadline(session, case=case, now=now)
            )
        elif need is Need.LATER_DEADLINE:
            plan.values["deadline"] = check_extension(case, request.deadline, now=now)
        elif need is Need.ORIGINAL:
            plan.original = check_original(
                session, scope=scope, case=case, original_id=request.duplicate_of
            )
            plan.values["duplicate_of_id"] = plan.original.id
        elif need is Need.NOTE_OR_PHOTOS and not note and not request.photo_ids:
            raise field_error(
                "note",
                f"{rule.action.value} needs a note or after photos",
                ("photo_ids", "or at least one photo of the rectification"),
            )
        elif need is Need.INSPECTOR:
            plan.assignee = choose_inspector(session, case=case, username=request.assignee)
            plan.due_at = (
                check_future(request.deadline, now=now)
                if request.deadline is not None
                else now + VERIFICATION_DUE
            )
        elif need is Need.VERIFICATION_OR_OVERRIDE:
            if verification is not None and _answers_task(verification, user, case):
                plan.extra["verification_task"] = str(verification.id)
                if verification.inspection_id is not None:
                    plan.extra["inspection_id"] = str(verification.inspection_id)
            elif not note:
                raise field_error(
                    "note",
                    f"without an inspector's verification result, {rule.action.value} is an "
                    "override and needs a reason",
                )
            else:
                plan.extra["override"] = True
    if rule.to_state is not None:
        plan.values["status"] = rule.to_state
    if Effect.COUNT_REWORK in rule.effects:
        plan.values["rework_count"] = case.rework_count + 1
    if rule.stamp:
        plan.values[rule.stamp] = now
    for name in rule.clears:
        plan.values[name] = None
    plan.photos = _photos(session, case, request.photo_ids)
    return plan


# ---------------------------------------------------------------- what it records


def _shown(session: Session, name: str, value: Any) -> tuple[str, Any]:
    """A column value as the timeline shows it: codes, not ids; ISO times."""
    if name == "department_id":
        org = session.get(Organisation, value) if value is not None else None
        return "department", org.code if org else None
    if name == "duplicate_of_id":
        return "duplicate_of", str(value) if value is not None else None
    if isinstance(value, datetime):
        return name, value.isoformat()
    if isinstance(value, CaseStatus):
        return name, value.value
    return name, value


def _snapshot(session: Session, case: Case, names: list[str]) -> dict[str, Any]:
    return dict(_shown(session, n, getattr(case, n)) for n in names)


def _compare_and_set(
    session: Session,
    *,
    case: Case,
    values: dict[str, Any],
    now: datetime,
) -> bool:
    """UPDATE ... WHERE version = the version read. False when another writer got there
    first (the row is then re-read)."""
    result = session.execute(
        update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == case.version)
        .values(**values, version=case.version + 1, updated_at=now)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    session.refresh(case)
    return False


# ---------------------------------------------------------------- the transition


def apply_transition(
    session: Session,
    *,
    user: User,
    scope: Scope,
    case_id: UUID,
    request: TransitionRequest,
    now: datetime | None = None,
    verification: VerificationTask | None = None,
) -> Case:
    """Validate and apply one action (see the module docstring). Does not commit.

    `verification` is the done verification task whose result this is (the tablet path,
    called from server.sync.tasks.on_verification_result): it lets its inspector close
    or send back the case, and stands in for the area scope check.
    """
    now = now or utcnow()
    case = session.get(Case, case_id, populate_existing=True)
    if case is None or not (can_see_case(scope, case) or _answers_task(verification, user, case)):
        raise NotFound("case")
    rule = RULES[request.action]
    action = rule.action.value

    found: Case = case

    def allowed() -> list[str]:
        return [a.value for a in allowed_actions(session, user=user, scope=scope, case=found)]

    if not _may(rule, user=user, case=case, verification=verification):
        raise forbidden(_role_message(rule, user), case, allowed(), action)
    if request.expected_version is not None and request.expected_version != case.version:
        raise version_conflict(case, allowed(), action, request.expected_version)
    if case.status not in rule.from_states:
        raise invalid_transition(case, allowed(), action)
    _check_fields(rule, request)
    plan = _plan(
        session,
        rule=rule,
        user=user,
        scope=scope,
        case=case,
        request=request,
        now=now,
        verification=verification,
    )
    changed = list(plan.values)
    before = _snapshot(session, case, changed)
    from_status, seen_version, old_department = case.status, case.version, case.department_id
    if not _compare_and_set(session, case=case, values=plan.values, now=now):
        raise version_conflict(case, allowed(), action, request.expected_version or seen_version)
    after = _snapshot(session, case, changed)
    extra = dict(plan.extra)
    if Effect.CANCEL_TASKS in rule.effects:
        cancelled = cancel_open_tasks(session, case=case, now=now)
        if cancelled:
            extra["cancelled_tasks"] = [str(t) for t in cancelled]
    if Effect.CREATE_TASK in rule.effects and plan.assignee is not None:
        task = create_verification_task(
            session, case=case, assignee=plan.assignee, due_at=plan.due_at
        )
        extra.update(
            task_id=str(task.id),
            assignee=plan.assignee.username,
            due_at=plan.due_at.isoformat() if plan.due_at else None,
        )
    if plan.photos:
        extra["photo_ids"] = [str(p.id) for p in plan.photos]
    event = CaseEvent(
        case_id=case.id,
        at=now,
        actor_id=user.id,
        action=action,
        from_status=from_status,
        to_status=case.status,
        note=request.note.strip(),
        changes={"before": before, "after": after, **extra},
    )
    session.add(event)
    session.flush()
    for photo in plan.photos:
        photo.event_id = event.id
        if rule.photo_kind:
            photo.kind = rule.photo_kind
        session.add(photo)
    if Effect.LINK_DUPLICATE in rule.effects and plan.original is not None:
        link_duplicate(
            session,
            case=case,
            original=plan.original,
            actor=user,
            now=now,
            note=request.note.strip(),
        )
    session.flush()
    if old_department is not None and old_department != case.department_id:
        # The previous department loses sight of the case: its pull gets a delete.
        record_change(
            session,
            entity=ChangeEntity.CASE,
            entity_id=case.id,
            area_path=case.area_path,
            department_id=old_department,
        )
    record_case_change(session, case)
    return case


# ---------------------------------------------------------------- bulk


def _begin_bulk(session: Session, case_ids: list[UUID]) -> None:
    """Take the write locks up front. SQLite: BEGIN IMMEDIATE (pysqlite would otherwise
    open the transaction only at the first write, and the savepoints below would each
    commit on their own). PostgreSQL: lock the rows in id order, before the change-log
    counter, so two bulk actions on overlapping cases cannot deadlock."""
    if session.get_bind().dialect.name == "sqlite":
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    session.exec(
        select(Case.id).where(col(Case.id).in_(case_ids)).order_by(col(Case.id)).with_for_update()
    ).all()


def apply_bulk(
    session: Session,
    *,
    user: User,
    scope: Scope,
    case_ids: list[UUID],
    request: TransitionRequest,
    now: datetime | None = None,
) -> list[BulkResult]:
    """The same action on many cases, each in its own savepoint: one refusal never blocks
    the others. Results in the order given (repeated ids once). Does not commit."""
    if request.expected_version is not None:
        raise field_error(
            "transition.expected_version", "not used by bulk actions (one per case makes no sense)"
        )
    ids = list(dict.fromkeys(case_ids))
    now = now or utcnow()
    _begin_bulk(session, ids)
    results: list[BulkResult] = []
    for case_id in ids:
        try:
            with session.begin_nested():
                case = apply_transition(
                    session, user=user, scope=scope, case_id=case_id, request=request, now=now
                )
            results.append(
                BulkResult(case_id=case_id, ok=True, status=case.status, version=case.version)
            )
        except ApiError as exc:
            results.append(
                BulkResult(
                    case_id=case_id,
                    ok=False,
                    error=ErrorBody(code=exc.code, message=exc.message, details=exc.details),
                )
            )
    return results


# ---------------------------------------------------------------- the tablet's result


def apply_verification_result(
    session: Session,
    *,
    task: VerificationTask,
    rectified: bool,
    note: str,
    actor: User,
    now: datetime | None = None,
) -> str:
    """An inspector's verification result (inspection.create) as their transition:
    rectified -> close, not rectified -> rework. A result that arrives when the case has
    moved on (closed by an override meanwhile, or a re-inspection task) is only recorded.
    Returns the outcome, which the verification event records."""
    case = session.get(Case, task.case_id, populate_existing=True)
    if case is None or task.kind != TaskKind.VERIFICATION:
        return "recorded"
    action = Action.CLOSE if rectified else Action.REWORK
    request = TransitionRequest(action=action, note=note)
    scope = scope_for(session, actor)
    outcome = f"recorded only: the case was {case.status.value}"
    # One retry: a concurrent supervisor action may win the compare-and-set; the retry
    # then sees the new state and decides again.
    for _ in range(2):
        try:
            apply_transition(
                session,
                user=actor,
                scope=scope,
                case_id=case.id,
                request=request,
                now=now,
                verification=task,
            )
            return action.value
        except ApiError as exc:
            outcome = f"recorded only: {exc.message}"
            if exc.code != "version_conflict":
                break
    return outcome
