"""The navigation bar: one entry per page, with the roles that see it.

A new top-level page adds a NavItem here (its label key in the i18n catalog). The first
entry a role may see is that role's home page (/admin redirects there).
"""

from dataclasses import dataclass

from shared_schemas.enums import Role

_ALL = frozenset({Role.SUPERVISOR, Role.DEPARTMENT, Role.ADMIN})
_OFFICE = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class NavItem:
    key: str  # the `active` name a page passes to render()
    path: str
    label_key: str
    roles: frozenset[Role]


NAV: tuple[NavItem, ...] = (
    NavItem("triage", "/admin/triage", "nav.triage", _OFFICE),
    NavItem("cases", "/admin/cases", "nav.cases", _ALL),
    NavItem("map", "/admin/map", "nav.map", _ALL),
    NavItem("devices", "/admin/devices", "nav.devices", _OFFICE),
    NavItem("dashboard", "/admin/dashboard", "nav.dashboard", _ALL),
    NavItem("exports", "/admin/exports", "nav.exports", _ALL),
    NavItem("manage", "/admin/manage", "nav.manage", _OFFICE),
)


def nav_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role in item.roles]


def home_path(role: Role) -> str:
    items = nav_for(role)
    return items[0].path if items else "/admin/login"
