"""Reading the taxonomy and computing default deadlines."""

from sqlmodel import Session, col, select

from server.accounts.models import Organisation
from server.taxonomy.models import Category
from shared_schemas.api import CategoryOut, DepartmentOut, TaxonomyOut
from shared_schemas.enums import OrganisationKind, Severity
from shared_schemas.taxonomy import DeadlineDays, load_taxonomy


def deadline_days(category: Category, severity: Severity) -> int:
    return {
        Severity.MINOR: category.deadline_minor_days,
        Severity.GENERAL: category.deadline_general_days,
        Severity.MAJOR: category.deadline_major_days,
    }[severity]


def taxonomy_out(session: Session) -> TaxonomyOut:
    shipped = load_taxonomy()
    groups = {g.code: g for g in shipped.groups}
    departments = list(
        session.exec(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.DEPARTMENT)
            .order_by(col(Organisation.code))
        )
    )
    codes = {d.id: d.code for d in departments}
    categories = session.exec(select(Category).order_by(col(Category.sort_order)))
    return TaxonomyOut(
        version=shipped.version,
        categories=[
            CategoryOut(
                code=c.code,
                group=c.group,
                group_name_zh=groups[c.group].name_zh,
                group_name_en=groups[c.group].name_en,
                name_zh=c.name_zh,
                name_en=c.name_en,
                default_department=codes.get(c.default_department_id),
                default_severity=c.default_severity,
                deadline_days=DeadlineDays(
                    minor=c.deadline_minor_days,
                    general=c.deadline_general_days,
                    major=c.deadline_major_days,
                ),
                active=c.active,
            )
            for c in categories
        ],
        departments=[
            DepartmentOut(code=d.code, name_zh=d.name_zh, name_en=d.name_en)
            for d in departments
            if d.is_active
        ],
    )
