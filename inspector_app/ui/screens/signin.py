"""Sign in: server, user name, password. Remembers the server and the user; the network
call runs off the UI thread; every failure is said plainly (viewmodels/signin.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from kivy.properties import BooleanProperty, ObjectProperty

from inspector_app.core.api_client import Account
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.viewmodels.locale import LANGUAGE_NAMES, LANGUAGES, N_
from inspector_app.viewmodels.messages import Message
from inspector_app.viewmodels.signin import SignInForm


class SignInScreen(WhistleScreen):
    title = N_("Sign in")
    show_back = False
    needs_account = False

    busy = BooleanProperty(False)
    message = ObjectProperty(None, allownone=True)  # a Message, translated in kv
    languages: ClassVar = [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES]

    def on_show(self, **params: Any) -> None:
        ids = self.ids
        ids.server.text = self.ctx.default_server or self.ctx.server_url or ""
        ids.username.text = self.ctx.last_username
        ids.password.text = ""
        ids.language.value = self.app.ctx.settings.language or _current_language()
        self.message = params.get("message")
        self.busy = False

    def submit(self) -> None:
        if self.busy:
            return
        form = SignInForm(
            server=self.ids.server.text,
            username=self.ids.username.text,
            password=self.ids.password.text,
        )
        problems = form.problems()
        if problems:
            self.message = problems[0]
            return
        self.busy = True
        self.message = Message(N_("Signing in…"), level="info")
        self.app.sign_in(
            server=form.server,
            username=form.username,
            password=form.password,
            on_error=self._failed,
            on_done=self._done,
        )

    def _failed(self, message: Message) -> None:
        self.busy = False
        self.message = message
        if message.msgid == N_("Wrong user name or password."):
            self.ids.password.text = ""

    def _done(self, _account: Account) -> None:
        self.busy = False
        self.message = None
        self.ids.password.text = ""

    def choose_language(self, language: str) -> None:
        self.app.set_language(language)


def _current_language() -> str:
    from inspector_app.ui.i18n import tr

    return str(tr.lang)


SCREEN = SignInScreen
