"""GET /areas: the area tree as far as this user may see it."""

from fastapi import APIRouter

from server.accounts.deps import CurrentScope
from server.areas.service import visible_areas
from server.core.deps import SessionDep
from server.core.errors import ERROR_RESPONSES
from shared_schemas.api import AreasOut

router = APIRouter(tags=["reference data"], responses={401: ERROR_RESPONSES[401]})


@router.get("/areas", response_model=AreasOut)
def get_areas(session: SessionDep, scope: CurrentScope) -> AreasOut:
    return AreasOut(areas=visible_areas(session, scope))
