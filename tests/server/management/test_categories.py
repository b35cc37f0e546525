"""Managing categories: names, default department and severity, deadlines per severity."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from server.accounts.models import User
from server.accounts.scope import Scope
from server.core.errors import ApiError
from server.management import categories
from tests.server.management.conftest import Actor
from tests.server.management.helpers import changes, error_fields, pull
from tests.world import login


def _form(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "GARBAGE",
        "name_zh": "垃圾堆积",
        "name_en": "Garbage pile",
        "default_department_code": "HOUSING_BUREAU",
        "default_severity": "general",
        "deadline_minor_days": 3,
        "deadline_general_days": 14,
        "deadline_major_days": 45,
    }
    return base | overrides


def test_a_changed_category_is_pulled_by_every_tablet(
    session: Session, actor: Actor, client: TestClient
) -> None:
    admin, _ = actor("admin")
    categories.update_category(
        session, actor=admin, **_form(default_severity="major", deadline_minor_days="2")
    )
    session.commit()
    for username in ("inspector_a", "patrol_b"):
        pulled = [c for c in pull(client, login(client, username)) if c["entity"] == "taxonomy"]
        assert len(pulled) == 1, username
        data = pulled[0]["data"]
        assert (data["code"], data["default_severity"], data["default_department"]) == (
            "GARBAGE",
            "major",
            "HOUSING_BUREAU",
        )
        assert data["deadline_days"] == {"minor": 2, "general": 14, "major": 45}


def test_saving_without_a_change_records_nothing(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    categories.update_category(session, actor=admin, **_form())
    categories.update_category(session, actor=admin, **_form())
    session.commit()  # the change log is written at commit (server/sync/changes.py)
    assert len(changes(session, "taxonomy")) == 1
    categories.update_category(session, actor=admin, **_form(default_department_code=""))
    assert categories.category_by_code(session, "GARBAGE").default_department_id is None
    session.commit()
    assert len(changes(session, "taxonomy")) == 2


def test_every_bad_field_is_named(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    with pytest.raises(ApiError) as info:
        categories.update_category(
            session,
            actor=admin,
            **_form(
                name_zh=" ",
                name_en="x" * 121,
                default_department_code="PC_A",
                default_severity="fatal",
                deadline_minor_days="soon",
                deadline_general_days=0,
                deadline_major_days=366,
            ),
        )
    assert error_fields(info) == {
        "name_zh",
        "name_en",
        "default_department_code",
        "default_severity",
        "deadline_minor_days",
        "deadline_general_days",
        "deadline_major_days",
    }
    assert not changes(session, "taxonomy")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(days=st.tuples(*[st.integers(min_value=-5, max_value=400)] * 3))
def test_deadlines_are_accepted_exactly_when_in_range_and_growing_with_severity(
    session: Session, actor: Actor, days: tuple[int, int, int]
) -> None:
    admin, _ = actor("admin")
    minor, general, major = days
    valid = 1 <= minor <= general <= major <= 365
    try:
        category = categories.update_category(
            session,
            actor=admin,
            **_form(
                deadline_minor_days=minor, deadline_general_days=general, deadline_major_days=major
            ),
        )
    except ApiError as exc:
        assert not valid, exc.message
        assert exc.status_code == 422
        assert {d["field"] for d in exc.details} <= {
            "deadline_minor_days",
            "deadline_general_days",
            "deadline_major_days",
        }
    else:
        assert valid
        assert (
            category.deadline_minor_days,
            category.deadline_general_days,
            category.deadline_major_days,
        ) == days
    finally:
        session.rollback()


def test_unknown_category_is_not_found(session: Session, actor: Actor) -> None:
    admin, _ = actor("admin")
    with pytest.raises(ApiError) as info:
        categories.update_category(session, actor=admin, **_form(code="NOPE"))
    assert info.value.status_code == 404


def _refused_only_an_admin_manages_categories(session: Session, user: User, scope: Scope) -> None:
    for call in (
        lambda: categories.list_categories(session, actor=user),
        lambda: categories.update_category(session, actor=user, **_form()),
    ):
        with pytest.raises(ApiError) as info:
            call()
        assert info.value.status_code == 403
    assert not changes(session, "taxonomy")


def test_only_an_admin_manages_categories(session: Session, actor: Actor) -> None:
    for username in ["supervisor_a", "inspector_a", "department_a", "patrol_a"]:
        user, scope = actor(username)
        _refused_only_an_admin_manages_categories(session, user, scope)
