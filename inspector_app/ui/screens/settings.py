"""Settings: language (switches at once), photo size, Wi-Fi-only sync, server, sign out.

Signing out (and changing the server, which signs out) is refused while unsynced reports
exist unless the inspector confirms twice; nothing on the tablet is ever deleted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kivy.properties import StringProperty

from inspector_app import __version__
from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.widgets import ConfirmDialog
from inspector_app.viewmodels.locale import LANGUAGE_NAMES, LANGUAGES, N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.signin import SignInFailed, normalise_server_url
from inspector_app.viewmodels.signout import SignOutFlow, Step

PHOTO_SIZE_OPTIONS: list[tuple[int | None, str]] = [
    (1024, N_("Small (1024 px)")),
    (2048, N_("Medium (2048 px)")),
    (3072, N_("Large (3072 px)")),
    (None, N_("Original")),
]
ROLE_NAMES = {
    "inspector": N_("grid worker"),
    "patrol": N_("property patrol"),
    "supervisor": N_("supervisor"),
    "department": N_("responsible department"),
    "admin": N_("administrator"),
}
NETWORK_OPTIONS: list[tuple[bool, str]] = [
    (False, N_("Any network")),
    (True, N_("Wi-Fi only")),
]


class SettingsScreen(WhistleScreen):
    title = N_("Settings")

    account_text = StringProperty("")
    about_text = StringProperty("")
    server_message = StringProperty("")

    languages: ClassVar = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]
    photo_sizes = PHOTO_SIZE_OPTIONS
    networks = NETWORK_OPTIONS

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow: SignOutFlow | None = None
        self.dialog: ConfirmDialog | None = None
        self._pending_server: str | None = None
        self.follow_language(self._relabel)

    def on_show(self, **params: Any) -> None:
        settings = self.ctx.settings
        self.ids.language.value = tr.lang
        self.ids.photo_size.value = settings.photo_max_edge
        self.ids.network.value = settings.wifi_only
        self.ids.server.text = self.ctx.server_url or ""
        self.server_message = ""
        self._relabel()

    def _relabel(self, *_args: Any) -> None:
        account = self.ctx.account
        if account is not None:
            self.account_text = tr._("Signed in as {name} ({user}), role: {role}").format(
                name=account.display_name,
                user=account.username,
                role=tr._(ROLE_NAMES.get(account.role, account.role)),
            )
        else:
            self.account_text = tr._("Not signed in")
        self.about_text = tr._("Whistle {version} · data on this tablet: {path}").format(
            version=__version__, path=self.ctx.data_dir
        )

    # ------------------------------------------------------------ choices
    def choose_language(self, language: str) -> None:
        self.app.set_language(language)

    def choose_photo_size(self, size: int | None) -> None:
        self.ctx.update_settings(photo_max_edge=size)
        self.app.notify(Message(N_("Photo size saved: it applies to new photos.")), level="success")

    def choose_network(self, wifi_only: bool) -> None:
        self.ctx.update_settings(wifi_only=bool(wifi_only))
        msgid = (
            N_("Photos are sent on Wi-Fi only; reports are always sent.")
            if wifi_only
            else N_("Reports and photos are sent on any network.")
        )
        self.app.notify(Message(msgid), level="success")

    # ------------------------------------------------------------ server and sign-out
    def change_server(self) -> None:
        text = self.ids.server.text
        try:
            url = normalise_server_url(text)
        except SignInFailed as exc:
            self.server_message = exc.message.text(tr._)
            return
        if url == (self.ctx.server_url or "").rstrip("/"):
            self.server_message = tr._("This is already the server.")
            return
        self._pending_server = url
        self.request_sign_out()

    def request_sign_out(self) -> None:
        self.flow = SignOutFlow(self.ctx.unsynced())
        self._advance(self.flow.request())

    def _advance(self, step: Step) -> None:
        flow = self.flow
        if flow is None:
            return
        if step == Step.SIGN_OUT:
            self.dialog = None
            self._sign_out()
            return
        message = flow.message()
        if message is None:
            return
        confirm = N_("Sign out anyway") if step == Step.CONFIRM_FIRST else N_("Yes, sign out")
        self.dialog = ConfirmDialog(
            message=message.text(tr._),
            level=message.level,
            confirm_text=tr._(confirm),
            cancel_text=tr._("Keep me signed in"),
            danger=True,
            on_confirm=lambda: self._advance(flow.confirm()),
            on_cancel=self._cancelled,
        )
        self.dialog.open()

    def _cancelled(self) -> None:
        if self.flow is not None:
            self.flow.cancel()
        self.dialog = None
        self._pending_server = None

    def _sign_out(self) -> None:
        server = self._pending_server
        self._pending_server = None
        if server is not None:
            self.ctx.default_server = server
        self.app.sign_out()


SCREEN = SettingsScreen
