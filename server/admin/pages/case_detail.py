"""One case: photos, map, timeline, and the actions this user may take in this state.

An action whose rule takes photos (mark_rectified's "after" photos) has a file input: its
form posts multipart, and the photos (server/cases/web_photos.py) and the transition are
written in one transaction, so a refused file or a 409 leaves no photo behind.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from server.admin.auth import push_flash
from server.admin.case_page import CasePageData, case_page_data
from server.admin.context import AdminContext
from server.admin.deps import AdminCtx
from server.admin.i18n import add_messages
from server.admin.templating import render
from server.admin.words import STATUS_COLOURS, action_label
from server.admin.workflow_ui import (
    build_request,
    deadline_from_day,
    flash_refusal,
    run_single,
    short_id,
    uuid_or_none,
)
from server.cases.schemas import PhotoOut
from server.cases.web_photos import (
    MAX_FILES,
    PHOTO_ACTIONS,
    PhotoRefused,
    add_photos,
    check_may_add,
)
from server.core.clock import utcnow
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ApiError
from server.storage.base import PhotoStorage
from server.storage.deps import StorageDep
from server.workflow.rules import (
    FIELD_ASSIGNEE,
    FIELD_DEADLINE,
    FIELD_DEPARTMENT,
    FIELD_DUPLICATE_OF,
    RULES,
    Action,
)
from server.workflow.schemas import TransitionRequest

router = APIRouter()

MESSAGES: dict[str, tuple[str, str]] = {
    "photos.step": ("照片", "Photo"),
    "photos.form.files": (
        "照片（可多选，最多 {max} 张，每张不超过 {size}）",
        "Photos (several at once: at most {max}, each up to {size})",
    ),
    "photos.form.note": ("整改说明（或上传整改后照片）", "What was done (or attach after photos)"),
    "photos.error.too_large": (
        "照片「{file}」超过 {size} 的上限；未保存任何照片。",
        "Photo {file} is larger than the limit of {size}; no photo was saved.",
    ),
    "photos.error.not_an_image": (
        "「{file}」不是完整的 JPEG、PNG 或 WebP 图片；未保存任何照片。",
        "{file} is not a whole JPEG, PNG or WebP image; no photo was saved.",
    ),
    "photos.error.too_many": (
        "一次最多上传 {max} 张照片；未保存任何照片。",
        "At most {max} photos at a time; no photo was saved.",
    ),
    "photos.error.no_photos_here": ("「{action}」不带照片。", "{action} takes no photos."),
}
add_messages(MESSAGES)

# The file input sends these types; the server checks the bytes anyway (verify_image).
PHOTO_ACCEPT = "image/jpeg,image/png,image/webp"


def size_words(n: int) -> str:
    """Bytes for people: 15 MB, 512 KB."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{max(1, n // 1024)} KB"


def _timeline_photos(data: CasePageData) -> list[list[PhotoOut]]:
    """Each timeline entry's photos (the ids its event recorded), in the entry's order."""
    by_id = {str(p.id): p for p in data.case.photos}
    return [
        [by_id[i] for i in entry.event.changes.get("photo_ids", []) if i in by_id]
        for entry in data.timeline
    ]


@router.get("/cases/{case_id}")
def case_page(
    case_id: UUID, request: Request, ctx: AdminCtx, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    data = case_page_data(session, ctx, case_id=case_id, now=utcnow())
    return render(
        request,
        "case.html",
        active="cases",
        data=data,
        c=data.case,
        status_colour=STATUS_COLOURS[data.case.status],
        timeline_photos=_timeline_photos(data),
        photo_actions={a.value for a in PHOTO_ACTIONS},
        photo_accept=PHOTO_ACCEPT,
        photo_max=MAX_FILES,
        photo_size=size_words(settings.upload_max_bytes),
    )


def _photo_problem(ctx: AdminContext, exc: PhotoRefused, *, action: str) -> str:
    if exc.reason in ("too_large", "not_an_image"):
        return ctx.t(f"photos.error.{exc.reason}", file=exc.filename, size=size_words(exc.limit))
    if exc.reason == "too_many":
        return ctx.t("photos.error.too_many", max=exc.limit)
    return ctx.t("photos.error.no_photos_here", action=action_label(ctx.locale, action))


def _with_photos(
    session: Session,
    ctx: AdminContext,
    *,
    storage: PhotoStorage,
    max_bytes: int,
    case_id: UUID,
    request: TransitionRequest,
    uploads: list[UploadFile],
) -> None:
    """Photos first (checked, stored, flushed), then the transition through run_single,
    which commits both or rolls both back. Objects stored for a request that is rolled
    back stay in storage: content-addressed, so harmless, and reused if sent again."""
    try:
        case = check_may_add(
            session,
            user=ctx.user,
            scope=ctx.scope,
            case_id=case_id,
            action=request.action,
        )
        photos = add_photos(
            session, storage=storage, case=case, files=uploads, max_bytes=max_bytes, now=utcnow()
        )
    except PhotoRefused as exc:
        session.rollback()
        reason = _photo_problem(ctx, exc, action=request.action.value)
        text = ctx.t(
            "wf.single.failed",
            case=short_id(case_id),
            action=action_label(ctx.locale, request.action),
            reason=reason,
        )
        push_flash(session, row=ctx.row, level="error", text=text)
        session.commit()
        return
    except ApiError as exc:
        session.rollback()
        flash_refusal(session, ctx, case_id=case_id, action=request.action, exc=exc)
        return
    # At most MAX_FILES (9) new ids: within TransitionRequest's limit of 12.
    ids = [*request.photo_ids, *(p.id for p in photos)]
    run_single(session, ctx, case_id=case_id, request=request.model_copy(update={"photo_ids": ids}))


@router.post(
    "/cases/{case_id}/transition", form_limits={"max_files": 4 * MAX_FILES, "max_fields": 40}
)
def transition(
    case_id: UUID,
    ctx: AdminCtx,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    action: Annotated[Action, Form()],
    expected_version: Annotated[int | None, Form(ge=1)] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    department: Annotated[str, Form(max_length=40)] = "",
    deadline: Annotated[str, Form(max_length=20)] = "",
    duplicate_of: Annotated[str, Form(max_length=40)] = "",
    assignee: Annotated[str, Form(max_length=64)] = "",
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 - FastAPI form lists
) -> Response:
    """Only the fields this action uses are passed on (the service refuses others)."""
    # An empty file input still sends one part, without a name or bytes.
    uploads = [f for f in files if f.filename]
    fields = RULES[action].fields
    values: dict[str, object] = {
        "action": action,
        "note": note,
        "expected_version": expected_version,
    }
    try:
        if FIELD_DEPARTMENT in fields:
            values["department"] = department or None
        if FIELD_DEADLINE in fields:
            values["deadline"] = deadline_from_day(deadline, ctx.tz)
        if FIELD_DUPLICATE_OF in fields:
            values["duplicate_of"] = uuid_or_none(duplicate_of)
        if FIELD_ASSIGNEE in fields:
            values["assignee"] = assignee.strip() or None
        transition_request = build_request(**values)
    except ApiError as exc:
        flash_refusal(session, ctx, case_id=case_id, action=action, exc=exc)
    else:
        if uploads:
            _with_photos(
                session,
                ctx,
                storage=storage,
                max_bytes=settings.upload_max_bytes,
                case_id=case_id,
                request=transition_request,
                uploads=uploads,
            )
        else:
            run_single(session, ctx, case_id=case_id, request=transition_request)
    return RedirectResponse(f"/admin/cases/{case_id}", status_code=303)
