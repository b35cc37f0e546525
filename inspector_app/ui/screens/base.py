"""The base class of every screen: a title for the top bar, hooks when shown, and
short-cuts to the app (context, navigation, notices, background work)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from inspector_app.ui.i18n import tr

if TYPE_CHECKING:
    from inspector_app.ui.app import WhistleApp
    from inspector_app.viewmodels.context import AppContext


class WhistleScreen(Screen):  # type: ignore[misc]
    """Subclass this; set ``title`` to an English msgid (the top bar translates it)."""

    title = StringProperty("")
    show_back = BooleanProperty(True)  # the top bar's back button
    needs_account = BooleanProperty(True)  # shown only when signed in

    def __init__(self, **kwargs: Any) -> None:
        self._app: WhistleApp = App.get_running_app()
        self._followers: list[Callable[..., Any]] = []
        super().__init__(**kwargs)

    @property
    def app(self) -> WhistleApp:
        """The app this screen belongs to (one app per window at a time)."""
        return self._app

    def follow_language(self, callback: Callable[..., Any]) -> None:
        """Call ``callback(translator, lang)`` after every language change (use a method:
        it is held weakly); :meth:`detach` undoes it when the app stops."""
        tr.bind(lang=callback)
        self._followers.append(callback)

    def detach(self) -> None:
        """The app is stopping: drop bindings to objects that outlive it."""
        for callback in self._followers:
            tr.unbind(lang=callback)
        self._followers.clear()

    @property
    def ctx(self) -> AppContext:
        return self.app.ctx

    def on_show(self, **params: Any) -> None:
        """Called each time the screen is shown, with the parameters of ``app.show``."""

    def on_hide(self) -> None:
        """Called when another screen replaces this one."""

    def on_back(self) -> bool:
        """The back button or key: return True when handled here (e.g. a flow step)."""
        return False


__all__ = ["WhistleScreen"]
