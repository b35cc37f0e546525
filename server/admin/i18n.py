"""The web admin's words in Chinese (zh_CN, the default) and English (en).

A keyed catalog in Python, not gettext: keys are dotted names (`nav.cases`,
`triage.title`), each with a (zh, en) pair. Placeholders use str.format names:
`t("case.photos", received=2, expected=3)`.

Adding words: put them in a module-level dict and pass it to `add_messages()` when the
module is imported (a page module may keep its own dict next to its routes), or add a
line to `MESSAGES` below. A key registered twice with different words is an error, so two
pages cannot silently fight over one key. An unknown key raises `KeyError` outside
production (tests and the screenshot script catch it); in production it shows the key.

Words for case states and workflow actions are the workflow's (server/workflow/words.py);
category names come from the category table.
"""

from collections.abc import Mapping
from typing import Any, Literal

Locale = Literal["zh_CN", "en"]
LOCALES: tuple[Locale, ...] = ("zh_CN", "en")
DEFAULT_LOCALE: Locale = "zh_CN"
LOCALE_NAMES: dict[Locale, str] = {"zh_CN": "中文", "en": "English"}

_CATALOG: dict[str, tuple[str, str]] = {}
_strict = True


def normalise_locale(value: str | None) -> Locale:
    """'en', 'en_US', 'en-GB' -> 'en'; anything else -> 'zh_CN'."""
    if value and value.lower().replace("-", "_").startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def add_messages(messages: Mapping[str, tuple[str, str]]) -> None:
    for key, pair in messages.items():
        existing = _CATALOG.get(key)
        if existing is not None and existing != pair:
            raise ValueError(f"admin message {key!r} registered twice with different words")
        if len(pair) != 2 or not all(pair):
            raise ValueError(f"admin message {key!r} needs non-empty zh and en words")
        _CATALOG[key] = pair


def set_strict(strict: bool) -> None:
    """Strict (the default): an unknown key raises. The app turns it off in production."""
    global _strict
    _strict = strict


def has_message(key: str) -> bool:
    return key in _CATALOG


def catalog_keys() -> list[str]:
    return sorted(_CATALOG)


def translate(locale: str, key: str, /, **params: Any) -> str:
    pair = _CATALOG.get(key)
    if pair is None:
        if _strict:
            raise KeyError(f"no admin message {key!r}: add it to server/admin/i18n.py")
        return key
    text = pair[1] if normalise_locale(locale) == "en" else pair[0]
    return text.format(**params) if params else text


def pick(locale: str, zh: str, en: str | None) -> str:
    """A database row's name in the user's language (English falls back to Chinese)."""
    return en if normalise_locale(locale) == "en" and en else zh


class Translator:
    """`t` in templates: t("cases.count", n=3)."""

    def __init__(self, locale: str) -> None:
        self.locale: Locale = normalise_locale(locale)

    def __call__(self, key: str, /, **params: Any) -> str:
        return translate(self.locale, key, **params)

    def pick(self, zh: str, en: str | None) -> str:
        return pick(self.locale, zh, en)


