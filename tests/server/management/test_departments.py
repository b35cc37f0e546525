"""Managing responsible departments: create, rename, deactivate, reactivate."""

from collections.abc import Callable

import pytest
from sqlmodel import Session

from server.accounts.models import User
from server.accounts.scope import Scope
from server.core.errors import ApiError
from server.management import categories, departments
from server.taxonomy.service import taxonomy_out
from tests.server.management.conftest import Actor
from tests.server.management.helpers import error_fields


def _offered(session: Session) -> set[str]:
    return {d.code for d in taxonomy_out(session).departments}


def test_create_rename_deactivate_and_reactivate(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    dept = departments.create_department(
        session, actor=admin, code="WATER_CO", name_zh="供水企业", name_en="Water company"
    )
    assert dept.code in _offered(session)
    departments.rename_department(
        session, actor=admin, code="WATER_CO", name_zh="自来水公司", name_en="Waterworks"
    )
    assert (dept.name_zh, dept.name_en) == ("自来水公司", "Waterworks")
    departments.set_department_active(session, actor=admin, code="WATER_CO", active=False)
    assert "WATER_CO" not in _offered(session)
    listed = {d.code: d.is_active for d in departments.list_departments(session, actor=admin)}
    assert listed["WATER_CO"] is False
    departments.set_department_active(session, actor=admin, code="WATER_CO", active=True)
    assert "WATER_CO" in _offered(session)


def test_a_default_department_cannot_be_deactivated(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    with pytest.raises(ApiError) as info:
        departments.set_department_active(session, actor=admin, code="FIRE_BRIGADE", active=False)
    assert (info.value.status_code, info.value.code) == (409, "department_in_use")
    assert "FIRE_LANE" in info.value.details["categories"]
    assert "FIRE_LANE" in info.value.message


def test_create_names_the_wrong_fields(session: Session, actor: Actor) -> None:
    cases = [
        ("water", "供水", "Water", {"code"}),
        ("FIRE_BRIGADE", "消防", "Fire", {"code"}),  # taken
        ("PC_A", "物业", "Company", {"code"}),  # taken by a property company
        ("WATER", "", "x" * 101, {"name_zh", "name_en"}),
    ]
    for code, name_zh, name_en, wrong in cases:
        admin, _ = actor("admin")
        with pytest.raises(ApiError) as info:
            departments.create_department(
                session, actor=admin, code=code, name_zh=name_zh, name_en=name_en
            )
        assert error_fields(info) == wrong


def test_unknown_department_and_non_department_are_not_found(
    session: Session, actor: Actor
) -> None:
    admin, _ = actor("admin")
    for code in ("NOPE", "PC_A"):
        with pytest.raises(ApiError) as info:
            departments.rename_department(session, actor=admin, code=code, name_zh="x", name_en="x")
        assert info.value.status_code == 404


def test_a_deactivated_department_cannot_become_a_default(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    departments.create_department(
        session, actor=admin, code="OLD_DEPT", name_zh="旧", name_en="Old"
    )
    departments.set_department_active(session, actor=admin, code="OLD_DEPT", active=False)
    category = categories.category_by_code(session, "GARBAGE")
    with pytest.raises(ApiError) as info:
        categories.update_category(
            session,
            actor=admin,
            code="GARBAGE",
            name_zh=category.name_zh,
            name_en=category.name_en,
            default_department_code="OLD_DEPT",
            default_severity=category.default_severity,
            deadline_minor_days=7,
            deadline_general_days=30,
            deadline_major_days=60,
        )
    assert error_fields(info) == {"default_department_code"}


def _refused_only_an_admin_manages_departments(session: Session, user: User, scope: Scope) -> None:
    calls: list[Callable[[], object]] = [
        lambda: departments.list_departments(session, actor=user),
        lambda: departments.create_department(
            session, actor=user, code="X_DEPT", name_zh="x", name_en="x"
        ),
        lambda: departments.rename_department(
            session, actor=user, code="FIRE_BRIGADE", name_zh="x", name_en="x"
        ),
        lambda: departments.set_department_active(
            session, actor=user, code="HOUSING_BUREAU", active=False
        ),
    ]
    for call in calls:
        with pytest.raises(ApiError) as info:
            call()
        assert info.value.status_code == 403


def test_only_an_admin_manages_departments(session: Session, actor: Actor) -> None:
    for username in ["supervisor_a", "inspector_a", "department_a", "patrol_a"]:
        user, scope = actor(username)
        _refused_only_an_admin_manages_departments(session, user, scope)
