"""What the map shows: markers for my reports and my tasks, coloured by state.

Kivy-free: the map screen turns each :class:`Marker` into a widget. A tablet may hold
thousands of reports; the map shows the newest :data:`MAX_REPORT_MARKERS` of them (the
list screen has all of them) and every open task.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.report_list import ReportRow
from inspector_app.viewmodels.task_list import TaskRow

MAX_REPORT_MARKERS = 300

# Marker colours: one per group of states, all told apart at a glance (legend on screen).
MARKER_GROUPS: dict[str, tuple[str, str]] = {  # group -> (colour, msgid)
    "unsent": ("#f77f00", N_("Not sent yet")),
    "failed": ("#d62828", N_("Sync failed")),
    "open_case": ("#1f63a8", N_("Case open")),
    "done_case": ("#2b9348", N_("Rectified or closed")),
    "no_case": ("#6c757d", N_("Not registered")),
    "task": ("#7b2cbf", N_("Task")),
    "task_overdue": ("#e0007a", N_("Overdue task")),
}
TASK_DUE_COLOUR = MARKER_GROUPS["task"][0]
TASK_OVERDUE_COLOUR = MARKER_GROUPS["task_overdue"][0]
TASK_DONE_COLOUR = MARKER_GROUPS["done_case"][0]

# Fallback centre when nothing has a position yet (the demo district).
DEFAULT_CENTRE = (31.2650, 121.5300)


@dataclass(frozen=True)
class Marker:
    kind: str  # "report" | "task"
    ref: str  # report id or task id
    lat: float
    lon: float
    colour: str
    state: str  # sync state / case status for reports, open/overdue/done for tasks


def report_group(row: ReportRow) -> str:
    """A report's marker group: its case once the server has one, else its sync state."""
    if row.sync == "rejected":
        return "failed"
    if row.case_status in ("rectified", "closed"):
        return "done_case"
    if row.case_status in ("rejected", "duplicate"):
        return "no_case"
    if row.case_status or row.sync == "synced":
        return "open_case"
    return "unsent"


def report_colour(row: ReportRow) -> tuple[str, str]:
    """(colour, state): the group's colour; the state is the case status or sync state."""
    return MARKER_GROUPS[report_group(row)][0], row.case_status or row.sync


def markers(
    reports: Iterable[ReportRow], tasks: Iterable[TaskRow], *, now: datetime
) -> list[Marker]:
    out: list[Marker] = []
    for row in reports:
        if row.lat is None or row.lon is None:
            continue
        colour, state = report_colour(row)
        out.append(Marker("report", row.id, row.lat, row.lon, colour, state))
        if len(out) >= MAX_REPORT_MARKERS:
            break
    for task in tasks:
        if task.lat is None or task.lon is None:
            continue
        if task.state == "open":
            state = "overdue" if task.overdue(now) else "open"
            colour = TASK_OVERDUE_COLOUR if state == "overdue" else TASK_DUE_COLOUR
        else:
            state, colour = "done", TASK_DONE_COLOUR
        out.append(Marker("task", task.id, task.lat, task.lon, colour, state))
    return out


def centre_of(points: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """The middle of the bounding box of the points (the default centre without any)."""
    pts = list(points)
    if not pts:
        return DEFAULT_CENTRE
    lats = [p[0] for p in pts]
    lons = [p[1] for p in pts]
    return (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2


def zoom_for(points: Iterable[tuple[float, float]], *, default: int = 17) -> int:
    """A zoom level that fits the points roughly (17 for one place; 10 at the least)."""
    pts = list(points)
    if len(pts) < 2:
        return default
    span = max(
        max(p[0] for p in pts) - min(p[0] for p in pts),
        max(p[1] for p in pts) - min(p[1] for p in pts),
    )
    zoom = default
    width = 0.005  # about 500 m fits at zoom 17 on a tablet
    while span > width and zoom > 10:
        zoom -= 1
        width *= 2
    return zoom


def metres_per_pixel(lat: float, zoom: int) -> float:
    """Ground resolution of a web-mercator map (for a pin's accuracy)."""
    return float(156_543.03392 * math.cos(math.radians(lat)) / 2.0**zoom)
