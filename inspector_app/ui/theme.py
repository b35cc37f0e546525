"""Colours and sizes, for gloved hands in sunlight: dark text on white, strong colours,
touch targets of at least 48 dp (56 dp by default). Used from kv as
``#:import theme inspector_app.ui.theme`` then ``dp(theme.TOUCH)``, ``theme.PRIMARY``.
"""

from __future__ import annotations

Colour = tuple[float, float, float, float]


def rgb(hex_colour: str, alpha: float = 1.0) -> Colour:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


# Every text colour below reaches at least 7:1 contrast on BACKGROUND (WCAG AAA), and
# white text at least 4.5:1 on every filled colour.
BACKGROUND = rgb("#FFFFFF")
SURFACE = rgb("#EEF1F5")  # cards, the top bar
SURFACE_PRESSED = rgb("#D5DBE3")
BORDER = rgb("#5F6B7A")
TEXT = rgb("#101418")
TEXT_MUTED = rgb("#3A434E")
ON_FILLED = rgb("#FFFFFF")
PRIMARY = rgb("#0B4EA2")
PRIMARY_PRESSED = rgb("#073673")
DANGER = rgb("#B3151B")
DANGER_PRESSED = rgb("#7F0E12")
WARNING = rgb("#A63D00")
SUCCESS = rgb("#1B6E20")
OFFLINE = rgb("#4A4F55")
INFO = rgb("#0B4EA2")
DISABLED = rgb("#9AA3AD")

LEVEL_COLOURS = {"error": DANGER, "warning": WARNING, "success": SUCCESS, "info": INFO}

# sizes: dp for lengths, sp for text
TOUCH_MIN = 48
TOUCH = 56
BIG_BUTTON = 112
TOP_BAR = 64
PADDING = 16
SPACING = 12
RADIUS = 8
INPUT_WIDTH_MAX = 640  # forms do not stretch across a landscape tablet

FONT_SMALL = 16
FONT_BODY = 20
FONT_LARGE = 24
FONT_TITLE = 26
FONT_HUGE = 34
FONT_COUNT = 44

__all__ = [name for name in dir() if name.isupper()] + ["rgb"]
