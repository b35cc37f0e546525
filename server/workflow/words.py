"""The words users see for actions, states and requirements, in Chinese and English
(domain.md "Words to use on screen"). Every Action and CaseStatus has a label."""

from collections.abc import Mapping

from server.workflow.rules import RULES, Action, Need, Via, edges
from shared_schemas.enums import CaseStatus, Role

Label = tuple[str, str]  # (zh, en)

ACTION_LABELS: Mapping[Action, Label] = {
    Action.REGISTER: ("立案", "Register"),
    Action.REJECT: ("不予立案", "Reject"),
    Action.MARK_DUPLICATE: ("合并为重复", "Mark as duplicate"),
    Action.DISPATCH: ("派遣", "Dispatch"),
    Action.START_RECTIFICATION: ("开始整改", "Start rectification"),
    Action.MARK_RECTIFIED: ("整改完成", "Mark rectified"),
    Action.ORDER_VERIFICATION: ("派发核查", "Order verification"),
    Action.CLOSE: ("结案", "Close"),
    Action.REWORK: ("返工", "Send back for rework"),
    Action.REOPEN: ("重新打开", "Reopen"),
    Action.EXTEND_DEADLINE: ("延期", "Extend deadline"),
}

STATUS_LABELS: Mapping[CaseStatus, Label] = {
    CaseStatus.REPORTED: ("已上报", "Reported"),
    CaseStatus.REGISTERED: ("已立案", "Registered"),
    CaseStatus.REJECTED: ("不予立案", "Rejected"),
    CaseStatus.DUPLICATE: ("已合并", "Duplicate"),
    CaseStatus.DISPATCHED: ("已派遣", "Dispatched"),
    CaseStatus.RECTIFYING: ("整改中", "Rectifying"),
    CaseStatus.RECTIFIED: ("已整改，待核查", "Rectified, awaiting verification"),
    CaseStatus.CLOSED: ("已结案", "Closed"),
    CaseStatus.REOPENED: ("已重新打开", "Reopened"),
}

NEED_LABELS: Mapping[Need, Label] = {
    Need.REASON: ("须填写理由", "a reason (note)"),
    Need.DEPARTMENT: (
        "责任部门（默认按类别）",
        "department (defaults to the category's department)",
    ),
    Need.DEADLINE: (
        "整改期限（默认按类别和严重程度，不得早于当前时间）",
        "deadline (defaults from category and severity; not in the past)",
    ),
    Need.LATER_DEADLINE: (
        "新的期限，须晚于原期限",
        "a new deadline, later than the current one",
    ),
    Need.ORIGINAL: (
        "原案件（不能是本案件或已合并的案件，须在您的范围内）",
        "the original case (duplicate_of): not itself, not a duplicate, in your areas",
    ),
    Need.NOTE_OR_PHOTOS: ("整改说明或整改后照片", "a note or after photos (photo_ids)"),
    Need.INSPECTOR: (
        "该网格的网格员（可指定，否则自动选择）",
        "an inspector of the case's grid (assignee, or chosen automatically)",
    ),
    Need.VERIFICATION_OR_OVERRIDE: (
        "网格员现场核查结果，或主管填写理由强制操作",
        "an inspector's on-site verification result, or a supervisor's override with a reason",
    ),
}

ROLE_LABELS: Mapping[Role, Label] = {
    Role.ADMIN: ("管理员", "admin"),
    Role.SUPERVISOR: ("主管", "supervisor"),
    Role.INSPECTOR: ("网格员", "inspector"),
    Role.PATROL: ("物业巡查", "patrol"),
    Role.DEPARTMENT: ("责任部门", "department"),
}

VIA_WORDS: Mapping[Via, str] = {
    Via.AREA: "in their areas",
    Via.OWN_DEPARTMENT: "dispatched to their department",
    Via.VERIFICATION_TASK: "only by a verification result from the tablet",
}

_RECORDS: Mapping[Action, str] = {
    Action.REGISTER: "status; registered_at",
    Action.REJECT: "status; the reason",
    Action.MARK_DUPLICATE: (
        "status, duplicate_of; an event on the original too; duplicates of this case move "
        "to the original"
    ),
    Action.DISPATCH: "status, department, deadline (before/after); dispatched_at",
    Action.START_RECTIFICATION: "status",
    Action.MARK_RECTIFIED: "status; rectified_at; the note; photos become kind `after`",
    Action.ORDER_VERIFICATION: (
        "task id, assignee, due date; an earlier open task is cancelled; the task is pulled "
        "by the inspector's tablet"
    ),
    Action.CLOSE: "status; closed_at; the task answered, or `override: true` and the reason",
    Action.REWORK: "status; rework_count +1; rectified_at cleared; task or override reason",
    Action.REOPEN: "status; the reason; closed_at and rectified_at cleared",
    Action.EXTEND_DEADLINE: "deadline before/after; the reason",
}


def rules_markdown() -> str:
    """The transition table as Markdown (docs/workflow.md embeds it; a test compares)."""
    lines = [
        "| action | 中文 | from | to | who (scope) | requires | records |",
        "|---|---|---|---|---|---|---|",
    ]
    for action, rule in RULES.items():
        froms = ", ".join(
            f"`{s.value}`" for s in sorted(rule.from_states, key=list(CaseStatus).index)
        )
        to = f"`{rule.to_state.value}`" if rule.to_state else "(unchanged)"
        who = "; ".join(
            f"{role.value} ({'anywhere' if role is Role.ADMIN else VIA_WORDS[via]})"
            for role, via in rule.who.items()
        )
        needs = "; ".join(NEED_LABELS[n][1] for n in rule.needs) or "-"
        lines.append(
            f"| `{action.value}` | {ACTION_LABELS[action][0]} | {froms} | {to} | {who} | "
            f"{needs} | {_RECORDS[action]} |"
        )
    return "\n".join(lines) + "\n"


def edges_mermaid() -> str:
    """The state diagram (Mermaid), generated from the table."""
    lines = ["stateDiagram-v2", "    [*] --> reported"]
    for edge in edges():
        lines.append(f"    {edge.from_state.value} --> {edge.to_state.value}: {edge.action.value}")
    return "\n".join(lines) + "\n"
