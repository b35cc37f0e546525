"""Where a report is: the compounds and grids the inspector works in.

The account (``GET /me``) names the inspector's areas, usually grids (a patrol's are the
compounds of their company); pull fills ``areas_cache`` with the area tree. A report's
``grid`` field takes the most precise area picked: the compound when there is one, else
the grid (the server accepts any active area inside the inspector's scope).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from inspector_app.viewmodels.local_read import LocalReader

PICKABLE_LEVELS = ("grid", "compound")


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    lat: float | None
    lon: float | None

    def label(self, lang: str) -> str:
        if lang.lower().startswith("zh") or not self.name_en:
            return self.name
        return self.name_en


def _cached_areas(reader: LocalReader | None) -> dict[str, AreaChoice]:
    if reader is None:
        return {}
    areas: dict[str, AreaChoice] = {}
    for row in reader.all("SELECT code, parent_code, level, name, data FROM areas_cache"):
        try:
            data: dict[str, Any] = json.loads(row["data"] or "{}")
        except ValueError:
            data = {}
        if data.get("active", True) is False:
            continue
        areas[row["code"]] = AreaChoice(
            code=row["code"],
            name=row["name"],
            name_en=str(data.get("name_en") or ""),
            level=row["level"],
            parent_code=row["parent_code"],
            lat=_float(data.get("lat")),
            lon=_float(data.get("lon")),
        )
    return areas


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def area_choices(
    account_areas: Iterable[Mapping[str, Any]], reader: LocalReader | None = None
) -> list[AreaChoice]:
    """The grids and compounds the inspector may report in, each grid before its compounds.

    Without a pulled area tree, the account's own areas are offered as they are.
    """
    cached = _cached_areas(reader)
    children: dict[str | None, list[AreaChoice]] = {}
    for area in cached.values():
        children.setdefault(area.parent_code, []).append(area)
    out: list[AreaChoice] = []
    seen: set[str] = set()

    def visit(area: AreaChoice) -> None:
        if area.code in seen:
            return
        seen.add(area.code)
        if area.level in PICKABLE_LEVELS:
            out.append(area)
        for child in sorted(children.get(area.code, []), key=lambda a: (a.level, a.code)):
            visit(child)

    for own in account_areas:
        code = str(own.get("code", ""))
        if not code:
            continue
        area = cached.get(code) or AreaChoice(
            code=code,
            name=str(own.get("name") or code),
            name_en=str(own.get("name_en") or ""),
            level=str(own.get("level") or "grid"),
            parent_code=None,
            lat=_float(own.get("lat")),
            lon=_float(own.get("lon")),
        )
        visit(area)
    return out


def grid_of(choice: AreaChoice, choices: Iterable[AreaChoice]) -> AreaChoice | None:
    """The grid a compound belongs to (itself for a grid)."""
    by_code = {c.code: c for c in choices}
    current: AreaChoice | None = choice
    while current is not None and current.level != "grid":
        current = by_code.get(current.parent_code or "")
    return current


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(min(1.0, a)))


def nearest_compound(
    choices: Iterable[AreaChoice], lat: float, lon: float, *, within_m: float = 400.0
) -> AreaChoice | None:
    """The closest compound with a known centre within ``within_m`` (a suggestion)."""
    best: tuple[float, AreaChoice] | None = None
    for choice in choices:
        if choice.level != "compound" or choice.lat is None or choice.lon is None:
            continue
        d = distance_m(lat, lon, choice.lat, choice.lon)
        if d <= within_m and (best is None or d < best[0]):
            best = (d, choice)
    return None if best is None else best[1]
