"""Applying one pushed operation: report.create, report.amend, inspection.create.

Each handler runs inside the operation's savepoint (see service.push_batch). It either
returns a result (`applied` or `duplicate`) or raises `Refused` (`rejected`/`conflict`);
the savepoint then rolls back whatever the handler wrote. Messages of refusals are shown
to the inspector on the tablet, so they are written in Chinese and English.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import Scope
from server.areas.models import Area
from server.cases.models import Case, CaseEvent, Photo
from server.core.clock import utcnow
from server.core.errors import validation_details
from server.sync.changes import record_case_change
from server.sync.models import ProcessedOperation, TaskStatus, VerificationTask
from server.sync.tasks import complete_task, on_verification_result
from server.taxonomy.models import Category
from shared_schemas.common import WireModel
from shared_schemas.enums import CaseStatus, OperationStatus
from shared_schemas.geo import GeoPoint
from shared_schemas.photos import PhotoDescriptor
from shared_schemas.reports import HazardReport, InspectionResult, ReportAmend
from shared_schemas.sync import OperationResult, SyncOperation

PHOTO_KIND_REPORT = "before"
PHOTO_KIND_VERIFICATION = "verification"
# A photo an amend dropped from the report: kept (never lost), no longer counted.
PHOTO_KIND_WITHDRAWN = "withdrawn"
MESSAGE_MAX = 500  # sync_operation.message


@dataclass(frozen=True)
class PushContext:
    user: User
    scope: Scope
    device_id: str


class Refused(Exception):
    """The operation is refused: `rejected` (shown, never retried) or `conflict`."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: OperationStatus = OperationStatus.REJECTED,
        case_id: UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.case_id = case_id


# ---------------------------------------------------------------- parsing and results


def database_down(exc: DBAPIError) -> bool:
    """An outage (the whole request fails with 503), not an error of one operation."""
    return isinstance(exc, OperationalError) or bool(exc.connection_invalidated)


def _payload_message(exc: ValidationError) -> str:
    details = validation_details(exc.errors())
    if not details:
        return "payload: not valid"
    first = details[0]
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    field = first["field"] if first["field"] != "body" else ""
    return f"payload.{field}: {first['message']}{more}".replace("payload.:", "payload:")[
        :MESSAGE_MAX
    ]


def _nul_field(value: Any, path: str = "payload") -> str | None:
    """The first field whose text holds a NUL character (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = _nul_field(item, f"{path}.{key}")
        if found:
            return found
    return None


def parse_payload(op: SyncOperation) -> WireModel:
    """The op's payload validated for its kind, or `Refused` invalid_payload."""
    try:
        payload = op.parsed_payload()
    except ValidationError as exc:
        raise Refused("invalid_payload", _payload_message(exc)) from None
    # A NUL always shows as \u0000 in the JSON text (pydantic-core's serialiser: one pass,
    # 3x json.dumps on a report); only then is the payload walked to name the field.
    nul = _nul_field(op.payload) if b"\\u0000" in to_json(op.payload) else None
    if nul:
        raise Refused("invalid_payload", f"{nul}: text must not contain NUL characters")
    return payload


def refused_result(op_id: UUID, refused: Refused) -> OperationResult:
    return OperationResult(
        op_id=op_id,
        status=refused.status,
        code=refused.code,
        message=refused.message,
        case_id=refused.case_id,
    )


def stored_result(row: ProcessedOperation) -> OperationResult:
    """The answer to a replayed op: its stored result, unchanged."""
    return OperationResult(
        op_id=row.op_id, status=row.status, code=row.code, message=row.message, case_id=row.case_id
    )


def processed_values(
    ctx: PushContext, op: SyncOperation, result: OperationResult, *, now: datetime
) -> dict[str, Any]:
    """The sync_operation row storing an op's result (the message cut to the column)."""
    return {
        "device_id": ctx.device_id,
        "op_id": op.op_id,
        "seq": op.seq,
        "kind": op.kind,
        "entity_id": op.entity_id,
        "user_id": ctx.user.id,
        "status": result.status,
        "code": result.code,
        "message": result.message[:MESSAGE_MAX] if result.message else None,
        "case_id": result.case_id,
        "processed_at": now,
    }


