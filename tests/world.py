"""A small two-street world for scope tests: everything on street A has a twin on B.

    D1 district
    ├── ST_A street ── CM_A community ── G_A grid ── CP_A compound (managed by PC_A)
    └── ST_B street ── CM_B community ── G_B grid ── CP_B compound (managed by PC_B)

Case A lies in CP_A and is dispatched to FIRE_BRIGADE; case B in CP_B, to HOUSING_BUREAU.
Each role has a user on each side (admin once); the password is PASSWORD for everyone.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.accounts.models import Organisation, User, UserArea
from server.accounts.passwords import hash_password
from server.areas.models import Area
from server.areas.service import create_area
from server.cases.models import Case, CaseEvent
from server.core.config import Settings
from server.taxonomy.reference import sync_reference_data
from shared_schemas.enums import (
    AreaLevel,
    CaseStatus,
    LocationSource,
    OrganisationKind,
    Role,
    Severity,
)

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class Side:
    street: Area
    community: Area
    grid: Area
    compound: Area
    company: Organisation
    department: Organisation
    case_id: UUID
    users: dict[Role, str] = field(default_factory=dict)


@dataclass
class World:
    a: Side
    b: Side
    admin: str
    user_ids: dict[str, UUID]


@cache
def _password_hash(time_cost: int, memory_kib: int) -> str:
    return hash_password(
        PASSWORD, Settings(env="test", argon2_time_cost=time_cost, argon2_memory_kib=memory_kib)
    )


def add_user(
    session: Session,
    settings: Settings,
    *,
    username: str,
    role: Role,
    areas: list[Area] = (),  # type: ignore[assignment]
    organisation: Organisation | None = None,
) -> User:
    user = User(
        username=username,
        display_name=username.replace("_", " ").title(),
        password_hash=_password_hash(settings.argon2_time_cost, settings.argon2_memory_kib),
        role=role,
        organisation_id=organisation.id if organisation else None,
    )
    session.add(user)
    session.flush()
    for area in areas:
        session.add(UserArea(user_id=user.id, area_id=area.pk))
    session.flush()
    return user


def add_case(
    session: Session,
    *,
    area: Area,
    reporter: User,
    status: CaseStatus = CaseStatus.REPORTED,
    department: Organisation | None = None,
    category: str = "FIRE_LANE",
    created_at: datetime = T0,
) -> Case:
    case = Case(
        id=uuid4(),
        category_code=category,
        severity=Severity.GENERAL,
        description="车辆占用消防通道",
        observed_at=created_at,
        lat=31.23,
        lon=121.47,
        accuracy_m=8.0,
        location_source=LocationSource.GPS,
        location_captured_at=created_at,
        area_id=area.pk,
        area_path=area.path,
        address="1号楼东侧",
        reporter_id=reporter.id,
        photos_expected=1,
        status=status,
        department_id=department.id if department else None,
        deadline=created_at + timedelta(days=30) if department else None,
        created_at=created_at,
        updated_at=created_at,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case.id,
            at=created_at,
            actor_id=reporter.id,
            action="report",
            to_status=CaseStatus.REPORTED,
        )
    )
    session.flush()
    return case


def _side(session: Session, settings: Settings, district: Area, tag: str, dept_code: str) -> Side:
    company = Organisation(
        code=f"PC_{tag}",
        kind=OrganisationKind.PROPERTY_COMPANY,
        name_zh=f"物业公司{tag}",
        name_en=f"Property company {tag}",
    )
    session.add(company)
    session.flush()
    street = create_area(
        session, code=f"ST_{tag}", name=f"街道{tag}", level=AreaLevel.STREET, parent=district
    )
    community = create_area(
        session, code=f"CM_{tag}", name=f"社区{tag}", level=AreaLevel.COMMUNITY, parent=street
    )
    grid = create_area(
        session, code=f"G_{tag}", name=f"网格{tag}", level=AreaLevel.GRID, parent=community
    )
    compound = create_area(
        session,
        code=f"CP_{tag}",
        name=f"小区{tag}",
        level=AreaLevel.COMPOUND,
        parent=grid,
        property_company=company,
    )
    department = session.exec(select(Organisation).where(Organisation.code == dept_code)).one()
    t = tag.lower()
    users = {
        Role.SUPERVISOR: add_user(
            session, settings, username=f"supervisor_{t}", role=Role.SUPERVISOR, areas=[street]
        ),
        Role.INSPECTOR: add_user(
            session, settings, username=f"inspector_{t}", role=Role.INSPECTOR, areas=[grid]
        ),
        Role.PATROL: add_user(
            session, settings, username=f"patrol_{t}", role=Role.PATROL, organisation=company
        ),
        Role.DEPARTMENT: add_user(
            session,
            settings,
            username=f"department_{t}",
            role=Role.DEPARTMENT,
            organisation=department,
        ),
    }
    case = add_case(
        session,
        area=compound,
        reporter=users[Role.INSPECTOR],
        status=CaseStatus.DISPATCHED,
        department=department,
    )
    return Side(
        street=street,
        community=community,
        grid=grid,
        compound=compound,
        company=company,
        department=department,
        case_id=case.id,
        users={role: u.username for role, u in users.items()},
    )


def build_world(engine: Engine, settings: Settings) -> World:
    with Session(engine, expire_on_commit=False) as session:
        sync_reference_data(session)
        district = create_area(session, code="D1", name="示范区", level=AreaLevel.DISTRICT)
        a = _side(session, settings, district, "A", "FIRE_BRIGADE")
        b = _side(session, settings, district, "B", "HOUSING_BUREAU")
        admin = add_user(session, settings, username="admin", role=Role.ADMIN)
        session.commit()
        ids = {u.username: u.id for u in session.exec(select(User))}
    return World(a=a, b=b, admin=admin.username, user_ids=ids)


def login(client: TestClient, username: str, device_id: str | None = "tablet-1") -> dict[str, str]:
    """Sign in through the real endpoint; return the Authorization header."""
    body: dict[str, str] = {"username": username, "password": PASSWORD}
    if device_id:
        body["device_id"] = device_id
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
