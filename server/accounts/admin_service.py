"""Creating users (used by the command line; the web admin will use it too)."""

from sqlmodel import Session, select

from server.accounts.models import Organisation, User, UserArea
from server.accounts.passwords import hash_password
from server.areas.service import area_by_code
from server.core.config import Settings
from server.core.errors import ApiError
from shared_schemas.enums import Role

MIN_PASSWORD_LENGTH = 8


def create_user(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    role: Role,
    area_codes: list[str],
    organisation_code: str | None = None,
    display_name: str | None = None,
) -> User:
    """Add a user; every problem is reported with what was wrong (nothing is written)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(
            422,
            "weak_password",
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
        )
    if session.exec(select(User).where(User.username == username)).first():
        raise ApiError(409, "username_taken", f"a user named {username!r} already exists")
    areas = []
    for code in area_codes:
        area = area_by_code(session, code)
        if area is None:
            raise ApiError(422, "unknown_area", f"no area has the code {code!r}")
        areas.append(area)
    organisation = None
    if organisation_code:
        organisation = session.exec(
            select(Organisation).where(Organisation.code == organisation_code)
        ).first()
        if organisation is None:
            raise ApiError(
                422, "unknown_organisation", f"no organisation has the code {organisation_code!r}"
            )
    if role in (Role.INSPECTOR, Role.SUPERVISOR) and not areas:
        raise ApiError(422, "areas_required", f"a {role.value} needs at least one --area")
    if role in (Role.PATROL, Role.DEPARTMENT) and organisation is None:
        raise ApiError(422, "organisation_required", f"a {role.value} needs an --organisation")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password, settings),
        role=role,
        organisation_id=organisation.id if organisation else None,
    )
    session.add(user)
    session.flush()
    for area in areas:
        session.add(UserArea(user_id=user.id, area_id=area.pk))
    session.flush()
    return user
