"""The observable translator the screens use: switching the language relabels everything.

In kv::

    #:import tr inspector_app.ui.i18n.tr
    Label:
        text: tr._("Sign in")

The kv compiler sees ``tr._`` as a watched attribute and calls ``tr.fbind("_", ...)``;
:class:`Translator` keeps those callbacks and calls them all when the language changes,
so every such rule is evaluated again (Kivy's documented i18n pattern). In Python::

    label.text = tr._("Sign in")            # once
    self.follow_language(self.relabel)   # in a screen: follow language changes

Catalog handling and formats live in :mod:`inspector_app.viewmodels.locale` (no Kivy).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import StringProperty

from inspector_app.viewmodels.locale import (
    DEFAULT_LANGUAGE,
    Catalogs,
    normalise_language,
    register_domain,
)


class Translator(EventDispatcher):  # type: ignore[misc]
    """``_(msgid)`` in the current language; ``lang`` is observable."""

    lang = StringProperty(DEFAULT_LANGUAGE)

    def __init__(self, language: str = DEFAULT_LANGUAGE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._observers: dict[int, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
        self._next_uid = 1
        self.catalogs = Catalogs(language)
        self.lang = self.catalogs.language

    # ------------------------------------------------------------ translation
    def _(self, msgid: str) -> str:
        return self.catalogs.gettext(msgid)

    def switch(self, language: str) -> None:
        """Load ``language`` and re-evaluate every kv rule that used ``tr._``."""
        language = normalise_language(language)
        self.catalogs = Catalogs(language)
        for uid, (func, args) in list(self._observers.items()):
            try:
                func(*args, None, None)
            except ReferenceError:  # the widget of that rule is gone
                self._observers.pop(uid, None)
        self.lang = language  # after the rules, so Python observers see fresh labels

    def reload(self) -> None:
        """Read the catalogs again (after a domain was registered or a .mo rebuilt)."""
        self.switch(self.lang)

    def register_domain(self, domain: str) -> None:
        register_domain(domain)
        self.reload()

    # ------------------------------------------------------------ kv binding of "_"
    def fbind(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if name == "_":
            uid = self._next_uid
            self._next_uid += 1
            self._observers[uid] = (func, args)
            return uid
        return super().fbind(name, func, *args, **kwargs)

    def funbind(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if name == "_":
            for uid, (f, _args) in list(self._observers.items()):
                if f == func:
                    del self._observers[uid]
            return None
        return super().funbind(name, func, *args, **kwargs)

    def unbind_uid(self, name: str, uid: int) -> Any:
        if name == "_":
            self._observers.pop(uid, None)
            return None
        return super().unbind_uid(name, uid)

    @property
    def observer_count(self) -> int:
        return len(self._observers)

    # ------------------------------------------------------------ formats
    def fmt_date(self, value: datetime | None) -> str:
        return "" if value is None else self.catalogs.format_date(value)

    def fmt_datetime(self, value: datetime | None) -> str:
        return "" if value is None else self.catalogs.format_datetime(value)

    def fmt_ago(self, value: datetime | None, *, now: datetime) -> str:
        return "" if value is None else self.catalogs.format_ago(value, now=now)

    def fmt_number(self, value: float, *, decimals: int = 0) -> str:
        return self.catalogs.format_number(value, decimals=decimals)

    def fmt_size(self, value: int) -> str:
        return self.catalogs.format_bytes(value)


tr = Translator()
_ = tr._

__all__ = ["Translator", "tr"]
