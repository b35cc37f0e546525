"""Fixtures for the account tests."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import User
from tests.server.accounts.helpers import Auth
from tests.world import World


@pytest.fixture
def auth(client: TestClient, world: World) -> Auth:
    return Auth(client)


@pytest.fixture
def client_from(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    """Test clients whose requests come from a given client address."""
    with ExitStack() as stack:

        def make(address: str) -> TestClient:
            return stack.enter_context(TestClient(app, client=(address, 50000)))

        yield make


@pytest.fixture
def set_active(engine: Engine) -> Callable[[str, bool], None]:
    """Enable or disable a user directly in the database."""

    def set_(username: str, active: bool) -> None:
        with Session(engine) as s:
            user = s.exec(select(User).where(User.username == username)).one()
            user.is_active = active
            s.add(user)
            s.commit()

    return set_
