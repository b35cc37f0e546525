"""The case workflow in ONE table: every action, who may take it, from which states, what
it needs and what it does. The service (service.py) only interprets this table; the docs
(docs/workflow.md) and the tests are generated from it.

States and words: ../shared/design.md ("Case states") and ../shared/domain.md.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from shared_schemas.enums import CaseStatus, Role


class Action(StrEnum):
    REGISTER = "register"  # 立案
    REJECT = "reject"  # 不予立案
    MARK_DUPLICATE = "mark_duplicate"  # 合并
    DISPATCH = "dispatch"  # 派遣
    START_RECTIFICATION = "start_rectification"  # 开始整改
    MARK_RECTIFIED = "mark_rectified"  # 整改完成
    ORDER_VERIFICATION = "order_verification"  # 派发核查
    CLOSE = "close"  # 结案
    REWORK = "rework"  # 返工 (verification failed)
    REOPEN = "reopen"  # 重新打开 (回头看 found it again)
    EXTEND_DEADLINE = "extend_deadline"  # 延期


class Via(StrEnum):
    """How a role may take an action, and so which scope check applies."""

    # The case lies in the user's areas (admins: everywhere): server/accounts/scope.py.
    AREA = "area"
    # The case is dispatched to the user's own department.
    OWN_DEPARTMENT = "own_department"
    # Only by answering a verification task for this case from the tablet
    # (inspection.create); never through POST /transitions.
    VERIFICATION_TASK = "verification_task"


class Need(StrEnum):
    """What an action requires from the request (422 naming the field when missing)."""

    REASON = "reason"  # a non-empty note
    DEPARTMENT = "department"  # a department code; defaults to the category's department
    DEADLINE = "deadline"  # defaults to category + severity; must lie in the future
    LATER_DEADLINE = "later_deadline"  # a new deadline, later than the current one
    ORIGINAL = "original"  # duplicate_of: another visible case, not itself a duplicate
    NOTE_OR_PHOTOS = "note_or_photos"  # a note or after photos (photo_ids)
    INSPECTOR = "inspector"  # an inspector of the case's grid: named (assignee) or chosen
    VERIFICATION_OR_OVERRIDE = "verification_or_override"  # a task's result, or a reason


class Effect(StrEnum):
    """What an action does beyond setting the status (and the timeline event)."""

    COUNT_REWORK = "count_rework"  # rework_count += 1
    CREATE_TASK = "create_task"  # a verification task for the chosen inspector
    CANCEL_TASKS = "cancel_tasks"  # open verification tasks of the case are cancelled
    LINK_DUPLICATE = "link_duplicate"  # both ways: the original's timeline names it


# Request fields beyond `note` and `photo_ids` (which every action accepts).
FIELD_DEPARTMENT = "department"
FIELD_DEADLINE = "deadline"
FIELD_DUPLICATE_OF = "duplicate_of"
FIELD_ASSIGNEE = "assignee"
OPTIONAL_FIELDS = (FIELD_DEPARTMENT, FIELD_DEADLINE, FIELD_DUPLICATE_OF, FIELD_ASSIGNEE)


@dataclass(frozen=True)
class Rule:
    action: Action
    from_states: frozenset[CaseStatus]
    to_state: CaseStatus | None  # None: the state stays (the event is still recorded)
    who: Mapping[Role, Via]
    needs: tuple[Need, ...] = ()
    fields: frozenset[str] = frozenset()
    effects: frozenset[Effect] = frozenset()
    stamp: str | None = None  # the Case timestamp set to the transition's time
    clears: tuple[str, ...] = ()  # Case fields emptied (the event keeps the old values)
    photo_kind: str | None = None  # photos attached to the event get this kind


STAFF: Mapping[Role, Via] = {Role.SUPERVISOR: Via.AREA, Role.ADMIN: Via.AREA}
STAFF_AND_DEPARTMENT: Mapping[Role, Via] = {**STAFF, Role.DEPARTMENT: Via.OWN_DEPARTMENT}
STAFF_AND_VERIFIER: Mapping[Role, Via] = {**STAFF, Role.INSPECTOR: Via.VERIFICATION_TASK}

S = CaseStatus

RULES: Mapping[Action, Rule] = {
    r.action: r
    for r in (
        Rule(
            Action.REGISTER,
            frozenset({S.REPORTED}),
            S.REGISTERED,
            STAFF,
            stamp="registered_at",
        ),
        Rule(Action.REJECT, frozenset({S.REPORTED}), S.REJECTED, STAFF, needs=(Need.REASON,)),
        Rule(
            Action.MARK_DUPLICATE,
            frozenset({S.REPORTED}),
            S.DUPLICATE,
            STAFF,
            needs=(Need.ORIGINAL,),
            fields=frozenset({FIELD_DUPLICATE_OF}),
            effects=frozenset({Effect.LINK_DUPLICATE}),
        ),
        Rule(
            Action.DISPATCH,
            frozenset({S.REGISTERED, S.REOPENED}),
            S.DISPATCHED,
            STAFF,
            needs=(Need.DEPARTMENT, Need.DEADLINE),
            fields=frozenset({FIELD_DEPARTMENT, FIELD_DEADLINE}),
            stamp="dispatched_at",
        ),
        Rule(
            Action.START_RECTIFICATION,
            frozenset({S.DISPATCHED}),
            S.RECTIFYING,
            STAFF_AND_DEPARTMENT,
        ),
        Rule(
            Action.MARK_RECTIFIED,
            frozenset({S.RECTIFYING}),
            S.RECTIFIED,
            STAFF_AND_DEPARTMENT,
            needs=(Need.NOTE_OR_PHOTOS,),
            stamp="rectified_at",
            photo_kind="after",
        ),
        Rule(
            Action.ORDER_VERIFICATION,
            frozenset({S.RECTIFIED}),
            None,
            STAFF,
            needs=(Need.INSPECTOR,),
            fields=frozenset({FIELD_ASSIGNEE, FIELD_DEADLINE}),
            effects=frozenset({Effect.CANCEL_TASKS, Effect.CREATE_TASK}),
        ),
        Rule(
            Action.CLOSE,
            frozenset({S.RECTIFIED}),
            S.CLOSED,
            STAFF_AND_VERIFIER,
            needs=(Need.VERIFICATION_OR_OVERRIDE,),
            effects=frozenset({Effect.CANCEL_TASKS}),
            stamp="closed_at",
        ),
        Rule(
            Action.REWORK,
            frozenset({S.RECTIFIED}),
            S.RECTIFYING,
            STAFF_AND_VERIFIER,
            needs=(Need.VERIFICATION_OR_OVERRIDE,),
            effects=frozenset({Effect.COUNT_REWORK, Effect.CANCEL_TASKS}),
            clears=("rectified_at",),
        ),
        Rule(
            Action.REOPEN,
            frozenset({S.CLOSED}),
            S.REOPENED,
            STAFF,
            needs=(Need.REASON,),
            clears=("closed_at", "rectified_at"),
        ),
        Rule(
            Action.EXTEND_DEADLINE,
            frozenset({S.DISPATCHED, S.RECTIFYING}),
            None,
            STAFF,
            needs=(Need.REASON, Need.LATER_DEADLINE),
            fields=frozenset({FIELD_DEADLINE}),
        ),
    )
}


@dataclass(frozen=True)
class Edge:
    """One arrow of the state diagram (for docs and tests)."""

    from_state: CaseStatus
    action: Action
    to_state: CaseStatus


def edges() -> list[Edge]:
    return [
        Edge(s, rule.action, rule.to_state or s)
        for rule in RULES.values()
        for s in sorted(rule.from_states, key=list(CaseStatus).index)
    ]


def api_roles(rule: Rule) -> list[Role]:
    """Roles that may take the action through the API (not only from a tablet)."""
    return [role for role, via in rule.who.items() if via is not Via.VERIFICATION_TASK]


def _check_table() -> None:
    """Sanity of the table itself, at import: a broken table never starts a server."""
    if set(RULES) != set(Action):
        raise RuntimeError("every action needs exactly one rule")
    for action, rule in RULES.items():
        if rule.action is not action or not rule.from_states:
            raise RuntimeError(f"rule {action}: wrong key or no from state")
        if not set(rule.fields) <= set(OPTIONAL_FIELDS):
            raise RuntimeError(f"rule {action}: unknown request field")


_check_table()
