"""User accounts: list, create, disable/enable, reset password, assign areas.

Every function takes the acting user and their scope and checks permissions.py first.
Nothing commits: the caller (a route) commits, so a refused change writes nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.accounts import admin_service
from server.accounts.models import Organisation, RefreshToken, User, UserArea
from server.accounts.passwords import hash_password
from server.accounts.refresh import revoke_family
from server.accounts.scope import Scope
from server.admin.models import AdminSession
from server.areas.models import Area
from server.areas.service import descendants_and_self
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.errors import ApiError, Forbidden, NotFound
from server.management.permissions import manageable_roles, may_manage, require_user_manager
from server.management.validation import FieldErrors, clean_text
from server.sync.changes import record_area_change
from shared_schemas.enums import OrganisationKind, Role

USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._@-]{2,63}"
MIN_PASSWORD_LENGTH = admin_service.MIN_PASSWORD_LENGTH
MAX_PASSWORD_LENGTH = 256
LOCALES = ("zh_CN", "en")
REASON_PASSWORD_RESET = "password_reset"  # noqa: S105 - a revocation reason
REASON_DISABLED = "account_disabled"

# The organisation kind each role belongs to (None: no organisation).
_ORGANISATION_KIND: dict[Role, OrganisationKind | None] = {
    Role.ADMIN: None,
    Role.SUPERVISOR: None,
    Role.INSPECTOR: None,
    Role.PATROL: OrganisationKind.PROPERTY_COMPANY,
    Role.DEPARTMENT: OrganisationKind.DEPARTMENT,
}
_NEEDS_AREAS = frozenset({Role.INSPECTOR, Role.SUPERVISOR})


@dataclass(frozen=True)
class UserRow:
    """One account as the user list shows it."""

    id: UUID
    username: str
    display_name: str
    role: Role
    organisation_code: str | None
    area_codes: tuple[str, ...]
    locale: str
    is_active: bool
    created_at: datetime


def _areas_of(session: Session, user_ids: list[UUID]) -> dict[UUID, list[Area]]:
    if not user_ids:
        return {}
    rows = session.exec(
        select(UserArea.user_id, Area)
        .join(Area, col(Area.id) == col(UserArea.area_id))
        .where(col(UserArea.user_id).in_(user_ids))
        .order_by(col(Area.path))
    )
    out: dict[UUID, list[Area]] = {}
    for user_id, area in rows:
        out.setdefault(user_id, []).append(area)
    return out


def list_users(session: Session, *, actor: User, scope: Scope) -> list[UserRow]:
    """The accounts the actor may manage, by role then user name."""
    require_user_manager(actor)
    users = list(session.exec(select(User).order_by(col(User.role), col(User.username))))
    areas = _areas_of(session, [u.id for u in users])
    orgs = {o.id: o.code for o in session.exec(select(Organisation))}
    return [
        UserRow(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role,
            organisation_code=orgs.get(u.organisation_id) if u.organisation_id else None,
            area_codes=tuple(a.code for a in areas.get(u.id, [])),
            locale=u.locale,
            is_active=u.is_active,
            created_at=u.created_at,
        )
        for u in users
        if may_manage(actor, scope, role=u.role, area_paths=[a.path for a in areas.get(u.id, [])])
    ]


def managed_user(session: Session, *, actor: User, scope: Scope, user_id: UUID) -> User:
    """The account, if the actor may manage it; 404 otherwise (existence not revealed)."""
    require_user_manager(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    paths = [a.path for a in _areas_of(session, [user.id]).get(user.id, [])]
    if not may_manage(actor, scope, role=user.role, area_paths=paths):
        raise NotFound("user")
    return user


def _parse_role(errors: FieldErrors, actor: User, value: Role | str) -> Role | None:
    try:
        role = Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        errors.add("role", f"must be one of {names}", "enum")
        return None
    if role not in manageable_roles(actor):
        raise Forbidden(f"a {actor.role.value} may not create or manage {role.value} accounts")
    return role


def _resolve_areas(
    session: Session, errors: FieldErrors, *, scope: Scope, role: Role | None, codes: list[str]
) -> list[Area]:
    """The areas named by code, each inside the actor's scope; problems go to `errors`."""
    wanted = [c.strip() for c in codes if c.strip()]
    found = (
        {a.code: a for a in session.exec(select(Area).where(col(Area.code).in_(wanted)))}
        if wanted
        else {}
    )
    areas: list[Area] = []
    for code in dict.fromkeys(wanted):
        area = found.get(code)
        # An area outside the actor's scope reads as unknown: its existence is not revealed.
        if area is None or not scope.covers_path(area.path):
            errors.add(
                "area_codes", f"no area you manage has the code {code!r}", "unknown", value=code
            )
        elif not area.is_active:
            errors.add("area_codes", f"the area {code!r} is deactivated", "inactive", value=code)
        else:
            areas.append(area)
    if role in _NEEDS_AREAS and not wanted:
        errors.add("area_codes", f"a {role.value} needs at least one area", "missing")
    return areas


def _resolve_organisation(
    session: Session, errors: FieldErrors, *, role: Role | None, code: str | None
) -> Organisation | None:
    kind = _ORGANISATION_KIND.get(role) if role else None
    code = (code or "").strip()
    if role is None:
        return None
    if kind is None:
        if code:
            errors.add("organisation_code", f"a {role.value} belongs to no organisation")
        return None
    if not code:
        errors.add("organisation_code", f"a {role.value} needs a {kind.value}", "missing")
        return None
    org = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if org is None or org.kind != kind:
        errors.add(
            "organisation_code", f"no {kind.value} has the code {code!r}", "unknown", value=code
        )
        return None
    if not org.is_active:
        errors.add(
            "organisation_code", f"the {kind.value} {code!r} is deactivated", "inactive", value=code
        )
    return org


