"""The case filters of the list and the map, read from a query string as a browser's form
sends it: empty fields mean "any", dates are local days (settings.admin_timezone), and a
value that makes no sense is dropped with a note instead of failing the whole page."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from server.cases.schemas import CaseFilters
from shared_schemas.enums import CaseStatus, CategoryGroup

MAX_TEXT = 100


class SortKey(StrEnum):
    NEWEST = "newest"  # reported, newest first (the API's order)
    OLDEST = "oldest"
    UPDATED = "updated"  # last changed first
    DEADLINE = "deadline"  # soonest deadline first; no deadline last


# The query parameters the filter form sends (and pagination links repeat).
FILTER_PARAMS = (
    "status",
    "category",
    "group",
    "area",
    "department",
    "overdue",
    "from",
    "to",
    "q",
    "sort",
)


@dataclass
class FilterForm:
    filters: CaseFilters
    sort: SortKey
    # What the form shows again: the accepted values, as strings.
    values: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)  # parameter names that were ignored

    def value(self, name: str) -> str:
        got = self.values.get(name, [])
        return got[0] if got else ""

    def chosen(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def query(self, **overrides: str | None) -> str:
        """The query string for these filters (for pagination, the map's JSON, exports)."""
        pairs = [
            (k, v) for k in FILTER_PARAMS for v in self.values.get(k, []) if k not in overrides
        ]
        pairs += [(k, v) for k, v in overrides.items() if v]
        return urlencode(pairs)

    @property
    def active(self) -> bool:
        return any(self.values.get(k) for k in FILTER_PARAMS if k != "sort")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def local_day_start(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def parse_case_filters(params: QueryParams, *, tz: tzinfo) -> FilterForm:
    values: dict[str, list[str]] = {}
    dropped: list[str] = []

    def keep(name: str, value: str) -> None:
        values.setdefault(name, []).append(value)

    statuses = []
    for raw in params.getlist("status"):
        if raw in CaseStatus.__members__.values():
            statuses.append(CaseStatus(raw))
            keep("status", raw)
        elif raw:
            dropped.append("status")
    categories = [c for c in params.getlist("category") if c][:50]
    for code in categories:
        keep("category", code[:40])
    group = None
    raw_group = params.get("group", "")
    if raw_group in CategoryGroup.__members__.values():
        group = CategoryGroup(raw_group)
        keep("group", raw_group)
    elif raw_group:
        dropped.append("group")
    overdue = {"1": True, "0": False}.get(params.get("overdue", ""))
    if overdue is not None:
        keep("overdue", params["overdue"])
    created_from = created_to = None
    for name in ("from", "to"):
        raw = params.get(name, "")
        day = _day(raw)
        if day is None:
            if raw:
                dropped.append(name)
            continue
        keep(name, raw)
        if name == "from":
            created_from = local_day_start(day, tz)
        else:  # inclusive: up to the start of the next day
            created_to = local_day_start(day + timedelta(days=1), tz)
    text = {}
    for name in ("area", "department", "q"):
        raw = params.get(name, "").strip()[: 40 if name != "q" else MAX_TEXT]
        if raw:
            text[name] = raw
            keep(name, raw)
    sort = SortKey.NEWEST
    raw_sort = params.get("sort", "")
    if raw_sort in SortKey.__members__.values():
        sort = SortKey(raw_sort)
        if sort is not SortKey.NEWEST:
            keep("sort", raw_sort)
    try:
        filters = CaseFilters(
            status=statuses,
            category=categories,
            group=group,
            area=text.get("area"),
            department=text.get("department"),
            overdue=overdue,
            created_from=created_from,
            created_to=created_to,
            q=text.get("q"),
        )
    except ValidationError:  # cannot happen with the checks above; never a 500 for a URL
        filters, values, dropped = CaseFilters(), {}, ["*"]
    return FilterForm(filters=filters, sort=sort, values=values, dropped=dropped)
