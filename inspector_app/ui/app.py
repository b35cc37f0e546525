"""The app shell: the window's root (top bar, screens, notices), navigation between
screens (built when first shown), sign-in state, sync and connectivity.

Screens reach all of this through ``self.app`` (see screens/base.py). Work that may
block (network, sync) runs on threads (:mod:`inspector_app.ui.background`); results and
sync progress come back to the UI thread through ``Clock.schedule_once``.
"""

from __future__ import annotations

import locale
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock, ClockEvent
from kivy.properties import (
    BooleanProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.floatlayout import FloatLayout

from inspector_app.core.api_client import Account
from inspector_app.core.sync_engine import SyncOutcome, SyncProgress
from inspector_app.platform import detect
from inspector_app.platform.base import OnError, OnPhotos, Platform
from inspector_app.ui import background, registry, theme, widgets
from inspector_app.ui.fonts import install_default_font
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.viewmodels.context import AppContext
from inspector_app.viewmodels.home import progress_view
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.settings import effective_language
from inspector_app.viewmodels.signin import SignInFailed, error_message

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).resolve().parent
_WIDGETS = widgets  # imported for its classes: kv rules name them
HOME = "home"
SIGN_IN = "signin"
NOTICE_SECONDS = 6.0


class Shell(FloatLayout):  # type: ignore[misc]
    """The window's root: top bar, screen manager, notice (rules in shell.kv)."""


