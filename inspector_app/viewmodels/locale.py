"""Translations and locale formats, without Kivy.

Catalogs are gettext ``.mo`` files under ``inspector_app/locale/<lang>/LC_MESSAGES/``.
Several *domains* are chained: a message is looked up in ``whistle`` (the app shell),
then ``whistle_screens`` (the capture, list, task and map screens), then any domain added
with :func:`register_domain`; the first catalog that has it wins, else the msgid (English)
is shown. A missing catalog file is skipped, so a domain can be added before its
translations exist.

Dates, times, numbers and byte sizes are formatted here per language (no Babel: two
languages, a handful of formats).
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}  # each in its own language
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_domains: list[str] = ["whistle", "whistle_screens"]

Gettext = Callable[[str], str]


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a string for translation without translating it (translated where shown)."""
    return msgid


def register_domain(domain: str) -> None:
    """Chain another gettext domain after the existing ones (idempotent)."""
    if domain not in _domains:
        _domains.append(domain)


def domains() -> list[str]:
    return list(_domains)


def normalise_language(value: str | None) -> str:
    """A supported language code for a setting or a system locale ('zh_CN.UTF-8' -> zh_CN)."""
    if not value:
        return DEFAULT_LANGUAGE
    base = value.split(".", 1)[0].replace("-", "_")
    if base in LANGUAGES:
        return base
    if base.lower().startswith("zh"):
        return "zh_CN"
    if base.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def load_translations(
    language: str, *, locale_dir: Path = LOCALE_DIR, chain: list[str] | None = None
) -> gettext.NullTranslations:
    """The chained catalogs of ``language`` (domains in order; missing files skipped)."""
    result: gettext.NullTranslations | None = None
    for domain in chain if chain is not None else _domains:
        try:
            catalog = gettext.translation(domain, str(locale_dir), languages=[language])
        except FileNotFoundError:
            log.debug("no %s catalog for %s in %s", domain, language, locale_dir)
            continue
        if result is None:
            result = catalog
        else:
            result.add_fallback(catalog)
    if result is None:
        log.warning("no translations for %s in %s: showing English", language, locale_dir)
        return gettext.NullTranslations()
    return result


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Catalogs:
    """One language: its messages and its formats for dates, numbers and sizes."""

    def __init__(self, language: str, *, locale_dir: Path = LOCALE_DIR) -> None:
        self.language = normalise_language(language)
        self.locale_dir = locale_dir
        self._translations = load_translations(self.language, locale_dir=locale_dir)

    @property
    def is_chinese(self) -> bool:
        return self.language == "zh_CN"

    def gettext(self, msgid: str) -> str:
        return self._translations.gettext(msgid)

    # ------------------------------------------------------------ dates and times
    @staticmethod
    def _local(value: datetime) -> datetime:
        return value.astimezone() if value.utcoffset() is not None else value

    def format_date(self, value: datetime) -> str:
        v = self._local(value)
        if self.is_chinese:
            return f"{v.year}年{v.month}月{v.day}日"
        return f"{v.day} {_MONTHS_EN[v.month - 1]} {v.year}"

    def format_time(self, value: datetime) -> str:
        return self._local(value).strftime("%H:%M")

    def format_datetime(self, value: datetime) -> str:
        sep = " " if self.is_chinese else ", "
        return f"{self.format_date(value)}{sep}{self.format_time(value)}"

    def format_ago(self, value: datetime, *, now: datetime) -> str:
        """'3 minutes ago' style for recent times, the date and time for older ones."""
        seconds = (now - value).total_seconds()
        if seconds < 60:
            return "刚刚" if self.is_chinese else "just now"
        minutes = int(seconds // 60)
        if minutes < 60:
            return f"{minutes} 分钟前" if self.is_chinese else f"{minutes} min ago"
        hours = minutes // 60
        if hours < 24:
            return f"{hours} 小时前" if self.is_chinese else f"{hours} h ago"
        days = hours // 24
        if days < 7:
            if self.is_chinese:
                return f"{days} 天前"
            return "1 day ago" if days == 1 else f"{days} days ago"
        return self.format_datetime(value)

    # ------------------------------------------------------------ numbers
    def format_number(self, value: float, *, decimals: int = 0) -> str:
        # Both languages group thousands with a comma (zh_CN as in official statistics).
        return f"{value:,.{decimals}f}"

    def format_bytes(self, value: int) -> str:
        units = ("B", "KB", "MB", "GB")
        size = float(value)
        for unit in units:
            if size < 1024 or unit == units[-1]:
                decimals = 0 if unit == "B" or size >= 100 else 1
                return f"{self.format_number(size, decimals=decimals)} {unit}"
            size /= 1024
        raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "LOCALE_DIR",
    "N_",
    "Catalogs",
    "Gettext",
    "domains",
    "load_translations",
    "normalise_language",
    "register_domain",
]
