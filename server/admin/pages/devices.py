"""设备: every tablet's sync backlog as its last push reported it (server/sync)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from server.admin.context import AdminContext
from server.admin.deps import require_admin_roles
from server.admin.templating import render
from server.core.deps import SessionDep, SettingsDep
from server.sync.service import list_devices
from shared_schemas.enums import Role

router = APIRouter()

Staff = Annotated[AdminContext, Depends(require_admin_roles(Role.SUPERVISOR, Role.ADMIN))]


@router.get("/devices")
def devices_page(
    request: Request, ctx: Staff, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    devices = list_devices(session, scope=ctx.scope, settings=settings)
    attention = [d for d in devices.devices if d.silent or d.rejected_ops > 0]
    return render(
        request, "devices.html", active="devices", devices=devices, attention=len(attention)
    )
