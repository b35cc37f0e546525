"""FastAPI dependencies shared by every domain: settings, engine, session."""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.core.admission import DbAdmission
from server.core.config import Settings
from server.core.db import session_scope

# Dependencies that only read app state are `async`: a sync one costs a trip to the
# threadpool per request (measured: a good part of a small request's server CPU).


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def db_slot(request: Request) -> AsyncIterator[None]:
    """Admission (server/core/admission.py): held from before the session opens until
    after it closes."""
    admission: DbAdmission = request.app.state.db_admission
    async with admission.slot():
        yield


def get_session(
    _slot: Annotated[None, Depends(db_slot)], engine: Annotated[Engine, Depends(get_engine)]
) -> Iterator[Session]:
    yield from session_scope(engine)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]
