"""The category grid of the New report screen: groups, colours, names and quick phrases.

Categories come from what sync pulled (``taxonomy_cache``: names edited or categories
switched off on the server) over the taxonomy shipped with the app (which works before
the first sync). Group colours always come from the shipped file: the server does not
send them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.locale import N_
from shared_schemas.taxonomy import TaxonomyData, load_taxonomy

GROUP_ORDER = ("fire_safety", "order", "environment", "facilities", "other")


@dataclass(frozen=True)
class CategoryTile:
    code: str
    group: str
    name_zh: str
    name_en: str
    default_severity: str
    colour: str
    sort_order: int


@dataclass(frozen=True)
class CategoryGroupView:
    code: str
    name_zh: str
    name_en: str
    colour: str
    categories: tuple[CategoryTile, ...]


def _shipped_tiles(data: TaxonomyData) -> dict[str, CategoryTile]:
    colours = {g.code.value: g.colour for g in data.groups}
    return {
        c.code.value: CategoryTile(
            code=c.code.value,
            group=c.group.value,
            name_zh=c.name_zh,
            name_en=c.name_en,
            default_severity=c.default_severity.value,
            colour=colours.get(c.group.value, "#6c757d"),
            sort_order=c.sort_order,
        )
        for c in data.categories
    }


def load_categories(reader: LocalReader | None = None) -> list[CategoryGroupView]:
    """The groups in domain.md's order, each with its active categories."""
    data = load_taxonomy()
    tiles = _shipped_tiles(data)
    colours = {g.code.value: g.colour for g in data.groups}
    if reader is not None:
        for row in reader.all("SELECT code, data FROM taxonomy_cache"):
            try:
                pulled = json.loads(row["data"])
            except ValueError:
                continue
            shipped = tiles.get(row["code"])
            if shipped is None:
                continue  # a code this app version does not know cannot be sent anyway
            if pulled.get("active", True) is False:
                tiles.pop(row["code"], None)
                continue
            tiles[row["code"]] = CategoryTile(
                code=shipped.code,
                group=shipped.group,
                name_zh=str(pulled.get("name_zh") or shipped.name_zh),
                name_en=str(pulled.get("name_en") or shipped.name_en),
                default_severity=str(pulled.get("default_severity") or shipped.default_severity),
                colour=shipped.colour,
                sort_order=shipped.sort_order,
            )
    groups: list[CategoryGroupView] = []
    for info in sorted(data.groups, key=lambda g: GROUP_ORDER.index(g.code.value)):
        members = sorted(
            (t for t in tiles.values() if t.group == info.code.value), key=lambda t: t.sort_order
        )
        if members:
            groups.append(
                CategoryGroupView(
                    code=info.code.value,
                    name_zh=info.name_zh,
                    name_en=info.name_en,
                    colour=colours[info.code.value],
                    categories=tuple(members),
                )
            )
    return groups


def category_index(groups: list[CategoryGroupView]) -> dict[str, CategoryTile]:
    return {tile.code: tile for group in groups for tile in group.categories}


def shipped_category(code: str | None) -> CategoryTile | None:
    if code is None:
        return None
    return _shipped_tiles(load_taxonomy()).get(code)


# ---------------------------------------------------------------- quick phrases
# A few ready-made descriptions per category (tap to add to the description): typing with
# gloves on is slow. Message ids in English; the Chinese catalog has the field wording.
QUICK_PHRASES: dict[str, tuple[str, ...]] = {
    "FIRE_LANE": (
        N_("Private cars parked in the fire lane"),
        N_("Barrier or lock blocks the fire lane"),
        N_("Goods piled in the fire lane"),
    ),
    "EVAC_ROUTE": (
        N_("Emergency exit locked"),
        N_("Stairs blocked by objects"),
        N_("Exit sign not lit"),
    ),
    "HALLWAY_CLUTTER": (
        N_("Furniture and boxes in the corridor"),
        N_("Flammable items in the stairwell"),
        N_("Bicycles blocking the corridor"),
    ),
    "EBIKE_INDOOR": (
        N_("E-bike charging in the hallway"),
        N_("E-bike parked in the stairwell"),
        N_("E-bike taken into the lift"),
    ),
    "FLYING_WIRE": (
        N_("Charging cable hanging from a window"),
        N_("Extension lead across the path"),
    ),
    "FIRE_EQUIPMENT": (
        N_("Fire hydrant has no water"),
        N_("Extinguisher missing or expired"),
        N_("Fire alarm or sprinkler broken"),
    ),
    "FIRE_MGMT": (
        N_("Fire control room unattended"),
        N_("No micro fire station"),
    ),
    "GAS_RISK": (
        N_("Smell of gas"),
        N_("Gas pipe damaged or corroded"),
        N_("Gas cylinder stored indoors"),
    ),
    "ELECTRIC_RISK": (
        N_("Old or exposed wiring"),
        N_("Overloaded sockets"),
        N_("No residual-current protection"),
    ),
    "ZOMBIE_CAR": (
        N_("Car not moved for months, covered in dust"),
        N_("Car without number plates"),
    ),
    "ILLEGAL_PARKING": (
        N_("Parked on the pavement"),
        N_("Public parking space taken privately"),
    ),
    "GROUND_LOCK": (N_("Parking lock on a public space"),),
    "STREET_VENDING": (
        N_("Stall occupying the road"),
        N_("Shop goods displayed outside"),
    ),
    "ILLEGAL_BUILD": (
        N_("Illegal extension on the roof"),
        N_("Balcony or window enclosed"),
        N_("Shed built on public land"),
    ),
    "TRUCK_PARKING": (
        N_("Truck parked in the compound"),
        N_("Construction vehicle blocking the road"),
    ),
    "GARBAGE": (
        N_("Garbage not collected"),
        N_("Construction waste dumped"),
        N_("Bins overflowing"),
    ),
    "SEWAGE": (
        N_("Sewage on the ground"),
        N_("Drain blocked"),
    ),
    "POSTERS": (
        N_("Small adverts on walls"),
        N_("Graffiti"),
    ),
    "TANGLED_CABLES": (
        N_("Cables hanging low"),
        N_("Tangled cables on poles"),
    ),
    "ILLEGAL_ADS": (
        N_("Sign board without permit"),
        N_("Damaged sign board, risk of falling"),
    ),
    "GREEN_DAMAGE": (
        N_("Vegetables planted in the green space"),
        N_("Lawn or shrubs destroyed"),
    ),
    "LIVESTOCK": (N_("Poultry kept in the compound"),),
    "STREET_LIGHT": (
        N_("Street light out"),
        N_("Street light flickering"),
    ),
    "ROAD_DAMAGE": (
        N_("Pothole in the road"),
        N_("Water standing after rain"),
        N_("Broken paving stones"),
    ),
    "MANHOLE": (
        N_("Manhole cover missing"),
        N_("Manhole cover broken or loose"),
    ),
    "OTHER": (N_("Needs a look by the supervisor"),),
}


def quick_phrases(code: str | None) -> tuple[str, ...]:
    """Message ids of the quick phrases for a category (translate before showing)."""
    return QUICK_PHRASES.get(code or "", ())


def append_phrase(description: str, phrase: str, *, lang: str) -> str:
    """Add a phrase to a description (once), separated as the language writes lists."""
    text = description.strip()
    if phrase in text:
        return text
    if not text:
        return phrase
    separator = "；" if lang.lower().startswith("zh") else "; "
    return f"{text}{separator}{phrase}"
