"""Sync: push (apply a batch of outbox operations), pull (changes after a cursor), and the
device backlog supervisors look at. See docs/sync.md for the protocol as implemented."""

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from server.accounts.models import Organisation, User, UserArea
from server.accounts.scope import Scope, can_see_case
from server.areas.models import Area
from server.cases.models import Case
from server.core.clock import utcnow
from server.core.config import Settings
from server.core.errors import ApiError
from server.sync.bulk_create import apply_creates, split_runs
from server.sync.changes import change_filter, current_seq
from server.sync.models import ChangeEntity, ChangeLog, Device, ProcessedOperation, VerificationTask
from server.sync.operations import (
    PushContext,
    Refused,
    amend_report,
    create_inspection,
    create_report,
    database_down,
    parse_payload,
    processed_values,
    refused_result,
    stored_result,
)
from server.sync.schemas import DeviceOut, DevicesOut
from server.taxonomy.models import Category
from shared_schemas.enums import OperationStatus, Role
from shared_schemas.reports import HazardReport, InspectionResult, ReportAmend
from shared_schemas.sync import (
    DeviceStatus,
    OperationResult,
    PullChange,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncOperation,
)
from shared_schemas.version import SUPPORTED_SCHEMA_VERSIONS

log = logging.getLogger(__name__)

PUSH_ROLES = frozenset({Role.INSPECTOR, Role.PATROL})


# ---------------------------------------------------------------- push


def _dispatch(session: Session, ctx: PushContext, op: SyncOperation) -> OperationResult:
    payload = parse_payload(op)
    if isinstance(payload, HazardReport):
        return create_report(session, ctx=ctx, op_id=op.op_id, report=payload)
    if isinstance(payload, ReportAmend):
        return amend_report(session, ctx=ctx, op_id=op.op_id, amend=payload)
    if isinstance(payload, InspectionResult):
        return create_inspection(session, ctx=ctx, op_id=op.op_id, result=payload)
    raise Refused("unknown_kind", f"operation kind {op.kind} is not supported")  # pragma: no cover


def _stored_result(session: Session, device_id: str, op_id: UUID) -> OperationResult | None:
    row = session.exec(
        select(ProcessedOperation)
        .where(ProcessedOperation.device_id == device_id)
        .where(ProcessedOperation.op_id == op_id)
    ).first()
    return None if row is None else stored_result(row)


def _store(session: Session, ctx: PushContext, op: SyncOperation, result: OperationResult) -> None:
    session.add(ProcessedOperation(**processed_values(ctx, op, result, now=utcnow())))
    session.flush()


def _apply(session: Session, ctx: PushContext, op: SyncOperation) -> tuple[OperationResult, bool]:
    """One operation in its own savepoint; its result stored with it (replays read it).
    Returns the result and whether this call stored it (False: a replay, or not stored)."""
    stored = _stored_result(session, ctx.device_id, op.op_id)
    if stored is not None:
        return stored, False
    try:
        with session.begin_nested():
            result = _dispatch(session, ctx, op)
            _store(session, ctx, op, result)
        return result, True
    except Refused as refused:
        result = refused_result(op.op_id, refused)
    except IntegrityError:
        # Most likely the same op pushed concurrently (a retry after a timeout) and
        # committed first: answer with its stored result.
        stored = _stored_result(session, ctx.device_id, op.op_id)
        if stored is not None:
            return stored, False
        log.warning("integrity conflict applying op %s of device %s", op.op_id, ctx.device_id)
        result = OperationResult(
            op_id=op.op_id,
            status=OperationStatus.CONFLICT,
            code="integrity_conflict",
            message="与服务器上的数据冲突 / conflicts with data already on the server",
        )
    except DBAPIError as exc:
        if database_down(exc):
            raise  # the whole request fails (503) and rolls back: nothing half-written
        log.exception("database error applying op %s of device %s", op.op_id, ctx.device_id)
        # Not stored: the same op id may be pushed again once the cause is fixed.
        return OperationResult(
            op_id=op.op_id,
            status=OperationStatus.REJECTED,
            code="server_error",
            message="服务器错误，请联系管理员 / server error: tell your administrator",
        ), False
    # The savepoint is gone; drop any in-memory change the op made but never flushed, so
    # the next flush cannot write it.
    session.expire_all()
    try:
        with session.begin_nested():
            _store(session, ctx, op, result)
    except IntegrityError:
        stored = _stored_result(session, ctx.device_id, op.op_id)
        if stored is not None:
            return stored, False
        raise
    return result, True


def _upsert_device(
    session: Session, *, device_id: str, user_id: UUID, status: DeviceStatus
) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "id": device_id,
        "user_id": user_id,
        "first_seen_at": now,
        "last_seen_at": now,
        "app_version": status.app_version,
        "queue_depth": status.queue_depth,
        "oldest_pending_s": status.oldest_pending_s,
        "photos_pending": status.photos_pending,
        "last_error": status.last_error,
        "free_bytes": status.free_bytes,
    }
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    stmt = insert(Device).values(**values)
    keep = {"id", "first_seen_at"}
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={k: getattr(stmt.excluded, k) for k in values if k not in keep},
        )
    )


