"""Sign-in through the real screen against a real server on loopback."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import Session, select

from server.accounts.models import User
from shared_schemas.enums import Role
from tests.inspector_app.ui.conftest import AppFactory, UiDriver
from tests.live_server import LiveServer
from tests.world import PASSWORD, World


def fill_and_submit(d: UiDriver, *, server: str, username: str, password: str) -> None:
    ids = d.ids()
    d.type_text(ids.server, server)
    d.type_text(ids.username, username)
    d.type_text(ids.password, password)
    d.tap(ids.sign_in_button)
    d.wait_idle()


def message(d: UiDriver) -> str:
    return str(d.ids().message.text)


def test_empty_fields_are_named_before_any_network(ui: UiDriver) -> None:
    fill_and_submit(ui, server="", username="x", password="y")
    assert message(ui) == "Enter the server address."
    fill_and_submit(ui, server="http://127.0.0.1:1", username="", password="y")
    assert message(ui) == "Enter your user name."
    fill_and_submit(ui, server="not a url", username="u", password="p")
    assert "is not valid" in message(ui)
    assert ui.screen_name == "signin"


def test_wrong_password_says_so_and_clears_it(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = ui_factory(server_url=live_server.url)
    user = world.a.users[Role.INSPECTOR]
    fill_and_submit(d, server=live_server.url, username=user, password="wrong password")
    assert message(d) == "Wrong user name or password."
    assert d.ids().password.text == ""
    assert d.screen_name == "signin"
    assert d.app.ctx.account is None


def test_unreachable_server_is_explained(ui: UiDriver) -> None:
    fill_and_submit(ui, server="http://127.0.0.1:9", username="inspector", password="x")
    assert message(ui).startswith("Cannot reach the server http://127.0.0.1:9.")
    assert ui.ids().message.level == "error"
    assert not ui.screen.busy  # the button works again


def test_locked_account_after_too_many_failures(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    user = world.a.users[Role.INSPECTOR]
    for _ in range(5):  # the server's limit (login_max_failures) within its window
        httpx.post(live_server.api("/auth/login"), json={"username": user, "password": "no"})
    d = ui_factory(server_url=live_server.url, language="zh_CN")
    fill_and_submit(d, server=live_server.url, username=user, password=PASSWORD)
    text = message(d)
    assert text.startswith("失败次数过多，账号暂时锁定。请在")
    seconds = int(text.split("请在")[1].split("秒")[0])
    assert 1 <= seconds <= 60
    assert d.screen_name == "signin"


def test_disabled_account_is_called_locked(
    ui_factory: AppFactory, live_server: LiveServer, world: World, app: FastAPI
) -> None:
    user = world.a.users[Role.INSPECTOR]
    with Session(app.state.engine) as session:
        row = session.exec(select(User).where(User.username == user)).one()
        row.is_active = False
        session.add(row)
        session.commit()
    d = ui_factory(server_url=live_server.url)
    fill_and_submit(d, server=live_server.url, username=user, password=PASSWORD)
    assert message(d) == "This account is locked. Ask your supervisor to unlock it."


def test_supervisor_cannot_sign_in_on_the_tablet(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    d = ui_factory(server_url=live_server.url)
    fill_and_submit(
        d, server=live_server.url, username=world.a.users[Role.SUPERVISOR], password=PASSWORD
    )
    assert "cannot report from the tablet" in message(d)
    assert d.app.ctx.account is None


def test_sign_in_then_offline_restart_with_the_cached_account(
    ui_factory: AppFactory, live_server: LiveServer, world: World, tmp_path
) -> None:
    data_dir = tmp_path / "tablet"
    user = world.a.users[Role.INSPECTOR]
    d = ui_factory(server_url=live_server.url, data_dir=data_dir)
    fill_and_submit(d, server=live_server.url, username=user, password=PASSWORD)
    assert d.screen_name == "home"
    name = d.app.ctx.account.display_name
    assert d.screen.ids.greeting.text == f"Signed in as {name}"
    assert d.app.notice is not None and d.app.notice.msgid == "Signed in as {name}."

    # Restart offline: no server given, no network; the cached account opens home.
    d2 = ui_factory(data_dir=data_dir)
    d2.platform.connectivity.is_online = False
    d2.app._probe()
    d2.wait_idle()
    assert d2.screen_name == "home"
    assert d2.app.account_name == name
    assert d2.app.shell.ids.connectivity.text == "Offline"
    assert d2.screen.ids.offline_note.text.startswith("Offline: new reports are kept")

    # The sign-in screen remembers the server and the user after signing out.
    d2.show("settings")
    d2.tap(d2.screen.ids.sign_out_button)  # nothing unsynced: no questions
    d2.wait_idle()
    assert d2.screen_name == "signin"
    assert d2.ids().server.text == live_server.url
    assert d2.ids().username.text == user
    assert d2.ids().password.text == ""


def test_a_refused_refresh_returns_to_sign_in_and_keeps_the_data(
    ui_factory: AppFactory, live_server: LiveServer, world: World
) -> None:
    from tests.inspector_app.ui.helpers import queue_report, signed_in

    d = signed_in(ui_factory, live_server, world)
    report_id = queue_report(d, grid=world.a.grid.code)
    store = d.app.ctx.store
    with store.transaction() as tx:  # the sign-in ended on the server's side
        tx.kv_set("auth", {"access_token": "expired", "refresh_token": "revoked"})
    d.tap(d.screen.ids.sync_button)
    d.wait_until(lambda: d.screen_name == "signin", what="the sign-in screen")
    assert d.app.notice.msgid.startswith("Your sign-in has ended")
    assert d.ids().username.text == world.a.users[Role.INSPECTOR]
    report = store.get_report(report_id)
    assert report is not None and report.state == "queued"

    fill_and_submit(
        d, server=live_server.url, username=world.a.users[Role.INSPECTOR], password=PASSWORD
    )
    assert d.screen_name == "home"
    d.tap(d.screen.ids.sync_button)
    d.wait_until(lambda: not d.app.syncing, what="the sync")
    d.wait_idle()
    report = store.get_report(report_id)
    assert report is not None and report.state == "synced"
