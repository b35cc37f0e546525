"""The tablet's sync engine: one cycle pull -> push -> photos, single-flight, in the
background on a timer and on triggers (after a save, connectivity back, the user).

Rules (design.md, "Sync rules"): pull pages commit with their cursor; push sends the
oldest ready operations (<= ``batch_size``) after marking them ``sending`` and records
each result; network errors, 5xx, 429 and 423 put the batch back to ``pending`` with an
exponential, fully jittered backoff (Retry-After respected); a 401 refreshes the tokens
once; a refused refresh stops with :class:`AuthRequired` and keeps every unsent report.
Rejected operations keep the server's code and message and do not hold up the others.
Photos go once the operation that declares them was applied: small ones several to a
request (photo_batch.py), large ones, and all on a server without batches, by tus.

Automatic cycles (timer, after a save) respect each operation's backoff; a cycle the
user asked for (``sync_once``, ``trigger("user")``) and one on connectivity return send
everything pending at once. With Wi-Fi-only on and no Wi-Fi, the photo phase is skipped
(pull and push of reports, a few kilobytes, still run).
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inspector_app import __version__
from inspector_app.core.api_client import (
    ApiClient,
    ApiError,
    AuthRequired,
    NetworkError,
    Refused,
    RetryableError,
    json_body,
)
from inspector_app.core.backoff import Backoff
from inspector_app.core.photo_batch import BatchResult, Item, PhotoBatchUploader, PhotoOutcome
from inspector_app.core.store import CreatedResult, Operation, Photo, Store, iso, parse_time
from inspector_app.core.sync_pull import pull
from inspector_app.core.tus_client import DEFAULT_CHUNK_SIZE, LocalPhotoError, TusUploader
from shared_schemas.sync import OperationResult, PushResponse
from shared_schemas.version import SCHEMA_VERSION

log = logging.getLogger(__name__)

KV_STATUS = "sync_status"  # {"last_success_at", "last_error", "last_attempt_at"}
KV_PHOTO_ERRORS = "photo_upload_errors"  # {photo_id: "code: message"} refused uploads
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
# Codes of a rejected op that the server did not store (its own fault): retried later.
RETRYABLE_REJECTIONS = frozenset({"server_error"})
LAST_ERROR_MAX = 200  # DeviceStatus.last_error is ShortText
# Photos uploaded at once: overlaps one upload's round trips and the server's per-photo
# work (fsync, database) with the others' bytes. A few are enough on one link.
DEFAULT_PHOTO_WORKERS = 4
# Push batches in flight: the next is built and sent while the server applies the one
# before (the tablet's bookkeeping and the round trip overlap the server's work). Two are
# enough to keep one server busy; more would only queue there.
DEFAULT_PUSH_DEPTH = 2


@dataclass(frozen=True)
class SyncProgress:
    phase: str  # "pull" | "push" | "photos" | "done" | "failed" | "waiting"
    ops_done: int
    ops_total: int
    bytes_done: int
    bytes_total: int
    message: str = ""


@dataclass(frozen=True)
class SyncOutcome:
    ok: bool  # the cycle finished with nothing left that could be sent now
    pulled: int
    applied: int
    rejected: int
    conflicts: int
    photos_sent: int
    error: str | None
    retry_in_s: float | None


class _Stop(Exception):
    """Ends the cycle early (error already recorded on the run)."""


class _Run:
    """The counters and progress of one cycle."""

    def __init__(self, emit: Callable[[SyncProgress], None]) -> None:
        self.emit = emit
        self.phase = "pull"
        self.pulled = self.applied = self.rejected = self.conflicts = self.photos_sent = 0
        self.ops_done = self.ops_total = self.bytes_done = self.bytes_total = 0
        self.error: str | None = None
        self.retry_in_s: float | None = None
        self.notes: list[str] = []

    def show(self, phase: str | None = None, message: str = "") -> None:
        if phase is not None:
            self.phase = phase
        self.ops_total = max(self.ops_total, self.ops_done)
        self.bytes_total = max(self.bytes_total, self.bytes_done)
        self.emit(
            SyncProgress(
                phase=self.phase,
                ops_done=self.ops_done,
                ops_total=self.ops_total,
                bytes_done=self.bytes_done,
                bytes_total=self.bytes_total,
                message=message,
            )
        )

    def add_bytes(self, count: int) -> None:
        self.bytes_done += count
        self.show()

    def outcome(self, *, ok: bool) -> SyncOutcome:
        return SyncOutcome(
            ok=ok and self.error is None,
            pulled=self.pulled,
            applied=self.applied,
            rejected=self.rejected,
            conflicts=self.conflicts,
            photos_sent=self.photos_sent,
            error=self.error,
            retry_in_s=self.retry_in_s,
        )


class _PhotoPhase:
    """The shared state of one photo phase: the byte count (under a lock, so progress
    stays monotonic with several workers), the halt flag and the failure that ends it."""

    def __init__(self, run: _Run, stopping: threading.Event) -> None:
        self.run = run
        self._stopping = stopping
        self._progress = threading.Lock()
        self._halt = threading.Event()
        self.failure: BaseException | None = None
        self.damaged = 0  # photos that arrived damaged in a batch (sent again later)

    @property
    def halted(self) -> bool:
        return self._halt.is_set() or self._stopping.is_set()

    def halt(self) -> None:
        self._halt.set()

    @contextlib.contextmanager
    def halt_on_error(self) -> Iterator[None]:
        """Queued requests do not start once handling a result failed (the pool still
        waits for them on the way out)."""
        try:
            yield
        except BaseException:
            self._halt.set()
            raise

    def add_bytes(self, count: int) -> None:
        with self._progress:
            self.run.add_bytes(count)

    def fail(self, exc: BaseException) -> None:
        """A failure that ends the phase; the first is kept, a sign-in failure wins."""
        self._halt.set()
        if self.failure is None or (
            isinstance(exc, AuthRequired) and not isinstance(self.failure, AuthRequired)
        ):
            self.failure = exc


class SyncEngine:
    """Runs sync cycles for one store and one signed-in client."""

    def __init__(
        self,
        *,
        store: Store,
        client: ApiClient,
        photos_dir: Path,
        on_progress: Callable[[SyncProgress], None] | None = None,
        wifi_only: Callable[[], bool] = lambda: False,
        on_wifi: Callable[[], bool] = lambda: True,
        online: Callable[[], bool] = lambda: True,
        app_version: str = __version__,
        batch_size: int = 100,
        push_depth: int = DEFAULT_PUSH_DEPTH,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        uploader: TusUploader | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        photo_workers: int = DEFAULT_PHOTO_WORKERS,
        photo_batches: bool = True,
        batcher: PhotoBatchUploader | None = None,
    ) -> None:
        """``photo_batches``: small photos go several to a request (``batcher``, made
        over ``client`` when not given); False sends every photo by tus."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if photo_workers < 1:
            raise ValueError("photo_workers must be at least 1")
        if push_depth < 1:
            raise ValueError("push_depth must be at least 1")
        self.push_depth = push_depth  # push batches in flight at once
        self.photo_workers = photo_workers  # uploads in flight at once in the photo phase
        self.store = store
        self.client = client
        self.photos_dir = Path(photos_dir)
        self.on_progress = on_progress
        self.wifi_only = wifi_only
        self.on_wifi = on_wifi
        self.online = online
        self.app_version = app_version
        self.batch_size = batch_size
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self.backoff = backoff or Backoff()
        self.uploader = uploader or TusUploader(client, chunk_size=chunk_size)
        # Kept for the engine's lifetime: it remembers a server without batches.
        self.batcher = (batcher or PhotoBatchUploader(client)) if photo_batches else None
        self._failures = 0  # consecutive failed cycles (drives the backoff)
        self._state = threading.Lock()
        self._current: Future[SyncOutcome] | None = None
        self._waiting = 0  # calls waiting for the running cycle (observable in tests)
        self._auth_required = False
        # The server's copy of this tablet's status is stale (a push or photo went out
        # since the last status it got): the cycle ends with a status-only push.
        self._status_owed = False
        self._cond = threading.Condition()
        self._pending_reason: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        status = store.kv_get(KV_STATUS) or {}
        self._last_success_at = parse_time(status.get("last_success_at"))
        self._last_error: str | None = status.get("last_error")
        # Operations caught in 'sending' by a crash go back to 'pending' (sync rule 4).
        store.reset_sending()

    # ------------------------------------------------------------ public state
    @property
    def last_success_at(self) -> datetime | None:
        return self._last_success_at

    @property
    def last_error(self) -> str | None:
        return self._last_error

    @property
    def auth_required(self) -> bool:
        """The last cycle stopped because the sign-in ended: sign in again."""
        return self._auth_required

    @property
    def running(self) -> bool:
        with self._state:
            return self._current is not None

    # ------------------------------------------------------------ cycles
    def sync_once(self) -> SyncOutcome:
        """Run one cycle now, sending everything pending (backoff ignored). If a cycle
        is already running, wait for it and return its outcome."""
        return self._single_flight(force=True)[0]

    def _single_flight(self, *, force: bool) -> tuple[SyncOutcome, bool]:
        """(outcome, True) when this call ran the cycle, (outcome, False) when it waited
        for one that was already running."""
        with self._state:
            running = self._current
            if running is None:
                mine: Future[SyncOutcome] = Future()
                self._current = mine
        if running is None and self._thread is None:
            self._stopping.clear()  # a stop() without a background thread ended its cycle
        if running is not None:
            with self._state:
                self._waiting += 1
            try:
                return running.result(), False
            finally:
                with self._state:
                    self._waiting -= 1
        try:
            outcome = self._cycle(force=force)
        except BaseException as exc:  # pragma: no cover - _cycle catches everything else
            mine.set_exception(exc)
            raise
        finally:
            with self._state:
                self._current = None
        mine.set_result(outcome)
        return outcome, True

    def _emit(self, progress: SyncProgress) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(progress)
        except Exception:  # a UI bug must not stop a sync
            log.exception("sync progress callback failed")

    def _cycle(self, *, force: bool) -> SyncOutcome:
        run = _Run(self._emit)
        due = FAR_FUTURE if force else self.store.clock()
        if not self.online():
            run.error = "offline: waiting for a network"
            run.show("waiting", run.error)
            return run.outcome(ok=False)
        self._auth_required = False
        run.ops_total = len(self.store.ready_batch(limit=1_000_000, now=due))
        run.show("pull")
        try:
            self._pull(run)
            run.show("push")
            self._push(run, due=due)
            self._photos(run, force=force)
            self._report_status()
        except _Stop:
            pass
        except AuthRequired as exc:
            self._auth_required = True
            self._fail(run, f"sign-in ended ({exc.code}): {exc.message}", retry=False)
        except (NetworkError, RetryableError) as exc:
            self._fail(run, _describe(exc), retry=True, retry_after_s=_retry_after(exc))
        except Exception as exc:  # a bug or a full disk: recorded, the next cycle retries
            log.exception("sync cycle failed")
            self._fail(run, f"{type(exc).__name__}: {exc}", retry=True)
        return self._finish(run, due=due)

    def _fail(
        self, run: _Run, message: str, *, retry: bool, retry_after_s: float | None = None
    ) -> None:
        run.error = message
        if retry and run.retry_in_s is None:
            run.retry_in_s = self._next_delay(retry_after_s=retry_after_s)

    def _next_delay(self, *, attempts: int = 0, retry_after_s: float | None = None) -> float:
        self._failures += 1
        return self.backoff.delay(
            max(self._failures, attempts), rng=self.rng, retry_after_s=retry_after_s
        )

    def _finish(self, run: _Run, *, due: datetime) -> SyncOutcome:
        now = self.store.clock()
        left = bool(self.store.ready_batch(limit=1, now=due)) or bool(self._uploadable(False))
        if run.error is None:
            self._failures = 0
            self._last_success_at = now
            self._last_error = None
        else:
            self._last_error = run.error
        status = {
            "last_success_at": iso(self._last_success_at) if self._last_success_at else None,
            "last_error": self._last_error,
            "last_attempt_at": iso(now),
        }
        with contextlib.suppress(Exception), self.store.transaction() as tx:
            tx.kv_set(KV_STATUS, status)
        outcome = run.outcome(ok=not left)
        message = run.error or "; ".join(run.notes) or "up to date"
        run.show("done" if run.error is None else "failed", message)
        return outcome

    # ------------------------------------------------------------ pull
    def _pull(self, run: _Run) -> None:
        def on_page(received: int, applied: int) -> None:
            run.pulled = received
            run.show(message=f"{received} changes received")

        try:
            pull(self.store, self.client, on_page=on_page)
        except Refused as exc:  # odd, but it must not keep the reports from going out
            run.notes.append(f"pull refused: {_describe(exc)}")
            log.warning("pull refused: %s", exc)

    # ------------------------------------------------------------ push
    def device_status(
        self, *, photos_pending: int | None = None, cycle_succeeded: bool = False
    ) -> dict[str, Any]:
        """What each push says about this tablet (design.md, sync rule 8). The last error
        is the previous cycle's, unless this one has succeeded (the closing status)."""
        last_error = None if cycle_succeeded else self._last_error
        stats = self.store.queue_stats(photos_pending=photos_pending)
        try:
            free: int | None = shutil.disk_usage(self.store.path.parent).free
        except OSError:
            free = None
        return {
            "app_version": self.app_version[:LAST_ERROR_MAX],
            "queue_depth": stats.queue_depth,
            "oldest_pending_s": stats.oldest_pending_s,
            "photos_pending": stats.photos_pending,
            "last_error": last_error[:LAST_ERROR_MAX] if last_error else None,
            "free_bytes": free,
        }

    def _push_body(self, ops: list[Operation], status: dict[str, Any]) -> dict[str, Any]:
        return {
            "device_id": self.client.device_id,
            "schema_version": SCHEMA_VERSION,
            "ops": [op.wire() for op in ops],
            "device_status": status,
        }

    def _push(self, run: _Run, *, due: datetime) -> None:
        """Send the ready operations in batches, up to ``push_depth`` batches in flight:
        the next batch is read, marked and sent while the server applies the previous
        one, and answers are recorded oldest first. Safe because a batch never holds an
        operation on an entity that a batch in flight holds (``ready_batch`` leaves out
        every entity with an operation ``sending``), so an amend cannot overtake its
        create; batches of different entities may apply in either order."""
        tried: set[str] = set()
        photos_pending: int | None = None  # counted once per phase: pushing leaves it be
        in_flight: deque[tuple[list[Operation], Future[PushResponse]]] = deque()
        with ThreadPoolExecutor(self.push_depth, thread_name_prefix="whistle-push") as pool:
            try:
                while True:
                    while len(in_flight) < self.push_depth and not self._stopping.is_set():
                        batch = self.store.ready_batch(limit=self.batch_size, now=due)
                        if not batch or any(op.op_id in tried for op in batch):
                            break
                        tried.update(op.op_id for op in batch)
                        if photos_pending is None:
                            photos_pending = self.store.photos_pending()
                        in_flight.append((batch, self._send(pool, batch, photos_pending)))
                    if not in_flight:
                        return
                    batch, answer = in_flight.popleft()
                    self._settle(run, batch, answer)
                    run.ops_done += len(batch)
                    run.show(message=f"{run.ops_done} of {run.ops_total} sent")
            finally:
                # The cycle is ending early: the batches still in flight are settled
                # too (answers recorded, failures rescheduled), so none stays 'sending'.
                for batch, answer in in_flight:
                    with contextlib.suppress(BaseException):
                        self._settle(run, batch, answer)
                        run.ops_done += len(batch)

    def _send(
        self, pool: ThreadPoolExecutor, batch: list[Operation], photos_pending: int
    ) -> Future[PushResponse]:
        """Mark the batch ``sending`` and post it on a pool thread."""
        ids = [op.op_id for op in batch]
        body = self._push_body(batch, self.device_status(photos_pending=photos_pending))
        self._status_owed = True  # this push's status is out of date once it is applied
        # Push bookkeeping is not fsynced (Store.transaction): a lost "sending" mark or
        # result only means the batch is sent again, and the server replays its results.
        with self.store.transaction(durable=False) as tx:
            tx.mark_sending(ids)
        try:
            return pool.submit(
                lambda: _push_response(self.client.request("POST", "/sync/push", json=body))
            )
        except BaseException as exc:
            self._reschedule(ids, _describe(exc), 0.0)
            raise

    def _settle(self, run: _Run, batch: list[Operation], answer: Future[PushResponse]) -> None:
        """Record a batch's answer, or put it back to ``pending`` and stop the cycle."""
        ids = [op.op_id for op in batch]
        try:
            parsed = answer.result()
        except (NetworkError, RetryableError) as exc:
            attempts = max(op.attempts + 1 for op in batch)
            retry_after = _retry_after(exc)
            first = run.error is None  # the cycle's failure: counted once (drives the backoff)
            delay = (
                self._next_delay(attempts=attempts, retry_after_s=retry_after)
                if first
                else self.backoff.delay(
                    max(self._failures, attempts), rng=self.rng, retry_after_s=retry_after
                )
            )
            self._reschedule(ids, _describe(exc), delay)
            if first:
                run.error, run.retry_in_s = _describe(exc), delay
            raise _Stop from exc
        except Refused as exc:
            # The whole push was refused (role, schema version, malformed envelope): not
            # blindly resent; it waits the longest backoff and the error is shown.
            error = f"the server refused the upload: {_describe(exc)}"
            self._reschedule(ids, error, self.backoff.cap_s)
            if run.error is None:
                run.error, run.retry_in_s = error, self.backoff.cap_s
            raise _Stop from exc
        except BaseException as exc:
            self._reschedule(ids, _describe(exc), 0.0)
            raise
        try:
            self._record(run, batch, parsed)
        except BaseException:
            # Nothing of the answer was recorded (one transaction): send again later;
            # the server answers a replay with the stored results.
            with contextlib.suppress(Exception):
                self._reschedule(ids, "the answer could not be recorded", 0.0)
            raise

    def _reschedule(self, op_ids: list[str], error: str, delay_s: float) -> None:
        when = self.store.clock() + timedelta(seconds=delay_s)
        with self.store.transaction(durable=False) as tx:
            for op_id in op_ids:
                tx.schedule_retry(op_id, error=error[:LAST_ERROR_MAX], next_attempt_at=when)

    def _record(self, run: _Run, batch: list[Operation], response: PushResponse) -> None:
        results: dict[str, OperationResult] = {str(r.op_id): r for r in response.results}
        retry_later: list[str] = []
        created: list[CreatedResult] = []  # the common case, written in bulk
        with self.store.transaction(durable=False) as tx:
            for op in batch:
                result = results.get(op.op_id)
                if result is None:
                    retry_later.append(op.op_id)
                    continue
                status = result.status.value
                if status == "rejected" and result.code in RETRYABLE_REJECTIONS:
                    retry_later.append(op.op_id)
                    continue
                case_id = str(result.case_id) if result.case_id else None
                if op.kind == "report.create" and status in ("applied", "duplicate"):
                    created.append(
                        CreatedResult(op.op_id, op.entity_id, case_id, result.code, result.message)
                    )
                else:
                    tx.record_result(
                        op.op_id,
                        status=status,
                        code=result.code,
                        message=result.message,
                        case_id=case_id,
                        of=(op.kind, op.entity_id),
                    )
                if status in ("applied", "duplicate"):
                    run.applied += 1
                elif status == "rejected":
                    run.rejected += 1
                else:
                    run.conflicts += 1
            tx.record_created(created)
        if retry_later:
            delay = self.backoff.delay(max(op.attempts + 1 for op in batch), rng=self.rng)
            self._reschedule(retry_later, "the server could not apply it yet", delay)
            run.notes.append(f"{len(retry_later)} operations will be retried later")

    def _report_status(self) -> None:
        """A status-only push (no operations) at the end of a cycle that sent anything:
        each push carried the status from before it was applied, and the photo phase
        carries none, so without it the server would keep reporting the last batch as
        waiting, the photos as pending and the previous cycle's error. Not sent after a
        failed cycle (the network is most likely down); one that fails is owed to the
        next cycle, and the reports and photos that did arrive still count."""
        if not self._status_owed or self._stopping.is_set():
            return
        body = self._push_body([], self.device_status(cycle_succeeded=True))
        try:
            _push_response(self.client.request("POST", "/sync/push", json=body))
        except (NetworkError, RetryableError, Refused) as exc:
            # Logged only: the inspector's reports and photos arrived, which is what the
            # cycle's message is about; nothing here is theirs to act on.
            log.info("device status not sent (owed to the next cycle): %s", exc)
            return
        self._status_owed = False

    # ------------------------------------------------------------ photos
    def _uploadable(self, force: bool) -> list[Item]:
        refused = {} if force else (self.store.kv_get(KV_PHOTO_ERRORS) or {})
        held = self.wifi_only() and not self.on_wifi()
        if held:
            return []
        return [(p, r) for p, r in self.store.photos_to_upload() if p.id not in refused]

    def _photos(self, run: _Run, *, force: bool) -> None:
        if self.wifi_only() and not self.on_wifi():
            pending = len(self.store.photos_to_upload())
            if pending:
                run.notes.append(f"{pending} photos wait for Wi-Fi")
            run.show("photos", "photos wait for Wi-Fi")
            return
        items = self._uploadable(force)
        run.bytes_total = sum(photo.size_bytes or 0 for photo, _ in items)
        run.show("photos", f"{len(items)} photos to send")
        if not items:
            return
        self._status_owed = True  # photos_pending changes as they arrive
        # Small photos in batches (one request for many), then the large ones and any
        # batch the server did not take by tus. Several requests in flight (photo_workers);
        # results are handled here, on the cycle's thread, as they finish. A failure that
        # ends the phase (network, 5xx, sign-in, a bug) stops new requests; those in
        # flight finish, then it is raised.
        phase = _PhotoPhase(run, self._stopping)
        by_tus = items
        if self.batcher is not None:
            plan = self.batcher.plan(items)
            by_tus = self._send_batches(phase, self.batcher, plan.batches) + plan.by_tus
        if by_tus and not phase.halted:
            self._send_by_tus(phase, by_tus)
        if self._stopping.is_set():
            run.notes.append("stopped")
        if phase.damaged:
            run.notes.append(f"{phase.damaged} photos arrived damaged and will be sent again")
        if phase.failure is not None:
            raise phase.failure

    def _send_batches(
        self, phase: _PhotoPhase, batcher: PhotoBatchUploader, batches: list[list[Item]]
    ) -> list[Item]:
        """Send the batches, ``photo_workers`` at once; returns the photos to send by
        tus (the server lacks batches, or refused a whole batch)."""
        if not batches:
            return []

        def send(batch: list[Item]) -> BatchResult | None:
            if phase.halted:
                return None  # not started
            try:
                return batcher.upload(batch, self.photos_dir)
            except BaseException:
                phase.halt()  # at once, so no worker starts another batch meanwhile
                raise

        by_tus: list[Item] = []
        workers = min(self.photo_workers, len(batches))
        with ThreadPoolExecutor(workers, thread_name_prefix="whistle-photo") as pool:
            futures = [pool.submit(send, batch) for batch in batches]
            with phase.halt_on_error():  # e.g. a full disk recording a result
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except BaseException as exc:  # ends the phase, raised after the others
                        phase.fail(exc)
                        continue
                    if result is None:
                        continue
                    note = f"photos sent one by one: {result.refusal}"
                    if result.refusal is not None and note not in phase.run.notes:
                        phase.run.notes.append(note)
                    by_tus.extend(result.by_tus)
                    for outcome in result.outcomes:
                        self._batch_outcome(phase, outcome)
        return by_tus

    def _batch_outcome(self, phase: _PhotoPhase, outcome: PhotoOutcome) -> None:
        photo_id = outcome.photo.id
        if outcome.delivered:
            phase.add_bytes(outcome.photo.size_bytes or 0)
            phase.run.photos_sent += 1
            self._forget_photo_error(photo_id)
        elif outcome.status == "waits":
            phase.run.notes.append(f"photo {photo_id} waits for its report")
        elif outcome.status == "damaged":  # sent again in a later cycle; not a refusal
            log.info("photo %s arrived damaged: %s", photo_id, outcome.message)
            phase.damaged += 1
        else:  # "refused" by the server, or "local_error"
            self._photo_refused(phase.run, photo_id, outcome.message)

    def _send_by_tus(self, phase: _PhotoPhase, items: list[Item]) -> None:
        """One tus upload per photo, ``photo_workers`` at once."""

        def send(photo: Photo, report_id: str) -> bool:
            if phase.halted:
                return False  # not started
            path = self.photos_dir / (photo.processed_path or "")
            try:
                self.uploader.upload(photo, path, report_id=report_id, on_bytes=phase.add_bytes)
            except (Refused, LocalPhotoError):
                raise  # this photo only
            except BaseException:
                phase.halt()
                raise
            return True

        workers = min(self.photo_workers, len(items))
        with ThreadPoolExecutor(workers, thread_name_prefix="whistle-photo") as pool:
            futures = {pool.submit(send, photo, r): photo for photo, r in items}
            with phase.halt_on_error():
                for future in as_completed(futures):
                    photo = futures[future]
                    try:
                        sent = future.result()
                    except BaseException as exc:  # classified here, raised after the others
                        if not self._photo_failed(phase.run, photo.id, exc):
                            phase.fail(exc)
                        continue
                    if sent:
                        phase.run.photos_sent += 1
                        self._forget_photo_error(photo.id)

    def _photo_failed(self, run: _Run, photo_id: str, exc: BaseException) -> bool:
        """Handle one photo's refusal (True: the others go on); False for a failure that
        ends the phase (network, 5xx, sign-in, a bug)."""
        if isinstance(exc, Refused):
            if exc.code == "photo_not_declared":  # the report is not on the server yet
                run.notes.append(f"photo {photo_id} waits for its report")
            else:
                self._photo_refused(run, photo_id, _describe(exc))
            return True
        if isinstance(exc, LocalPhotoError):
            self._photo_refused(run, photo_id, str(exc))
            return True
        return False

    def _photo_refused(self, run: _Run, photo_id: str, message: str) -> None:
        log.warning("photo %s refused: %s", photo_id, message)
        run.notes.append(f"photo {photo_id}: {message}")
        with self.store.transaction() as tx:
            errors = self.store.kv_get(KV_PHOTO_ERRORS) or {}
            errors[photo_id] = message
            tx.kv_set(KV_PHOTO_ERRORS, errors)

    def _forget_photo_error(self, photo_id: str) -> None:
        errors = self.store.kv_get(KV_PHOTO_ERRORS) or {}
        if photo_id in errors:
            with self.store.transaction() as tx:
                errors.pop(photo_id)
                tx.kv_set(KV_PHOTO_ERRORS, errors)

    # ------------------------------------------------------------ background
    def start(self, *, interval_s: float = 300.0) -> None:
        """Run cycles on a background thread: at once, then every ``interval_s`` (sooner
        after a failure, as the backoff says) and whenever :meth:`trigger` is called."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval_s,), name="whistle-sync", daemon=True
        )
        self._thread.start()

    def trigger(self, reason: str = "user") -> None:
        """Ask the background thread for a cycle: "save" (after a save), "connectivity"
        (the network came back), "user" or "timer". "user" and "connectivity" also send
        what is waiting out a backoff."""
        with self._cond:
            if self._pending_reason not in ("user", "connectivity"):
                self._pending_reason = reason
            self._cond.notify_all()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the background thread (a running cycle ends after its current request)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self, interval_s: float) -> None:
        next_at = time.monotonic()
        while True:
            with self._cond:
                while not self._stopping.is_set() and self._pending_reason is None:
                    remaining = next_at - time.monotonic()
                    if remaining <= 0:
                        self._pending_reason = "timer"
                        break
                    self._cond.wait(remaining)
                if self._stopping.is_set():
                    return
                reason = self._pending_reason or "timer"
                self._pending_reason = None
            force = reason in ("user", "connectivity")
            if not self.online() and reason != "user":
                next_at = time.monotonic() + interval_s  # connectivity return wakes us
                continue
            try:
                outcome, mine = self._single_flight(force=force)
                if not mine and not self._stopping.is_set():
                    outcome, _ = self._single_flight(force=force)  # saves made meanwhile
            except Exception:  # pragma: no cover - _cycle records its own failures
                log.exception("sync loop")
                outcome = None
            delay = interval_s
            if outcome is not None and outcome.retry_in_s is not None:
                delay = min(interval_s, max(outcome.retry_in_s, 1.0))
            next_at = time.monotonic() + delay


def _push_response(response: Any) -> PushResponse:
    try:
        return PushResponse.model_validate(json_body(response))
    except ValidationError as exc:
        raise NetworkError(
            f"the push answer was not understood: {exc.errors()[0]['msg']}", code="bad_response"
        ) from exc


def _retry_after(exc: ApiError) -> float | None:
    return exc.retry_after_s if isinstance(exc, RetryableError) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


__all__ = ["SyncEngine", "SyncOutcome", "SyncProgress"]
