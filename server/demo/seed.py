"""The demo street: areas, one user per role, and cases in every state with photos. The
cases are walked through the real workflow service (server/workflow), so their timelines,
tasks and sync changes are what the loop records.

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
from server.accounts.scope import scope_for
from server.areas.models import Area
from server.areas.service import area_by_code, create_area
from server.cases.models import Case, CaseEvent, Photo
from server.core.clock import utcnow
from server.core.config import Settings
from server.demo.photos import demo_jpeg
from server.storage.local import LocalPhotoStorage
from server.sync.changes import record_case_change
from server.sync.models import TaskStatus, VerificationTask
from server.sync.tasks import complete_task, on_verification_result
from server.taxonomy.models import Category
from server.taxonomy.reference import sync_reference_data
from server.workflow.schemas import TransitionRequest
from server.workflow.service import apply_transition
from shared_schemas.enums import (
    AreaLevel,
    CaseStatus,
    LocationSource,
    MediaType,
    OrganisationKind,
    Role,
    Severity,
)
from shared_schemas.reports import InspectionResult

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
    # How the case got to `status` when there is more than one way (see _walk).
    variant: str = ""


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
    DemoCase(
        "fire-lane-again",
        "FIRE_LANE",
        Severity.MAJOR,
        CaseStatus.DUPLICATE,
        "DEMO_CP1",
        "3号楼北侧消防通道被私家车堵住",
        "阳光小区3号楼北",
        0,
        lat=31.2661,
        lon=121.5297,
    ),
    DemoCase(
        "not-a-hazard",
        "OTHER",
        Severity.MINOR,
        CaseStatus.REJECTED,
        "DEMO_CP2",
        "居民自行车整齐停放在车棚内",
        "和平小区车棚",
        3,
        lat=31.2643,
        lon=121.5313,
    ),
    DemoCase(
        "flying-wire-back",
        "FLYING_WIRE",
        Severity.GENERAL,
        CaseStatus.REOPENED,
        "DEMO_CP3",
        "回头看：飞线充电再次出现",
        "春晖小区2号楼",
        25,
        lat=31.2673,
        lon=121.5333,
    ),
    DemoCase(
        "evac-rework",
        "EVAC_ROUTE",
        Severity.GENERAL,
        CaseStatus.RECTIFYING,
        "DEMO_CP1",
        "安全出口被杂物堵塞，首次整改不到位",
        "阳光小区6号楼安全出口",
        15,
        lat=31.2650,
        lon=121.5308,
        variant="rework",
    ),
    DemoCase(
        "fire-equipment",
        "FIRE_EQUIPMENT",
        Severity.GENERAL,
        CaseStatus.DISPATCHED,
        "DEMO_CP2",
        "消火栓无水，需要供水企业配合",
        "和平小区4号楼",
        40,
        lat=31.2640,
        lon=121.5320,
        variant="extended",
    ),
    DemoCase(
        "ebike-overdue",
        "EBIKE_INDOOR",
        Severity.MINOR,
        CaseStatus.RECTIFYING,
        "DEMO_CP3",
        "楼道内电动车充电，超期未整改",
        "春晖小区5号楼",
        30,
        lat=31.2669,
        lon=121.5343,
    ),
)

# The actions that lead to each demo state, with who takes them: "S" the supervisor,
# "D" the department, "I" the inspector (a verification result from the tablet).
_LOOP: tuple[tuple[str, str], ...] = (
    ("register", "S"),
    ("dispatch", "S"),
    ("start_rectification", "D"),
    ("mark_rectified", "D"),
    ("order_verification", "S"),
)
_WALKS: dict[tuple[CaseStatus, str], tuple[tuple[str, str], ...]] = {
    (CaseStatus.REPORTED, ""): (),
    (CaseStatus.REJECTED, ""): (("reject", "S"),),
    (CaseStatus.DUPLICATE, ""): (("mark_duplicate", "S"),),
    (CaseStatus.REGISTERED, ""): _LOOP[:1],
    (CaseStatus.DISPATCHED, ""): _LOOP[:2],
    (CaseStatus.DISPATCHED, "extended"): (*_LOOP[:2], ("extend_deadline", "S")),
    (CaseStatus.RECTIFYING, ""): _LOOP[:3],
    (CaseStatus.RECTIFYING, "rework"): (*_LOOP, ("verified_not_rectified", "I")),
    # Rectified and waiting: the inspector's tablet has the verification task.
    (CaseStatus.RECTIFIED, ""): _LOOP,
    (CaseStatus.CLOSED, ""): (*_LOOP, ("verified_rectified", "I")),
    (CaseStatus.REOPENED, ""): (*_LOOP[:4], ("close", "S"), ("reopen", "S")),
}
_NOTES = {
    "reject": "不属于隐患，居民正常停放",
    "mark_duplicate": "与已上报的消防通道占用为同一处",
    "mark_rectified": "已整改，附整改后照片",
    "close": "主管现场确认已整改（代核查）",
    "reopen": "回头看发现问题复现",
    "extend_deadline": "需供水企业配合维修，延期15天",
    "verified_rectified": "现场核查：已整改到位",
    "verified_not_rectified": "现场核查：仍有杂物，返工",
}
STEP = timedelta(hours=6)


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


def _demo_photo(
    storage: LocalPhotoStorage, *, photo_id: UUID, case_id: UUID, seed: int, at: datetime, kind: str
) -> Photo:
    data = demo_jpeg(seed)
    return Photo(
        id=photo_id,
        case_id=case_id,
        kind=kind,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        media_type=MediaType.JPEG,
        width=800,
        height=600,
        taken_at=at,
        received_at=at,
        storage_key=storage.put_bytes(data),
    )


def _verify(
    session: Session, case: Case, *, key: str, step: int, actor: User, at: datetime
) -> None:
    """The inspector's verification result, as a push of inspection.create applies it."""
    task = session.exec(
        select(VerificationTask)
        .where(VerificationTask.case_id == case.id)
        .where(VerificationTask.status == TaskStatus.OPEN)
    ).one()
    result = InspectionResult(
        id=uuid5(NAMESPACE, f"inspection:{case.id}:{step}"),
        task_id=task.id,
        case_id=case.id,
        rectified=key == "verified_rectified",
        note=_NOTES[key],
        inspected_at=at,
    )
    complete_task(session, task=task, result=result, case=case)
    on_verification_result(session, task=task, result=result, actor=actor, now=at)


