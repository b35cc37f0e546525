"""Who may manage what.

- admin: everything (users of every role, areas, departments, categories).
- supervisor: the inspector (网格员) accounts of their own street: create them, disable and
  enable them, reset their passwords and assign them grids, as long as every area involved
  lies inside the supervisor's areas. Street offices hire and replace grid workers
  themselves; everything else (supervisors, departments, patrols, reference data) stays
  with the administrator.
- every other role: nothing (403).

An account the supervisor may not manage answers 404, like anything out of scope.
"""

from server.accounts.models import User
from server.accounts.scope import Scope
from server.core.errors import Forbidden
from shared_schemas.enums import Role

# The roles a supervisor may create and manage.
SUPERVISOR_MANAGES = frozenset({Role.INSPECTOR})


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(f"only an admin may change reference data; you are {actor.role.value}")


def require_user_manager(actor: User) -> None:
    if actor.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden(f"only admin, supervisor may manage users; you are {actor.role.value}")


def manageable_roles(actor: User) -> list[Role]:
    """The roles this actor may give a new account (in the order a form lists them)."""
    if actor.role == Role.ADMIN:
        return list(Role)
    if actor.role == Role.SUPERVISOR:
        return [r for r in Role if r in SUPERVISOR_MANAGES]
    return []


def may_manage(actor: User, scope: Scope, *, role: Role, area_paths: list[str]) -> bool:
    """Whether the actor may manage an account with this role and these areas."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.SUPERVISOR or role not in SUPERVISOR_MANAGES:
        return False
    return bool(area_paths) and all(scope.covers_path(p) for p in area_paths)
