"""Settings: language without restart, photo size, Wi-Fi only, and the sign-out guard."""

from __future__ import annotations

from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.inspector_app.ui.helpers import queue_report, signed_in
from tests.live_server import LiveServer
from tests.world import World


def dialog(d: UiDriver):
    found = d.screen.dialog
    assert found is not None, "a confirmation dialog was expected"
    d.pump(2)
    return found


def test_sign_out_refused_with_unsynced_reports_unless_confirmed_twice(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = signed_in(ui_factory, live_server, world)
    report_id = queue_report(d, grid=world.a.grid.code)
    d.show("settings")

    d.tap(d.screen.ids.sign_out_button)
    first = dialog(d)
    assert "Reports or results not synced yet: 1." in first.message
    assert "refused" in first.message
    d.tap(first.ids.cancel_button)  # "keep me signed in"
    assert d.screen.dialog is None
    assert d.app.ctx.account is not None

    d.tap(d.screen.ids.sign_out_button)
    d.tap(dialog(d).ids.confirm_button)  # first confirmation
    second = dialog(d)
    assert second.message.startswith("Really sign out? Unsynced items: 1.")
    assert d.app.ctx.account is not None  # still refused after one confirmation
    d.tap(second.ids.confirm_button)  # second confirmation
    d.wait_idle()

    assert d.screen_name == "signin"
    assert d.app.ctx.account is None
    report = d.app.ctx.store.get_report(report_id)
    assert report is not None and report.state == "queued"  # nothing deleted


def test_language_photo_size_and_wifi_apply_at_once_and_persist(
    ui_factory: AppFactory, live_server: LiveServer, world: World, tmp_path
) -> None:
    data_dir = tmp_path / "tablet"
    d = signed_in(ui_factory, live_server, world, data_dir=data_dir)
    home_tile = d.screen.ids.waiting
    d.show("settings")
    ids = d.screen.ids

    d.tap(ids.language.button_for("zh_CN"))
    assert d.app.shell.ids.title.text == "设置"
    assert ids.sign_out_button.text == "退出登录"
    assert home_tile.caption == "待同步"  # a screen not on show follows too
    assert d.app.shell.ids.back_button.text == "‹ 返回"

    d.tap(ids.photo_size.button_for(1024))
    assert d.app.ctx.processor.settings.max_edge == 1024
    d.tap(ids.network.button_for(True))
    assert d.app.ctx.settings.wifi_only
    assert d.app.notice.msgid == "Photos are sent on Wi-Fi only; reports are always sent."

    d.tap(d.app.shell.ids.back_button)
    assert d.screen_name == "home"

    again = ui_factory(data_dir=data_dir, language="en")  # a restart: the choices stay
    assert again.app.shell.ids.title.text == "首页"
    assert again.app.ctx.settings.photo_max_edge == 1024
    assert again.app.ctx.settings.wifi_only


def test_change_server_goes_through_sign_out(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = signed_in(ui_factory, live_server, world)
    d.show("settings")
    ids = d.screen.ids
    d.type_text(ids.server, "not a url at all")
    d.tap(ids.change_server_button)
    assert "is not valid" in ids.server_message.text
    d.type_text(ids.server, "http://127.0.0.1:9")
    d.tap(ids.change_server_button)  # nothing unsynced: signs out at once
    d.wait_idle()
    assert d.screen_name == "signin"
    assert d.ids().server.text == "http://127.0.0.1:9"
