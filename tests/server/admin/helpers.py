"""Signing in to the web admin through its real pages, and reading tokens from them."""

import re
from datetime import datetime
from html import unescape
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import User
from server.cases.models import Case
from shared_schemas.enums import CaseStatus, Role
from tests.world import PASSWORD, T0, World, add_case

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def admin_login(client: TestClient, username: str, password: str = PASSWORD) -> Response:
    """Sign in through /admin/login (GET for the form's token, then POST)."""
    page = client.get("/admin/login")
    assert page.status_code == 200, page.text
    response: Response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    return response


def signed_in(client: TestClient, username: str) -> str:
    """Sign in and return the session's CSRF token (from any page's forms)."""
    response = admin_login(client, username)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return form_token(page.text)


def short(case_id: UUID) -> str:
    return str(case_id)[:8]


def shows(html: str, case_id: UUID) -> bool:
    """Whether a page links to the case (lists show each case as a link to its page)."""
    return f'href="/admin/cases/{case_id}"' in html


def make_case(
    engine: Engine,
    world: World,
    *,
    side: str = "a",
    status: CaseStatus = CaseStatus.REPORTED,
    category: str = "FIRE_LANE",
    created_at: datetime = T0,
    department: bool | None = None,
    **fields: Any,
) -> UUID:
    """A case on street A (or B) in the compound; extra Case fields are set as given."""
    s = world.a if side == "a" else world.b
    with Session(engine, expire_on_commit=False) as session:
        reporter = session.exec(select(User).where(User.username == s.users[Role.INSPECTOR])).one()
        dept = (
            s.department if department or (department is None and status in _DISPATCHED) else None
        )
        case = add_case(
            session,
            area=s.compound,
            reporter=reporter,
            status=status,
            department=dept,
            category=category,
            created_at=created_at,
        )
        for name, value in fields.items():
            setattr(case, name, value)
        session.add(case)
        session.commit()
        return case.id


_DISPATCHED = {
    CaseStatus.DISPATCHED,
    CaseStatus.RECTIFYING,
    CaseStatus.RECTIFIED,
    CaseStatus.CLOSED,
}


def get_case(engine: Engine, case_id: UUID) -> Case:
    with Session(engine, expire_on_commit=False) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def flashes(html: str) -> list[str]:
    """The texts of the flash messages on a page (unescaped)."""
    return [
        unescape(re.sub(r"\s+", " ", m).strip())
        for m in re.findall(r'<div class="flash flash-\w+" role="\w+">(.*?)</div>', html, re.S)
    ]
