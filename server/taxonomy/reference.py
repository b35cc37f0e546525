"""Load the shipped reference data (departments, categories) into the database.

Run by `whistle-server migrate` and `seed-demo`. Idempotent: rows that exist are left as
they are (an administrator may have edited names or deadlines), missing ones are added.
"""

from sqlmodel import Session, select

from server.accounts.models import Organisation
from server.taxonomy.models import Category
from shared_schemas.enums import OrganisationKind
from shared_schemas.taxonomy import TaxonomyData, load_taxonomy


def sync_reference_data(session: Session, taxonomy: TaxonomyData | None = None) -> int:
    """Insert the departments and categories that are missing; return how many rows."""
    taxonomy = taxonomy or load_taxonomy()
    added = 0
    departments = {
        o.code: o
        for o in session.exec(
            select(Organisation).where(Organisation.kind == OrganisationKind.DEPARTMENT)
        )
    }
    for info in taxonomy.departments:
        if info.code not in departments:
            org = Organisation(
                code=info.code,
                kind=OrganisationKind.DEPARTMENT,
                name_zh=info.name_zh,
                name_en=info.name_en,
            )
            session.add(org)
            departments[info.code] = org
            added += 1
    session.flush()
    existing = set(session.exec(select(Category.code)))
    for cat in taxonomy.categories:
        if cat.code.value in existing:
            continue
        dept = departments.get(cat.default_department) if cat.default_department else None
        session.add(
            Category(
                code=cat.code.value,
                group=cat.group,
                name_zh=cat.name_zh,
                name_en=cat.name_en,
                default_department_id=dept.id if dept else None,
                default_severity=cat.default_severity,
                deadline_minor_days=cat.deadline_days.minor,
                deadline_general_days=cat.deadline_days.general,
                deadline_major_days=cat.deadline_days.major,
                sort_order=cat.sort_order,
            )
        )
        added += 1
    session.flush()
    return added
