"""Every JSON router, mounted under /api/v1 by the app factory."""

from fastapi import APIRouter

from server import health
from server.accounts import routes as accounts_routes
from server.areas import routes as areas_routes
from server.cases import routes as cases_routes
from server.reports import routes as reports_routes
from server.sync import routes as sync_routes
from server.taxonomy import routes as taxonomy_routes
from server.uploads import batch_routes as photo_batch_routes
from server.uploads import routes as uploads_routes
from server.workflow import routes as workflow_routes

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(accounts_routes.router)
api_router.include_router(taxonomy_routes.router)
api_router.include_router(areas_routes.router)
api_router.include_router(cases_routes.router)
api_router.include_router(workflow_routes.router)
api_router.include_router(reports_routes.router)
api_router.include_router(photo_batch_routes.router)  # before /photos/{photo_id}
api_router.include_router(uploads_routes.router)
api_router.include_router(sync_routes.router)
