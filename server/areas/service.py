"""Creating and reading areas; keeps the materialised path right."""

from sqlmodel import Session, col, select

from server.accounts.models import Organisation
from server.accounts.scope import Scope, area_filter
from server.areas.models import Area
from server.core.errors import ApiError
from shared_schemas.api import AreaOut
from shared_schemas.enums import AreaLevel

_CHILD_LEVELS: dict[AreaLevel, set[AreaLevel]] = {
    AreaLevel.DISTRICT: {AreaLevel.STREET},
    AreaLevel.STREET: {AreaLevel.COMMUNITY},
    AreaLevel.COMMUNITY: {AreaLevel.GRID, AreaLevel.COMPOUND},
    AreaLevel.GRID: {AreaLevel.COMPOUND},
    AreaLevel.COMPOUND: {AreaLevel.GRID},
}


def create_area(
    session: Session,
    *,
    code: str,
    name: str,
    level: AreaLevel,
    parent: Area | None = None,
    name_en: str | None = None,
    property_company: Organisation | None = None,
    lat: float | None = None,
    lon: float | None = None,
) -> Area:
    """Add an area under its parent (grids and compounds may nest either way)."""
    if parent is None and level != AreaLevel.DISTRICT:
        raise ApiError(422, "validation_error", f"a {level} needs a parent area")
    if parent is not None and level not in _CHILD_LEVELS[parent.level]:
        raise ApiError(422, "validation_error", f"a {level} cannot be inside a {parent.level}")
    area = Area(
        code=code,
        name=name,
        name_en=name_en,
        level=level,
        parent_id=parent.id if parent else None,
        property_company_id=property_company.id if property_company else None,
        lat=lat,
        lon=lon,
    )
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.flush()
    return area


def area_by_code(session: Session, code: str) -> Area | None:
    return session.exec(select(Area).where(Area.code == code)).first()


def descendants_and_self(session: Session, area: Area) -> list[Area]:
    return list(session.exec(select(Area).where(col(Area.path).startswith(area.path))))


def visible_areas(session: Session, scope: Scope) -> list[AreaOut]:
    """The areas the scope may see (its subtrees and their ancestors), parents first."""
    areas = list(
        session.exec(
            select(Area)
            .where(area_filter(scope))
            .where(col(Area.is_active))
            .order_by(col(Area.path))
        )
    )
    codes = {a.id: a.code for a in session.exec(select(Area))}
    return [
        AreaOut(
            code=a.code,
            name=a.name,
            level=a.level,
            parent_code=codes.get(a.parent_id) if a.parent_id else None,
            lat=a.lat,
            lon=a.lon,
        )
        for a in areas
    ]
