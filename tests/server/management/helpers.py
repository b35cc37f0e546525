"""Helpers for the management tests: read the change log, pull as a tablet, error fields."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from server.core.errors import ApiError
from server.sync.models import ChangeLog

API = "/api/v1"


def changes(session: Session, entity: str) -> list[ChangeLog]:
    return list(session.exec(select(ChangeLog).where(ChangeLog.entity == entity)))


def pull(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every change the user may pull from the start."""
    response = client.get(f"{API}/sync/pull", params={"cursor": 0, "limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["changes"]
    return result


def error_fields(info: pytest.ExceptionInfo[ApiError]) -> set[str]:
    """The fields a 422 names (and checks it is one)."""
    assert info.value.status_code == 422, info.value.message
    assert info.value.code == "validation_error"
    return {d["field"] for d in info.value.details}