class WhistleApp(App):  # type: ignore[misc]
    title = "Whistle 网格吹哨"
    icon = str(UI_DIR / "assets" / "icon.png")

    online = BooleanProperty(True)
    can_go_back = BooleanProperty(False)
    screen_title = StringProperty("")
    account_name = StringProperty("")
    syncing = BooleanProperty(False)
    sync_progress = ObjectProperty(None, allownone=True)  # viewmodels.home.ProgressView
    data_version = NumericProperty(0)  # bumped when local data changed: screens refresh
    notice = ObjectProperty(None, allownone=True)  # the Message on show (tests read it)

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        server_url: str | None = None,
        platform: Platform | None = None,
        auto_sync: bool = True,
        background_photos: bool = True,
        probe_interval_s: float = 20.0,
        system_locale: str | None = None,
        font_cache_dir: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._data_dir = data_dir
        self._font_cache_dir = font_cache_dir
        self._server_url = server_url
        self.platform: Platform = platform or detect(
            server_url=server_url, chooser=self.choose_files
        )
        self.auto_sync = auto_sync
        self.background_photos = background_photos
        self.probe_interval_s = probe_interval_s
        self.system_locale = system_locale
        self.ctx: AppContext
        self.shell: Shell
        self._screens: dict[str, WhistleScreen] = {}
        self._history: list[str] = []
        self._events: list[ClockEvent] = []
        self._notice_event: ClockEvent | None = None
        self._probing = False

    # ------------------------------------------------------------ start and stop
    @property
    def data_dir(self) -> Path:
        return self._data_dir or Path(self.user_data_dir)

    def build(self) -> Shell:
        install_default_font(cache_dir=self._font_cache_dir or self.data_dir / "fonts")
        registry.load_kv(UI_DIR / "widgets.kv")
        registry.load_kv(UI_DIR / "shell.kv")
        from kivy.core.window import Window  # not at import: the window opens on import

        Window.clearcolor = theme.BACKGROUND
        self.ctx = AppContext(
            data_dir=self.data_dir,
            platform=self.platform,
            server_url=self._server_url,
            background_photos=self.background_photos,
        )
        tr.switch(effective_language(self.ctx.settings, self.system_locale or _system_locale()))
        self.ctx.add_progress_listener(self._progress_from_engine)
        self.shell = Shell()
        account = self.ctx.account
        self.account_name = account.display_name if account else ""
        self.reset_to(HOME if account else SIGN_IN)
        return self.shell

    def on_start(self) -> None:
        from kivy.core.window import Window

        Window.bind(on_keyboard=self._on_keyboard)
        self._events.append(Clock.schedule_interval(self._probe, self.probe_interval_s))
        self._probe()
        if self.ctx.account is not None:
            self._start_engine()

    def on_stop(self) -> None:
        from kivy.core.window import Window

        Window.unbind(on_keyboard=self._on_keyboard)
        for event in self._events:
            event.cancel()
        self._events.clear()
        if self._notice_event is not None:
            self._notice_event.cancel()
        self.ctx.remove_progress_listener(self._progress_from_engine)
        for screen in self._screens.values():
            screen.detach()
        self.ctx.close()

    def on_pause(self) -> bool:
        return True  # everything is in the store already: Android may pause us

    def on_resume(self) -> None:
        self._probe()
        self.request_sync("connectivity")

    # ------------------------------------------------------------ navigation
    @property
    def manager(self) -> Any:
        return self.shell.ids.manager

    @property
    def current_screen(self) -> WhistleScreen | None:
        screen = self.manager.current_screen
        return screen if isinstance(screen, WhistleScreen) else None

    def screen(self, name: str) -> WhistleScreen:
        """The screen ``name``, built (with its kv) the first time it is asked for."""
        found = self._screens.get(name)
        if found is None:
            found = registry.build(name)
            found.bind(title=self._title_changed)
            self._screens[name] = found
            self.manager.add_widget(found)
        return found

    def show(self, name: str, **params: Any) -> bool:
        """Show screen ``name`` (back returns to the current one). False if unknown."""
        return self._go(name, params, push=True)

    def replace(self, name: str, **params: Any) -> bool:
        """Show ``name`` instead of the current screen (back skips the current one)."""
        return self._go(name, params, push=False)

    def reset_to(self, name: str, **params: Any) -> bool:
        """Show ``name`` with an empty history (after sign-in and sign-out)."""
        self._history.clear()
        return self._go(name, params, push=False)

    def back(self) -> bool:
        current = self.current_screen
        if current is not None and current.on_back():
            return True
        if not self._history:
            return False
        return self._go(self._history.pop(), {}, push=False)

    def _go(self, name: str, params: dict[str, Any], *, push: bool) -> bool:
        try:
            screen = self.screen(name)
        except registry.ScreenNotFound as exc:
            log.warning("%s", exc)
            self.notify(Message(N_("This screen is not available yet.")), level="warning")
            return False
        if screen.needs_account and self.ctx.account is None:
            name, screen, params = SIGN_IN, self.screen(SIGN_IN), {}
            self._history.clear()
            push = False
        current = self.current_screen
        if current is not None and current is not screen:
            current.on_hide()
            if push:
                self._history.append(current.name)
        self.manager.current = name
        self.screen_title = screen.title
        self.can_go_back = bool(self._history) and screen.show_back
        screen.on_show(**params)
        return True

    def _title_changed(self, screen: WhistleScreen, title: str) -> None:
        if screen is self.current_screen:
            self.screen_title = title

    def _on_keyboard(self, _window: Any, key: int, *_args: Any) -> bool:
        if key == 27:  # Escape on the desktop, the back key on Android
            return self.back()  # False at the root lets Android leave the app
        return False

    # ------------------------------------------------------------ notices
    def notify(self, message: Message | str, *, level: str | None = None) -> None:
        """Show a short notice at the bottom (translated now)."""
        if isinstance(message, str):
            message = Message(message, level=level or "info")
        elif level is not None:
            message = Message(message.msgid, message.params, level)
        self.notice = message
        toast = self.shell.ids.toast
        toast.level = message.level
        toast.text = message.text(tr._)
        if self._notice_event is not None:
            self._notice_event.cancel()
        self._notice_event = Clock.schedule_once(self._hide_notice, NOTICE_SECONDS)

    def _hide_notice(self, *_args: Any) -> None:
        self.shell.ids.toast.text = ""
        self.notice = None

    def run_async(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None],
        *,
        name: str = "ui-work",
    ) -> None:
        background.run_async(work, on_done, on_error, name=name)

    def data_changed(self) -> None:
        """Tell screens that local data changed (they refresh what they show)."""
        self.data_version += 1

    # ------------------------------------------------------------ language and settings
    def set_language(self, language: str) -> None:
        self.ctx.update_settings(language=language)
        tr.switch(language)

    # ------------------------------------------------------------ sign-in and sign-out
    def sign_in(
        self,
        *,
        server: str,
        username: str,
        password: str,
        on_error: Callable[[Message], None],
        on_done: Callable[[Account], None] | None = None,
    ) -> None:
        def failed(exc: Exception) -> None:
            on_error(
                exc.message if isinstance(exc, SignInFailed) else error_message(exc, server=server)
            )

        def signed_in(account: Account) -> None:
            self.account_name = account.display_name
            self._start_engine()
            self.reset_to(HOME)
            self.notify(
                Message(N_("Signed in as {name}."), {"name": account.display_name}),
                level="success",
            )
            self._probe()
            if on_done is not None:
                on_done(account)

        self.run_async(
            lambda: self.ctx.sign_in(server=server, username=username, password=password),
            signed_in,
            failed,
            name="sign-in",
        )

    def sign_out(self, on_done: Callable[[], None] | None = None) -> None:
        """Sign out now (the screens ask for confirmation before calling this)."""

        def done(_result: Any) -> None:
            self.account_name = ""
            self.sync_progress = None
            self.reset_to(SIGN_IN)
            self.notify(Message(N_("Signed out. The data stays on this tablet.")), level="info")
            if on_done is not None:
                on_done()

        self.run_async(self.ctx.sign_out, done, lambda exc: done(None), name="sign-out")

    def session_ended(self) -> None:
        """The server refused the sign-in (expired, revoked): sign in again, data kept."""
        self.account_name = ""
        self.reset_to(SIGN_IN)
        self.notify(
            Message(N_("Your sign-in has ended: sign in again. Nothing on the tablet was lost.")),
            level="warning",
        )

    # ------------------------------------------------------------ sync
    def _start_engine(self) -> None:
        if self.auto_sync and self.ctx.engine is not None:
            self.ctx.engine.start(interval_s=300.0)

    def request_sync(self, reason: str = "save") -> None:
        """Ask the background sync for a cycle soon (after a save, say)."""
        self.data_changed()
        if self.ctx.engine is not None and self.ctx.account is not None and self.auto_sync:
            self.ctx.engine.trigger(reason)

    def sync_now(self) -> None:
        engine = self.ctx.engine
        if engine is None or self.ctx.account is None:
            self.notify(Message(N_("Sign in first.")), level="warning")
            return
        if self.syncing:
            self.notify(Message(N_("A sync is already running.")), level="info")
            return
        self.syncing = True
        self.sync_progress = None
        self.run_async(engine.sync_once, self._sync_done, self._sync_failed, name="sync")

    def _sync_failed(self, exc: Exception) -> None:
        self.syncing = False
        self.data_changed()
        self.notify(Message(N_("Sync failed: {reason}"), {"reason": str(exc)}), level="error")

    def _sync_done(self, outcome: SyncOutcome) -> None:
        self.syncing = False
        self.data_changed()
        client = self.ctx.client
        if client is not None and not client.signed_in:
            self.session_ended()
        elif outcome.error:
            if not self.online:
                message = Message(N_("Offline: the reports wait on the tablet."), level="warning")
            else:
                message = Message(N_("Sync failed: {reason}"), {"reason": outcome.error})
            self.notify(message)
        elif outcome.rejected or outcome.conflicts:
            self.notify(
                Message(
                    N_("Refused by the server: {count}. See the reason in My reports."),
                    {"count": outcome.rejected + outcome.conflicts},
                ),
                level="warning",
            )
        elif outcome.ok:
            self.notify(Message(N_("Everything is synced.")), level="success")
        else:
            self.notify(Message(N_("Sync finished; some items wait for later.")), level="info")

    def _progress_from_engine(self, progress: SyncProgress) -> None:
        background.on_ui_thread(self._show_progress, progress)  # engine thread -> UI thread

    def _show_progress(self, progress: SyncProgress) -> None:
        self.sync_progress = progress_view(progress)
        if progress.phase in ("done", "failed"):
            self.data_changed()

    # ------------------------------------------------------------ connectivity
    def _probe(self, *_args: Any) -> None:
        if self._probing:
            return
        self._probing = True
        self.run_async(
            self.platform.connectivity.refresh, self._probed, self._probe_failed, name="probe"
        )

    def _probed(self, online: bool) -> None:
        self._probing = False
        came_back = online and not self.online
        self.online = bool(online)
        if came_back:
            self.request_sync("connectivity")

    def _probe_failed(self, _exc: Exception) -> None:
        self._probing = False
        self.online = False

    # ------------------------------------------------------------ desktop file chooser
    def choose_files(self, on_done: OnPhotos, on_error: OnError, multiple: bool) -> None:
        from inspector_app.ui.filechooser import open_chooser

        open_chooser(on_done=on_done, on_error=on_error, multiple=multiple)


def _system_locale() -> str | None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if os.environ.get(name):
            return os.environ[name]
    return locale.getlocale()[0]


__all__ = ["HOME", "SIGN_IN", "Shell", "WhistleApp"]
