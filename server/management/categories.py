"""Hazard categories: names, default department, default severity, deadline days per
severity, active (admin only). The set of categories is fixed by the wire contract
(shared_schemas.taxonomy.CategoryCode): they are edited, never created here. Each change
goes into the sync change log so tablets pull it (record_taxonomy_change)."""

from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.core.errors import NotFound
from server.management.permissions import require_admin
from server.management.validation import FieldErrors, clean_int, clean_text
from server.sync.changes import record_taxonomy_change
from server.taxonomy.models import Category
from shared_schemas.enums import OrganisationKind, Severity

# The wire contract's bounds (shared_schemas.taxonomy.DeadlineDays): a tablet validates
# what it pulls, so nothing outside them may be stored.
MIN_DEADLINE_DAYS = 1
MAX_DEADLINE_DAYS = 365


def list_categories(session: Session, *, actor: User) -> list[Category]:
    require_admin(actor)
    return list(session.exec(select(Category).order_by(col(Category.sort_order))))


def category_by_code(session: Session, code: str) -> Category:
    category = session.get(Category, code)
    if category is None:
        raise NotFound("category")
    return category


def update_category(
    session: Session,
    *,
    actor: User,
    code: str,
    name_zh: str,
    name_en: str,
    default_department_code: str | None,
    default_severity: Severity | str,
    deadline_minor_days: int | str,
    deadline_general_days: int | str,
    deadline_major_days: int | str,
    active: bool = True,
) -> Category:
    """Change a category; every field problem is reported at once. Deadlines must grow
    with severity (minor <= general <= major): a major hazard needs a plan and the most
    time, as in the shipped taxonomy."""
    require_admin(actor)
    category = category_by_code(session, code)
    errors = FieldErrors()
    zh = clean_text(errors, "name_zh", name_zh, max_length=100)
    en = clean_text(errors, "name_en", name_en, max_length=120)
    severity: Severity | None = None
    try:
        severity = Severity(default_severity)
    except ValueError:
        errors.add("default_severity", f"must be one of {', '.join(Severity)}", "enum")
    department = None
    dept_code = (default_department_code or "").strip()
    if dept_code:
        department = session.exec(
            select(Organisation)
            .where(Organisation.code == dept_code)
            .where(Organisation.kind == OrganisationKind.DEPARTMENT)
        ).first()
        if department is None:
            errors.add(
                "default_department_code",
                f"no department has the code {dept_code!r}",
                "unknown",
                value=dept_code,
            )
        elif not department.is_active:
            errors.add(
                "default_department_code",
                f"the department {dept_code!r} is deactivated",
                "inactive",
                value=dept_code,
            )
    days = {
        name: clean_int(errors, name, value, low=MIN_DEADLINE_DAYS, high=MAX_DEADLINE_DAYS)
        for name, value in (
            ("deadline_minor_days", deadline_minor_days),
            ("deadline_general_days", deadline_general_days),
            ("deadline_major_days", deadline_major_days),
        )
    }
    if not any(errors.has(name) for name in days):
        if days["deadline_general_days"] > days["deadline_major_days"]:
            errors.add(
                "deadline_general_days", "must not be longer than the major deadline", "order"
            )
        if days["deadline_minor_days"] > days["deadline_general_days"]:
            errors.add(
                "deadline_minor_days", "must not be longer than the general deadline", "order"
            )
    errors.raise_if_any()
    assert severity is not None  # noqa: S101 - a bad severity was added to errors above
    category.name_zh = zh
    category.name_en = en
    category.default_department_id = department.id if department else None
    category.default_severity = severity
    category.deadline_minor_days = days["deadline_minor_days"]
    category.deadline_general_days = days["deadline_general_days"]
    category.deadline_major_days = days["deadline_major_days"]
    category.active = active
    if session.is_modified(category):
        session.add(category)
        session.flush()
        record_taxonomy_change(session, category.code)
    return category
