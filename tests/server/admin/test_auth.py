"""Signing in and out of the web admin: roles, cookies, redirects, CSRF, sessions."""

from datetime import timedelta

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server.accounts.models import LoginFailure, User
from server.admin.models import AdminSession
from server.core.clock import utcnow
from server.core.config import Settings
from server.main import create_app
from tests.server.admin.helpers import admin_login, flashes, form_token, signed_in
from tests.world import World


def _sessions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(AdminSession)).one())


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("supervisor_a", "/admin/triage"),
        ("department_a", "/admin/cases"),
        ("admin", "/admin/triage"),
    ],
)
def test_office_roles_sign_in_with_a_safe_cookie(
    client: TestClient, world: World, engine: Engine, username: str, home: str
) -> None:
    response = admin_login(client, username)
    assert response.status_code == 303
    assert response.headers["location"] == home
    cookie = next(c for c in response.headers.get_list("set-cookie") if "whistle_admin=" in c)
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # plain HTTP outside production
    assert _sessions(engine) == 1
    page = client.get(home)
    assert page.status_code == 200
    assert "退出" in page.text  # the layout's sign-out button: signed in


def test_production_cookie_is_secure(settings: Settings, world: World) -> None:
    production = settings.model_copy(update={"env": "production"})
    app: FastAPI = create_app(production)
    try:
        with TestClient(app, base_url="https://testserver") as client:
            response = admin_login(client, "supervisor_a")
        cookie = next(c for c in response.headers.get_list("set-cookie") if "whistle_admin=" in c)
        assert "Secure" in cookie
    finally:
        app.state.engine.dispose()


@pytest.mark.parametrize("username", ["inspector_a", "patrol_a"])
def test_tablet_roles_are_refused_after_the_right_password(
    client: TestClient, world: World, engine: Engine, username: str
) -> None:
    response = admin_login(client, username)
    assert response.status_code == 403
    assert "平板应用" in response.text
    assert "whistle_admin=" not in response.headers.get("set-cookie", "")
    assert _sessions(engine) == 0


def test_wrong_password_is_counted_and_says_so(
    client: TestClient, world: World, engine: Engine
) -> None:
    response = admin_login(client, "supervisor_a", password="wrong password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="supervisor_a"' in response.text  # the name stays in the form
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(LoginFailure)).one() >= 1
    for _ in range(5):
        admin_login(client, "supervisor_a", password="wrong password")
    throttled = admin_login(client, "supervisor_a")
    assert throttled.status_code == 429
    assert "秒后再试" in throttled.text


def test_disabled_account_is_refused(client: TestClient, world: World, engine: Engine) -> None:
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "supervisor_a")).one()
        user.is_active = False
        session.add(user)
        session.commit()
    response = admin_login(client, "supervisor_a")
    assert response.status_code == 403
    assert "已停用" in response.text


def test_disabling_a_signed_in_user_ends_the_session(
    client: TestClient, world: World, engine: Engine
) -> None:
    signed_in(client, "supervisor_a")
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "supervisor_a")).one()
        user.is_active = False
        session.add(user)
        session.commit()
    response = client.get("/admin/cases", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login")


def test_pages_need_a_session(client: TestClient, world: World) -> None:
    response = client.get("/admin/cases?status=reported", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/admin/login?next=/admin/cases%3Fstatus%3Dreported"  # a first visit: not "expired"
    )
    htmx = client.get("/admin/cases", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/admin/login?next=")
    assert client.get("/admin/map/cases.geojson", follow_redirects=False).status_code == 303


def test_next_brings_the_user_back_but_never_elsewhere(client: TestClient, world: World) -> None:
    page = client.get("/admin/login?next=/admin/devices")
    response = client.post(
        "/admin/login",
        data={
            "username": "supervisor_a",
            "password": "correct horse battery staple",
            "csrf_token": form_token(page.text),
            "next": "/admin/devices",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin/devices"
    for evil in ("//evil.example/x", "https://evil.example/", "/admin//evil.example", "/\\evil"):
        other = TestClient(client.app)
        page = other.get("/admin/login")
        response = other.post(
            "/admin/login",
            data={
                "username": "supervisor_a",
                "password": "correct horse battery staple",
                "csrf_token": form_token(page.text),
                "next": evil,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/admin/triage", evil


def test_sign_in_form_without_its_token_is_refused(
    client: TestClient, world: World, engine: Engine
) -> None:
    client.get("/admin/login")  # the login cookie is set, but the form token is missing
    response = client.post(
        "/admin/login",
        data={"username": "supervisor_a", "password": "correct horse battery staple"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "表单已过期" in response.text
    forged = client.post(
        "/admin/login",
        data={
            "username": "supervisor_a",
            "password": "correct horse battery staple",
            "csrf_token": "forged",
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert _sessions(engine) == 0
    with Session(engine) as session:  # refused before the password was even looked at
        assert session.exec(select(func.count()).select_from(LoginFailure)).one() == 0


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, world: World, engine: Engine
) -> None:
    token = signed_in(client, "supervisor_a")
    stolen = client.cookies.get("whistle_admin")
    refused = client.post("/admin/logout", follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: still signed in
    assert client.get("/admin/cases", follow_redirects=False).status_code == 200
    response = client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?bye=1"
    assert _sessions(engine) == 0
    replay = TestClient(client.app, cookies={"whistle_admin": stolen or ""})
    assert replay.get("/admin/cases", follow_redirects=False).status_code == 303


def test_language_switch_is_saved_on_the_user(
    client: TestClient, world: World, engine: Engine
) -> None:
    token = signed_in(client, "supervisor_a")
    refused = client.post("/admin/locale", data={"locale": "en"}, follow_redirects=False)
    assert refused.status_code == 403
    response = client.post(
        "/admin/locale",
        data={"locale": "en", "next": "/admin/cases?status=reported", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/admin/cases?status=reported"
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "supervisor_a")).one()
        assert user.locale == "en"
    page = client.get("/admin/cases")
    assert "Sign out" in page.text
    assert '<html lang="en">' in page.text


def test_session_ends_after_idle_time(client: TestClient, world: World) -> None:
    signed_in(client, "supervisor_a")
    with time_machine.travel(utcnow() + timedelta(hours=9)):
        response = client.get("/admin/cases", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("&expired=1")
    assert "登录已过期" in client.get(response.headers["location"]).text


def test_flash_after_sign_in_pages_and_signed_out_message(client: TestClient, world: World) -> None:
    token = signed_in(client, "supervisor_a")
    response = client.post("/admin/logout", data={"csrf_token": token})
    assert "已退出" in " ".join(flashes(response.text))


def test_admin_is_not_in_the_openapi_schema_and_assets_are_local(
    client: TestClient, world: World
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/admin")]
    signed_in(client, "supervisor_a")
    page = client.get("/admin/map").text
    assert "//cdn" not in page and "unpkg" not in page
    for asset in (
        "/admin/static/vendor/htmx/htmx.min.js",
        "/admin/static/vendor/leaflet/leaflet.js",
        "/admin/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/admin/static/admin.css",
    ):
        assert client.get(asset).status_code == 200, asset


def test_unknown_admin_page_is_a_page_not_json(client: TestClient, world: World) -> None:
    signed_in(client, "supervisor_a")
    response = client.get("/admin/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "待立案" in response.text  # the navigation is there
    api = client.get("/api/v1/no-such-endpoint")
    assert api.json()["error"]["code"] == "not_found"