MESSAGES: dict[str, tuple[str, str]] = {
    # -- layout and navigation
    "app.name": ("网格吹哨", "Whistle"),
    "app.subtitle": ("隐患整治管理后台", "Hazard rectification admin"),
    "nav.triage": ("待立案", "Triage"),
    "nav.devices": ("设备", "Devices"),
    "nav.cases": ("案件", "Cases"),
    "nav.map": ("地图", "Map"),
    "nav.dashboard": ("统计", "Dashboard"),
    "nav.exports": ("导出", "Exports"),
    "nav.manage": ("管理", "Management"),
    "nav.signed_in_as": ("当前用户", "Signed in as"),
    "nav.sign_out": ("退出", "Sign out"),
    "nav.language": ("语言", "Language"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "role.admin": ("系统管理员", "administrator"),
    "role.supervisor": ("监督员", "supervisor"),
    "role.department": ("责任部门", "department"),
    "role.inspector": ("网格员", "grid worker"),
    "role.patrol": ("物业巡查", "property patrol"),
    # -- signing in
    "login.title": ("登录", "Sign in"),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Sign in"),
    "login.hint": (
        "供监督员、责任部门和系统管理员使用。网格员请使用平板应用。",
        "For supervisors, departments and administrators. Grid workers use the tablet app.",
    ),
    "login.invalid": ("用户名或密码错误。", "The user name or password is wrong."),
    "login.disabled": (
        "该账号已停用，请联系管理员。",
        "This account is disabled; ask an administrator.",
    ),
    "login.wrong_role": (
        "该账号不能使用管理后台（网格员和物业巡查请使用平板应用）。",
        "This account cannot use the web admin (grid workers and patrols use the tablet app).",
    ),
    "login.throttled": (
        "登录失败次数过多，请 {seconds} 秒后再试。",
        "Too many failed attempts; try again in {seconds} seconds.",
    ),
    "login.expired": (
        "登录已过期，请重新登录。",
        "Your session has ended; please sign in again.",
    ),
    "login.signed_out": ("已退出。", "You have signed out."),
    # -- errors
    "error.title": ("出错了", "Something went wrong"),
    "error.csrf": (
        "表单已过期或不是从本系统提交的，未做任何更改。请刷新页面后重试。",
        "This form has expired or did not come from Whistle; nothing was changed. "
        "Reload the page and try again.",
    ),
    "error.not_found": ("未找到，或不在您的管辖范围内。", "Not found, or outside your areas."),
    "error.forbidden": ("您的角色不能执行此操作。", "Your role may not do this."),
    "error.invalid": ("输入有误：{message}", "Invalid input: {message}"),
    "error.server": (
        "服务器出错，未做任何更改。请稍后再试。",
        "The server failed; nothing was changed. Try again shortly.",
    ),
    "error.unavailable": (
        "数据库暂不可用，未做任何更改。请稍后再试。",
        "The database is unavailable; nothing was changed. Try again shortly.",
    ),
    "error.back": ("返回", "Go back"),
    "error.home": ("回到首页", "Home"),
    "error.htmx": ("请求失败：", "The request failed: "),
    # -- common words
    "common.apply": ("应用", "Apply"),
    "common.reset": ("重置", "Reset"),
    "common.save": ("保存", "Save"),
    "common.cancel": ("取消", "Cancel"),
    "common.none": ("无", "none"),
    "common.all": ("全部", "All"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "common.unknown": ("未知", "unknown"),
    "common.next_page": ("下一页", "Next page"),
    "common.first_page": ("第一页", "First page"),
    "common.select_all": ("全选", "Select all"),
    "common.selected": ("已选", "selected"),
    "common.loading": ("加载中…", "Loading…"),
    "common.close": ("关闭", "Close"),
    "common.empty": ("没有记录。", "Nothing here."),
    "common.ago_d": ("{n} 天前", "{n} d ago"),
    "common.ago_h": ("{n} 小时前", "{n} h ago"),
    "common.ago_m": ("{n} 分钟前", "{n} min ago"),
    "common.just_now": ("刚刚", "just now"),
    "common.duration_d": ("{n} 天", "{n} d"),
    "common.duration_h": ("{n} 小时", "{n} h"),
    "common.duration_m": ("{n} 分钟", "{n} min"),
    "severity.minor": ("轻微", "minor"),
    "severity.general": ("一般", "general"),
    "severity.major": ("重大", "major"),
    "group.fire_safety": ("消防安全", "fire safety"),
    "group.order": ("秩序管理", "order"),
    "group.environment": ("市容环境", "environment"),
    "group.facilities": ("市政设施", "facilities"),
    "group.other": ("其他", "other"),
    # -- filters (case list, map, triage)
    "filter.status": ("状态", "State"),
    "filter.group": ("大类", "Group"),
    "filter.category": ("类别", "Category"),
    "filter.area": ("区域", "Area"),
    "filter.department": ("责任部门", "Department"),
    "filter.overdue": ("超期", "Overdue"),
    "filter.overdue_yes": ("仅超期", "overdue only"),
    "filter.overdue_no": ("未超期", "not overdue"),
    "filter.from": ("上报日期自", "Reported from"),
    "filter.to": ("至", "to"),
    "filter.q": ("搜索", "Search"),
    "filter.q_hint": ("描述或地址中的文字", "text in description or address"),
    "filter.sort": ("排序", "Order"),
    "filter.dropped": (
        "以下筛选条件无效，已忽略：{names}",
        "These filters were not valid and were ignored: {names}",
    ),
    "sort.newest": ("最新上报在前", "newest first"),
    "sort.oldest": ("最早上报在前", "oldest first"),
    "sort.updated": ("最近变动在前", "recently changed first"),
    "sort.deadline": ("期限最近在前", "soonest deadline first"),
    # -- a case's fields
    "case.title": ("案件 {number}", "Case {number}"),
    "case.number": ("编号", "No."),
    "case.status": ("状态", "State"),
    "case.category": ("类别", "Category"),
    "case.where_what": ("地址 / 描述", "Address / description"),
    "case.address": ("地址", "Address"),
    "case.description": ("描述", "Description"),
    "case.area": ("区域", "Area"),
    "case.compound": ("小区 / 网格", "Compound / grid"),
    "case.department": ("责任部门", "Department"),
    "case.deadline": ("整改期限", "Deadline"),
    "case.overdue": ("超期", "overdue"),
    "case.photos_col": ("照片", "Photos"),
    "case.photos": ("照片 {received}/{expected}", "photos {received}/{expected}"),
    "case.photos_waiting": (
        "部分照片尚未同步到服务器",
        "some photos have not reached the server yet",
    ),
    "case.no_photos": ("无照片", "no photos"),
    "case.reported": ("上报时间", "Reported"),
    "case.reporter": ("上报人", "Reporter"),
    "case.observed": ("发现时间", "Observed"),
    "case.location": ("位置", "Location"),
    "case.rework_count": ("返工次数", "Rework count"),
    "case.duplicate_of": ("重复于", "Duplicate of"),
    "case.duplicates": ("重复案件", "Duplicates"),
    "case.timeline": ("处理记录", "Timeline"),
    "case.actions": ("可执行操作", "Actions"),
    "case.no_actions": (
        "在当前状态下，您没有可执行的操作。",
        "There is nothing you can do with this case in its current state.",
    ),
    "case.back_to_list": ("返回案件列表", "Back to the list"),
    "location.gps": ("GPS", "GPS"),
    "location.map": ("地图选点", "picked on map"),
    "location.manual": ("手工输入", "entered by hand"),
    "photos.before": ("整改前照片", "Before"),
    "photos.after": ("整改后照片", "After rectification"),
    "photos.verification": ("核查照片", "Verification"),
    "photos.waiting": ("照片尚未同步", "photo not synced yet"),
    "event.report": ("上报", "Reported"),
    "event.amend": ("补充修改", "Amended"),
    "event.verification": ("核查结果", "Verification result"),
    "event.duplicate_linked": ("合并了重复案件", "Duplicate merged in"),
    "event.duplicate_relinked": ("重复案件转移", "Duplicate moved"),
    # -- workflow forms and outcomes
    "wf.field.department": ("责任部门", "Department"),
    "wf.field.deadline": ("整改期限", "Deadline"),
    "wf.field.due": ("核查期限", "Verify by"),
    "wf.field.assignee": ("核查人（网格员用户名）", "Inspector (user name)"),
    "wf.field.note": ("备注", "Note"),
    "wf.field.reason": ("理由（必填）", "Reason (required)"),
    "wf.field.rectification": ("整改说明（必填）", "What was done (required)"),
    "wf.assignee_hint": ("留空则自动选择", "empty: chosen automatically"),
    "wf.default_department": ("按类别默认部门", "the category's department"),
    "wf.default_deadline": ("留空则按类别和严重程度", "empty: from category and severity"),
    "wf.override_hint": (
        "没有网格员核查结果时，请填写理由（将作为主管强制操作记录）。",
        "Without an inspector's verification result, give a reason (recorded as an override).",
    ),
    "wf.single.done": (
        "案件 {case}：{action}完成，现为「{status}」。",
        "Case {case}: {action} done; it is now {status}.",
    ),
    "wf.single.failed": (
        "案件 {case}：未能{action}。{reason}",
        "Case {case}: could not {action}. {reason}",
    ),
    "wf.bulk.done": ("已对 {n} 件案件执行「{action}」。", "{action}: done for {n} cases."),
    "wf.bulk.failed": ("案件 {case} 未处理：{reason}", "Case {case} was not changed: {reason}"),
    "wf.bulk.none": ("请先勾选案件。", "Tick some cases first."),
    "wf.error.version": (
        "该案件刚被他人处理，现为「{status}」。请查看最新状态后再操作。",
        "Someone else changed this case meanwhile; it is now {status}. Look at it again first.",
    ),
    "wf.error.state": (
        "案件现为「{status}」，不能{action}。",
        'The case is now {status}; it cannot be given "{action}".',
    ),
    "wf.error.forbidden": ("您不能执行「{action}」：{message}", "You may not {action}: {message}"),
    # -- triage
    "triage.title": ("待立案", "Triage: reports waiting for a decision"),
    "triage.count": ("共 {n} 件", "{n} waiting"),
    "triage.hint": (
        "平板同步上来、尚未立案的上报，最早的在前。可逐条或批量立案、不予立案（须填理由）或合并为重复。",
        "Reports synced from the tablets and not yet registered, oldest first. Register, "
        "reject (with a reason) or mark as duplicate, one by one or in bulk.",
    ),
    "triage.age": ("已等待", "Waiting"),
    "triage.decide": ("处理", "Decision"),
    "triage.empty": ("没有待立案的上报。", "No reports are waiting."),
    "triage.bulk": ("批量处理", "Bulk"),
    "triage.bulk_action": ("操作", "Action"),
    "triage.bulk_submit": ("对所选执行", "Apply to selected"),
    "triage.bulk_confirm": (
        "确定对所选案件执行该操作？",
        "Apply this action to the selected cases?",
    ),
    "triage.reason": ("理由", "Reason"),
    "triage.reason_hint": ("不予立案的理由", "reason for rejecting"),
    "triage.original": ("原案件", "Original case"),
    "triage.original_hint": ("原案件编号（完整）", "the original's full case id"),
    "triage.no_candidates": (
        "附近 50 米内 30 天内没有同类未结案件。",
        "No open case of this category within 50 m and 30 days.",
    ),
    "triage.metres": ("{n} 米", "{n} m"),
    # -- case list
    "cases.title": ("案件", "Cases"),
    "cases.count": ("共 {n} 件", "{n} cases"),
    "cases.empty": ("没有符合条件的案件。", "No case matches these filters."),
    "cases.bulk_dispatch": ("批量派遣", "Bulk dispatch"),
    "cases.bulk_dispatch_submit": ("派遣所选", "Dispatch selected"),
    "cases.bulk_confirm": ("确定派遣所选案件？", "Dispatch the selected cases?"),
    # -- devices
    "devices.title": ("设备同步情况", "Devices and their sync backlog"),
    "devices.count": ("共 {n} 台", "{n} devices"),
    "devices.attention": ("{n} 台需关注", "{n} need attention"),
    "devices.hint": (
        "每台平板最近一次同步时报告的待同步数据。"
        "超过 {hours} 小时未同步或有被拒绝的操作的设备以黄色标出。",
        "What each tablet reported at its last sync. Devices silent for more than {hours} h "
        "or with rejected operations are highlighted.",
    ),
    "devices.device": ("设备", "Device"),
    "devices.user": ("使用人", "User"),
    "devices.last_sync": ("最近同步", "Last sync"),
    "devices.silent": ("已 {ago} 未同步", "silent, {ago}"),
    "devices.queue": ("待同步", "Queue"),
    "devices.oldest": ("最早待同步", "Oldest waiting"),
    "devices.photos": ("待传照片", "Photos waiting"),
    "devices.rejected": ("被拒绝", "Rejected"),
    "devices.last_error": ("最近错误", "Last error"),
    "devices.version": ("应用版本", "App version"),
    "devices.storage": ("剩余空间", "Free space"),
    "devices.mb": ("{n} MB", "{n} MB"),
    "devices.gb": ("{n} GB", "{n} GB"),
    "devices.empty": ("还没有设备同步过。", "No device has synced yet."),
    # -- map
    "map.title": ("案件地图", "Case map"),
    "map.count": ("地图上 {n} 件", "{n} on the map"),
    "map.truncated": (
        "（只显示最新的 {n} 件，请缩小筛选范围）",
        "(only the newest {n}; narrow the filters)",
    ),
    "map.open_case": ("打开案件", "Open the case"),
    "map.failed": (
        "地图数据加载失败，请刷新重试。",
        "The map data did not load; reload to try again.",
    ),
}
add_messages(MESSAGES)
