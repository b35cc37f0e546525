"""Responsible departments (organisations of kind `department`): list, create, rename,
deactivate and reactivate (admin only).

A deactivated department stays on its cases (history is never rewritten) but is no longer
offered for dispatch (taxonomy_out leaves it out). It cannot be deactivated while a
category still names it as its default department: choose another default first.
"""

from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.core.errors import ApiError, NotFound
from server.management.permissions import require_admin
from server.management.validation import FieldErrors, clean_text
from server.taxonomy.models import Category
from shared_schemas.enums import OrganisationKind

# The shipped taxonomy's department code (shared_schemas.taxonomy.DepartmentInfo).
DEPARTMENT_CODE_PATTERN = r"[A-Z][A-Z0-9_]{1,39}"


def list_departments(session: Session, *, actor: User) -> list[Organisation]:
    require_admin(actor)
    return list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.DEPARTMENT)
            .order_by(col(Organisation.code))
        )
    )


def department_by_code(session: Session, code: str) -> Organisation:
    org = session.exec(
        select(Organisation)
        .where(Organisation.code == code)
        .where(Organisation.kind == OrganisationKind.DEPARTMENT)
    ).first()
    if org is None:
        raise NotFound("department")
    return org


def _names(errors: FieldErrors, name_zh: str, name_en: str) -> tuple[str, str]:
    return (
        clean_text(errors, "name_zh", name_zh, max_length=100),
        clean_text(errors, "name_en", name_en, max_length=100),
    )


def create_department(
    session: Session, *, actor: User, code: str, name_zh: str, name_en: str
) -> Organisation:
    require_admin(actor)
    errors = FieldErrors()
    code = clean_text(
        errors,
        "code",
        code,
        max_length=40,
        pattern=DEPARTMENT_CODE_PATTERN,
        pattern_hint="2 to 40 capital letters, digits or _, starting with a letter",
    )
    zh, en = _names(errors, name_zh, name_en)
    if (
        not errors.has("code")
        and session.exec(select(Organisation.id).where(Organisation.code == code)).first()
    ):
        # Codes are unique across every kind of organisation.
        errors.add("code", f"an organisation with the code {code!r} already exists", "taken")
    errors.raise_if_any()
    org = Organisation(code=code, kind=OrganisationKind.DEPARTMENT, name_zh=zh, name_en=en)
    session.add(org)
    session.flush()
    return org


def rename_department(
    session: Session, *, actor: User, code: str, name_zh: str, name_en: str
) -> Organisation:
    require_admin(actor)
    org = department_by_code(session, code)
    errors = FieldErrors()
    org.name_zh, org.name_en = _names(errors, name_zh, name_en)
    errors.raise_if_any()
    session.add(org)
    session.flush()
    return org


def set_department_active(
    session: Session, *, actor: User, code: str, active: bool
) -> Organisation:
    require_admin(actor)
    org = department_by_code(session, code)
    if not active:
        defaults = list(
            session.exec(
                select(Category.code)
                .where(Category.default_department_id == org.id)
                .order_by(col(Category.sort_order))
            )
        )
        if defaults:
            raise ApiError(
                409,
                "department_in_use",
                f"{code} is the default department of {', '.join(defaults)}; "
                "give those categories another default department first",
                {"categories": defaults},
            )
    org.is_active = active
    session.add(org)
    session.flush()
    return org