def _check_password(errors: FieldErrors, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.add(
            name,
            f"must have at least {MIN_PASSWORD_LENGTH} characters",
            "too_short",
            min=MIN_PASSWORD_LENGTH,
        )
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors.add(
            name,
            f"must have at most {MAX_PASSWORD_LENGTH} characters",
            "too_long",
            max=MAX_PASSWORD_LENGTH,
        )


def create_user(
    session: Session,
    settings: Settings,
    *,
    actor: User,
    scope: Scope,
    username: str,
    display_name: str,
    password: str,
    role: Role | str,
    area_codes: list[str],
    organisation_code: str | None = None,
    locale: str = "zh_CN",
) -> User:
    """A new account. Every field problem is reported at once (422, details per field);
    a taken user name is 409 naming the field; a role the actor may not give is 403."""
    require_user_manager(actor)
    errors = FieldErrors()
    name = clean_text(
        errors,
        "username",
        username,
        max_length=64,
        pattern=USERNAME_PATTERN,
        pattern_hint="3 to 64 letters, digits or . _ @ - (starting with a letter or digit)",
    )
    shown = clean_text(errors, "display_name", display_name, max_length=100, required=False)
    _check_password(errors, "password", password)
    parsed = _parse_role(errors, actor, role)
    areas = _resolve_areas(session, errors, scope=scope, role=parsed, codes=area_codes)
    org = _resolve_organisation(session, errors, role=parsed, code=organisation_code)
    if locale not in LOCALES:
        errors.add("locale", f"must be one of {', '.join(LOCALES)}", "enum")
    if (
        not errors.has("username")
        and session.exec(select(User.id).where(User.username == name)).first()
    ):
        raise ApiError(
            409,
            "username_taken",
            f"username: a user named {name!r} already exists",
            [{"field": "username", "message": "is taken", "type": "taken"}],
        )
    errors.raise_if_any()
    assert parsed is not None  # noqa: S101 - a bad role was added to errors above
    user = admin_service.create_user(
        session,
        settings,
        username=name,
        password=password,
        role=parsed,
        area_codes=[a.code for a in areas],
        organisation_code=org.code if org else None,
        display_name=shown or name,
    )
    user.locale = locale
    session.add(user)
    session.flush()
    return user


def revoke_user_tokens(session: Session, *, user_id: UUID, reason: str) -> int:
    """End every sign-in of the user (each refresh-token family; the access tokens of those
    sign-ins stop working at once, see accounts.deps). Returns how many tokens."""
    families = session.exec(
        select(RefreshToken.family_id)
        .where(RefreshToken.user_id == user_id)
        .where(col(RefreshToken.revoked_at).is_(None))
        .distinct()
    ).all()
    return sum(revoke_family(session, family_id=f, reason=reason) for f in families)


def set_user_active(
    session: Session, *, actor: User, scope: Scope, user_id: UUID, active: bool
) -> User:
    """Disable (ending every sign-in at once) or enable an account."""
    user = managed_user(session, actor=actor, scope=scope, user_id=user_id)
    if not active and user.id == actor.id:
        raise ApiError(409, "cannot_disable_self", "you cannot disable your own account")
    user.is_active = active
    session.add(user)
    if not active:
        revoke_user_tokens(session, user_id=user.id, reason=REASON_DISABLED)
    session.flush()
    return user


def reset_password(
    session: Session,
    settings: Settings,
    *,
    actor: User,
    scope: Scope,
    user_id: UUID,
    new_password: str,
) -> int:
    """Set a new password and end every sign-in of the user: tablets (refresh tokens) and
    browsers (admin sessions; not the actor's own, when they reset their own password).
    Returns how many refresh tokens were revoked."""
    user = managed_user(session, actor=actor, scope=scope, user_id=user_id)
    errors = FieldErrors()
    _check_password(errors, "new_password", new_password)
    errors.raise_if_any()
    user.password_hash = hash_password(new_password, settings)
    user.password_changed_at = utcnow()
    session.add(user)
    revoked = revoke_user_tokens(session, user_id=user.id, reason=REASON_PASSWORD_RESET)
    if user.id != actor.id:
        session.execute(delete(AdminSession).where(col(AdminSession.user_id) == user.id))
    session.flush()
    return revoked


def assign_areas(
    session: Session, *, actor: User, scope: Scope, user_id: UUID, area_codes: list[str]
) -> User:
    """Replace the account's areas. The areas newly given are recorded in the sync change
    log (with what lies inside them), so the user's tablet pulls them."""
    user = managed_user(session, actor=actor, scope=scope, user_id=user_id)
    errors = FieldErrors()
    areas = _resolve_areas(session, errors, scope=scope, role=user.role, codes=area_codes)
    if user.role in (Role.PATROL, Role.DEPARTMENT) and areas:
        errors.add(
            "area_codes",
            f"a {user.role.value} works through their organisation, not assigned areas",
        )
    errors.raise_if_any()
    current = set(session.exec(select(UserArea.area_id).where(UserArea.user_id == user.id)))
    wanted = {a.pk for a in areas}
    for link in session.exec(select(UserArea).where(UserArea.user_id == user.id)):
        if link.area_id not in wanted:
            session.delete(link)
    recorded: set[int] = set()
    for area in areas:
        if area.pk in current:
            continue
        session.add(UserArea(user_id=user.id, area_id=area.pk))
        for inner in descendants_and_self(session, area):
            if inner.is_active and inner.pk not in recorded:
                recorded.add(inner.pk)
                record_area_change(session, inner)
    session.flush()
    return user
