"""Deadlines: the default from category and severity, and the checks on given ones.

Overdue itself is defined once, in server/cases/queries.py (`overdue_clause`,
`is_overdue`): past the deadline and not yet rectified.
"""

from datetime import datetime, timedelta

from sqlmodel import Session

from server.cases.models import Case
from server.taxonomy.models import Category
from server.taxonomy.service import deadline_days
from server.workflow.errors import field_error

# A verification task without a given due date is due this long after it was ordered.
VERIFICATION_DUE = timedelta(days=3)


def default_deadline(session: Session, *, case: Case, now: datetime) -> datetime:
    """`now` plus the category's days for the case's severity (minor/general/major)."""
    category = session.get(Category, case.category_code)
    if category is None:  # pragma: no cover - a foreign key guarantees it
        raise LookupError(f"category {case.category_code} missing")
    return now + timedelta(days=deadline_days(category, case.severity))


def check_future(value: datetime, *, now: datetime, field: str = "deadline") -> datetime:
    if value <= now:
        raise field_error(
            field, f"must lie in the future (it is {value.isoformat()}, now {now.isoformat()})"
        )
    return value


def check_extension(case: Case, value: datetime | None, *, now: datetime) -> datetime:
    """A new deadline for an extension: given, in the future, later than the current one."""
    if value is None:
        raise field_error("deadline", "an extension needs the new deadline")
    check_future(value, now=now)
    if case.deadline is not None and value <= case.deadline:
        raise field_error(
            "deadline",
            f"must be later than the current deadline {case.deadline.isoformat()}",
        )
    return value