def _add_rejected(session: Session, device_id: str, added: int) -> None:
    """`device.rejected_ops` moves by the rejections this push stored (counted as they
    are stored, so a replay adds nothing and the device's history is never rescanned)."""
    if added:
        session.execute(
            update(Device)
            .where(col(Device.id) == device_id)
            .values(rejected_ops=col(Device.rejected_ops) + added)
        )


def push_batch(session: Session, *, user: User, scope: Scope, request: PushRequest) -> PushResponse:
    """Apply a push: operations in seq order (runs of report.create in bulk, the others
    each in its own savepoint), results in the order of the request. Commits once at the
    end; a database outage fails it whole."""
    if request.schema_version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise ApiError(
            422,
            "unsupported_schema_version",
            f"schema_version {request.schema_version} is not supported (this server accepts "
            f"{supported}): update the app",
            [{"field": "schema_version", "message": "unsupported", "type": "value_error"}],
        )
    # The device row is written last on PostgreSQL: its row lock lasts until the commit,
    # and taken first it would hold a tablet's next push (the app keeps two in flight)
    # until this one commits. On SQLite it must be the first write: it opens the real
    # transaction (pysqlite begins only before DML), so the savepoints below nest inside
    # it; SQLite's one writer serialises pushes anyway.
    device_last = session.get_bind().dialect.name == "postgresql"
    if not device_last:
        _upsert_device(
            session, device_id=request.device_id, user_id=user.id, status=request.device_status
        )
    ctx = PushContext(user=user, scope=scope, device_id=request.device_id)
    results: dict[UUID, OperationResult] = {}
    stored: set[UUID] = set()  # results stored by this push (not replays)
    # Runs of report.create go in bulk (bulk_create.py); the rest, or a run whose bulk
    # insert failed, op by op. Runs keep seq order.
    for creates, run in split_runs(sorted(request.ops, key=lambda o: o.seq)):
        bulk = apply_creates(session, ctx=ctx, ops=run) if creates else None
        if bulk is not None:
            results.update(bulk.results)
            stored |= bulk.stored
            continue
        for op in run:
            results[op.op_id], fresh = _apply(session, ctx, op)
            if fresh:
                stored.add(op.op_id)
    if device_last:
        _upsert_device(
            session, device_id=request.device_id, user_id=user.id, status=request.device_status
        )
    rejected = sum(1 for i in stored if results[i].status == OperationStatus.REJECTED)
    _add_rejected(session, request.device_id, rejected)
    session.commit()
    return PushResponse(results=[results[op.op_id] for op in request.ops], server_time=utcnow())


# ---------------------------------------------------------------- pull


def _case_data(session: Session, cases: list[Case]) -> dict[UUID, dict[str, Any]]:
    dept_ids = {c.department_id for c in cases if c.department_id is not None}
    depts = (
        {
            o.id: o.code
            for o in session.exec(select(Organisation).where(col(Organisation.id).in_(dept_ids)))
        }
        if dept_ids
        else {}
    )
    area_ids = {c.area_id for c in cases}
    areas = (
        {a.id: a.code for a in session.exec(select(Area).where(col(Area.id).in_(area_ids)))}
        if area_ids
        else {}
    )
    return {
        c.id: {
            "id": str(c.id),
            "status": c.status.value,
            "category": c.category_code,
            "severity": c.severity.value,
            "grid": areas.get(c.area_id),
            "department": depts.get(c.department_id) if c.department_id else None,
            "deadline": c.deadline.isoformat() if c.deadline else None,
            "photos_expected": c.photos_expected,
            "photos_received": c.photos_received,
            "updated_at": c.updated_at.isoformat(),
            "version": c.version,
        }
        for c in cases
    }


def _task_data(task: VerificationTask, case: Case | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(task.id),
        "case_id": str(task.case_id),
        "kind": task.kind.value,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "status": task.status.value,
    }
    if case is not None:
        data.update(
            {
                "lat": case.lat,
                "lon": case.lon,
                "category": case.category_code,
                "address": case.address,
                "description": case.description,
            }
        )
    return data


def _category_data(session: Session, category: Category) -> dict[str, Any]:
    dept = (
        session.get(Organisation, category.default_department_id)
        if category.default_department_id
        else None
    )
    return {
        "code": category.code,
        "group": category.group.value,
        "name_zh": category.name_zh,
        "name_en": category.name_en,
        "default_department": dept.code if dept else None,
        "default_severity": category.default_severity.value,
        "deadline_days": {
            "minor": category.deadline_minor_days,
            "general": category.deadline_general_days,
            "major": category.deadline_major_days,
        },
        "active": category.active,
    }


