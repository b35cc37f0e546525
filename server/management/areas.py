"""Areas: list, create, rename (admin only). Each change goes into the sync change log so
tablets pull it (server.sync.changes.record_area_change)."""

from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User
from server.areas import service as area_service
from server.areas.models import Area

# The nesting rules live in areas.service; checked here first to name the field.
from server.areas.service import _CHILD_LEVELS as CHILD_LEVELS
from server.core.errors import NotFound
from server.management.permissions import require_admin
from server.management.validation import FieldErrors, clean_float, clean_text
from server.sync.changes import record_area_change
from shared_schemas.enums import AreaLevel, OrganisationKind

# The wire contract's area code (shared_schemas.common.AreaCode).
AREA_CODE_PATTERN = r"[A-Za-z0-9_-]{1,40}"


def list_areas(session: Session, *, actor: User) -> list[Area]:
    """Every area, parents before children (the tree in path order)."""
    require_admin(actor)
    return list(session.exec(select(Area).order_by(col(Area.path))))


def get_area(session: Session, *, actor: User, code: str) -> Area:
    require_admin(actor)
    return _area(session, code)


def _area(session: Session, code: str) -> Area:
    area = area_service.area_by_code(session, code)
    if area is None:
        raise NotFound("area")
    return area


def create_area(
    session: Session,
    *,
    actor: User,
    code: str,
    name: str,
    level: AreaLevel | str,
    parent_code: str | None = None,
    name_en: str | None = None,
    property_company_code: str | None = None,
    lat: float | str | None = None,
    lon: float | str | None = None,
) -> Area:
    """A new area under its parent; every field problem is reported at once."""
    require_admin(actor)
    errors = FieldErrors()
    code = clean_text(
        errors,
        "code",
        code,
        max_length=40,
        pattern=AREA_CODE_PATTERN,
        pattern_hint="1 to 40 letters, digits, _ or -",
    )
    name = clean_text(errors, "name", name, max_length=100)
    english = clean_text(errors, "name_en", name_en, max_length=100, required=False)
    parsed: AreaLevel | None = None
    try:
        parsed = AreaLevel(level)
    except ValueError:
        errors.add("level", f"must be one of {', '.join(lv.value for lv in AreaLevel)}", "enum")
    parent = None
    parent_code = (parent_code or "").strip()
    if parent_code:
        parent = area_service.area_by_code(session, parent_code)
        if parent is None:
            errors.add(
                "parent_code", f"no area has the code {parent_code!r}", "unknown", value=parent_code
            )
        elif not parent.is_active:
            errors.add(
                "parent_code",
                f"the area {parent_code!r} is deactivated",
                "inactive",
                value=parent_code,
            )
    if parsed is not None and not errors.has("parent_code"):
        if parent is None and parsed != AreaLevel.DISTRICT:
            errors.add("parent_code", f"a {parsed.value} needs a parent area", "missing")
        elif parent is not None and parsed not in CHILD_LEVELS[parent.level]:
            allowed = ", ".join(sorted(lv.value for lv in CHILD_LEVELS[parent.level]))
            errors.add(
                "level",
                f"a {parsed.value} cannot be inside a {parent.level.value} (allowed: {allowed})",
            )
    company = None
    company_code = (property_company_code or "").strip()
    if company_code:
        company = session.exec(
            select(Organisation)
            .where(Organisation.code == company_code)
            .where(Organisation.kind == OrganisationKind.PROPERTY_COMPANY)
        ).first()
        if company is None:
            errors.add(
                "property_company_code",
                f"no property company has the code {company_code!r}",
                "unknown",
                value=company_code,
            )
        elif parsed is not None and parsed != AreaLevel.COMPOUND:
            errors.add("property_company_code", "only a compound is managed by a property company")
    latitude = clean_float(errors, "lat", lat, low=-90, high=90)
    longitude = clean_float(errors, "lon", lon, low=-180, high=180)
    if (latitude is None) != (longitude is None) and not (errors.has("lat") or errors.has("lon")):
        missing = "lat" if latitude is None else "lon"
        errors.add(missing, "give both latitude and longitude, or neither", "missing")
    if code and not errors.has("code") and area_service.area_by_code(session, code):
        errors.add("code", f"an area with the code {code!r} already exists", "taken")
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 - a bad level was added to errors above
    area = area_service.create_area(
        session,
        code=code,
        name=name,
        level=parsed,
        parent=parent,
        name_en=english or None,
        property_company=company,
        lat=latitude,
        lon=longitude,
    )
    record_area_change(session, area)
    return area


def rename_area(
    session: Session, *, actor: User, code: str, name: str, name_en: str | None = None
) -> Area:
    """New names for an area (its code, place in the tree and cases stay)."""
    require_admin(actor)
    area = _area(session, code)
    errors = FieldErrors()
    new_name = clean_text(errors, "name", name, max_length=100)
    english = clean_text(errors, "name_en", name_en, max_length=100, required=False)
    errors.raise_if_any()
    if (area.name, area.name_en) == (new_name, english or None):
        return area  # nothing changed: no change for tablets to pull
    area.name = new_name
    area.name_en = english or None
    session.add(area)
    session.flush()
    record_area_change(session, area)
    return area