def _walk(
    session: Session,
    storage: LocalPhotoStorage,
    case: Case,
    demo: DemoCase,
    *,
    index: int,
    actors: dict[str, User],
    department: Organisation,
    created: datetime,
) -> None:
    """Take the demo case to its state through the workflow service, one step every six
    hours after it was reported, so its timeline is what the real loop records."""
    for step, (action, who) in enumerate(_WALKS[(demo.status, demo.variant)], start=1):
        at = created + STEP * step
        actor = actors[who]
        if action.startswith("verified_"):
            _verify(session, case, key=action, step=step, actor=actor, at=at)
            continue
        fields: dict[str, object] = {}
        if action == "dispatch":
            fields["department"] = department.code
        elif action == "mark_duplicate":
            fields["duplicate_of"] = uuid5(NAMESPACE, "case:fire-lane")
        elif action == "extend_deadline" and case.deadline is not None:
            fields["deadline"] = case.deadline + timedelta(days=15)
        elif action == "mark_rectified":
            photo = _demo_photo(
                storage,
                photo_id=uuid5(NAMESPACE, f"photo:{demo.key}:after:{step}"),
                case_id=case.id,
                seed=index * 10 + 5 + step,
                at=at,
                kind="after",
            )
            session.add(photo)
            session.flush()
            fields["photo_ids"] = [photo.id]
        request = TransitionRequest.model_validate(
            {"action": action, "note": _NOTES.get(action, ""), **fields}
        )
        apply_transition(
            session,
            user=actor,
            scope=scope_for(session, actor),
            case_id=case.id,
            request=request,
            now=at,
        )


def _case(
    session: Session,
    storage: LocalPhotoStorage,
    demo: DemoCase,
    *,
    index: int,
    actors: dict[str, User],
    department: Organisation,
    now: datetime,
) -> None:
    case_id = uuid5(NAMESPACE, f"case:{demo.key}")
    if session.get(Case, case_id) is not None:
        return
    area = area_by_code(session, demo.compound)
    if area is None or area.id is None or session.get(Category, demo.category) is None:
        raise LookupError(f"demo case {demo.key}: area or category missing")
    inspector = actors["I"]
    created = now - timedelta(days=demo.age_days, hours=index)
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
    for n in range(demo.photos):
        photo = _demo_photo(
            storage,
            photo_id=uuid5(NAMESPACE, f"photo:{demo.key}:{n}"),
            case_id=case_id,
            seed=index * 10 + n,
            at=created,
            kind="before",
        )
        if n >= received:  # declared, bytes still on the tablet
            photo.received_at, photo.storage_key = None, None
        session.add(photo)
    session.flush()
    record_case_change(session, case)
    _walk(
        session,
        storage,
        case,
        demo,
        index=index,
        actors=actors,
        department=department,
        created=created,
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
    duty = _user(session, settings, "department", "消防救援大队值班员", Role.DEPARTMENT, [], fire)
    actors = {"S": supervisor, "D": duty, "I": inspector}
    storage = LocalPhotoStorage(settings.storage_dir)
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for index, demo in enumerate(DEMO_CASES):
        _case(
            session,
            storage,
            demo,
            index=index,
            actors=actors,
            department=fire,
            now=now,
        )
