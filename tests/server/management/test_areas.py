"""Managing areas: create and rename, each change pulled by the tablets in scope."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.accounts.models import User
from server.accounts.scope import Scope
from server.core.errors import ApiError
from server.management import areas
from shared_schemas.enums import AreaLevel
from tests.server.management.conftest import Actor
from tests.server.management.helpers import changes, error_fields, pull
from tests.world import login


def test_a_new_compound_reaches_the_tablets_of_its_grid_only(
    session: Session, actor: Actor, client: TestClient
) -> None:
    admin, _ = actor("admin")
    area = areas.create_area(
        session,
        actor=admin,
        code="CP_A2",
        name="幸福小区",
        name_en="Happiness Garden",
        level="compound",
        parent_code="G_A",
        property_company_code="PC_A",
        lat="31.2301",
        lon=121.4702,
    )
    session.commit()
    assert area.path.startswith("/1/") and area.level == AreaLevel.COMPOUND
    assert (area.lat, area.lon) == (31.2301, 121.4702)
    pulled_a = [c for c in pull(client, login(client, "inspector_a")) if c["entity"] == "area"]
    assert [(c["entity_id"], c["op"], c["data"]["parent_code"]) for c in pulled_a] == [
        ("CP_A2", "upsert", "G_A")
    ]
    pulled_b = pull(client, login(client, "inspector_b"))
    assert not [c for c in pulled_b if c["entity"] == "area"]


def test_create_reports_every_bad_field_at_once(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    with pytest.raises(ApiError) as info:
        areas.create_area(
            session,
            actor=admin,
            code="has space",
            name="",
            level="grid",
            parent_code="NOWHERE",
            property_company_code="FIRE_BRIGADE",
            lat="north",
            lon=500,
        )
    assert error_fields(info) == {
        "code",
        "name",
        "parent_code",
        "property_company_code",
        "lat",
        "lon",
    }
    assert not changes(session, "area")


def test_create_names_the_field_that_is_wrong(session: Session, actor: Actor) -> None:
    cases = [
        ("street", "G_A", {}, "level"),  # a street cannot sit inside a grid
        ("grid", None, {}, "parent_code"),  # only a district stands alone
        ("planet", "D1", {}, "level"),
        ("grid", "CM_A", {"property_company_code": "PC_A"}, "property_company_code"),
        ("grid", "CM_A", {"lat": 31.2}, "lon"),
        ("grid", "CM_A", {"name_en": "x" * 101}, "name_en"),
    ]
    for level, parent, extra, field in cases:
        admin, _ = actor("admin")
        with pytest.raises(ApiError) as info:
            areas.create_area(
                session,
                actor=admin,
                code="NEW",
                name="新区域",
                level=level,
                parent_code=parent,
                **extra,  # type: ignore[arg-type]
            )
        assert error_fields(info) == {field}


def test_an_existing_code_is_refused(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    with pytest.raises(ApiError) as info:
        areas.create_area(
            session, actor=admin, code="G_A", name="又一个", level="grid", parent_code="CM_A"
        )
    assert error_fields(info) == {"code"}
    assert "already exists" in info.value.message


def test_rename_is_pulled_and_a_rename_to_the_same_names_records_nothing(
    session: Session, actor: Actor, client: TestClient
) -> None:
    admin, _ = actor("admin")
    areas.rename_area(session, actor=admin, code="G_A", name=" 第一网格 ", name_en="Grid One")
    session.commit()
    pulled = [c for c in pull(client, login(client, "inspector_a")) if c["entity"] == "area"]
    assert [(c["entity_id"], c["data"]["name"]) for c in pulled] == [("G_A", "第一网格")]
    areas.rename_area(session, actor=admin, code="G_A", name="第一网格", name_en="Grid One")
    assert len(changes(session, "area")) == 1
    with pytest.raises(ApiError) as info:
        areas.rename_area(session, actor=admin, code="G_A", name="  ")
    assert error_fields(info) == {"name"}
    with pytest.raises(ApiError) as missing:
        areas.rename_area(session, actor=admin, code="NOWHERE", name="x")
    assert missing.value.status_code == 404


def _refused_only_an_admin_manages_areas(session: Session, user: User, scope: Scope) -> None:
    calls: list[Callable[[], object]] = [
        lambda: areas.list_areas(session, actor=user),
        lambda: areas.create_area(
            session, actor=user, code="X1", name="x", level="grid", parent_code="CM_A"
        ),
        lambda: areas.rename_area(session, actor=user, code="G_A", name="x"),
    ]
    for call in calls:
        with pytest.raises(ApiError) as info:
            call()
        assert info.value.status_code == 403
    assert not changes(session, "area")


def test_only_an_admin_manages_areas(session: Session, actor: Actor) -> None:
    for username in ["supervisor_a", "inspector_a", "department_a", "patrol_a"]:
        user, scope = actor(username)
        _refused_only_an_admin_manages_areas(session, user, scope)
