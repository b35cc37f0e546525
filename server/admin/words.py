"""Names the admin shows for states, actions, categories, areas and departments, in the
user's language. State and action words are the workflow's (server/workflow/words.py);
the rest come from the database."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from server.accounts.models import Organisation
from server.accounts.scope import Scope, area_filter
from server.admin.i18n import pick
from server.areas.models import Area
from server.taxonomy.models import Category
from server.workflow.rules import Action
from server.workflow.words import ACTION_LABELS, STATUS_LABELS
from shared_schemas.enums import CaseStatus, OrganisationKind

# One colour per state: badges (admin.css .badge-<state>) and map pins share the idea;
# the pins need the hex values.
STATUS_COLOURS: dict[CaseStatus, str] = {
    CaseStatus.REPORTED: "#7b8794",
    CaseStatus.REGISTERED: "#1d5fa8",
    CaseStatus.REJECTED: "#b0b0b0",
    CaseStatus.DUPLICATE: "#c8c8c8",
    CaseStatus.DISPATCHED: "#7b3fc4",
    CaseStatus.RECTIFYING: "#e08a00",
    CaseStatus.RECTIFIED: "#0f9a92",
    CaseStatus.CLOSED: "#1e7a3c",
    CaseStatus.REOPENED: "#b42318",
}


def status_label(locale: str, status: CaseStatus | str) -> str:
    return pick(locale, *STATUS_LABELS[CaseStatus(status)])


def action_label(locale: str, action: Action | str) -> str:
    return pick(locale, *ACTION_LABELS[Action(action)])


@dataclass(frozen=True)
class Option:
    value: str
    label: str


def category_options(session: Session, locale: str) -> list[Option]:
    rows = session.exec(select(Category).order_by(col(Category.sort_order), col(Category.code)))
    return [Option(c.code, pick(locale, c.name_zh, c.name_en)) for c in rows]


def category_names(session: Session, locale: str) -> dict[str, str]:
    return {o.value: o.label for o in category_options(session, locale)}


def department_options(session: Session, locale: str) -> list[Option]:
    rows = session.exec(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.DEPARTMENT)
        .where(col(Organisation.is_active))
        .order_by(col(Organisation.code))
    )
    return [Option(o.code, pick(locale, o.name_zh, o.name_en)) for o in rows]


def department_names(session: Session, locale: str) -> dict[str, str]:
    rows = session.exec(
        select(Organisation).where(Organisation.kind == OrganisationKind.DEPARTMENT)
    )
    return {o.code: pick(locale, o.name_zh, o.name_en) for o in rows}


def area_options(session: Session, scope: Scope, locale: str) -> list[Option]:
    """The areas the user may filter by, indented by depth (district > ... > compound)."""
    rows = session.exec(select(Area).where(area_filter(scope)).order_by(col(Area.path)))
    options = []
    for area in rows:
        depth = area.path.strip("/").count("/")
        name = pick(locale, area.name, area.name_en)
        options.append(Option(area.code, "\u3000" * depth + name))
    return options


def area_names(session: Session, locale: str, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.exec(select(Area).where(col(Area.code).in_(codes)))
    return {a.code: pick(locale, a.name, a.name_en) for a in rows}
