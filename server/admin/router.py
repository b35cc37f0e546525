"""The admin's routes under /admin, outside the OpenAPI schema (the JSON API is there).

A new page: write server/admin/pages/<name>.py with `router = APIRouter()` and include it
below. Every route gets the CSRF check (refuses unsafe methods without the token).
"""

from fastapi import APIRouter, Depends

from server.admin.csrf import csrf_protect
from server.admin.pages import (
    auth_pages,
    case_detail,
    cases,
    devices,
    map_page,
    photos,
    triage,
)

admin_router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(csrf_protect)]
)
admin_router.include_router(auth_pages.router)
admin_router.include_router(triage.router)
admin_router.include_router(devices.router)
admin_router.include_router(cases.router)
admin_router.include_router(case_detail.router)
admin_router.include_router(map_page.router)
admin_router.include_router(photos.router)

# H6: dashboard, exports, management.
from server.admin.pages import dashboard, exports, manage_reference, manage_users  # noqa: E402

admin_router.include_router(dashboard.router)
admin_router.include_router(exports.router)
admin_router.include_router(manage_users.router)
admin_router.include_router(manage_reference.router)