# ---------------------------------------------------------------- shared checks


def check_category(code: str, category: Category | None) -> Category:
    if category is None or not category.active:
        raise Refused(
            "unknown_category", f"类别 {code} 已停用 / category {code} is not in use any more"
        )
    return category


def check_area(ctx: PushContext, code: str, area: Area | None) -> Area:
    if area is None or not area.is_active:
        raise Refused("unknown_area", f"没有网格 {code} / there is no area {code}")
    if not ctx.scope.covers_path(area.path):
        raise Refused(
            "area_out_of_scope",
            f"网格 {code} 不在您的负责范围内 / area {code} is outside your assigned areas",
        )
    return area


def check_photos_free(photos: list[PhotoDescriptor], taken: set[UUID]) -> None:
    """Photo ids are made on the tablet; one already used by another case is a conflict.
    The first declared one in `taken` (the ids used by other cases) is named."""
    first = next((p.id for p in photos if p.id in taken), None)
    if first is not None:
        raise Refused(
            "photo_id_in_use",
            f"照片编号 {first} 已被其他案件使用 / photo id {first} belongs to another case",
            status=OperationStatus.CONFLICT,
        )


def existing_report(
    op_id: UUID, *, ctx: PushContext, case_id: UUID, reporter_id: UUID
) -> OperationResult:
    """A report.create for a case that exists: `duplicate` if it is the caller's own
    (the same report under another op id, e.g. an outbox rebuilt after a crash), else
    the id belongs to someone else's report: `conflict`."""
    if reporter_id == ctx.user.id:
        return OperationResult(
            op_id=op_id,
            status=OperationStatus.DUPLICATE,
            code="already_exists",
            message="该上报已收到 / this report was already received",
            case_id=case_id,
        )
    raise Refused(
        "id_in_use",
        "编号已被其他上报使用 / this report id is already used by another report",
        status=OperationStatus.CONFLICT,
    )


def _active_category(session: Session, code: str) -> Category:
    return check_category(code, session.get(Category, code))


def _area_in_scope(session: Session, ctx: PushContext, code: str) -> Area:
    return check_area(ctx, code, session.exec(select(Area).where(Area.code == code)).first())


def _check_photo_ids(session: Session, photos: list[PhotoDescriptor], case_id: UUID) -> None:
    ids = [p.id for p in photos]
    if not ids:
        return
    taken = session.exec(
        select(Photo.id).where(col(Photo.id).in_(ids)).where(Photo.case_id != case_id)
    ).all()
    check_photos_free(photos, set(taken))


def photo_values(
    p: PhotoDescriptor, *, case_id: UUID, kind: str, event_id: int | None = None
) -> dict[str, Any]:
    return {
        "id": p.id,
        "case_id": case_id,
        "event_id": event_id,
        "kind": kind,
        "sha256": p.sha256,
        "size_bytes": p.size_bytes,
        "media_type": p.media_type,
        "width": p.width,
        "height": p.height,
        "taken_at": p.taken_at,
    }


def _photo_row(
    p: PhotoDescriptor, *, case_id: UUID, kind: str, event_id: int | None = None
) -> Photo:
    return Photo(**photo_values(p, case_id=case_id, kind=kind, event_id=event_id))


def _applied(case_id: UUID, op_id: UUID) -> OperationResult:
    return OperationResult(op_id=op_id, status=OperationStatus.APPLIED, case_id=case_id)


# ---------------------------------------------------------------- report.create


def case_values(
    report: HazardReport, *, ctx: PushContext, area: Area, now: datetime
) -> dict[str, Any]:
    """The hazard_case row a report.create makes (the other columns keep their defaults)."""
    return {
        "id": report.id,
        "category_code": report.category,
        "severity": report.severity,
        "description": report.description,
        "observed_at": report.observed_at,
        "lat": report.location.lat,
        "lon": report.location.lon,
        "accuracy_m": report.location.accuracy_m,
        "location_source": report.location.source,
        "location_captured_at": report.location.captured_at,
        "area_id": area.pk,
        "area_path": area.path,
        "address": report.address,
        "reporter_id": ctx.user.id,
        "device_id": ctx.device_id,
        "photos_expected": len(report.photos),
        "created_at": now,
        "updated_at": now,
    }


