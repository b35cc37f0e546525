"""The dashboard's figures as the page shows them: filters read from the query string,
the period presets, chart series and table rows (no HTML here, so it is easy to test).

The figures themselves are server.reports.indicators.compute_indicators'; this module only
arranges them. Rates travel as fractions (0..1) and are shown as percentages.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from server.admin.i18n import Translator
from server.reports.periods import REPORT_TZ
from server.reports.schemas import IndicatorFilters, IndicatorRow, Indicators

PERIODS = ("month", "3m", "12m", "year", "all", "custom")
DEFAULT_PERIOD = "12m"
# The columns of every breakdown table, in order (each a metric of IndicatorRow).
TABLE_METRICS = (
    "discovered",
    "registered",
    "registration_rate",
    "on_time_rate",
    "closure_rate",
    "rework_rate",
    "avg_days_to_close",
    "overdue",
)
RATE_METRICS = frozenset({"registration_rate", "on_time_rate", "closure_rate", "rework_rate"})
BREAKDOWNS = ("by_month", "by_group", "by_category", "by_area", "by_department")


@dataclass
class DashboardQuery:
    """What the filter form asked for, after checking; `errors` maps a field to words."""

    period: str
    filters: IndicatorFilters
    errors: dict[str, str] = field(default_factory=dict)


def months_back(today: date, months: int) -> date:
    """The first day of the month `months` before today's month."""
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def period_range(period: str, today: date) -> tuple[date | None, date | None]:
    """The days (both included) a preset period covers, in the report time zone."""
    if period == "month":
        return today.replace(day=1), today
    if period == "3m":
        return months_back(today, 2), today
    if period == "12m":
        return months_back(today, 11), today
    if period == "year":
        return date(today.year, 1, 1), today
    return None, None


def report_today(now: datetime) -> date:
    return now.astimezone(REPORT_TZ).date()


def parse_query(params: QueryParams, *, now: datetime, t: Translator) -> DashboardQuery:
    """Read the filter form. A bad value is named in `errors` and left out (the page still
    shows figures for the rest), never a crash or a silent wrong answer."""
    errors: dict[str, str] = {}
    period = params.get("period") or DEFAULT_PERIOD
    if period not in PERIODS:
        errors["period"] = t("dash.err.period")
        period = DEFAULT_PERIOD
    raw: dict[str, Any] = {
        "category": [c for c in params.getlist("category") if c],
        "group": params.get("group") or None,
        "area": (params.get("area") or "").strip() or None,
        "department": params.get("department") or None,
    }
    if params.get("area_level"):
        raw["area_level"] = params.get("area_level")
    if period == "custom":
        raw["date_from"] = params.get("date_from") or None
        raw["date_to"] = params.get("date_to") or None
    else:
        raw["date_from"], raw["date_to"] = period_range(period, report_today(now))
    try:
        filters = IndicatorFilters.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "period"
            errors[name] = t("dash.err.value")
            raw.pop(name, None)
        filters = IndicatorFilters.model_validate(raw)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["date_to"] = t("dash.err.order")
        filters = filters.model_copy(update={"date_to": None})
    return DashboardQuery(period=period, filters=filters, errors=errors)


def percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def show(metric: str, value: float | int | None) -> str:
    """A table cell: rates as 85.0%, days with one decimal, counts as they are."""
    if value is None:
        return "—"
    if metric in RATE_METRICS:
        return f"{value * 100:.1f}%"
    if metric == "avg_days_to_close":
        return f"{value:.1f}"
    return str(value)


def table_rows(rows: list[IndicatorRow], t: Translator) -> list[dict[str, Any]]:
    """Rows for a breakdown table: the name in the user's language and each cell's text,
    with the counts behind each rate (for the cell's title, so a rate can be checked)."""
    out = []
    for row in rows:
        cells = {m: show(m, getattr(row, m)) for m in TABLE_METRICS}
        out.append(
            {
                "key": row.key,
                "name": t.pick(row.name_zh, row.name_en),
                "cells": cells,
                "basis": {
                    "registration_rate": f"{row.registered}/{row.discovered}",
                    "on_time_rate": f"{row.on_time}/{row.due}",
                    "closure_rate": f"{row.closed}/{row.registered}",
                    "rework_rate": f"{row.failed_verifications}/{row.verifications}",
                },
            }
        )
    return out


def chart_data(indicators: Indicators, t: Translator) -> dict[str, Any]:
    """The series the four charts draw (the same numbers as the tables)."""

    def names(rows: list[IndicatorRow]) -> list[str]:
        return [t.pick(r.name_zh, r.name_en) for r in rows]

    def series(rows: list[IndicatorRow], metric: str) -> list[Any]:
        values = [getattr(r, metric) for r in rows]
        return [percent(v) for v in values] if metric in RATE_METRICS else values

    months, categories = indicators.by_month, indicators.by_category
    departments, areas = indicators.by_department, indicators.by_area
    return {
        "labels": {m: t(f"dash.metric.{m}") for m in TABLE_METRICS} | {"closed": t("dash.closed")},
        "percent_axis": t("dash.percent_axis"),
        "count_axis": t("dash.count_axis"),
        "month": {
            "labels": [r.key for r in months],
            "discovered": series(months, "discovered"),
            "registered": series(months, "registered"),
            "closed": series(months, "closed"),
            "on_time_rate": series(months, "on_time_rate"),
            "closure_rate": series(months, "closure_rate"),
        },
        "category": {
            "labels": names(categories),
            "discovered": series(categories, "discovered"),
            "overdue": series(categories, "overdue"),
        },
        "department": {
            "labels": names(departments),
            "on_time_rate": series(departments, "on_time_rate"),
            "closure_rate": series(departments, "closure_rate"),
        },
        "area": {
            "labels": names(areas),
            "discovered": series(areas, "discovered"),
            "overdue": series(areas, "overdue"),
        },
    }
