"""A message for the inspector: an English msgid (marked with N_) and its parameters,
translated where it is shown (the language may change while it is on screen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    level: str = "error"  # "error" | "warning" | "info" | "success"

    def text(self, gettext: Callable[[str], str]) -> str:
        translated = gettext(self.msgid)
        return translated.format(**self.params) if self.params else translated


__all__ = ["Message"]
