"""Fixtures for the management services: acting users of the two-street world."""

from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from server.accounts.models import User
from server.accounts.scope import Scope, scope_for
from tests.world import World

Actor = Callable[[str], tuple[User, Scope]]


@pytest.fixture
def actor(session: Session, world: World) -> Actor:
    """The user of that name and their scope, read afresh."""

    def get(username: str) -> tuple[User, Scope]:
        user = session.exec(select(User).where(User.username == username)).one()
        return user, scope_for(session, user)

    return get
