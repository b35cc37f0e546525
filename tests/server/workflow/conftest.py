"""Fixtures for the workflow tests: signed-in headers per user of the two-street world."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.world import World, login


@pytest.fixture
def as_user(client: TestClient, world: World) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a user of the world, signed in once per test."""
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = login(client, username, device_id=f"dev-{username}")
        return cache[username]

    return headers