def report_event_values(
    case_id: UUID, *, ctx: PushContext, op_id: UUID, now: datetime
) -> dict[str, Any]:
    """The case_event `report` of a report.create."""
    return {
        "case_id": case_id,
        "at": now,
        "actor_id": ctx.user.id,
        "action": "report",
        "to_status": CaseStatus.REPORTED,
        "changes": {"device_id": ctx.device_id, "op_id": str(op_id)},
    }


def create_report(
    session: Session, *, ctx: PushContext, op_id: UUID, report: HazardReport
) -> OperationResult:
    """One report.create (the per-op path; runs of them go through bulk_create.py, which
    must decide exactly as this does)."""
    existing = session.get(Case, report.id)
    if existing is not None:
        return existing_report(
            op_id, ctx=ctx, case_id=existing.id, reporter_id=existing.reporter_id
        )
    _active_category(session, report.category)
    area = _area_in_scope(session, ctx, report.grid)
    _check_photo_ids(session, report.photos, report.id)
    now = utcnow()
    case = Case(**case_values(report, ctx=ctx, area=area, now=now))
    session.add(case)
    session.flush()
    session.add_all(_photo_row(p, case_id=case.id, kind=PHOTO_KIND_REPORT) for p in report.photos)
    session.add(CaseEvent(**report_event_values(case.id, ctx=ctx, op_id=op_id, now=now)))
    session.flush()
    record_case_change(session, case)
    return _applied(case.id, op_id)


# ---------------------------------------------------------------- report.amend


def _location_of(case: Case) -> dict[str, Any]:
    return GeoPoint(
        lat=case.lat,
        lon=case.lon,
        accuracy_m=case.accuracy_m,
        source=case.location_source,
        captured_at=case.location_captured_at,
    ).model_dump(mode="json")


def _amend_photos(
    session: Session, case: Case, photos: list[PhotoDescriptor]
) -> tuple[list[str], list[str]]:
    """Replace the report's declared photos; returns the (before, after) id lists."""
    _check_photo_ids(session, photos, case.id)
    rows = {
        p.id: p
        for p in session.exec(
            select(Photo)
            .where(Photo.case_id == case.id)
            .where(col(Photo.kind).in_([PHOTO_KIND_REPORT, PHOTO_KIND_WITHDRAWN]))
        )
    }
    before = sorted(str(i) for i, p in rows.items() if p.kind == PHOTO_KIND_REPORT)
    wanted = {p.id for p in photos}
    for photo_id, row in rows.items():
        kind = PHOTO_KIND_REPORT if photo_id in wanted else PHOTO_KIND_WITHDRAWN
        if row.kind != kind:
            row.kind = kind
            session.add(row)
    session.add_all(
        _photo_row(p, case_id=case.id, kind=PHOTO_KIND_REPORT) for p in photos if p.id not in rows
    )
    session.flush()
    case.photos_expected = len(photos)
    case.photos_received = sum(1 for i, r in rows.items() if i in wanted and r.received_at)
    return before, sorted(str(i) for i in wanted)


