"""Management pages for accounts: list, create, disable/enable, reset password, assign
areas. Admins manage every account; supervisors the grid workers of their own street
(server/management/permissions.py)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User, UserArea
from server.admin.auth import push_flash
from server.admin.context import AdminContext
from server.admin.deps import AdminCtx
from server.admin.i18n import add_messages
from server.admin.pages.manage_forms import form_errors, is_form_error, manage_tabs
from server.admin.templating import render
from server.areas.models import Area
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import ApiError
from server.management import users
from server.management.permissions import manageable_roles, require_user_manager
from shared_schemas.enums import AreaLevel, OrganisationKind

router = APIRouter()

MESSAGES: dict[str, tuple[str, str]] = {
    "users.title": ("账号管理", "Accounts"),
    "users.new": ("新建账号", "New account"),
    "users.username": ("用户名", "User name"),
    "users.username_help": (
        "3–64 个字母、数字或 . _ @ -",
        "3 to 64 letters, digits or . _ @ -",
    ),
    "users.display_name": ("姓名", "Display name"),
    "users.password": ("初始密码", "Initial password"),
    "users.new_password": ("新密码", "New password"),
    "users.password_help": ("至少 8 个字符。", "At least 8 characters."),
    "users.role": ("角色", "Role"),
    "users.organisation": ("所属单位", "Organisation"),
    "users.organisation_help": (
        "物业巡查选物业公司，责任部门选部门；其他角色留空。",
        "A property company for patrols, a department for department users; "
        "empty for the other roles.",
    ),
    "users.areas": ("负责区域", "Areas"),
    "users.areas_help": (
        "网格员选网格，监督员选街道。",
        "Grids for grid workers, a street for supervisors.",
    ),
    "users.locale": ("界面语言", "Language"),
    "users.created": ("已创建", "Created"),
    "users.none": ("—", "—"),
    "users.scope_note_supervisor": (
        "您可以管理本街道网格员的账号：新建、停用、重置密码、分配网格。",
        "You manage the grid-worker accounts of your street: create, disable, reset "
        "passwords, assign grids.",
    ),
    "users.created_flash": ("账号 {username} 已创建。", "Account {username} created."),
    "users.disabled_flash": (
        "账号 {username} 已停用，其所有登录已结束。",
        "Account {username} disabled; all its sign-ins ended.",
    ),
    "users.enabled_flash": ("账号 {username} 已启用。", "Account {username} enabled."),
    "users.password_flash": (
        "已重置 {username} 的密码，其平板需用新密码重新登录。",
        "Password of {username} reset; their tablet must sign in again with it.",
    ),
    "users.areas_flash": ("已更新 {username} 的负责区域。", "Areas of {username} updated."),
    "users.reset_password": ("重置密码", "Reset password"),
    "users.reset_help": (
        "重置后，该用户在所有平板和浏览器上的登录都会结束。",
        "Resetting ends every sign-in of this user, on tablets and in browsers.",
    ),
    "users.confirm_disable": (
        "停用该账号？其所有登录将立即结束。",
        "Disable this account? All its sign-ins end at once.",
    ),
    "users.confirm_reset": (
        "重置密码？该用户需用新密码重新登录。",
        "Reset the password? The user must sign in again with the new one.",
    ),
    "users.save_areas": ("保存区域", "Save areas"),
    "users.account": ("账号", "Account"),
}
add_messages(MESSAGES)

# Levels offered when assigning areas (grid workers get grids, supervisors a street).
_ASSIGNABLE = (AreaLevel.DISTRICT, AreaLevel.STREET, AreaLevel.COMMUNITY, AreaLevel.GRID)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _area_choices(session: Session, ctx: AdminContext, assigned: list[str]) -> list[Area]:
    rows = session.exec(select(Area).where(col(Area.is_active)).order_by(col(Area.path)))
    return [
        a
        for a in rows
        if ctx.scope.covers_path(a.path) and (a.level in _ASSIGNABLE or a.code in assigned)
    ]


def _organisations(session: Session) -> list[Organisation]:
    kinds = (OrganisationKind.PROPERTY_COMPANY, OrganisationKind.DEPARTMENT)
    return list(
        session.exec(
            select(Organisation)
            .where(col(Organisation.kind).in_(kinds))
            .where(col(Organisation.is_active))
            .order_by(col(Organisation.kind), col(Organisation.code))
        )
    )


@router.get("/manage")
def manage_home(ctx: AdminCtx) -> RedirectResponse:
    require_user_manager(ctx.user)
    return _redirect("/admin/manage/users")


@router.get("/manage/users")
def user_list(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    rows = users.list_users(session, actor=ctx.user, scope=ctx.scope)
    return render(
        request,
        "manage_users.html",
        active="manage",
        tabs=manage_tabs(ctx),
        tab="users",
        rows=rows,
    )


def _new_form(
    request: Request,
    ctx: AdminContext,
    session: Session,
    *,
    form: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "manage_user_new.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="users",
        roles=manageable_roles(ctx.user),
        organisations=_organisations(session),
        areas=_area_choices(session, ctx, form.get("area_codes", [])),
        form=form,
        errors=errors or {},
    )


@router.get("/manage/users/new")
def user_new(request: Request, ctx: AdminCtx, session: SessionDep) -> HTMLResponse:
    require_user_manager(ctx.user)
    blank = {"username": "", "display_name": "", "role": "inspector", "organisation_code": ""}
    return _new_form(request, ctx, session, form=blank | {"area_codes": [], "locale": "zh_CN"})


@router.post("/manage/users/new")
def user_create(
    request: Request,
    ctx: AdminCtx,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    organisation_code: Annotated[str, Form(max_length=60)] = "",
    area_codes: Annotated[list[str] | None, Form()] = None,
    locale: Annotated[str, Form(max_length=10)] = "zh_CN",
) -> Response:
    form: dict[str, Any] = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "organisation_code": organisation_code,
        "area_codes": area_codes or [],
        "locale": locale,
    }
    try:
        user = users.create_user(
            session, settings, actor=ctx.user, scope=ctx.scope, password=password, **form
        )
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        errors = form_errors(exc, ctx.t)
        return _new_form(
            request, ctx, session, form=form, errors=errors, status_code=exc.status_code
        )
    push_flash(
        session,
        row=ctx.row,
        level="ok",
        text=ctx.t("users.created_flash", username=user.username),
    )
    session.commit()
    return _redirect(f"/admin/manage/users/{user.id}")


def _detail(
    request: Request,
    ctx: AdminContext,
    session: Session,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assigned = list(
        session.exec(
            select(Area.code)
            .join(UserArea, col(UserArea.area_id) == col(Area.id))
            .where(UserArea.user_id == user.id)
        )
    )
    org = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return render(
        request,
        "manage_user.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="users",
        account=user,
        organisation=org,
        assigned=assigned,
        areas=_area_choices(session, ctx, assigned),
        errors=errors or {},
    )


@router.get("/manage/users/{user_id}")
def user_detail(
    request: Request, ctx: AdminCtx, session: SessionDep, user_id: UUID
) -> HTMLResponse:
    user = users.managed_user(session, actor=ctx.user, scope=ctx.scope, user_id=user_id)
    return _detail(request, ctx, session, user)


def _form_failure(
    request: Request, ctx: AdminContext, session: Session, user_id: UUID, exc: ApiError
) -> Response:
    if not is_form_error(exc):
        raise exc
    session.rollback()
    user = users.managed_user(session, actor=ctx.user, scope=ctx.scope, user_id=user_id)
    return _detail(
        request,
        ctx,
        session,
        user,
        errors=form_errors(exc, ctx.t),
        status_code=exc.status_code,
    )


@router.post("/manage/users/{user_id}/active")
def user_set_active(
    ctx: AdminCtx,
    session: SessionDep,
    user_id: UUID,
    active: Annotated[str, Form(pattern="^(0|1)$")],
) -> Response:
    user = users.set_user_active(
        session, actor=ctx.user, scope=ctx.scope, user_id=user_id, active=active == "1"
    )
    key = "users.enabled_flash" if user.is_active else "users.disabled_flash"
    push_flash(session, row=ctx.row, level="ok", text=ctx.t(key, username=user.username))
    session.commit()
    return _redirect(f"/admin/manage/users/{user_id}")


@router.post("/manage/users/{user_id}/password")
def user_reset_password(
    request: Request,
    ctx: AdminCtx,
    session: SessionDep,
    settings: SettingsDep,
    user_id: UUID,
    new_password: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        users.reset_password(
            session,
            settings,
            actor=ctx.user,
            scope=ctx.scope,
            user_id=user_id,
            new_password=new_password,
        )
    except ApiError as exc:
        return _form_failure(request, ctx, session, user_id, exc)
    user = users.managed_user(session, actor=ctx.user, scope=ctx.scope, user_id=user_id)
    push_flash(
        session, row=ctx.row, level="ok", text=ctx.t("users.password_flash", username=user.username)
    )
    session.commit()
    return _redirect(f"/admin/manage/users/{user_id}")


@router.post("/manage/users/{user_id}/areas")
def user_assign_areas(
    request: Request,
    ctx: AdminCtx,
    session: SessionDep,
    user_id: UUID,
    area_codes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        user = users.assign_areas(
            session, actor=ctx.user, scope=ctx.scope, user_id=user_id, area_codes=area_codes or []
        )
    except ApiError as exc:
        return _form_failure(request, ctx, session, user_id, exc)
    push_flash(
        session, row=ctx.row, level="ok", text=ctx.t("users.areas_flash", username=user.username)
    )
    session.commit()
    return _redirect(f"/admin/manage/users/{user_id}")
