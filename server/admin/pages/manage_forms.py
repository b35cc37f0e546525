"""Shared by the management pages: the words, reading a service's field errors into
messages next to each field (in the user's language), and the tabs."""

from typing import Any

from server.admin.context import AdminContext
from server.admin.i18n import Translator, add_messages
from server.core.errors import ApiError
from shared_schemas.enums import Role

MESSAGES: dict[str, tuple[str, str]] = {
    "manage.title": ("管理", "Management"),
    "manage.tab.users": ("账号", "Accounts"),
    "manage.tab.areas": ("区域", "Areas"),
    "manage.tab.departments": ("责任部门", "Departments"),
    "manage.tab.categories": ("问题类别", "Categories"),
    "manage.fix_fields": ("请修正标出的字段。", "Please correct the marked fields."),
    "manage.saved": ("已保存。", "Saved."),
    "manage.active": ("启用", "active"),
    "manage.inactive": ("已停用", "disabled"),
    "manage.status": ("状态", "Status"),
    "manage.actions": ("操作", "Actions"),
    "manage.edit": ("编辑", "Edit"),
    "manage.disable": ("停用", "Disable"),
    "manage.enable": ("启用", "Enable"),
    "manage.code": ("代码", "Code"),
    "manage.name": ("名称", "Name"),
    "manage.name_zh": ("中文名称", "Chinese name"),
    "manage.name_en": ("英文名称", "English name"),
    "manage.create": ("新建", "Create"),
    "manage.back": ("返回列表", "Back to the list"),
    "manage.search": ("搜索", "Search"),
    # field errors (zh; English pages show the service's own sentence)
    "mf.missing": ("必填。", "Required."),
    "mf.too_long": ("最多 {max} 个字符。", "At most {max} characters."),
    "mf.too_short": ("至少 {min} 个字符。", "At least {min} characters."),
    "mf.control": ("不能包含换行等控制字符。", "No line breaks or control characters."),
    "mf.pattern": ("格式不正确。", "Wrong format."),
    "mf.int": ("请填写整数。", "Give a whole number."),
    "mf.number": ("请填写数字。", "Give a number."),
    "mf.range": ("须在 {low} 到 {high} 之间。", "Between {low} and {high}."),
    "mf.choice": ("请从列表中选择。", "Choose from the list."),
    "mf.taken": ("已被使用。", "Already taken."),
    "mf.unknown": ("找不到代码 {value}（或不在您的管辖范围内）。", "No {value} you may use."),
    "mf.inactive": ("{value} 已停用。", "{value} is deactivated."),
    "mf.order": (
        "期限须随严重程度递增（轻微 ≤ 一般 ≤ 重大）。",
        "Deadlines grow with severity (minor ≤ general ≤ major).",
    ),
}
add_messages(MESSAGES)

_KEYS = {
    "missing": "mf.missing",
    "string_too_long": "mf.too_long",
    "too_long": "mf.too_long",
    "too_short": "mf.too_short",
    "control_chars": "mf.control",
    "string_pattern_mismatch": "mf.pattern",
    "int_parsing": "mf.int",
    "float_parsing": "mf.number",
    "out_of_range": "mf.range",
    "enum": "mf.choice",
    "taken": "mf.taken",
    "unknown": "mf.unknown",
    "inactive": "mf.inactive",
    "order": "mf.order",
}


def field_message(t: Translator, detail: dict[str, Any]) -> str:
    """One field problem in the user's language: English pages get the service's precise
    sentence; Chinese pages a translation of its kind (or that sentence, if none)."""
    message = str(detail.get("message", ""))
    key = _KEYS.get(str(detail.get("type")))
    if t.locale == "en" or key is None:
        return message[:1].upper() + message[1:]
    return t(key, **detail.get("ctx", {}))


def form_errors(exc: ApiError, t: Translator) -> dict[str, str]:
    """{field: message} from a service's 422/409; fields with several problems joined."""
    out: dict[str, str] = {}
    details = exc.details if isinstance(exc.details, list) else []
    for detail in details:
        name = str(detail.get("field", ""))
        text = field_message(t, detail)
        out[name] = f"{out[name]} {text}" if name in out else text
    return out


def is_form_error(exc: ApiError) -> bool:
    """A problem the form can show next to its fields (anything else becomes an error
    page: 403, 404, or a conflict without fields)."""
    return exc.status_code in (409, 422) and isinstance(exc.details, list) and bool(exc.details)


def manage_tabs(ctx: AdminContext) -> list[str]:
    """The management tabs this user sees (supervisors: their grid workers' accounts)."""
    if ctx.user.role == Role.ADMIN:
        return ["users", "areas", "departments", "categories"]
    return ["users"]
