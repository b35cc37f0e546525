"""GET /cases and GET /cases/{id}: scoped reads (workflow writes go through transitions);
POST /cases/{id}/photos: photos from the web for a transition's `photo_ids`."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Query, UploadFile

from server.accounts.deps import CurrentScope, CurrentUser
from server.cases import web_photos
from server.cases.queries import case_detail, list_cases, photo_out
from server.cases.schemas import AddedPhotos, CaseDetail, CaseFilters, CasePage
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ERROR_RESPONSES
from server.storage.deps import StorageDep
from shared_schemas.enums import CaseStatus, CategoryGroup
from shared_schemas.errors import ErrorEnvelope

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


_PHOTO_ERRORS: dict[int | str, dict[str, Any]] = {
    **{k: ERROR_RESPONSES[k] for k in (401, 403, 404, 422, 503)},
    400: {"model": ErrorEnvelope, "description": "Not a readable multipart body"},
    409: {
        "model": ErrorEnvelope,
        "description": "The case's state takes no photos now (`invalid_transition`)",
    },
    413: {"model": ErrorEnvelope, "description": "A file is over WHISTLE_UPLOAD_MAX_BYTES"},
    415: {"model": ErrorEnvelope, "description": "A file is not a whole JPEG, PNG or WebP"},
}


@router.post(
    "/cases/{case_id}/photos",
    status_code=201,
    response_model=AddedPhotos,
    responses=_PHOTO_ERRORS,
    # The parser refuses (400) far more files than the service allows (422), so a
    # request cannot make it spool thousands of parts.
    form_limits={"max_files": 4 * web_photos.MAX_FILES, "max_fields": 20},
)
def post_case_photos(
    case_id: UUID,
    files: Annotated[
        list[UploadFile],
        File(description=f"JPEG, PNG or WebP; the field repeated, 1 to {web_photos.MAX_FILES}"),
    ],
    session: SessionDep,
    user: CurrentUser,
    scope: CurrentScope,
    settings: SettingsDep,
    storage: StorageDep,
) -> AddedPhotos:
    """Put photos on the case (e.g. the "after" photos of a rectification), for the
    `photo_ids` of the next transition. Allowed to whoever may take an action that takes
    photos on the case now (mark_rectified: the department it is dispatched to, its
    supervisors, admins). One refused file refuses all of them; nothing is written."""
    added = web_photos.add_case_photos(
        session,
        user=user,
        scope=scope,
        storage=storage,
        case_id=case_id,
        files=files,
        max_bytes=settings.upload_max_bytes,
        now=utcnow(),
    )
    session.commit()
    return AddedPhotos(photos=[photo_out(p, api_prefix=API_PREFIX) for p in added])
