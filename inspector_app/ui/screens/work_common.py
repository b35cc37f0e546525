"""Pieces shared by the work screens (new report, my reports, detail, tasks, map).

Not a screen itself (no ``SCREEN``). Its kv rules are in ``work_common.kv``, loaded by
:func:`load_rules` from each screen module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ColorProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.image import Image
from kivy.uix.modalview import ModalView

from inspector_app.platform.base import LocationFix
from inspector_app.ui import registry, theme
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.location_fix import Fix

RULES = Path(__file__).with_name("work_common.kv")
_readers: dict[Path, LocalReader] = {}


def load_rules() -> None:
    registry.load_kv(RULES)


def reader_for(db_path: Path) -> LocalReader:
    """One read-only connection per database file, shared by the work screens."""
    key = Path(db_path).resolve()
    found = _readers.get(key)
    if found is None:
        found = LocalReader(key)
        _readers[key] = found
    return found


def close_readers() -> None:
    for reader in _readers.values():
        reader.close()
    _readers.clear()


def to_fix(fix: LocationFix) -> Fix:
    return Fix(
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        at=fix.captured_at,
        source=fix.source.value,
    )


def colour(value: str) -> tuple[float, float, float, float]:
    return theme.rgb(value)


class Debounce:
    """Call ``func`` once, ``delay`` seconds after the last :meth:`poke` (or at flush)."""

    def __init__(self, func: Callable[[], None], delay: float = 0.6) -> None:
        self._func = func
        self._event = Clock.create_trigger(lambda _dt: self.flush(), delay)
        self._pending = False

    def poke(self) -> None:
        self._pending = True
        self._event()

    def flush(self) -> None:
        self._event.cancel()
        if self._pending:
            self._pending = False
            self._func()


class SectionTitle(BoxLayout):  # type: ignore[misc]
    """A bold section heading with an optional coloured swatch."""

    text = StringProperty("")
    swatch = ColorProperty((0, 0, 0, 0))


class PhotoThumb(FloatLayout):  # type: ignore[misc]
    """A photo thumbnail with a delete button; ``source`` empty while processing."""

    source = StringProperty("")
    ref = StringProperty("")
    caption = StringProperty("")
    deletable = BooleanProperty(True)

    __events__ = ("on_delete", "on_open")

    def on_delete(self) -> None:
        pass

    def on_open(self) -> None:
        pass


class TapCard(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """A card that reacts to a tap (list rows, category tiles)."""

    fill = ColorProperty(theme.SURFACE)
    accent = ColorProperty(theme.PRIMARY)


class AccentCard(BoxLayout):  # type: ignore[misc]
    """A card with a coloured bar on its left (a heading, not a button)."""

    accent = ColorProperty(theme.PRIMARY)


class PhotoViewer(ModalView):  # type: ignore[misc]
    """Photos full screen, one at a time (swipe or the arrows)."""

    sources = ListProperty([])
    index_text = StringProperty("")

    def __init__(self, *, sources: list[str], start: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources = sources
        for source in sources:
            self.ids.carousel.add_widget(Image(source=source, fit_mode="contain"))
        self.ids.carousel.index = max(0, min(start, len(sources) - 1))
        self.ids.carousel.bind(index=lambda *_: self._count())
        self._count()

    def _count(self) -> None:
        total = len(self.sources)
        self.index_text = f"{(self.ids.carousel.index or 0) + 1} / {total}" if total else ""
