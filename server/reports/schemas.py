"""Shapes of the indicator endpoint (server-side API, not synced)."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared_schemas.enums import AreaLevel, CategoryGroup


class IndicatorFilters(BaseModel):
    """Which cases the figures are about. Dates are days in China Standard Time, both
    ends included; an unset end is open."""

    date_from: date | None = None
    date_to: date | None = None
    category: list[str] = []
    group: CategoryGroup | None = None
    area: str | None = Field(default=None, description="area code; includes the areas inside")
    department: str | None = Field(default=None, description="department code")
    area_level: AreaLevel = Field(
        default=AreaLevel.GRID, description="the level the area breakdown is rolled up to"
    )


class IndicatorRow(BaseModel):
    """The counts behind the rates, and the rates (null where the denominator is 0)."""

    key: str | None = Field(description="category/group/area/department code or YYYY-MM")
    name_zh: str
    name_en: str
    discovered: int
    registered: int
    pending: int = Field(description="reported, waiting for triage")
    rejected: int
    duplicates: int = Field(description="merged into another case (not in discovered)")
    rectified: int = Field(description="rectified or closed now")
    closed: int
    due: int = Field(description="the denominator of on_time_rate")
    on_time: int
    overdue: int
    verifications: int
    failed_verifications: int
    registration_rate: float | None
    on_time_rate: float | None
    closure_rate: float | None
    rework_rate: float | None
    avg_days_to_close: float | None


class Indicators(BaseModel):
    date_from: date | None
    date_to: date | None
    computed_at: datetime = Field(description="the `now` overdue is measured against")
    area_level: AreaLevel
    totals: IndicatorRow
    by_category: list[IndicatorRow]
    by_group: list[IndicatorRow]
    by_area: list[IndicatorRow]
    by_department: list[IndicatorRow]
    by_month: list[IndicatorRow]
