"""The hazard taxonomy: category codes (part of the contract) and the shipped data file.

The codes are a closed set: an unknown code is refused by validation on both sides. Names,
departments and deadlines may be edited on the server; codes only change with a release.
"""

import json
from enum import StrEnum
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from shared_schemas.enums import CategoryGroup, Severity


class CategoryCode(StrEnum):
    FIRE_LANE = "FIRE_LANE"
    EVAC_ROUTE = "EVAC_ROUTE"
    HALLWAY_CLUTTER = "HALLWAY_CLUTTER"
    EBIKE_INDOOR = "EBIKE_INDOOR"
    FLYING_WIRE = "FLYING_WIRE"
    FIRE_EQUIPMENT = "FIRE_EQUIPMENT"
    FIRE_MGMT = "FIRE_MGMT"
    GAS_RISK = "GAS_RISK"
    ELECTRIC_RISK = "ELECTRIC_RISK"
    ZOMBIE_CAR = "ZOMBIE_CAR"
    ILLEGAL_PARKING = "ILLEGAL_PARKING"
    GROUND_LOCK = "GROUND_LOCK"
    STREET_VENDING = "STREET_VENDING"
    ILLEGAL_BUILD = "ILLEGAL_BUILD"
    TRUCK_PARKING = "TRUCK_PARKING"
    GARBAGE = "GARBAGE"
    SEWAGE = "SEWAGE"
    POSTERS = "POSTERS"
    TANGLED_CABLES = "TANGLED_CABLES"
    ILLEGAL_ADS = "ILLEGAL_ADS"
    GREEN_DAMAGE = "GREEN_DAMAGE"
    LIVESTOCK = "LIVESTOCK"
    STREET_LIGHT = "STREET_LIGHT"
    ROAD_DAMAGE = "ROAD_DAMAGE"
    MANHOLE = "MANHOLE"
    OTHER = "OTHER"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeadlineDays(_Frozen):
    """Days to rectify, per severity."""

    minor: int = Field(ge=1, le=365)
    general: int = Field(ge=1, le=365)
    major: int = Field(ge=1, le=365)

    def for_severity(self, severity: Severity) -> int:
        return int(getattr(self, severity.value))


class GroupInfo(_Frozen):
    code: CategoryGroup
    name_zh: str
    name_en: str
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class DepartmentInfo(_Frozen):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,39}$")
    name_zh: str
    name_en: str


class CategoryInfo(_Frozen):
    code: CategoryCode
    group: CategoryGroup
    name_zh: str
    name_en: str
    default_department: str | None
    default_severity: Severity
    deadline_days: DeadlineDays
    sort_order: int


class TaxonomyData(_Frozen):
    version: int
    groups: tuple[GroupInfo, ...]
    departments: tuple[DepartmentInfo, ...]
    categories: tuple[CategoryInfo, ...]


@cache
def load_taxonomy() -> TaxonomyData:
    """The taxonomy shipped with the package (data/taxonomy.json), validated."""
    raw = resources.files("shared_schemas").joinpath("data/taxonomy.json").read_text("utf-8")
    data = json.loads(raw)
    data.pop("_comment", None)
    return TaxonomyData.model_validate(data)
