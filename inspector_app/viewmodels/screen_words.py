"""The words of the work screens (gettext domain ``whistle_screens``) and their formatting.

The view-models hand codes to the screens (``waiting``, ``rectified`` ...); this module
maps them to message ids (English, marked with :func:`N_` so xgettext finds them) that
the screens translate when they draw, so a language switch needs no reload. The
catalogs live in ``inspector_app/locale/<lang>/LC_MESSAGES/whistle_screens.po`` (and the
compiled ``.mo`` beside it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from inspector_app.viewmodels.locale import N_, Catalogs

DOMAIN = "whistle_screens"  # chained after the shell's "whistle" by viewmodels.locale

Translate = Callable[[str], str]


def translator(lang: str) -> Translate:
    """gettext of ``lang`` through the chained catalogs (the shell's and this domain)."""
    return Catalogs(lang).gettext


def is_chinese(lang: str) -> bool:
    return lang.lower().startswith("zh")


# ---------------------------------------------------------------- states and kinds

SYNC_STATES = ("draft", "waiting", "syncing", "synced", "rejected")
SYNC_STATE_WORDS = {
    "draft": N_("Draft"),
    "waiting": N_("Waiting to sync"),
    "syncing": N_("Syncing"),
    "synced": N_("Synced"),
    "rejected": N_("Sync failed"),
}
# Text colours on the light surfaces (each at least 4.5:1 against #EEF1F5).
SYNC_STATE_COLOURS = {
    "draft": "#5c6670",
    "waiting": "#a35200",
    "syncing": "#1f63a8",
    "synced": "#17705a",
    "rejected": "#b3121d",
}

CASE_STATUS_WORDS = {
    "reported": N_("Reported"),
    "registered": N_("Registered"),
    "rejected": N_("Not registered"),
    "duplicate": N_("Merged (duplicate)"),
    "dispatched": N_("Dispatched"),
    "rectifying": N_("Rectifying"),
    "rectified": N_("Rectified, to verify"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
}
CASE_STATUS_COLOURS = {
    "reported": "#1f63a8",
    "registered": "#1f63a8",
    "rejected": "#5c6670",
    "duplicate": "#5c6670",
    "dispatched": "#a35200",
    "rectifying": "#a35200",
    "rectified": "#4b7a0c",
    "closed": "#17705a",
    "reopened": "#b3121d",
}

SEVERITY_WORDS = {"minor": N_("Minor"), "general": N_("General"), "major": N_("Major")}
SEVERITY_COLOURS = {"minor": "#4b7a0c", "general": "#a35200", "major": "#b3121d"}

TASK_KIND_WORDS = {"verification": N_("Verification"), "reinspection": N_("Re-inspection")}
TASK_STATE_WORDS = {"open": N_("Open"), "done": N_("Done"), "cancelled": N_("Cancelled")}
INSPECTION_STATE_WORDS = {
    "queued": N_("Waiting to sync"),
    "synced": N_("Synced"),
    "rejected": N_("Sync failed"),
}

SOURCE_WORDS = {"gps": N_("GPS"), "map": N_("pin on the map"), "manual": N_("typed in")}

MISSING_WORDS = {
    "category": N_("Choose the kind of hazard"),
    "photo": N_("Take at least one photo"),
    "location": N_("Get a location (GPS or a pin on the map)"),
    "grid": N_("Choose the compound or grid"),
}

# What the local timeline of a report shows (the server's timeline adds the rest).
TIMELINE_WORDS = {
    "observed": N_("Found on site"),
    "saved": N_("Saved on this tablet"),
    "sent": N_("Received by the server"),
    "rejected": N_("Refused by the server"),
    "case": N_("Case status"),
    "report": N_("Reported"),
    "amend": N_("Report changed"),
    "transition": N_("Case status changed"),
    "verification": N_("Verified on site"),
}


LABELLED = N_("{what}: {value}")  # a label and its value ("同步失败：原因" in Chinese)


def labelled(what: str, value: str, tr: Translate) -> str:
    return tr(LABELLED).format(what=what, value=value)


def word(table: dict[str, str], code: str | None, tr: Translate) -> str:
    """The translated word for ``code`` (unknown codes are shown as they are)."""
    if code is None:
        return ""
    return tr(table[code]) if code in table else code


# ---------------------------------------------------------------- formatting


def local_time(value: datetime) -> datetime:
    return value.astimezone()


def format_time(value: datetime, lang: str, *, now: datetime | None = None) -> str:
    """A compact local date and time: '11月23日 14:05' / '23 Nov 14:05' (year if not now's)."""
    moment = local_time(value)
    current = local_time(now) if now is not None else datetime.now().astimezone()
    same_year = moment.year == current.year
    if is_chinese(lang):
        day = f"{moment.month}月{moment.day}日"
        if not same_year:
            day = f"{moment.year}年{day}"
        return f"{day} {moment:%H:%M}"
    day = f"{moment.day} {moment:%b}"
    if not same_year:
        day = f"{day} {moment.year}"
    return f"{day} {moment:%H:%M}"


def format_date(value: datetime, lang: str) -> str:
    moment = local_time(value)
    if is_chinese(lang):
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%b} {moment.year}"


def format_distance(metres: float, lang: str) -> str:
    """'8 m', '1.2 km' (the same symbols are used in Chinese)."""
    del lang  # the SI symbols read the same in both languages
    if metres < 1000:
        return f"{metres:.0f} m"
    return f"{metres / 1000:.1f} km"


def format_count(value: int, lang: str) -> str:
    return f"{value:,}" if not is_chinese(lang) else str(value)


def bilingual(name_zh: str, name_en: str, lang: str) -> tuple[str, str]:
    """(primary, secondary): the current language's name first, the other one under it."""
    return (name_zh, name_en) if is_chinese(lang) else (name_en, name_zh)