def amend_report(
    session: Session, *, ctx: PushContext, op_id: UUID, amend: ReportAmend
) -> OperationResult:
    # Locked: a supervisor's transition committing between this read and the write would
    # otherwise be overwritten (an amend of a case already registered, rule 6).
    case = session.get(Case, amend.id, with_for_update=True, populate_existing=True)
    if case is None or case.reporter_id != ctx.user.id:
        # Someone else's case answers like a missing one (existence is not revealed).
        raise Refused("unknown_case", "没有这条上报 / there is no such report of yours")
    if case.status != CaseStatus.REPORTED:
        raise Refused(
            "already_registered",
            "已立案，不能再修改 / already registered: the case can no longer be changed "
            f"(status {case.status.value})",
            case_id=case.id,
        )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(name: str, old: Any, new: Any) -> bool:
        if old == new:
            return False
        before[name], after[name] = old, new
        return True

    if amend.category is not None and change("category", case.category_code, amend.category):
        _active_category(session, amend.category)
        case.category_code = amend.category
    if amend.severity is not None and change("severity", case.severity.value, amend.severity.value):
        case.severity = amend.severity
    if amend.description is not None and change("description", case.description, amend.description):
        case.description = amend.description
    if amend.address is not None and change("address", case.address, amend.address):
        case.address = amend.address
    if amend.location is not None:
        old_location, new_location = _location_of(case), amend.location.model_dump(mode="json")
        if (
            case.lat,
            case.lon,
            case.accuracy_m,
            case.location_source,
            case.location_captured_at,
        ) != (
            amend.location.lat,
            amend.location.lon,
            amend.location.accuracy_m,
            amend.location.source,
            amend.location.captured_at,
        ):
            before["location"], after["location"] = old_location, new_location
            case.lat, case.lon = amend.location.lat, amend.location.lon
            case.accuracy_m = amend.location.accuracy_m
            case.location_source = amend.location.source
            case.location_captured_at = amend.location.captured_at
    old_path = case.area_path
    if amend.grid is not None:
        area = _area_in_scope(session, ctx, amend.grid)
        if area.id != case.area_id:
            old_area = session.get(Area, case.area_id)
            before["grid"], after["grid"] = (old_area.code if old_area else None), area.code
            case.area_id, case.area_path = area.pk, area.path
    if amend.photos is not None:
        photos_before, photos_after = _amend_photos(session, case, amend.photos)
        change("photo_ids", photos_before, photos_after)
    if not after:
        return _applied(case.id, op_id)  # nothing differs: nothing to record
    now = utcnow()
    case.version += 1
    case.updated_at = now
    session.add(case)
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            actor_id=ctx.user.id,
            action="amend",
            changes={"before": before, "after": after, "op_id": str(op_id)},
        )
    )
    session.flush()
    record_case_change(session, case, old_area_path=old_path)
    return _applied(case.id, op_id)


# ---------------------------------------------------------------- inspection.create


def create_inspection(
    session: Session, *, ctx: PushContext, op_id: UUID, result: InspectionResult
) -> OperationResult:
    task = session.get(VerificationTask, result.task_id)
    if task is None or task.assignee_id != ctx.user.id:
        raise Refused("unknown_task", "没有这项核查任务 / there is no such task assigned to you")
    # The case row first, then the task, as every workflow writer locks them (the other
    # order deadlocks with a supervisor's transition); then the task as that transition
    # left it (it may have cancelled it).
    case = session.get(Case, task.case_id, with_for_update=True, populate_existing=True)
    if case is None:  # pragma: no cover - the foreign key cascades
        raise Refused("unknown_task", "没有这项核查任务 / there is no such task assigned to you")
    session.refresh(task)
    if task.inspection_id == result.id:
        return OperationResult(
            op_id=op_id,
            status=OperationStatus.DUPLICATE,
            code="already_exists",
            message="该核查结果已收到 / this inspection was already received",
            case_id=task.case_id,
        )
    if task.status != TaskStatus.OPEN:
        raise Refused(
            "task_closed",
            f"任务已完成或已取消 / the task is already {task.status.value}",
            case_id=task.case_id,
        )
    if result.case_id != task.case_id:
        raise Refused("invalid_payload", "case_id: does not match the task's case")
    _check_photo_ids(session, result.photos, case.id)
    existing = {
        p
        for p in session.exec(
            select(Photo.id).where(col(Photo.id).in_([p.id for p in result.photos]))
        )
    }
    complete_task(session, task=task, result=result, case=case)
    event = on_verification_result(session, task=task, result=result, actor=ctx.user)
    session.add_all(
        _photo_row(p, case_id=case.id, kind=PHOTO_KIND_VERIFICATION, event_id=event.id)
        for p in result.photos
        if p.id not in existing
    )
    session.flush()
    return _applied(case.id, op_id)
