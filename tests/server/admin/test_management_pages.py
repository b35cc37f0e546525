"""The management pages through the real admin: forms with CSRF, field errors next to
their fields in both languages, role limits, and changes that reach the API."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from server.accounts.models import Organisation, User
from server.areas.models import Area
from server.taxonomy.models import Category
from tests.server.admin.h6_helpers import field_error, post, sign_in_at, switch_to_english
from tests.world import PASSWORD, World

USERS = "/admin/manage/users"
NEW_PASSWORD = "a fresh password 1"


def _user(session: Session, username: str) -> User | None:
    session.expire_all()
    return session.exec(select(User).where(User.username == username)).first()


def _api_login(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password, "device_id": "t-1"}
    status: int = client.post("/api/v1/auth/login", json=body).status_code
    return status


def test_admin_creates_an_account_who_can_then_sign_in(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_at(client, "admin", USERS)
    response = post(
        client,
        f"{USERS}/new",
        token,
        username="li.na",
        display_name="李娜",
        password=NEW_PASSWORD,
        role="inspector",
        area_codes=["G_A", "G_B"],
        locale="zh_CN",
    )
    assert response.status_code == 303, response.text
    created = _user(session, "li.na")
    assert created is not None and created.display_name == "李娜"
    assert response.headers["location"] == f"{USERS}/{created.id}"
    page = client.get(response.headers["location"]).text
    assert "账号 li.na 已创建。" in page  # the flash
    assert 'value="G_B" checked' in page
    assert _api_login(client, "li.na", NEW_PASSWORD) == 200
    assert "li.na" in client.get(USERS).text


def test_field_errors_are_shown_next_to_their_fields_and_nothing_is_written(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_at(client, "admin", USERS)
    before = session.exec(select(func.count()).select_from(User)).one()
    bad = {
        "username": "<b>x",
        "display_name": "",
        "password": "short",
        "role": "patrol",
        "organisation_code": "",
        "locale": "zh_CN",
    }
    response = post(client, f"{USERS}/new", token, **bad)
    assert response.status_code == 422
    html = response.text
    assert field_error(html, "password") == "至少 8 个字符。"
    assert field_error(html, "organisation_code") == "必填。"
    assert field_error(html, "username") == "格式不正确。"
    assert 'aria-invalid="true" aria-describedby="err-password"' in html
    assert 'value="&lt;b&gt;x"' in html  # kept, as text
    assert "short" not in html  # a password is never sent back
    assert session.exec(select(func.count()).select_from(User)).one() == before
    switch_to_english(client, token)
    english = post(client, f"{USERS}/new", token, **bad).text
    assert field_error(english, "password") == "Must have at least 8 characters"
    assert field_error(english, "organisation_code") == "A patrol needs a property_company"
    taken = post(
        client,
        f"{USERS}/new",
        token,
        username="inspector_a",
        password=NEW_PASSWORD,
        role="inspector",
        area_codes=["G_A"],
    )
    assert taken.status_code == 409
    assert field_error(taken.text, "username") == "Is taken"


def test_a_form_without_the_csrf_token_changes_nothing(
    client: TestClient, session: Session, world: World
) -> None:
    sign_in_at(client, "admin", USERS)
    response = client.post(
        f"{USERS}/new",
        data={"username": "mallory", "password": NEW_PASSWORD, "role": "admin"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert 'data-error-code="csrf_failed"' in response.text
    assert _user(session, "mallory") is None
    wrong = post(client, f"{USERS}/{world.user_ids['inspector_a']}/active", "forged", active="0")
    assert wrong.status_code == 403
    inspector = _user(session, "inspector_a")
    assert inspector is not None and inspector.is_active


def test_a_supervisor_manages_the_grid_workers_of_their_street_only(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_at(client, "supervisor_a", USERS)
    listing = client.get(USERS).text
    assert 'data-username="inspector_a"' in listing
    assert 'data-username="inspector_b"' not in listing
    assert 'href="/admin/manage/areas"' not in listing  # no reference-data tabs
    for path in ("/admin/manage/areas", "/admin/manage/departments", "/admin/manage/categories"):
        assert client.get(path).status_code == 403, path
    outside = client.get(f"{USERS}/{world.user_ids['inspector_b']}")
    assert outside.status_code == 404
    refused = post(client, f"{USERS}/{world.user_ids['inspector_b']}/active", token, active="0")
    assert refused.status_code == 404
    other_street = post(
        client,
        f"{USERS}/new",
        token,
        username="grid_b2",
        password=NEW_PASSWORD,
        role="inspector",
        area_codes=["G_B"],
    )
    assert other_street.status_code == 422
    assert "G_B" in field_error(other_street.text, "area_codes")
    boss = post(
        client, f"{USERS}/new", token, username="boss1", password=NEW_PASSWORD, role="admin"
    )
    assert boss.status_code == 403
    assert _user(session, "boss1") is None


def test_department_users_have_no_management(client: TestClient, world: World) -> None:
    sign_in_at(client, "department_a", "/admin/dashboard")
    assert client.get(USERS).status_code == 403
    assert client.get("/admin/manage").status_code == 403


def test_disable_enable_and_reset_password_through_the_pages(
    app: FastAPI, client: TestClient, session: Session, world: World
) -> None:
    # supervisor_b is signed in to the admin in another browser.
    with TestClient(app) as other:
        sign_in_at(other, "supervisor_b", "/admin/dashboard")
        token = sign_in_at(client, "admin", USERS)
        target = f"{USERS}/{world.user_ids['supervisor_b']}"
        reset = post(client, f"{target}/password", token, new_password="1234567")
        assert reset.status_code == 422
        assert field_error(reset.text, "new_password") == "至少 8 个字符。"
        assert other.get("/admin/dashboard", follow_redirects=False).status_code == 200
        done = post(client, f"{target}/password", token, new_password=NEW_PASSWORD)
        assert done.status_code == 303
        assert "已重置 supervisor_b 的密码" in client.get(target).text
        # The reset ended supervisor_b's admin session and the old password.
        assert other.get("/admin/dashboard", follow_redirects=False).status_code == 303
        assert _api_login(client, "supervisor_b", PASSWORD) == 401
        assert _api_login(client, "supervisor_b", NEW_PASSWORD) == 200
    assert post(client, f"{target}/active", token, active="0").status_code == 303
    disabled = _user(session, "supervisor_b")
    assert disabled is not None and not disabled.is_active
    assert _api_login(client, "supervisor_b", NEW_PASSWORD) == 403
    assert post(client, f"{target}/active", token, active="1").status_code == 303
    assert _api_login(client, "supervisor_b", NEW_PASSWORD) == 200
    own = post(client, f"{USERS}/{world.user_ids['admin']}/active", token, active="0")
    assert own.status_code == 409
    assert 'data-error-code="cannot_disable_self"' in own.text


def test_assigning_areas_through_the_page(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_at(client, "supervisor_a", USERS)
    target = f"{USERS}/{world.user_ids['inspector_a']}"
    empty = post(client, f"{target}/areas", token)
    assert empty.status_code == 422
    assert field_error(empty.text, "area_codes") == "必填。"
    assert post(client, f"{target}/areas", token, area_codes=["G_A", "CM_A"]).status_code == 303
    assert 'value="CM_A" checked' in client.get(target).text


def test_areas_are_created_and_renamed_with_errors_named(
    client: TestClient, session: Session, world: World
) -> None:
    token = sign_in_at(client, "admin", "/admin/manage/areas")
    bad = post(
        client,
        "/admin/manage/areas/new",
        token,
        code="G A",
        name="",
        level="grid",
        parent_code="CM_A",
        lat="31.2",
    )
    assert bad.status_code == 422
    assert field_error(bad.text, "code") == "格式不正确。"
    assert field_error(bad.text, "name") == "必填。"
    assert field_error(bad.text, "lon") == "必填。"
    assert '<details class="card" open id="area-create">' in bad.text
    made = post(
        client,
        "/admin/manage/areas/new",
        token,
        code="G_A2",
        name="<i>二网格</i>",
        level="grid",
        parent_code="CM_A",
    )
    assert made.status_code == 303
    listing = client.get("/admin/manage/areas").text
    assert "&lt;i&gt;二网格&lt;/i&gt;" in listing and "<i>二网格" not in listing
    renamed = post(client, "/admin/manage/areas/G_A2", token, name="第二网格", name_en="Grid 2")
    assert renamed.status_code == 303
    session.expire_all()
    area = session.exec(select(Area).where(Area.code == "G_A2")).one()
    assert (area.name, area.name_en) == ("第二网格", "Grid 2")
    empty = post(client, "/admin/manage/areas/G_A2", token, name=" ")
    assert empty.status_code == 422 and field_error(empty.text, "name") == "必填。"
    assert client.get("/admin/manage/areas/NOWHERE").status_code == 404


def test_departments_created_renamed_and_deactivated(
    client: TestClient, session: Session, world: World
) -> None:
    page = "/admin/manage/departments"
    token = sign_in_at(client, "admin", page)
    made = post(client, f"{page}/new", token, code="WATER_CO", name_zh="供水", name_en="Water")
    assert made.status_code == 303
    bad = post(client, f"{page}/WATER_CO", token, name_zh="", name_en="Water")
    assert bad.status_code == 422
    assert field_error(bad.text, "name_zh") == "必填。"
    assert post(client, f"{page}/WATER_CO/active", token, active="0").status_code == 303
    session.expire_all()
    dept = session.exec(select(Organisation).where(Organisation.code == "WATER_CO")).one()
    assert not dept.is_active
    in_use = post(client, f"{page}/FIRE_BRIGADE/active", token, active="0")
    assert in_use.status_code == 409
    assert "FIRE_LANE" in in_use.text
    taken = post(client, f"{page}/new", token, code="WATER_CO", name_zh="x", name_en="x")
    assert taken.status_code == 422 and field_error(taken.text, "code") == "已被使用。"


def test_categories_are_edited_with_their_deadlines(
    client: TestClient, session: Session, world: World
) -> None:
    page = "/admin/manage/categories/GARBAGE"
    token = sign_in_at(client, "admin", page)
    form = {
        "name_zh": "垃圾堆积",
        "name_en": "Garbage",
        "default_department_code": "HOUSING_BUREAU",
        "default_severity": "general",
        "deadline_minor_days": "30",
        "deadline_general_days": "14",
        "deadline_major_days": "400",
        "active": "1",
    }
    bad = post(client, page, token, **form)
    assert bad.status_code == 422
    assert field_error(bad.text, "deadline_major_days") == "须在 1 到 365 之间。"
    assert 'value="400"' in bad.text  # what was typed stays in the form
    order = post(client, page, token, **(form | {"deadline_major_days": "60"}))
    assert field_error(order.text, "deadline_minor_days").startswith("期限须随严重程度递增")
    good = post(
        client, page, token, **(form | {"deadline_minor_days": "3", "deadline_major_days": "60"})
    )
    assert good.status_code == 303
    session.expire_all()
    category = session.get(Category, "GARBAGE")
    assert category is not None
    assert (category.deadline_minor_days, category.name_en) == (3, "Garbage")
    assert "类别 GARBAGE 已保存。" in client.get("/admin/manage/categories").text
