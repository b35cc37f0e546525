"""/health and the behaviour when the database is unreachable (503, nothing written)."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.accounts.tokens import issue_access_token
from server.core.config import Settings
from server.main import create_app
from shared_schemas.enums import Role


def test_health_ok(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def unreachable_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        # A directory cannot be opened as a database file.
        (tmp_path / "not-a-file").mkdir()
        return f"sqlite:///{tmp_path / 'not-a-file'}"
    return "postgresql+psycopg://whistle:whistle@127.0.0.1:1/nowhere"


@pytest.fixture
def down_client(settings: Settings, db_backend: str, tmp_path: Path) -> TestClient:
    broken = settings.model_copy(update={"database_url": unreachable_url(db_backend, tmp_path)})
    return TestClient(create_app(broken))


def test_health_reports_database_down(down_client: TestClient) -> None:
    response = down_client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


def test_requests_get_503_envelope_when_database_down(
    down_client: TestClient, settings: Settings
) -> None:
    from uuid import uuid4

    token = issue_access_token(
        settings, user_id=uuid4(), role=Role.ADMIN, family_id=uuid4(), device_id=None
    )
    response = down_client.get("/api/v1/taxonomy", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert response.headers["Retry-After"]


def test_unknown_path_is_enveloped(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
