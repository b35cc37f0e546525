"""Shared widgets (rules in widgets.kv): big flat buttons, wrapping labels, inputs,
count tiles, status chips, a message box, a segmented choice and a confirm dialog.
Every touchable thing is at least ``theme.TOUCH_MIN`` dp high.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.metrics import dp
from kivy.properties import (
    BooleanProperty,
    ColorProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.textinput import TextInput
from kivy.uix.togglebutton import ToggleButton
from kivy.uix.widget import Widget

from inspector_app.ui import theme
from inspector_app.ui.i18n import tr


class WLabel(Label):  # type: ignore[misc]
    """A label that wraps to its width and grows to its text's height (never clips)."""


class WButton(Button):  # type: ignore[misc]
    """A flat, filled button: ``fill`` normally, ``fill_pressed`` while pressed."""

    fill = ColorProperty(theme.PRIMARY)
    fill_pressed = ColorProperty(theme.PRIMARY_PRESSED)
    ink = ColorProperty(theme.ON_FILLED)


class SecondaryButton(WButton):
    pass


class DangerButton(WButton):
    pass


class BigButton(WButton):
    pass


class WToggle(ToggleButton):  # type: ignore[misc]
    value = ObjectProperty(None, allownone=True)


class WTextInput(TextInput):  # type: ignore[misc]
    pass


class FieldLabel(WLabel):
    pass


class Card(BoxLayout):  # type: ignore[misc]
    fill = ColorProperty(theme.SURFACE)


class Chip(Label):  # type: ignore[misc]
    """A small filled status label (online/offline, sync state)."""

    fill = ColorProperty(theme.SUCCESS)


class CountTile(ButtonBehavior, BoxLayout):  # type: ignore[misc]
    """A large number with its caption; tapping it opens the matching list."""

    count = NumericProperty(0)
    caption = StringProperty("")
    accent = ColorProperty(theme.PRIMARY)
    pressed_fill = ColorProperty(theme.SURFACE_PRESSED)


class ProgressMeter(Widget):  # type: ignore[misc]
    """A thick, high-contrast progress bar; ``value`` from 0 to 1."""

    value = NumericProperty(0.0)
    fill = ColorProperty(theme.PRIMARY)


class MessageBox(WLabel):
    """A message with a coloured bar by level; empty text hides it."""

    level = StringProperty("info")
    fill = ColorProperty(theme.INFO)

    def on_level(self, _instance: Any, value: str) -> None:
        self.fill = theme.LEVEL_COLOURS.get(value, theme.INFO)


class SegmentedChoice(BoxLayout):  # type: ignore[misc]
    """One of a few options as a row of toggle buttons.

    ``options`` is a list of (value, msgid) pairs; labels follow the language. ``value``
    is the chosen value; choosing dispatches ``on_choice(value)``.
    """

    options = ListProperty([])
    value = ObjectProperty(None, allownone=True)
    group_name = StringProperty("")

    __events__ = ("on_choice",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._buttons: list[WToggle] = []
        tr.bind(lang=self._relabel)  # a method: held weakly by the translator

    def on_options(self, _instance: Any, options: Sequence[tuple[Any, str]]) -> None:
        self.clear_widgets()
        self._buttons = []
        group = self.group_name or f"choice-{id(self)}"
        for value, _msgid in options:
            button = WToggle(group=group, value=value, allow_no_selection=False)
            button.bind(on_release=self._chosen)
            self._buttons.append(button)
            self.add_widget(button)
        self._relabel()
        self._show_value()

    def on_value(self, *_args: Any) -> None:
        self._show_value()

    def _show_value(self) -> None:
        for button in self._buttons:
            button.state = "down" if button.value == self.value else "normal"

    def _relabel(self, *_args: Any) -> None:
        for button, (_value, msgid) in zip(self._buttons, self.options, strict=False):
            button.text = tr._(msgid)

    def _chosen(self, button: WToggle) -> None:
        if button.value != self.value:
            self.value = button.value
            self.dispatch("on_choice", button.value)
        self._show_value()

    def button_for(self, value: Any) -> WToggle | None:
        return next((b for b in self._buttons if b.value == value), None)

    def on_choice(self, value: Any) -> None:
        pass


class ConfirmDialog(ModalView):  # type: ignore[misc]
    """A question with a confirm and a cancel button (confirm may be dangerous)."""

    message = StringProperty("")
    level = StringProperty("warning")
    confirm_text = StringProperty("")
    cancel_text = StringProperty("")
    danger = BooleanProperty(False)

    def __init__(
        self,
        *,
        on_confirm: Callable[[], None],
        on_cancel: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_confirm = on_confirm
        self._on_cancel = on_cancel

    def confirm(self) -> None:
        self.dismiss()
        self._on_confirm()

    def cancel(self) -> None:
        self.dismiss()
        if self._on_cancel is not None:
            self._on_cancel()


def touch_height() -> float:
    return float(dp(theme.TOUCH))


__all__ = [
    "BigButton",
    "Card",
    "Chip",
    "ConfirmDialog",
    "CountTile",
    "DangerButton",
    "FieldLabel",
    "MessageBox",
    "ProgressMeter",
    "SecondaryButton",
    "SegmentedChoice",
    "WButton",
    "WLabel",
    "WTextInput",
    "WToggle",
    "touch_height",
]
