"""The application factories. `whistle-server serve` runs `serve_app` (uvicorn, factory
mode); tests and scripts embed `create_app`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server.admin.setup import install_admin
from server.cases.web_photos import MAX_FILES
from server.core import warm_up
from server.core.admission import DbAdmission
from server.core.body_limit import MultipartBodyLimit
from server.core.config import Settings, get_settings
from server.core.db import make_engine
from server.core.errors import install_error_handlers
from server.core.planner_stats import periodic_refresh
from server.reports.cache import IndicatorCache
from server.routers import api_router
from server.storage.factory import make_storage
from server.uploads.tus import TusResumableHeader

API_PREFIX = "/api/v1"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with periodic_refresh(app.state.engine):  # SQLite's planner statistics
        if app.state.server_process:
            await warm_up.prepare(app)
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Whistle",
        version="0.1.0",
        description="Field inspection of residential-community hazards: offline capture, "
        "sync, and the closed loop of registration, dispatch, rectification and verification.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.server_process = False  # serve_app sets it: warm up at start
    app.state.engine = make_engine(settings)
    app.state.db_admission = DbAdmission(
        slots=settings.db_pool_size, wait_s=settings.db_admission_wait_s
    )
    app.state.indicator_cache = IndicatorCache(ttl_s=settings.indicator_cache_ttl_s)
    app.state.storage = make_storage(settings)
    app.add_middleware(TusResumableHeader, path_prefix=f"{API_PREFIX}/uploads")
    # The most files one step takes, each at the upload limit, plus the form's own fields.
    app.add_middleware(
        MultipartBodyLimit, max_bytes=MAX_FILES * settings.upload_max_bytes + 1024 * 1024
    )
    install_error_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)
    install_admin(app, settings)  # /admin: the web admin (not in the OpenAPI schema)
    return app


def serve_app() -> FastAPI:
    """The factory a server process runs: `create_app`, warmed up and its heap frozen at
    start (server/core/warm_up.py)."""
    app = create_app()
    app.state.server_process = True
    return app
