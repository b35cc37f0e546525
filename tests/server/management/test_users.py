"""Managing user accounts: create, disable/enable, reset password, assign areas."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from server.accounts.models import RefreshToken, User, UserArea
from server.accounts.scope import Scope
from server.areas.models import Area
from server.core.config import Settings
from server.core.errors import ApiError
from server.management import users
from shared_schemas.enums import Role
from tests.server.management.conftest import Actor
from tests.server.management.helpers import API, changes, error_fields
from tests.world import PASSWORD, World, login

NEW_PASSWORD = "a brand new password"


def _user_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(User)).one())


def _login_status(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password, "device_id": "t-9"}
    status: int = client.post(f"{API}/auth/login", json=body).status_code
    return status


def test_admin_creates_an_inspector_who_can_sign_in(
    session: Session, settings: Settings, actor: Actor, client: TestClient
) -> None:
    admin, scope = actor("admin")
    user = users.create_user(
        session,
        settings,
        actor=admin,
        scope=scope,
        username="  wang.wei ",
        display_name="王伟",
        password=NEW_PASSWORD,
        role="inspector",
        area_codes=["G_A", " "],
        locale="en",
    )
    session.commit()
    assert (user.username, user.display_name, user.role, user.locale) == (
        "wang.wei",
        "王伟",
        Role.INSPECTOR,
        "en",
    )
    assert _login_status(client, "wang.wei", NEW_PASSWORD) == 200
    rows = {r.username: r for r in users.list_users(session, actor=admin, scope=scope)}
    assert rows["wang.wei"].area_codes == ("G_A",)


def test_create_reports_every_bad_field_at_once_and_writes_nothing(
    session: Session, settings: Settings, actor: Actor
) -> None:
    admin, scope = actor("admin")
    before = _user_count(session)
    with pytest.raises(ApiError) as info:
        users.create_user(
            session,
            settings,
            actor=admin,
            scope=scope,
            username="x",
            display_name="line\nbreak",
            password="short",
            role="inspector",
            area_codes=["NOWHERE"],
            locale="fr",
        )
    assert error_fields(info) == {"username", "display_name", "password", "area_codes", "locale"}
    assert "username:" in info.value.message and "(and 4 more)" in info.value.message
    session.rollback()
    assert _user_count(session) == before


def test_each_role_needs_its_own_kind_of_link(
    session: Session, settings: Settings, actor: Actor
) -> None:
    admin, scope = actor("admin")
    cases: list[tuple[str, str | None, str]] = [
        ("inspector", None, "area_codes"),
        ("supervisor", None, "area_codes"),
        ("patrol", None, "organisation_code"),
        ("patrol", "FIRE_BRIGADE", "organisation_code"),  # a department, not a company
        ("department", "PC_A", "organisation_code"),  # a company, not a department
        ("admin", "FIRE_BRIGADE", "organisation_code"),
        ("mayor", None, "role"),
    ]
    for role, organisation, field in cases:
        with pytest.raises(ApiError) as info:
            users.create_user(
                session,
                settings,
                actor=admin,
                scope=scope,
                username="someone",
                display_name="",
                password=NEW_PASSWORD,
                role=role,
                area_codes=[],
                organisation_code=organisation,
            )
        assert error_fields(info) == {field}, role


def test_a_taken_username_is_a_conflict_naming_the_field(
    session: Session, settings: Settings, actor: Actor
) -> None:
    admin, scope = actor("admin")
    with pytest.raises(ApiError) as info:
        users.create_user(
            session,
            settings,
            actor=admin,
            scope=scope,
            username="inspector_a",
            display_name="",
            password=NEW_PASSWORD,
            role=Role.INSPECTOR,
            area_codes=["G_A"],
        )
    assert (info.value.status_code, info.value.code) == (409, "username_taken")
    assert info.value.details[0]["field"] == "username"


def test_a_supervisor_manages_only_inspectors_of_their_own_street(
    session: Session, settings: Settings, actor: Actor, world: World
) -> None:
    supervisor, scope = actor("supervisor_a")
    listed = {r.username for r in users.list_users(session, actor=supervisor, scope=scope)}
    assert listed == {"inspector_a"}
    created = users.create_user(
        session,
        settings,
        actor=supervisor,
        scope=scope,
        username="grid_worker_2",
        display_name="",
        password=NEW_PASSWORD,
        role=Role.INSPECTOR,
        area_codes=["G_A"],
    )
    assert created.role == Role.INSPECTOR
    # Another street's grid reads as unknown (its existence is not revealed).
    with pytest.raises(ApiError) as info:
        users.create_user(
            session,
            settings,
            actor=supervisor,
            scope=scope,
            username="grid_worker_3",
            display_name="",
            password=NEW_PASSWORD,
            role=Role.INSPECTOR,
            area_codes=["G_B"],
        )
    assert error_fields(info) == {"area_codes"}
    assert "no area you manage" in info.value.details[0]["message"]
    with pytest.raises(ApiError) as forbidden:
        users.create_user(
            session,
            settings,
            actor=supervisor,
            scope=scope,
            username="boss",
            display_name="",
            password=NEW_PASSWORD,
            role=Role.ADMIN,
            area_codes=[],
        )
    assert forbidden.value.status_code == 403
    for other in ("inspector_b", "supervisor_b", "patrol_a", "admin"):
        with pytest.raises(ApiError) as hidden:
            users.set_user_active(
                session, actor=supervisor, scope=scope, user_id=world.user_ids[other], active=False
            )
        assert hidden.value.status_code == 404, other


def _refused_other_roles_may_not_manage_users(
    session: Session, settings: Settings, user: User, scope: Scope, world: World
) -> None:
    calls: list[Callable[[], object]] = [
        lambda: users.list_users(session, actor=user, scope=scope),
        lambda: users.create_user(
            session,
            settings,
            actor=user,
            scope=scope,
            username="sneaky",
            display_name="",
            password=NEW_PASSWORD,
            role=Role.INSPECTOR,
            area_codes=["G_A"],
        ),
        lambda: users.reset_password(
            session,
            settings,
            actor=user,
            scope=scope,
            user_id=world.user_ids["inspector_a"],
            new_password=NEW_PASSWORD,
        ),
    ]
    for call in calls:
        with pytest.raises(ApiError) as info:
            call()
        assert info.value.status_code == 403


def test_other_roles_may_not_manage_users(
    session: Session, settings: Settings, actor: Actor, world: World
) -> None:
    for username in ["inspector_a", "patrol_a", "department_a"]:
        user, scope = actor(username)
        _refused_other_roles_may_not_manage_users(session, settings, user, scope, world)


def test_disabling_ends_every_sign_in_at_once_and_enabling_allows_a_new_one(
    session: Session, actor: Actor, client: TestClient, world: World
) -> None:
    admin, scope = actor("admin")
    headers = login(client, "inspector_a")
    tokens = client.post(
        f"{API}/auth/login",
        json={"username": "inspector_a", "password": PASSWORD, "device_id": "t-2"},
    ).json()
    users.set_user_active(
        session, actor=admin, scope=scope, user_id=world.user_ids["inspector_a"], active=False
    )
    session.commit()
    me = client.get(f"{API}/me", headers=headers)
    assert me.status_code == 401
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    assert _login_status(client, "inspector_a", PASSWORD) == 403
    live = session.exec(
        select(func.count())
        .select_from(RefreshToken)
        .where(RefreshToken.user_id == world.user_ids["inspector_a"])
        .where(col(RefreshToken.revoked_at).is_(None))
    ).one()
    assert live == 0
    users.set_user_active(
        session, actor=admin, scope=scope, user_id=world.user_ids["inspector_a"], active=True
    )
    session.commit()
    assert _login_status(client, "inspector_a", PASSWORD) == 200


def test_nobody_can_disable_their_own_account(session: Session, actor: Actor) -> None:
    admin, scope = actor("admin")
    with pytest.raises(ApiError) as info:
        users.set_user_active(session, actor=admin, scope=scope, user_id=admin.id, active=False)
    assert (info.value.status_code, info.value.code) == (409, "cannot_disable_self")


def test_reset_password_revokes_the_refresh_tokens_and_the_old_password(
    session: Session, settings: Settings, actor: Actor, client: TestClient, world: World
) -> None:
    supervisor, scope = actor("supervisor_a")
    tokens = client.post(
        f"{API}/auth/login",
        json={"username": "inspector_a", "password": PASSWORD, "device_id": "t-1"},
    ).json()
    before = session.get(User, world.user_ids["inspector_a"])
    assert before is not None
    changed_at = before.password_changed_at
    revoked = users.reset_password(
        session,
        settings,
        actor=supervisor,
        scope=scope,
        user_id=world.user_ids["inspector_a"],
        new_password=NEW_PASSWORD,
    )
    session.commit()
    assert revoked == 1
    refreshed = client.post(f"{API}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.json()["error"]["code"] == "refresh_token_revoked"
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.json()["error"]["code"] == "token_revoked"
    assert _login_status(client, "inspector_a", PASSWORD) == 401
    assert _login_status(client, "inspector_a", NEW_PASSWORD) == 200
    session.refresh(before)
    assert before.password_changed_at > changed_at


def test_reset_password_refuses_a_short_one(
    session: Session, settings: Settings, actor: Actor, world: World
) -> None:
    admin, scope = actor("admin")
    with pytest.raises(ApiError) as info:
        users.reset_password(
            session,
            settings,
            actor=admin,
            scope=scope,
            user_id=world.user_ids["inspector_b"],
            new_password="1234567",
        )
    assert error_fields(info) == {"new_password"}


def test_assigning_areas_replaces_them_and_sends_the_new_ones_to_the_tablet(
    session: Session, actor: Actor, world: World
) -> None:
    admin, scope = actor("admin")
    user_id = world.user_ids["inspector_a"]
    users.assign_areas(session, actor=admin, scope=scope, user_id=user_id, area_codes=["G_B"])
    session.commit()
    linked = session.exec(
        select(Area.code)
        .join(UserArea, col(UserArea.area_id) == col(Area.id))
        .where(UserArea.user_id == user_id)
    ).all()
    assert linked == ["G_B"]
    assert {c.entity_id for c in changes(session, "area")} == {"G_B", "CP_B"}
    # Assigning the same again changes nothing and records nothing more.
    users.assign_areas(session, actor=admin, scope=scope, user_id=user_id, area_codes=["G_B"])
    assert len(changes(session, "area")) == 2


def test_assigning_areas_is_checked(session: Session, actor: Actor, world: World) -> None:
    supervisor, scope = actor("supervisor_a")
    cases = [
        ("inspector_a", ["G_B"], "area_codes"),  # another street
        ("inspector_a", [], "area_codes"),  # an inspector needs a grid
    ]
    for username, codes, field in cases:
        with pytest.raises(ApiError) as info:
            users.assign_areas(
                session,
                actor=supervisor,
                scope=scope,
                user_id=world.user_ids[username],
                area_codes=codes,
            )
        assert error_fields(info) == {field}
    admin, admin_scope = actor("admin")
    with pytest.raises(ApiError) as patrol:
        users.assign_areas(
            session,
            actor=admin,
            scope=admin_scope,
            user_id=world.user_ids["patrol_a"],
            area_codes=["CP_A"],
        )
    assert error_fields(patrol) == {"area_codes"}
