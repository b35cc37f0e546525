"""Collecting field errors so a form can show every problem next to its field at once.

The error leaves as the usual envelope: 422 `validation_error`, `details` a list of
`{field, message, type}` where `field` is the service argument's (and form field's) name.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from server.core.errors import ApiError


@dataclass
class FieldErrors:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, message: str, kind: str = "value_error", **ctx: object) -> None:
        """`kind` and `ctx` let a page say the message in the user's language."""
        item: dict[str, Any] = {"field": name, "message": message, "type": kind}
        if ctx:
            item["ctx"] = ctx
        self.items.append(item)

    def has(self, name: str) -> bool:
        return any(item["field"] == name for item in self.items)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
        raise ApiError(
            422, "validation_error", f"{first['field']}: {first['message']}{more}", self.items
        )


def field_error(name: str, message: str, kind: str = "value_error") -> ApiError:
    """One field's problem, raised alone (e.g. a name taken, found after the checks)."""
    errors = FieldErrors()
    errors.add(name, message, kind)
    return ApiError(422, "validation_error", f"{name}: {message}", errors.items)


def clean_text(
    errors: FieldErrors,
    name: str,
    value: str | None,
    *,
    max_length: int,
    required: bool = True,
    pattern: str | None = None,
    pattern_hint: str = "",
) -> str:
    """The value stripped of surrounding spaces; a problem with it is added to `errors`."""
    text = (value or "").strip()
    if not text:
        if required:
            errors.add(name, "is required", "missing")
        return text
    if len(text) > max_length:
        errors.add(
            name, f"must be at most {max_length} characters", "string_too_long", max=max_length
        )
    elif any(ord(ch) < 32 for ch in text):
        errors.add(
            name, "must not contain control characters (such as line breaks)", "control_chars"
        )
    elif pattern is not None and not re.fullmatch(pattern, text):
        errors.add(name, pattern_hint or f"must match {pattern}", "string_pattern_mismatch")
    return text


def clean_int(
    errors: FieldErrors, name: str, value: int | str | None, *, low: int, high: int
) -> int:
    """An integer within [low, high]; a form's text is parsed here (0 when invalid)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.add(name, "is required", "missing")
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.add(name, "must be a whole number", "int_parsing")
        return 0
    if not low <= number <= high:
        errors.add(name, f"must be between {low} and {high}", "out_of_range", low=low, high=high)
    return number


def clean_float(
    errors: FieldErrors, name: str, value: float | str | None, *, low: float, high: float
) -> float | None:
    """An optional number within [low, high] (None when left empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, "must be a number", "float_parsing")
        return None
    if not low <= number <= high:  # also refuses NaN
        errors.add(name, f"must be between {low} and {high}", "out_of_range", low=low, high=high)
        return None
    return number
