"""The shell: start-up screen, language switch without restart, navigation, fonts."""

from __future__ import annotations

from tests.inspector_app.ui.conftest import UiDriver


def test_starts_on_sign_in_without_an_account(ui: UiDriver) -> None:
    assert ui.screen_name == "signin"
    assert ui.app.shell.ids.title.text == "Sign in"
    assert not ui.app.can_go_back


def test_language_switch_relabels_without_restart(ui: UiDriver) -> None:
    button = ui.ids().sign_in_button
    title = ui.app.shell.ids.title
    assert button.text == "Sign in"
    chinese = ui.ids().language.button_for("zh_CN")
    ui.tap(chinese)
    assert button.text == "登录"
    assert title.text == "登录"
    assert ui.ids().language.button_for("en").text == "English"
    ui.tap(ui.ids().language.button_for("en"))
    assert button.text == "Sign in"
