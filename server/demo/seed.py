"""The demo street: areas, one user per role, and cases in several states with photos.

Idempotent: everything has a fixed code, name or uuid5, and what exists is left alone,
so running seed-demo twice changes nothing.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from sqlmodel import Session, select

from server.accounts.models import Organisation, User, UserArea
from server.accounts.passwords import hash_password
from server.areas.models import Area
from server.areas.service import area_by_code, create_area
from server.cases.models import Case, CaseEvent, Photo
from server.core.clock import utcnow
from server.core.config import Settings
from server.demo.photos import demo_jpeg
from server.storage.local import LocalPhotoStorage
from server.taxonomy.models import Category
from server.taxonomy.reference import sync_reference_data
from server.taxonomy.service import deadline_days
from shared_schemas.enums import (
    AreaLevel,
    CaseStatus,
    LocationSource,
    MediaType,
    OrganisationKind,
    Role,
    Severity,
)

DEMO_PASSWORD = "whistle-demo"  # noqa: S105 - documented demo password
NAMESPACE = UUID("6f1c1d1e-5c7a-4a8e-9d0e-3f1b2a9c7d10")
DEMO_USERS = ("admin", "supervisor", "inspector", "patrol", "department")


@dataclass(frozen=True)
class DemoCase:
    key: str
    category: str
    severity: Severity
    status: CaseStatus
    compound: str
    description: str
    address: str
    age_days: int
    photos: int = 1
    photos_received: int | None = None  # default: all
    lat: float = 31.2655
    lon: float = 121.5301


DEMO_CASES = (
    DemoCase(
        "fire-lane",
        "FIRE_LANE",
        Severity.MAJOR,
        CaseStatus.REPORTED,
        "DEMO_CP1",
        "私家车长期占用消防车通道",
        "阳光小区3号楼北侧消防通道",
        1,
        photos=2,
        photos_received=1,
        lat=31.2661,
        lon=121.5296,
    ),
    DemoCase(
        "flying-wire",
        "FLYING_WIRE",
        Severity.MAJOR,
        CaseStatus.REPORTED,
        "DEMO_CP1",
        "5楼窗口飞线给电动车充电",
        "阳光小区5号楼",
        0,
        lat=31.2657,
        lon=121.5305,
    ),
    DemoCase(
        "zombie-car",
        "ZOMBIE_CAR",
        Severity.GENERAL,
        CaseStatus.REPORTED,
        "DEMO_CP2",
        "白色轿车积灰、轮胎亏气，停放超过半年",
        "和平小区地面停车场",
        2,
        lat=31.2642,
        lon=121.5318,
    ),
    DemoCase(
        "hallway",
        "HALLWAY_CLUTTER",
        Severity.GENERAL,
        CaseStatus.REGISTERED,
        "DEMO_CP2",
        "楼道堆放纸箱和旧家具",
        "和平小区2号楼2单元",
        4,
        lat=31.2645,
        lon=121.5322,
    ),
    DemoCase(
        "ebike",
        "EBIKE_INDOOR",
        Severity.MAJOR,
        CaseStatus.DISPATCHED,
        "DEMO_CP1",
        "门厅内停放三辆电动车",
        "阳光小区1号楼门厅",
        12,
        lat=31.2652,
        lon=121.5290,
    ),
    DemoCase(
        "garbage",
        "GARBAGE",
        Severity.MINOR,
        CaseStatus.RECTIFYING,
        "DEMO_CP3",
        "垃圾房外堆积生活垃圾，未及时清运",
        "春晖小区垃圾房",
        6,
        lat=31.2671,
        lon=121.5336,
    ),
    DemoCase(
        "posters",
        "POSTERS",
        Severity.MINOR,
        CaseStatus.RECTIFIED,
        "DEMO_CP3",
        "单元门口张贴大量小广告",
        "春晖小区6号楼",
        9,
        lat=31.2668,
        lon=121.5341,
    ),
    DemoCase(
        "street-light",
        "STREET_LIGHT",
        Severity.GENERAL,
        CaseStatus.CLOSED,
        "DEMO_CP2",
        "主干道路灯不亮",
        "和平小区南门",
        20,
        lat=31.2636,
        lon=121.5311,
    ),
)

# The path each demo state took, as timeline events (action, to_status).
_PATHS: dict[CaseStatus, tuple[tuple[str, CaseStatus], ...]] = {
    CaseStatus.REPORTED: (),
    CaseStatus.REGISTERED: (("register", CaseStatus.REGISTERED),),
    CaseStatus.DISPATCHED: (
        ("register", CaseStatus.REGISTERED),
        ("dispatch", CaseStatus.DISPATCHED),
    ),
    CaseStatus.RECTIFYING: (
        ("register", CaseStatus.REGISTERED),
        ("dispatch", CaseStatus.DISPATCHED),
        ("start_rectification", CaseStatus.RECTIFYING),
    ),
    CaseStatus.RECTIFIED: (
        ("register", CaseStatus.REGISTERED),
        ("dispatch", CaseStatus.DISPATCHED),
        ("start_rectification", CaseStatus.RECTIFYING),
        ("mark_rectified", CaseStatus.RECTIFIED),
    ),
    CaseStatus.CLOSED: (
        ("register", CaseStatus.REGISTERED),
        ("dispatch", CaseStatus.DISPATCHED),
        ("start_rectification", CaseStatus.RECTIFYING),
        ("mark_rectified", CaseStatus.RECTIFIED),
        ("close", CaseStatus.CLOSED),
    ),
}


_STAMPS = {
    CaseStatus.REGISTERED: "registered_at",
    CaseStatus.DISPATCHED: "dispatched_at",
    CaseStatus.RECTIFIED: "rectified_at",
    CaseStatus.CLOSED: "closed_at",
}


def _org(
    session: Session, code: str, kind: OrganisationKind, name_zh: str, name_en: str
) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if org is None:
        org = Organisation(code=code, kind=kind, name_zh=name_zh, name_en=name_en)
        session.add(org)
        session.flush()
    return org


def _area(
    session: Session, code: str, name: str, level: AreaLevel, parent: Area | None, **kw: object
) -> Area:
    return area_by_code(session, code) or create_area(
        session,
        code=code,
        name=name,
        level=level,
        parent=parent,
        **kw,  # type: ignore[arg-type]
    )


def _user(
    session: Session,
    settings: Settings,
    username: str,
    display: str,
    role: Role,
    areas: list[Area],
    org: Organisation | None = None,
) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is not None:
        return user
    user = User(
        username=username,
        display_name=display,
        password_hash=hash_password(DEMO_PASSWORD, settings),
        role=role,
        organisation_id=org.id if org else None,
    )
    session.add(user)
    session.flush()
    for area in areas:
        session.add(UserArea(user_id=user.id, area_id=area.pk))
    session.flush()
    return user


def _case(
    session: Session,
    storage: LocalPhotoStorage,
    demo: DemoCase,
    *,
    index: int,
    inspector: User,
    supervisor: User,
    department: Organisation,
    now: datetime,
) -> None:
    case_id = uuid5(NAMESPACE, f"case:{demo.key}")
    if session.get(Case, case_id) is not None:
        return
    area = area_by_code(session, demo.compound)
    category = session.get(Category, demo.category)
    if area is None or area.id is None or category is None:
        raise LookupError(f"demo case {demo.key}: area or category missing")
    created = now - timedelta(days=demo.age_days, hours=index)
    path = _PATHS[demo.status]
    dispatched = any(step == "dispatch" for step, _ in path)
    received = demo.photos if demo.photos_received is None else demo.photos_received
    case = Case(
        id=case_id,
        category_code=demo.category,
        severity=demo.severity,
        description=demo.description,
        observed_at=created - timedelta(minutes=20),
        lat=demo.lat,
        lon=demo.lon,
        accuracy_m=6.0,
        location_source=LocationSource.GPS,
        location_captured_at=created - timedelta(minutes=20),
        area_id=area.pk,
        area_path=area.path,
        address=demo.address,
        reporter_id=inspector.id,
        device_id="demo-tablet-1",
        photos_expected=demo.photos,
        photos_received=received,
        status=demo.status,
        department_id=department.id if dispatched else None,
        deadline=(created + timedelta(days=1 + deadline_days(category, demo.severity)))
        if dispatched
        else None,
        created_at=created,
        updated_at=created,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case_id,
            at=created,
            actor_id=inspector.id,
            action="report",
            to_status=CaseStatus.REPORTED,
            note="demo",
        )
    )
    previous = CaseStatus.REPORTED
    for step, (action, status) in enumerate(path, start=1):
        at = created + timedelta(hours=6 * step)
        session.add(
            CaseEvent(
                case_id=case_id,
                at=at,
                actor_id=supervisor.id,
                action=action,
                from_status=previous,
                to_status=status,
            )
        )
        if status in _STAMPS:
            setattr(case, _STAMPS[status], at)
        previous = status
    for n in range(demo.photos):
        data = demo_jpeg(index * 10 + n)
        arrived = n < received
        session.add(
            Photo(
                id=uuid5(NAMESPACE, f"photo:{demo.key}:{n}"),
                case_id=case_id,
                sha256=hashlib.sha256(data).hexdigest(),
                size_bytes=len(data),
                media_type=MediaType.JPEG,
                width=800,
                height=600,
                taken_at=created - timedelta(minutes=20),
                received_at=created if arrived else None,
                storage_key=storage.put_bytes(data) if arrived else None,
            )
        )
    session.flush()


def seed_demo(session: Session, settings: Settings) -> None:
    """Create the demo street (idempotent). The caller commits."""
    sync_reference_data(session)
    company = _org(
        session, "DEMO_PC1", OrganisationKind.PROPERTY_COMPANY, "阳光物业", "Sunshine Property"
    )
    _org(
        session,
        "DEMO_SO",
        OrganisationKind.STREET_OFFICE,
        "吹哨街道办事处",
        "Whistle Street Office",
    )
    district = _area(
        session,
        "DEMO_D",
        "示范区",
        AreaLevel.DISTRICT,
        None,
        name_en="Demo District",
        lat=31.2650,
        lon=121.5300,
    )
    street = _area(
        session, "DEMO_ST", "吹哨街道", AreaLevel.STREET, district, name_en="Whistle Street"
    )
    community = _area(
        session, "DEMO_CM", "幸福社区", AreaLevel.COMMUNITY, street, name_en="Happiness Community"
    )
    grid1 = _area(
        session,
        "DEMO_G1",
        "幸福一网格",
        AreaLevel.GRID,
        community,
        name_en="Grid 1",
        lat=31.2652,
        lon=121.5303,
    )
    grid2 = _area(
        session,
        "DEMO_G2",
        "幸福二网格",
        AreaLevel.GRID,
        community,
        name_en="Grid 2",
        lat=31.2670,
        lon=121.5338,
    )
    _area(
        session,
        "DEMO_CP1",
        "阳光小区",
        AreaLevel.COMPOUND,
        grid1,
        name_en="Sunshine Garden",
        property_company=company,
        lat=31.2657,
        lon=121.5297,
    )
    _area(
        session,
        "DEMO_CP2",
        "和平小区",
        AreaLevel.COMPOUND,
        grid1,
        name_en="Peace Garden",
        lat=31.2641,
        lon=121.5316,
    )
    _area(
        session,
        "DEMO_CP3",
        "春晖小区",
        AreaLevel.COMPOUND,
        grid2,
        name_en="Spring Garden",
        lat=31.2670,
        lon=121.5338,
    )
    fire = session.exec(select(Organisation).where(Organisation.code == "FIRE_BRIGADE")).one()
    _user(session, settings, "admin", "系统管理员", Role.ADMIN, [])
    supervisor = _user(session, settings, "supervisor", "王主任", Role.SUPERVISOR, [street])
    inspector = _user(session, settings, "inspector", "李网格员", Role.INSPECTOR, [grid1, grid2])
    _user(session, settings, "patrol", "张巡查", Role.PATROL, [], company)
    _user(session, settings, "department", "消防救援大队值班员", Role.DEPARTMENT, [], fire)
    storage = LocalPhotoStorage(settings.storage_dir)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for index, demo in enumerate(DEMO_CASES):
        _case(
            session,
            storage,
            demo,
            index=index,
            inspector=inspector,
            supervisor=supervisor,
            department=fire,
            now=now,
        )