def _area_data(session: Session, area: Area) -> dict[str, Any]:
    parent = session.get(Area, area.parent_id) if area.parent_id else None
    return {
        "code": area.code,
        "name": area.name,
        "level": area.level.value,
        "parent_code": parent.code if parent else None,
        "lat": area.lat,
        "lon": area.lon,
    }


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _changes(
    session: Session, rows: list[ChangeLog], *, user: User, scope: Scope
) -> list[PullChange]:
    """The current state of each entity changed in the page (latest change only), in seq
    order. An entity gone, or no longer visible to the user, is sent as op "delete"."""
    latest: dict[tuple[ChangeEntity, str], ChangeLog] = {}
    for row in rows:
        latest[(row.entity, row.entity_id)] = row
    kept = sorted(latest.values(), key=lambda r: r.seq)
    ids = {
        kind: [u for r in kept if r.entity == kind and (u := _uuid(r.entity_id)) is not None]
        for kind in (ChangeEntity.CASE, ChangeEntity.TASK)
    }
    tasks = (
        {
            t.id: t
            for t in session.exec(
                select(VerificationTask).where(col(VerificationTask.id).in_(ids[ChangeEntity.TASK]))
            )
        }
        if ids[ChangeEntity.TASK]
        else {}
    )
    case_ids = set(ids[ChangeEntity.CASE]) | {t.case_id for t in tasks.values()}
    cases = (
        {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(case_ids)))}
        if case_ids
        else {}
    )
    case_data = _case_data(session, [cases[i] for i in ids[ChangeEntity.CASE] if i in cases])
    out: list[PullChange] = []
    for row in kept:
        data: dict[str, Any] | None = None
        key = _uuid(row.entity_id)
        if row.entity == ChangeEntity.CASE and key in cases:
            case = cases[key]
            data = case_data[case.id] if can_see_case(scope, case) else None
        elif row.entity == ChangeEntity.TASK and key in tasks:
            task = tasks[key]
            data = (
                _task_data(task, cases.get(task.case_id)) if task.assignee_id == user.id else None
            )
        elif row.entity == ChangeEntity.TAXONOMY:
            category = session.get(Category, row.entity_id)
            data = _category_data(session, category) if category else None
        elif row.entity == ChangeEntity.AREA:
            area = session.exec(select(Area).where(Area.code == row.entity_id)).first()
            data = _area_data(session, area) if area and area.is_active else None
        out.append(
            PullChange(
                seq=row.seq,
                entity=row.entity.value,
                entity_id=row.entity_id,
                op="upsert" if data is not None else "delete",
                data=data or {},
            )
        )
    return out


def pull_changes(
    session: Session, *, user: User, scope: Scope, cursor: int, limit: int
) -> PullResponse:
    """Changes after `cursor` that the user may see, at most `limit`.

    `high` is read first: the committed counter, so every change <= high is committed and
    visible to the next statement. Without more pages the cursor becomes `high`: the
    changes the user may not see are passed over too (and a cursor from a restored,
    older database falls back to the server's)."""
    high = current_seq(session)
    rows = list(
        session.exec(
            select(ChangeLog)
            .where(col(ChangeLog.seq) > cursor)
            .where(col(ChangeLog.seq) <= high)
            .where(change_filter(scope, user.id))
            .order_by(col(ChangeLog.seq))
            .limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    page = rows[:limit]
    next_cursor = page[-1].seq if has_more else high
    return PullResponse(
        changes=_changes(session, page, user=user, scope=scope),
        cursor=next_cursor,
        has_more=has_more,
    )


# ---------------------------------------------------------------- devices


def _users_in_scope(scope: Scope) -> Any:
    """The ids of users working inside the scope's areas: by their assigned areas, or for
    patrols by the compounds their company manages."""
    inside = or_(*(col(Area.path).startswith(p) for p in scope.area_paths))
    by_area = (
        select(UserArea.user_id).join(Area, col(Area.id) == col(UserArea.area_id)).where(inside)
    )
    companies = select(Area.property_company_id).where(inside)
    patrols = (
        select(User.id)
        .where(User.role == Role.PATROL)
        .where(col(User.organisation_id).in_(companies))
    )
    return or_(col(Device.user_id).in_(by_area), col(Device.user_id).in_(patrols))


def list_devices(session: Session, *, scope: Scope, settings: Settings) -> DevicesOut:
    """Devices with their latest backlog; a supervisor sees those of users in their areas."""
    stmt = select(Device, User).join(User, col(User.id) == col(Device.user_id), isouter=True)
    if not scope.everything:
        if not scope.area_paths:
            return DevicesOut(devices=[], silent_after_h=settings.device_silent_after_h)
        stmt = stmt.where(_users_in_scope(scope))
    stmt = stmt.order_by(col(Device.last_seen_at), col(Device.id))
    silent_before = utcnow() - timedelta(hours=settings.device_silent_after_h)
    return DevicesOut(
        devices=[
            DeviceOut(
                id=device.id,
                user=owner.username if owner else None,
                user_display_name=owner.display_name if owner else None,
                role=owner.role if owner else None,
                first_seen_at=device.first_seen_at,
                last_seen_at=device.last_seen_at,
                app_version=device.app_version,
                queue_depth=device.queue_depth,
                oldest_pending_s=device.oldest_pending_s,
                photos_pending=device.photos_pending,
                last_error=device.last_error,
                free_bytes=device.free_bytes,
                rejected_ops=device.rejected_ops,
                silent=device.last_seen_at < silent_before,
            )
            for device, owner in session.exec(stmt)
        ],
        silent_after_h=settings.device_silent_after_h,
    )
