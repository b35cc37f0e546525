"""report.create in bulk: a run of them applied with a handful of statements, not per op.

Tablets push mostly report.create, ~100 per push. The per-op path (service._apply with
operations.create_report) costs a SAVEPOINT and ~13 statements per op; a run here costs
about ten statements whatever its length:

* reads: the stored results of the run's op ids (replays), the cases with the run's
  report ids, the categories and areas named, the photo ids already in use;
* writes, each ONE multi-row insert: cases, photos, case events, the change log (its
  seqs from one counter bump, in op order), the stored results.

Every op's result is decided in memory, in seq order, exactly as the per-op path would
decide it against the database as the earlier ops of the run leave it: the same checks in
the same order, with the same helpers and messages (operations.py). So a report id twice
in the run gives `duplicate` the second time, a photo id in two reports `photo_id_in_use`.
The run is one SAVEPOINT. If its inserts hit an IntegrityError (a concurrent writer got in
between the reads and the inserts) or another database error that is not an outage, the
savepoint is rolled back and the caller applies the run op by op, which stays correct. An
outage propagates: the whole request fails (503) and nothing is written.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col

from server.areas.models import Area
from server.cases.models import Case, CaseEvent, Photo
from server.core.clock import utcnow
from server.sync.changes import record_case_changes, table_of
from server.sync.models import ProcessedOperation
from server.sync.operations import (
    PHOTO_KIND_REPORT,
    PushContext,
    Refused,
    case_values,
    check_area,
    check_category,
    check_photos_free,
    database_down,
    existing_report,
    parse_payload,
    photo_values,
    processed_values,
    refused_result,
    report_event_values,
    stored_result,
)
from server.sync.rows import among, insert_rows
from server.taxonomy.models import Category
from shared_schemas.enums import OperationKind, OperationStatus
from shared_schemas.reports import HazardReport
from shared_schemas.sync import OperationResult, SyncOperation

log = logging.getLogger(__name__)

# Switched off only by tests, to compare the two paths on the same batches.
FAST_CREATES = True


def split_runs(ops: list[SyncOperation]) -> list[tuple[bool, list[SyncOperation]]]:
    """Consecutive ops (already in seq order) grouped into runs: (is a report.create run,
    its ops). Runs keep the order, so an amend still follows the create before it."""
    runs: list[tuple[bool, list[SyncOperation]]] = []
    for op in ops:
        creates = FAST_CREATES and op.kind == OperationKind.REPORT_CREATE
        if runs and runs[-1][0] == creates:
            runs[-1][1].append(op)
        else:
            runs.append((creates, [op]))
    return runs


@dataclass(frozen=True)
class RunOutcome:
    results: dict[UUID, OperationResult]
    stored: set[UUID]  # the op ids whose results this run stored (not the replays)


def apply_creates(
    session: Session, *, ctx: PushContext, ops: list[SyncOperation]
) -> RunOutcome | None:
    """Apply a run of report.create ops (in seq order) in one savepoint. None: the run was
    rolled back and must be applied op by op."""
    try:
        with session.begin_nested():
            run = _Run(ctx=ctx, now=utcnow())
            results = run.apply(session, ops)
            return RunOutcome(results, {row["op_id"] for row in run.processed})
    except IntegrityError:
        log.warning(
            "bulk report.create of device %s hit an integrity conflict: applying op by op",
            ctx.device_id,
        )
    except DBAPIError as exc:
        if database_down(exc):
            raise
        log.exception(
            "database error in bulk report.create of device %s: applying op by op", ctx.device_id
        )
    return None


@dataclass
class _Run:
    ctx: PushContext
    now: datetime
    # What the database holds, as the ops decided so far leave it.
    reporters: dict[UUID, UUID] = field(default_factory=dict)  # case id -> reporter
    photo_cases: dict[UUID, UUID] = field(default_factory=dict)  # photo id -> case id
    categories: dict[str, Category] = field(default_factory=dict)
    areas: dict[str, Area] = field(default_factory=dict)
    # What the run writes.
    cases: list[dict[str, Any]] = field(default_factory=list)
    photos: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    processed: list[dict[str, Any]] = field(default_factory=list)

    def apply(self, session: Session, ops: list[SyncOperation]) -> dict[UUID, OperationResult]:
        stored = self._stored(session, ops)
        parsed: dict[UUID, HazardReport | Refused] = {}
        for op in ops:
            if op.op_id not in stored:
                parsed[op.op_id] = _parse(op)
        self._load(session, [p for p in parsed.values() if isinstance(p, HazardReport)])
        results: dict[UUID, OperationResult] = {}
        for op in ops:
            if op.op_id in stored:
                results[op.op_id] = stored[op.op_id]  # a replay changes nothing
                continue
            item = parsed[op.op_id]
            try:
                if isinstance(item, Refused):
                    raise item
                result = self._decide(op, item)
            except Refused as refused:
                result = refused_result(op.op_id, refused)
            results[op.op_id] = result
            self.processed.append(processed_values(self.ctx, op, result, now=self.now))
        self._write(session)
        return results

    def _stored(self, session: Session, ops: list[SyncOperation]) -> dict[UUID, OperationResult]:
        rows = session.scalars(
            select(ProcessedOperation)
            .where(col(ProcessedOperation.device_id) == self.ctx.device_id)
            .where(among(session, col(ProcessedOperation.op_id), [op.op_id for op in ops]))
        )
        return {row.op_id: stored_result(row) for row in rows}

    def _load(self, session: Session, reports: list[HazardReport]) -> None:
        if not reports:
            return
        report_ids = {r.id for r in reports}
        self.reporters = {
            case_id: reporter
            for case_id, reporter in session.execute(
                select(col(Case.id), col(Case.reporter_id)).where(
                    among(session, col(Case.id), report_ids)
                )
            )
        }
        codes = {r.category for r in reports}
        categories = session.scalars(select(Category).where(col(Category.code).in_(codes)))
        self.categories = {c.code: c for c in categories}
        grids = {r.grid for r in reports}
        areas = session.scalars(select(Area).where(col(Area.code).in_(grids)))
        self.areas = {a.code: a for a in areas}
        photo_ids = {p.id for r in reports for p in r.photos}
        self.photo_cases = {
            photo_id: case_id
            for photo_id, case_id in session.execute(
                select(col(Photo.id), col(Photo.case_id)).where(
                    among(session, col(Photo.id), photo_ids)
                )
            )
        }

    def _decide(self, op: SyncOperation, report: HazardReport) -> OperationResult:
        """operations.create_report, against the state in memory."""
        reporter = self.reporters.get(report.id)
        if reporter is not None:
            return existing_report(op.op_id, ctx=self.ctx, case_id=report.id, reporter_id=reporter)
        check_category(report.category, self.categories.get(report.category))
        area = check_area(self.ctx, report.grid, self.areas.get(report.grid))
        taken = {
            p.id
            for p in report.photos
            if p.id in self.photo_cases and self.photo_cases[p.id] != report.id
        }
        check_photos_free(report.photos, taken)
        self.cases.append(case_values(report, ctx=self.ctx, area=area, now=self.now))
        self.reporters[report.id] = self.ctx.user.id
        for p in report.photos:
            self.photo_cases[p.id] = report.id
            self.photos.append(photo_values(p, case_id=report.id, kind=PHOTO_KIND_REPORT))
        self.events.append(
            report_event_values(report.id, ctx=self.ctx, op_id=op.op_id, now=self.now)
        )
        return OperationResult(op_id=op.op_id, status=OperationStatus.APPLIED, case_id=report.id)

    def _write(self, session: Session) -> None:
        # Parents first: photos and events refer to their case.
        if self.cases:
            insert_rows(session, table_of(Case), self.cases)
            insert_rows(
                session, table_of(Photo), [{**p, "created_at": self.now} for p in self.photos]
            )
            insert_rows(session, table_of(CaseEvent), self.events)
            record_case_changes(session, self.cases)
        if self.processed:
            insert_rows(session, table_of(ProcessedOperation), self.processed)


def _parse(op: SyncOperation) -> HazardReport | Refused:
    try:
        payload = parse_payload(op)
    except Refused as refused:
        return refused
    if not isinstance(payload, HazardReport):  # pragma: no cover - runs hold creates only
        raise TypeError(f"op {op.op_id} of kind {op.kind} in a report.create run")
    return payload
