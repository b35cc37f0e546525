"""POST /auth/login and GET /me."""

import hashlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import RefreshToken, User
from server.accounts.passwords import burn_verify_time, hash_password
from server.core.config import Settings
from tests.server.accounts.helpers import API, Auth, error_code, jwt_claims
from tests.world import World


def test_login_returns_tokens_and_the_user(auth: Auth, settings: Settings, world: World) -> None:
    body = auth.tokens("inspector_a", device_id="tablet-7")

    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl_s
    assert body["refresh_expires_in"] == settings.refresh_token_ttl_days * 86400
    assert body["user"]["username"] == "inspector_a"
    assert body["user"]["role"] == "inspector"
    claims = jwt_claims(body["access_token"])
    assert claims["sub"] == str(world.user_ids["inspector_a"])
    assert claims["dev"] == "tablet-7"
    assert claims["typ"] == "access"


def test_refresh_token_is_stored_only_as_its_hash(auth: Auth, session: Session) -> None:
    body = auth.tokens("inspector_a")

    rows = session.exec(select(RefreshToken)).all()
    assert len(rows) == 1
    assert rows[0].token_hash == hashlib.sha256(body["refresh_token"].encode()).hexdigest()
    assert body["refresh_token"] not in {rows[0].token_hash, str(rows[0].id)}
    assert rows[0].device_id == "tablet-1"
    assert str(rows[0].family_id) == jwt_claims(body["access_token"])["fam"]


def test_login_without_device_id(auth: Auth) -> None:
    body = auth.tokens("supervisor_a", device_id=None)
    assert auth.me(body["access_token"]).status_code == 200


def test_unknown_user_and_wrong_password_look_the_same(
    auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    burned: list[Settings] = []

    def spy(settings: Settings) -> None:
        burned.append(settings)
        burn_verify_time(settings)

    monkeypatch.setattr("server.accounts.service.burn_verify_time", spy)

    wrong_password = auth.login("inspector_a", "not the password")
    assert not burned
    unknown_user = auth.login("nobody_here", "not the password")
    assert burned, "an unknown user name must cost a password verification too"

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    assert error_code(unknown_user) == "invalid_credentials"
    assert wrong_password.headers.get("WWW-Authenticate") == "Bearer"


def test_disabled_account_is_named_only_with_the_right_password(
    auth: Auth, set_active: Callable[[str, bool], None]
) -> None:
    set_active("inspector_a", False)

    right = auth.login("inspector_a")
    assert right.status_code == 403
    assert error_code(right) == "account_disabled"

    wrong = auth.login("inspector_a", "not the password")
    assert wrong.status_code == 401
    assert error_code(wrong) == "invalid_credentials"


@pytest.mark.parametrize(
    "body",
    [
        {"username": "inspector_a"},
        {"username": "", "password": "x"},
        {"username": "inspector_a", "password": "x", "extra": 1},
        {"username": "inspector_a", "password": "x", "device_id": "bad device id!"},
    ],
)
def test_login_validation(client: TestClient, world: World, body: dict[str, object]) -> None:
    response = client.post(f"{API}/auth/login", json=body)
    assert response.status_code == 422
    assert error_code(response) == "validation_error"


def test_outdated_password_hash_is_upgraded_on_login(
    auth: Auth, engine: Engine, settings: Settings
) -> None:
    weaker = settings.model_copy(update={"argon2_memory_kib": settings.argon2_memory_kib // 2})
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "inspector_a")).one()
        user.password_hash = hash_password("old-params-password", weaker)
        s.add(user)
        s.commit()
        old_hash = user.password_hash

    assert auth.login("inspector_a", "old-params-password").status_code == 200

    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "inspector_a")).one()
        assert user.password_hash != old_hash
        assert f"m={settings.argon2_memory_kib}," in user.password_hash
    assert auth.login("inspector_a", "old-params-password").status_code == 200


def test_me_shows_role_and_areas(auth: Auth) -> None:
    body = auth.tokens("inspector_a")
    me = auth.me(body["access_token"])

    assert me.status_code == 200
    info = me.json()
    assert info["username"] == "inspector_a"
    assert info["role"] == "inspector"
    assert info["areas"] == [{"code": "G_A", "name": "网格A", "level": "grid"}]
    assert info["organisation"] is None
    assert body["user"] == info


def test_me_shows_organisation(auth: Auth) -> None:
    info = auth.me(auth.tokens("department_b")["access_token"]).json()
    assert info["role"] == "department"
    assert info["organisation"]["code"] == "HOUSING_BUREAU"
    assert info["organisation"]["kind"] == "department"
    assert info["areas"] == []

    supervisor = auth.me(auth.tokens("supervisor_a")["access_token"]).json()
    assert [a["code"] for a in supervisor["areas"]] == ["ST_A"]


def test_me_shows_a_patrol_the_compounds_of_its_company(auth: Auth) -> None:
    info = auth.me(auth.tokens("patrol_b")["access_token"]).json()
    assert info["organisation"]["code"] == "PC_B"
    assert [a["code"] for a in info["areas"]] == ["CP_B"]


def test_me_needs_a_token(client: TestClient, world: World) -> None:
    response = client.get(f"{API}/me")
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_openapi_documents_the_auth_errors(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    login = paths[f"{API}/auth/login"]["post"]["responses"]
    assert {"200", "401", "403", "422", "429"} <= set(login)
    assert "Retry-After" in login["429"]["headers"]
    assert login["401"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    assert {"200", "401", "422"} <= set(paths[f"{API}/auth/refresh"]["post"]["responses"])
    assert {"204", "401"} <= set(paths[f"{API}/auth/logout"]["post"]["responses"])
    assert {"200", "401"} <= set(paths[f"{API}/me"]["get"]["responses"])
