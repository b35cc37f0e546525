"""Who may see what: the one place the scope rules live. Every query that lists or reads
cases or areas filters through here, so a new endpoint cannot invent its own rules.

- admin: everything
- supervisor: the cases inside their assigned areas (their street)
- inspector: the cases inside their assigned grids
- patrol: the cases inside the compounds their property company manages
- department: the cases dispatched to their department (any area)
"""

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from server.accounts.models import User, UserArea
from server.areas.models import Area
from server.areas.paths import path_within
from server.cases.models import Case
from shared_schemas.enums import Role


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    area_paths: tuple[str, ...] = ()
    department_id: int | None = None
    all_areas_visible: bool = False

    def covers_path(self, path: str) -> bool:
        """Is the area at `path` one of the scope's areas or inside one? A path's
        ancestors are its prefixes ending in '/' ('/1/4/9/' -> '/1/', '/1/4/', '/1/4/9/'),
        so each is looked up in a set: a push checks every report's grid, and a scope
        can hold many paths (a patrol's: every compound its company manages)."""
        if self.everything:
            return True
        paths = self._path_set
        end = path.find("/", 1)
        while end != -1:
            if path[: end + 1] in paths:
                return True
            end = path.find("/", end + 1)
        return False

    @cached_property
    def _path_set(self) -> frozenset[str]:
        return frozenset(self.area_paths)


def scope_for(session: Session, user: User) -> Scope:
    if user.role == Role.ADMIN:
        return Scope(everything=True, all_areas_visible=True)
    if user.role == Role.DEPARTMENT:
        # Departments work city-wide: they see every area name, but only their own cases.
        return Scope(department_id=user.organisation_id or -1, all_areas_visible=True)
    if user.role == Role.PATROL:
        stmt = select(Area.path).where(Area.property_company_id == user.organisation_id)
        if user.organisation_id is None:
            return Scope()
    else:
        stmt = (
            select(Area.path)
            .join(UserArea, col(UserArea.area_id) == col(Area.id))
            .where(UserArea.user_id == user.id)
        )
    return Scope(area_paths=tuple(sorted(set(session.exec(stmt)))))


def _path_prefix_filter(
    column: Mapped[str] | Mapped[str | None], paths: tuple[str, ...]
) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(path_within(column, p) for p in paths))


def ancestor_paths(paths: tuple[str, ...]) -> set[str]:
    """'/1/4/9/' -> {'/1/', '/1/4/'}: the areas above a scope's areas (shown as context)."""
    ancestors: set[str] = set()
    for path in paths:
        parts = path.strip("/").split("/")
        for n in range(1, len(parts)):
            ancestors.add("/" + "/".join(parts[:n]) + "/")
    return ancestors


def case_filter(
    scope: Scope,
    *,
    area_path: Mapped[str] | Mapped[str | None] | None = None,
    department_id: Mapped[int | None] | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause limited to the cases the scope may see. By default on Case; the
    sync change log passes its own copies of the same columns."""
    if scope.everything:
        return true()
    if scope.department_id is not None:
        column = department_id if department_id is not None else col(Case.department_id)
        return column == scope.department_id
    path = area_path if area_path is not None else col(Case.area_path)
    return _path_prefix_filter(path, scope.area_paths)


def area_filter(
    scope: Scope, *, path: Mapped[str] | Mapped[str | None] | None = None
) -> ColumnElement[bool]:
    """Areas inside the scope, and their ancestors (needed to show where a grid lies).
    By default on Area.path; the sync change log passes its own path column."""
    if scope.everything or scope.all_areas_visible:
        return true()
    if not scope.area_paths:
        return false()
    column = path if path is not None else col(Area.path)
    return or_(
        _path_prefix_filter(column, scope.area_paths),
        column.in_(ancestor_paths(scope.area_paths)),
    )


def can_see_case(scope: Scope, case: Case) -> bool:
    if scope.everything:
        return True
    if scope.department_id is not None:
        return case.department_id == scope.department_id
    return scope.covers_path(case.area_path)
