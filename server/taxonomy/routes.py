"""GET /taxonomy: categories and departments, for the tablet's pickers and the admin."""

from fastapi import APIRouter

from server.accounts.deps import CurrentUser
from server.core.deps import SessionDep
from server.core.errors import ERROR_RESPONSES
from server.taxonomy.service import taxonomy_out
from shared_schemas.api import TaxonomyOut

router = APIRouter(tags=["reference data"], responses={401: ERROR_RESPONSES[401]})


@router.get("/taxonomy", response_model=TaxonomyOut)
def get_taxonomy(session: SessionDep, _user: CurrentUser) -> TaxonomyOut:
    return taxonomy_out(session)
