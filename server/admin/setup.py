"""Wiring the admin into the application: static files, routes, HTML error pages."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from server.admin.errors import install_admin_error_handlers
from server.admin.i18n import set_strict
from server.admin.router import admin_router
from server.admin.templating import STATIC_DIR, STATIC_PREFIX
from server.core.config import Settings


def install_admin(app: FastAPI, settings: Settings) -> None:
    """Call after the API's error handlers are installed (the admin wraps them)."""
    set_strict(settings.env != "production")
    # Vendored htmx, Leaflet and Chart.js are served from here: never from a CDN.
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="admin-static")
    app.include_router(admin_router)
    install_admin_error_handlers(app)
