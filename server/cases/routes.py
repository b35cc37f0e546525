"""GET /cases and GET /cases/{id}: scoped reads (writes go through transitions)."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from server.accounts.deps import CurrentScope
from server.cases.queries import case_detail, list_cases
from server.cases.schemas import CaseDetail, CaseFilters, CasePage
from server.core.deps import SessionDep
from server.core.errors import ERROR_RESPONSES
from shared_schemas.enums import CaseStatus, CategoryGroup

router = APIRouter(tags=["cases"], responses={k: ERROR_RESPONSES[k] for k in (401, 404, 422)})

API_PREFIX = "/api/v1"


@router.get("/cases", response_model=CasePage)
def get_cases(
    session: SessionDep,
    scope: CurrentScope,
    status: Annotated[list[CaseStatus], Query()] = [],  # noqa: B006 - FastAPI query lists
    category: Annotated[list[str], Query()] = [],  # noqa: B006
    group: CategoryGroup | None = None,
    area: Annotated[str | None, Query(max_length=40)] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    overdue: bool | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    filters = CaseFilters(
        status=status,
        category=category,
        group=group,
        area=area,
        department=department,
        overdue=overdue,
        created_from=created_from,
        created_to=created_to,
        q=q,
    )
    return list_cases(session, scope=scope, filters=filters, cursor=cursor, limit=limit)


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(case_id: UUID, session: SessionDep, scope: CurrentScope) -> CaseDetail:
    return case_detail(session, scope=scope, case_id=case_id, api_prefix=API_PREFIX)
