"""The dashboard's indicators, computed in SQL (GROUP BY) inside the caller's scope.

Two grouped scans of hazard_case do all the work, whatever the number of cases:
(category, month, department) and (area). Every total and breakdown is a sum of those
groups, because every measure is a count or a sum; the rates are taken last. The words
for each figure are in definitions.py.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Label, and_, func, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from server.accounts.models import Organisation
from server.accounts.scope import Scope
from server.areas.models import Area
from server.cases.models import Case
from server.cases.queries import list_clauses, overdue_clause
from server.cases.schemas import CaseFilters
from server.reports.periods import (
    day_start,
    month_of_key,
    months_between,
    sql_month,
    sql_sum_days,
)
from server.reports.schemas import IndicatorFilters, IndicatorRow, Indicators
from server.taxonomy.models import Category
from shared_schemas.enums import AreaLevel, CaseStatus
from shared_schemas.taxonomy import load_taxonomy

# A case in any of these states went through registration (the machine never goes back
# to `reported`, and rejected/duplicate cases never were registered).
REGISTERED_STATES = (
    CaseStatus.REGISTERED,
    CaseStatus.DISPATCHED,
    CaseStatus.RECTIFYING,
    CaseStatus.RECTIFIED,
    CaseStatus.CLOSED,
    CaseStatus.REOPENED,
)
# The others: waiting for triage, rejected, merged. `registered` is counted as all cases
# minus these (one comparison per case fewer); a new state must be placed in one of the two.
UNREGISTERED_STATES = (CaseStatus.REPORTED, CaseStatus.REJECTED, CaseStatus.DUPLICATE)
RECTIFIED_STATES = (CaseStatus.RECTIFIED, CaseStatus.CLOSED)
NO_DEPARTMENT = ("未派遣", "Not dispatched")


@dataclass
class Counts:
    """The additive measures of a group of cases."""

    discovered: int = 0
    registered: int = 0
    pending: int = 0
    rejected: int = 0
    duplicates: int = 0
    rectified: int = 0
    closed: int = 0
    due: int = 0
    on_time: int = 0
    overdue: int = 0
    failed_verifications: int = 0
    close_days: float = 0.0

    @classmethod
    def from_sql(cls, values: Sequence[Any]) -> "Counts":
        """From the columns of `_measures`, in its order (a sum may come back as Decimal
        or int depending on the database; None when nothing matched)."""
        counts = [int(v) if v else 0 for v in values[:10]]
        total, pending, rejected, duplicates, rectified_only, closed = counts[:6]
        overdue, due_rectified, on_time, failed = counts[6:]
        return cls(
            discovered=total - duplicates,
            # total minus UNREGISTERED_STATES: everything else went through 立案.
            registered=total - pending - rejected - duplicates,
            pending=pending,
            rejected=rejected,
            duplicates=duplicates,
            rectified=rectified_only + closed,
            closed=closed,
            due=due_rectified + overdue,
            on_time=on_time,
            overdue=overdue,
            failed_verifications=failed,
            close_days=float(values[10] or 0.0),
        )

    def add(self, other: "Counts") -> None:
        # Spelled out: this runs for every group of every breakdown (thousands of times).
        self.discovered += other.discovered
        self.registered += other.registered
        self.pending += other.pending
        self.rejected += other.rejected
        self.duplicates += other.duplicates
        self.rectified += other.rectified
        self.closed += other.closed
        self.due += other.due
        self.on_time += other.on_time
        self.overdue += other.overdue
        self.failed_verifications += other.failed_verifications
        self.close_days += other.close_days

    def row(self, key: str | None, name_zh: str, name_en: str) -> IndicatorRow:
        # Each closed case passed one verification (reopening clears closed_at).
        verifications = self.failed_verifications + self.closed
        return IndicatorRow(
            key=key,
            name_zh=name_zh,
            name_en=name_en,
            discovered=self.discovered,
            registered=self.registered,
            pending=self.pending,
            rejected=self.rejected,
            duplicates=self.duplicates,
            rectified=self.rectified,
            closed=self.closed,
            due=self.due,
            on_time=self.on_time,
            overdue=self.overdue,
            verifications=verifications,
            failed_verifications=self.failed_verifications,
            registration_rate=_ratio(self.registered, self.discovered),
            on_time_rate=_ratio(self.on_time, self.due),
            closure_rate=_ratio(self.closed, self.registered),
            rework_rate=_ratio(self.failed_verifications, verifications),
            avg_days_to_close=round(self.close_days / self.closed, 2) if self.closed else None,
        )


def _ratio(part: int, whole: int) -> float | None:
    """A rate, or None when there is nothing to divide by (never a division by zero)."""
    return round(part / whole, 4) if whole else None


def _measures(dialect: str, now: datetime) -> list[Label[Any]]:
    """The columns Counts.from_sql reads, as SQL aggregates.

    Every aggregate is evaluated for every case of the period, so they are kept cheap:
    one equality on the state each where possible, and the counts that are sums of others
    (discovered, registered, rectified, due) are added up in Python. The days to close
    are summed as intervals and turned into days once per group (PostgreSQL's EXTRACT
    on every row cost more than the seven counts on the state together)."""
    status = col(Case.status)
    deadline = col(Case.deadline)
    rectified = status.in_(RECTIFIED_STATES)

    def count(name: str, where: ColumnElement[bool]) -> Label[Any]:
        return func.count().filter(where).label(name)

    return [
        func.count().label("total"),
        count("pending", status == CaseStatus.REPORTED),
        count("rejected", status == CaseStatus.REJECTED),
        count("duplicates", status == CaseStatus.DUPLICATE),
        count("rectified_only", status == CaseStatus.RECTIFIED),
        count("closed", status == CaseStatus.CLOSED),
        count("overdue", overdue_clause(now)),
        count("due_rectified", and_(rectified, deadline.is_not(None))),
        # NULL on either side is not <=: only rectified cases with a deadline count.
        count("on_time", and_(rectified, col(Case.rectified_at) <= deadline)),
        func.sum(col(Case.rework_count)).label("failed_verifications"),
        sql_sum_days(
            dialect,
            col(Case.created_at),
            col(Case.closed_at),
            where=status == CaseStatus.CLOSED,
        ).label("close_days"),
    ]


def case_filters(filters: IndicatorFilters) -> CaseFilters:
    """The case-list filters selecting the same cases (the dashboard links to the list)."""
    return CaseFilters(
        category=filters.category,
        group=filters.group,
        area=filters.area,
        department=filters.department,
        created_from=day_start(filters.date_from) if filters.date_from else None,
        created_to=day_start(filters.date_to + timedelta(days=1)) if filters.date_to else None,
    )


def compute_indicators(
    session: Session, *, scope: Scope, filters: IndicatorFilters, now: datetime
) -> Indicators:
    """Totals and breakdowns for the cases in scope matching the filters, as of `now`."""
    dialect = session.get_bind().dialect.name
    where = list_clauses(session, scope=scope, filters=case_filters(filters), now=now)
    measures = _measures(dialect, now)
    month = sql_month(dialect, col(Case.created_at)).label("month")
    # Two grouped scans, each giving at most a few thousand rows whatever the number of
    # cases; everything else is summed from them in Python.
    category, department, area = _group_keys(dialect)
    with _analytics(session, dialect):
        keyed = [
            ((r[0], r[1], r[2]), Counts.from_sql(r[3:]))
            for r in session.execute(
                sa_select(category, month, department, *measures)
                .where(*where)
                .group_by(category, month, department)
            )
        ]
        by_area_id = [
            (r[0], Counts.from_sql(r[1:]))
            for r in session.execute(sa_select(area, *measures).where(*where).group_by(area))
        ]
    totals = Counts()
    for _, counts in keyed:
        totals.add(counts)
    categories = {c.code: c for c in session.exec(select(Category))}
    groups = {g.code.value: g for g in load_taxonomy().groups}
    return Indicators(
        date_from=filters.date_from,
        date_to=filters.date_to,
        computed_at=now,
        area_level=filters.area_level,
        totals=totals.row(None, "合计", "Total"),
        by_category=_rows(
            _sum_by(keyed, lambda k: k[0]),
            names=lambda k: (
                (categories[k].name_zh, categories[k].name_en) if k in categories else (k, k)
            ),
            order=lambda k: (categories[k].sort_order if k in categories else 10**6, k),
        ),
        by_group=_rows(
            _sum_by(keyed, lambda k: categories[k[0]].group.value),
            names=lambda k: (groups[k].name_zh, groups[k].name_en) if k in groups else (k, k),
            order=lambda k: (list(groups).index(k) if k in groups else 10**6, k),
        ),
        by_area=_area_rows(session, by_area_id, filters.area_level),
        by_department=_department_rows(session, _sum_by(keyed, lambda k: k[2])),
        by_month=_month_rows(_sum_by(keyed, lambda k: month_of_key(k[1])), filters),
    )


def _group_keys(dialect: str) -> tuple[Label[Any], Label[Any], Label[Any]]:
    """category, department and area as GROUP BY keys. On SQLite they are expressions
    (`x || ''`, `x + 0`) so that its planner does not walk the category or area index to
    get the groups in order, which costs a random table read per case (4 s for a street's
    47,000 cases among 1M); a scan and a sort takes a tenth of that."""
    category, department, area = (
        col(Case.category_code),
        col(Case.department_id),
        col(Case.area_id),
    )
    if dialect != "sqlite":
        return category.label("category"), department.label("department"), area.label("area")
    return (
        category.concat("").label("category"),
        (department + 0).label("department"),
        (area + 0).label("area"),
    )


@contextmanager
def _analytics(session: Session, dialect: str) -> Iterator[None]:
    """PostgreSQL planner settings for the two grouped scans, then back to the defaults.

    JIT compilation costs more than it saves on these short queries (~130 ms at 1M
    cases). Without the statistics of migration 0002 the planner cannot estimate how few
    months a period holds (it guesses one group per row), so it sorts hundreds of
    thousands of rows on disk instead of hashing a few hundred groups; with them it
    hashes, in parallel. Sorting stays discouraged for these two queries in case the
    statistics are missing (a database built without the migrations, not yet analyzed)."""
    if dialect != "postgresql":
        yield
        return
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL enable_sort = off"))
    yield
    # Not in a `finally`: after an error the transaction is aborted (and SET LOCAL ends
    # with it); a reset there would only hide the original error.
    session.execute(text("SET LOCAL jit TO DEFAULT"))
    session.execute(text("SET LOCAL enable_sort TO DEFAULT"))


def _sum_by(rows: list[tuple[Any, Counts]], key: Callable[[Any], Any]) -> dict[Any, Counts]:
    out: dict[Any, Counts] = {}
    for row_key, counts in rows:
        out.setdefault(key(row_key), Counts()).add(counts)
    return out


def _rows(
    sums: dict[Any, Counts],
    *,
    names: Callable[[Any], tuple[str, str]],
    order: Callable[[Any], Any],
) -> list[IndicatorRow]:
    return [sums[k].row(k, *names(k)) for k in sorted(sums, key=order)]


@dataclass(frozen=True)
class _AreaInfo:
    code: str
    name: str
    name_en: str | None
    level: AreaLevel
    path: str


def _area_info(session: Session) -> dict[int, _AreaInfo]:
    """Every area, light (thousands of rows: cheaper in one go than an IN list of ids)."""
    rows = session.execute(
        sa_select(
            col(Area.id),
            col(Area.code),
            col(Area.name),
            col(Area.name_en),
            col(Area.level),
            col(Area.path),
        )
    )
    return {r[0]: _AreaInfo(*r[1:]) for r in rows}


def _area_rows(
    session: Session, rows: list[tuple[int, Counts]], level: AreaLevel
) -> list[IndicatorRow]:
    """Roll the cases' own areas up to their nearest ancestor (or self) at `level`; an
    area with no such ancestor stays itself (e.g. a compound directly in a community)."""
    if not rows:
        return []
    areas = _area_info(session)

    def target(area_id: int) -> _AreaInfo:
        area = areas[area_id]
        for ancestor_id in reversed(area.path.strip("/").split("/")):
            ancestor = areas[int(ancestor_id)]
            if ancestor.level == level:
                return ancestor
        return area

    targets = {area_id: target(area_id) for area_id, _ in rows}
    by_code = {t.code: t for t in targets.values()}
    return _rows(
        _sum_by(rows, lambda area_id: targets[area_id].code),
        names=lambda k: (by_code[k].name, by_code[k].name_en or by_code[k].name),
        order=lambda k: (by_code[k].path, k),
    )


def _department_rows(session: Session, sums: dict[int | None, Counts]) -> list[IndicatorRow]:
    ids = {k for k in sums if k is not None}
    orgs = (
        {o.id: o for o in session.exec(select(Organisation).where(col(Organisation.id).in_(ids)))}
        if ids
        else {}
    )
    by_code: dict[str | None, Counts] = {}
    for dept_id, counts in sums.items():
        by_code.setdefault(orgs[dept_id].code if dept_id in orgs else None, Counts()).add(counts)
    names = {o.code: (o.name_zh, o.name_en) for o in orgs.values()}
    return _rows(
        by_code,
        names=lambda k: names[k] if k else NO_DEPARTMENT,
        order=lambda k: (k is None, k or ""),
    )


def _month_rows(sums: dict[str, Counts], filters: IndicatorFilters) -> list[IndicatorRow]:
    """One row per month, with empty months inside the range shown as zeros (a chart's
    axis must not skip a month)."""
    present = sorted(sums)
    first = filters.date_from.strftime("%Y-%m") if filters.date_from else None
    last = filters.date_to.strftime("%Y-%m") if filters.date_to else None
    if present:
        first = min(first or present[0], present[0])
        last = max(last or present[-1], present[-1])
    if first is None or last is None:
        return []
    return [sums.get(m, Counts()).row(m, m, m) for m in months_between(first, last)]
