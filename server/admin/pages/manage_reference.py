"""Management pages for reference data (admin only): areas (create, rename),
departments (create, rename, deactivate), categories (names, default department and
severity, deadlines). The services record area and category changes for the tablets."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from server.accounts.models import Organisation
from server.admin.auth import push_flash
from server.admin.context import AdminContext
from server.admin.deps import require_admin_roles
from server.admin.i18n import add_messages
from server.admin.pages.manage_forms import form_errors, is_form_error, manage_tabs
from server.admin.templating import render
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.management import areas, categories, departments
from shared_schemas.enums import AreaLevel, OrganisationKind, Role, Severity
from shared_schemas.taxonomy import load_taxonomy

router = APIRouter()
AdminOnly = Annotated[AdminContext, Depends(require_admin_roles(Role.ADMIN))]

MESSAGES: dict[str, tuple[str, str]] = {
    "areas.title": ("区域管理", "Areas"),
    "areas.new": ("新建区域", "New area"),
    "areas.level": ("层级", "Level"),
    "areas.parent": ("上级区域（代码）", "Parent area (code)"),
    "areas.company": ("物业公司（仅小区）", "Property company (compounds only)"),
    "areas.lat": ("纬度", "Latitude"),
    "areas.lon": ("经度", "Longitude"),
    "areas.code_help": (
        "1–40 个字母、数字、_ 或 -，创建后不可更改。",
        "1 to 40 letters, digits, _ or -; fixed once created.",
    ),
    "areas.rename": ("修改名称", "Rename"),
    "areas.created_flash": (
        "区域 {code} 已创建，平板将在下次同步时收到。",
        "Area {code} created; tablets receive it at their next sync.",
    ),
    "areas.renamed_flash": ("区域 {code} 已更名。", "Area {code} renamed."),
    "areas.count": ("共 {n} 个区域", "{n} areas"),
    "areas.level.district": ("区", "district"),
    "areas.level.street": ("街道", "street"),
    "areas.level.community": ("社区", "community"),
    "areas.level.grid": ("网格", "grid"),
    "areas.level.compound": ("小区", "compound"),
    "departments.title": ("责任部门", "Departments"),
    "departments.new": ("新建责任部门", "New department"),
    "departments.code_help": (
        "大写字母、数字或 _，以字母开头。",
        "Capital letters, digits or _, starting with a letter.",
    ),
    "departments.created_flash": ("责任部门 {code} 已创建。", "Department {code} created."),
    "departments.renamed_flash": ("责任部门 {code} 已更名。", "Department {code} renamed."),
    "departments.disabled_flash": (
        "责任部门 {code} 已停用，不再出现在派遣列表中。",
        "Department {code} deactivated; it is no longer offered for dispatch.",
    ),
    "departments.enabled_flash": ("责任部门 {code} 已启用。", "Department {code} reactivated."),
    "departments.confirm_disable": (
        "停用该部门？已派遣的问题不受影响。",
        "Deactivate this department? Cases already dispatched stay as they are.",
    ),
    "categories.title": ("问题类别", "Categories"),
    "categories.group": ("大类", "Group"),
    "categories.department": ("默认责任部门", "Default department"),
    "categories.severity": ("默认严重程度", "Default severity"),
    "categories.deadlines": ("整改期限（天）", "Deadline (days)"),
    "categories.minor": ("轻微", "minor"),
    "categories.general": ("一般", "general"),
    "categories.major": ("重大", "major"),
    "categories.active": ("在平板上可选", "Offered on tablets"),
    "categories.help": (
        "期限 1–365 天，且轻微 ≤ 一般 ≤ 重大。修改后平板将在下次同步时收到。",
        "Deadlines 1 to 365 days, minor ≤ general ≤ major. "
        "Tablets receive changes at their next sync.",
    ),
    "categories.saved_flash": ("类别 {code} 已保存。", "Category {code} saved."),
    "categories.none": ("（主管决定）", "(supervisor decides)"),
}
add_messages(MESSAGES)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _flash(session: Session, ctx: AdminContext, key: str, **params: Any) -> None:
    push_flash(session, row=ctx.row, level="ok", text=ctx.t(key, **params))
    session.commit()


# ------------------------------------------------------------------ areas


def _areas_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = areas.list_areas(session, actor=ctx.user)
    q = (request.query_params.get("q") or "").strip().lower()
    shown = [a for a in rows if not q or q in a.code.lower() or q in a.name.lower()]
    companies = {
        o.id: o
        for o in session.exec(
            select(Organisation).where(Organisation.kind == OrganisationKind.PROPERTY_COMPANY)
        )
    }
    return render(
        request,
        "manage_areas.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="areas",
        rows=shown,
        total=len(rows),
        q=q,
        companies=companies,
        levels=[lv.value for lv in AreaLevel],
        form=form or {"level": "grid"},
        errors=errors or {},
    )


@router.get("/manage/areas")
def area_list(request: Request, ctx: AdminOnly, session: SessionDep) -> HTMLResponse:
    return _areas_page(request, ctx, session)


@router.post("/manage/areas/new")
def area_create(
    request: Request,
    ctx: AdminOnly,
    session: SessionDep,
    code: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
    level: Annotated[str, Form(max_length=20)] = "",
    parent_code: Annotated[str, Form(max_length=200)] = "",
    property_company_code: Annotated[str, Form(max_length=200)] = "",
    lat: Annotated[str, Form(max_length=40)] = "",
    lon: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {
        "code": code,
        "name": name,
        "name_en": name_en,
        "level": level,
        "parent_code": parent_code,
        "property_company_code": property_company_code,
        "lat": lat,
        "lon": lon,
    }
    try:
        area = areas.create_area(session, actor=ctx.user, **form)
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        return _areas_page(
            request,
            ctx,
            session,
            form=form,
            errors=form_errors(exc, ctx.t),
            status_code=exc.status_code,
        )
    _flash(session, ctx, "areas.created_flash", code=area.code)
    return _redirect("/admin/manage/areas")


def _area_form(
    request: Request,
    ctx: AdminContext,
    code: str,
    session: Session,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    area = areas.get_area(session, actor=ctx.user, code=code)
    return render(
        request,
        "manage_area.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="areas",
        area=area,
        form=form or {"name": area.name, "name_en": area.name_en or ""},
        errors=errors or {},
    )


@router.get("/manage/areas/{code}")
def area_edit(request: Request, ctx: AdminOnly, session: SessionDep, code: str) -> HTMLResponse:
    return _area_form(request, ctx, code, session)


@router.post("/manage/areas/{code}")
def area_rename(
    request: Request,
    ctx: AdminOnly,
    session: SessionDep,
    code: str,
    name: Annotated[str, Form(max_length=400)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        areas.rename_area(session, actor=ctx.user, code=code, name=name, name_en=name_en)
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        return _area_form(
            request,
            ctx,
            code,
            session,
            form={"name": name, "name_en": name_en},
            errors=form_errors(exc, ctx.t),
            status_code=exc.status_code,
        )
    _flash(session, ctx, "areas.renamed_flash", code=code)
    return _redirect("/admin/manage/areas")


# ------------------------------------------------------------------ departments


def _departments_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    edit: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "manage_departments.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="departments",
        rows=departments.list_departments(session, actor=ctx.user),
        form=form or {},
        errors=errors or {},
        edit=edit,
    )


@router.get("/manage/departments")
def department_list(request: Request, ctx: AdminOnly, session: SessionDep) -> HTMLResponse:
    return _departments_page(request, ctx, session)


@router.post("/manage/departments/new")
def department_create(
    request: Request,
    ctx: AdminOnly,
    session: SessionDep,
    code: Annotated[str, Form(max_length=200)] = "",
    name_zh: Annotated[str, Form(max_length=400)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    form = {"code": code, "name_zh": name_zh, "name_en": name_en}
    try:
        org = departments.create_department(session, actor=ctx.user, **form)
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        errors = form_errors(exc, ctx.t)
        return _departments_page(
            request, ctx, session, form=form, errors=errors, status_code=exc.status_code
        )
    _flash(session, ctx, "departments.created_flash", code=org.code)
    return _redirect("/admin/manage/departments")


@router.post("/manage/departments/{code}")
def department_rename(
    request: Request,
    ctx: AdminOnly,
    session: SessionDep,
    code: str,
    name_zh: Annotated[str, Form(max_length=400)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        departments.rename_department(
            session, actor=ctx.user, code=code, name_zh=name_zh, name_en=name_en
        )
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        form = {"name_zh": name_zh, "name_en": name_en}
        errors = form_errors(exc, ctx.t)
        return _departments_page(
            request, ctx, session, form=form, errors=errors, edit=code, status_code=exc.status_code
        )
    _flash(session, ctx, "departments.renamed_flash", code=code)
    return _redirect("/admin/manage/departments")


@router.post("/manage/departments/{code}/active")
def department_set_active(
    ctx: AdminOnly,
    session: SessionDep,
    code: str,
    active: Annotated[str, Form(pattern="^(0|1)$")],
) -> Response:
    org = departments.set_department_active(
        session, actor=ctx.user, code=code, active=active == "1"
    )
    key = "departments.enabled_flash" if org.is_active else "departments.disabled_flash"
    _flash(session, ctx, key, code=code)
    return _redirect("/admin/manage/departments")


# ------------------------------------------------------------------ categories


@router.get("/manage/categories")
def category_list(request: Request, ctx: AdminOnly, session: SessionDep) -> HTMLResponse:
    depts = {d.id: d for d in departments.list_departments(session, actor=ctx.user)}
    groups = {g.code.value: ctx.t.pick(g.name_zh, g.name_en) for g in load_taxonomy().groups}
    return render(
        request,
        "manage_categories.html",
        active="manage",
        tabs=manage_tabs(ctx),
        tab="categories",
        rows=categories.list_categories(session, actor=ctx.user),
        departments=depts,
        groups=groups,
    )


def _category_form(
    request: Request,
    ctx: AdminContext,
    session: Session,
    code: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    category = categories.category_by_code(session, code)
    depts = departments.list_departments(session, actor=ctx.user)
    current = {d.id: d.code for d in depts}
    return render(
        request,
        "manage_category.html",
        status_code=status_code,
        active="manage",
        tabs=manage_tabs(ctx),
        tab="categories",
        category=category,
        departments=[d for d in depts if d.is_active or d.id == category.default_department_id],
        severities=[s.value for s in Severity],
        form=form
        or {
            "name_zh": category.name_zh,
            "name_en": category.name_en,
            "default_department_code": current.get(category.default_department_id, ""),
            "default_severity": category.default_severity.value,
            "deadline_minor_days": category.deadline_minor_days,
            "deadline_general_days": category.deadline_general_days,
            "deadline_major_days": category.deadline_major_days,
            "active": category.active,
        },
        errors=errors or {},
    )


@router.get("/manage/categories/{code}")
def category_edit(request: Request, ctx: AdminOnly, session: SessionDep, code: str) -> HTMLResponse:
    categories.list_categories(session, actor=ctx.user)  # the permission check
    return _category_form(request, ctx, session, code)


@router.post("/manage/categories/{code}")
def category_save(
    request: Request,
    ctx: AdminOnly,
    session: SessionDep,
    code: str,
    name_zh: Annotated[str, Form(max_length=400)] = "",
    name_en: Annotated[str, Form(max_length=400)] = "",
    default_department_code: Annotated[str, Form(max_length=200)] = "",
    default_severity: Annotated[str, Form(max_length=20)] = "",
    deadline_minor_days: Annotated[str, Form(max_length=20)] = "",
    deadline_general_days: Annotated[str, Form(max_length=20)] = "",
    deadline_major_days: Annotated[str, Form(max_length=20)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    form: dict[str, Any] = {
        "name_zh": name_zh,
        "name_en": name_en,
        "default_department_code": default_department_code,
        "default_severity": default_severity,
        "deadline_minor_days": deadline_minor_days,
        "deadline_general_days": deadline_general_days,
        "deadline_major_days": deadline_major_days,
        "active": active == "1",
    }
    try:
        categories.update_category(session, actor=ctx.user, code=code, **form)
    except ApiError as exc:
        if not is_form_error(exc):
            raise
        session.rollback()
        return _category_form(
            request,
            ctx,
            session,
            code,
            form=form,
            errors=form_errors(exc, ctx.t),
            status_code=exc.status_code,
        )
    _flash(session, ctx, "categories.saved_flash", code=code)
    return _redirect("/admin/manage/categories")
