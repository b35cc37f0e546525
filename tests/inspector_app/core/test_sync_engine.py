"""The sync engine against a real uvicorn server on loopback (SQLite and PostgreSQL):
full cycles, lost responses, backoff, rejections, pull, Wi-Fi-only, progress, single
flight."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
from fastapi import FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from inspector_app.core.backoff import Backoff
from inspector_app.core.sync_engine import KV_STATUS, SyncOutcome, SyncProgress
from server.accounts.models import User
from server.areas.models import Area
from server.cases.models import Case
from server.sync.changes import record_area_change, record_taxonomy_change
from server.sync.models import ProcessedOperation
from server.sync.tasks import create_verification_task
from shared_schemas.enums import CaseStatus
from tests.inspector_app.core import images
from tests.inspector_app.core import sync_fixtures as fx
from tests.live_server import LiveServer
from tests.server.sync.helpers import set_status
from tests.world import World

live_server = fx.live_server
tablet = fx.tablet


def _assert_all_arrived(tablet: fx.Tablet, app: FastAPI, report_ids: list[str]) -> None:
    engine: Engine = app.state.engine
    for report_id in report_ids:
        case = fx.server_case(engine, report_id)
        assert case is not None, report_id
        assert case.photos_received == case.photos_expected
        local = tablet.store.get_report(report_id)
        assert local is not None and local.state == "synced" and local.case_id == report_id
        for photo in fx.server_photos(engine, report_id):
            assert photo.received_at is not None
            assert fx.stored_sha256(app, photo) == fx.local_sha256(tablet, str(photo.id))
    stats = tablet.store.queue_stats()
    assert (stats.queue_depth, stats.photos_pending) == (0, 0)
    for report_id in report_ids:
        assert all(p.uploaded for p in tablet.store.photos_of(report_id=report_id))


def test_full_cycle_reports_and_photos_arrive_byte_identical(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=2, seed=i) for i in range(3)]
    seen: list[SyncProgress] = []
    outcome = tablet.engine(on_progress=seen.append, batch_size=2).sync_once()
    assert outcome.ok and outcome.error is None, outcome
    assert (outcome.applied, outcome.rejected, outcome.photos_sent) == (3, 0, 6)
    _assert_all_arrived(tablet, live_server.app, report_ids)
    # progress: phases in order, counters monotonic, totals right at the end
    phases = [p.phase for p in seen]
    assert phases[0] == "pull" and phases[-1] == "done"
    order = {"pull": 0, "push": 1, "photos": 2, "done": 3}
    assert [order[p] for p in phases] == sorted(order[p] for p in phases)
    for before, after in itertools.pairwise(seen):
        assert after.ops_done >= before.ops_done and after.bytes_done >= before.bytes_done
        assert after.ops_total >= before.ops_total
    for p in seen:
        assert p.ops_done <= p.ops_total and p.bytes_done <= p.bytes_total
    photo_bytes = sum(p.size_bytes or 0 for p in tablet.store.all_photos())
    assert (seen[-1].ops_done, seen[-1].ops_total) == (3, 3)
    assert (seen[-1].bytes_done, seen[-1].bytes_total) == (photo_bytes, photo_bytes)
    # the device status went with the push
    with Session(live_server.app.state.engine) as session:
        devices = session.exec(select(ProcessedOperation.device_id).distinct()).all()
    assert devices == [tablet.client.device_id]
    # a second cycle has nothing to do
    again = tablet.engine().sync_once()
    assert again.ok and (again.applied, again.photos_sent) == (0, 0)


# ---------------------------------------------------------------- lost responses


def test_replay_after_a_lost_push_response_changes_nothing_on_the_server(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_ids = [tablet.report(photos=1, seed=i) for i in range(2)]
    tablet.transport.fail("POST", "/sync/push", fx.Fault("drop_response"))
    first = tablet.engine(rng=random.Random(1)).sync_once()
    assert not first.ok and first.error is not None and "ReadError" in first.error
    assert first.retry_in_s is not None
    ops = tablet.store.list_ops()
    assert {op.state for op in ops} == {"pending"} and all(op.last_error for op in ops)
    engine: Engine = live_server.app.state.engine
    # the server applied the batch although the tablet never heard of it
    assert all(fx.server_case(engine, r) is not None for r in report_ids)

    second = tablet.engine().sync_once()
    assert second.ok, second
    assert second.applied == 2  # the stored results, replayed
    _assert_all_arrived(tablet, live_server.app, report_ids)
    with Session(engine) as session:
        assert len(session.exec(select(Case)).all()) == 2 + 2  # + the world's two cases
        assert len(session.exec(select(ProcessedOperation)).all()) == 2
    assert tablet.transport.op_pushes() == 2


def test_lost_answers_of_upload_creation_and_patch_still_deliver_once(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_id = tablet.report(photos=2)
    tablet.transport.fail("POST", "/uploads", fx.Fault("drop_response"))
    tablet.transport.fail("PATCH", "/uploads/", fx.Fault("drop_response"))
    engine = tablet.engine(photo_batches=False)  # tus (batches: test_photo_batch.py)
    outcomes = [engine.sync_once() for _ in range(3)]
    assert not outcomes[0].ok and outcomes[-1].ok
    _assert_all_arrived(tablet, live_server.app, [report_id])
    case = fx.server_case(live_server.app.state.engine, report_id)
    assert case is not None and case.photos_received == 2


# ---------------------------------------------------------------- backoff


def test_503_and_429_choose_jittered_backoff_and_respect_retry_after(
    live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    clock = fx.fixed_clock()
    tab = fx.make_tablet(live_server, tmp_path / "t", clock=clock)
    try:
        tab.report()
        tab.transport.fail("POST", "/sync/push", fx.Fault("status", status=503), times=2)
        engine = tab.engine(rng=random.Random(42))
        expected_rng = random.Random(42)
        policy = Backoff()

        first = engine.sync_once()
        assert first.retry_in_s == policy.delay(1, rng=expected_rng)
        assert first.error is not None and "503" in first.error
        (op,) = tab.store.list_ops()
        assert op.state == "pending" and op.attempts == 1
        assert op.next_attempt_at == clock.now + timedelta(seconds=first.retry_in_s)
        # an automatic cycle before the time would find nothing ready
        assert tab.store.ready_batch(now=clock.now) == []
        assert tab.store.ready_batch(now=op.next_attempt_at) != []

        second = engine.sync_once()  # the user insists: sent despite the backoff
        assert second.retry_in_s == policy.delay(2, rng=expected_rng)

        tab.transport.fail(
            "POST",
            "/sync/push",
            fx.Fault("status", status=429, headers={"Retry-After": "120"}),
        )
        third = engine.sync_once()
        assert third.retry_in_s is not None and 120 <= third.retry_in_s <= policy.cap_s
        assert engine.sync_once().ok
        assert tab.store.list_ops()[0].state == "done"
    finally:
        tab.client.close()
        tab.store.close()


def test_pull_failure_stops_the_cycle_before_push(tablet: fx.Tablet) -> None:
    tablet.report()
    tablet.transport.fail("GET", "/sync/pull", fx.Fault("refuse"))
    outcome = tablet.engine().sync_once()
    assert not outcome.ok and outcome.error is not None and "ConnectError" in outcome.error
    assert tablet.transport.count("POST", "/sync/push") == 0
    assert tablet.store.list_ops()[0].state == "pending"


def test_server_error_rejection_is_retried_later_not_kept(tablet: fx.Tablet) -> None:
    """A `rejected` with code server_error is not stored by the server: retried later."""
    tablet.report(photos=1)

    def answer(request: httpx.Request) -> httpx.Response:
        ops = json.loads(request.content)["ops"]
        results = [
            {"op_id": o["op_id"], "status": "rejected", "code": "server_error", "message": "x"}
            for o in ops
        ]
        body = {"results": results, "server_time": "2026-05-01T00:00:00+00:00"}
        return httpx.Response(200, json=body, request=request)

    tablet.transport.fail("POST", "/sync/push", fx.Fault("respond", respond=answer))
    outcome = tablet.engine().sync_once()
    (op,) = tablet.store.list_ops()
    assert op.state == "pending" and op.next_attempt_at is not None
    assert outcome.rejected == 0 and outcome.applied == 0
    assert tablet.engine().sync_once().ok
    assert tablet.store.list_ops()[0].state == "done"


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    seed=st.integers(min_value=0, max_value=2**32),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=10**7)),
    base=st.floats(min_value=0.01, max_value=100),
    cap=st.floats(min_value=1, max_value=10**5),
)
def test_backoff_stays_within_its_bounds(
    attempt: int, seed: int, retry_after: float | None, base: float, cap: float
) -> None:
    policy = Backoff(base_s=base, cap_s=cap)
    delay = policy.delay(attempt, rng=random.Random(seed), retry_after_s=retry_after)
    ceiling = policy.ceiling(attempt)
    assert 0 <= ceiling <= cap
    assert attempt > 62 or ceiling == min(cap, base * 2 ** max(attempt - 1, 0))
    floor = min(retry_after or 0.0, policy.max_retry_after_s)
    assert floor <= delay <= max(ceiling, floor)


def test_backoff_ceiling_grows_then_caps() -> None:
    policy = Backoff(base_s=2, cap_s=60)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


# ---------------------------------------------------------------- refusals


def test_a_rejected_op_keeps_its_reason_and_does_not_block_the_others(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    good_before = tablet.report(seed=1)
    outside = tablet.report(seed=2, grid="G_B")  # not this inspector's grid
    good_after = tablet.report(seed=3)
    outcome = tablet.engine(batch_size=2).sync_once()
    assert (outcome.applied, outcome.rejected) == (2, 1)
    assert outcome.ok  # nothing left that could be sent
    rejected = tablet.store.get_report(outside)
    assert rejected is not None and rejected.state == "rejected"
    assert rejected.reject_code == "area_out_of_scope" and rejected.reject_message
    (op,) = tablet.store.ops_for(outside)
    assert op.state == "rejected" and op.result_code == "area_out_of_scope"
    _assert_all_arrived(tablet, live_server.app, [good_before, good_after])
    # never sent again
    pushes = tablet.transport.count("POST", "/sync/push")
    tablet.engine().sync_once()
    assert tablet.transport.count("POST", "/sync/push") == pushes
    assert tablet.store.ops_for(outside)[0].attempts == 1


def test_the_whole_push_refused_keeps_the_ops_and_says_why(
    live_server: LiveServer, world: World, tmp_path: Path
) -> None:
    """A department user may not push (403): nothing is lost, the reason is recorded."""
    tab = fx.make_tablet(live_server, tmp_path / "dept", username="department_a")
    try:
        report_id = tab.report()
        outcome = tab.engine().sync_once()
        assert not outcome.ok and outcome.error is not None and "forbidden" in outcome.error
        (op,) = tab.store.list_ops()
        assert op.state == "pending" and op.last_error and "forbidden" in op.last_error
        assert op.next_attempt_at is not None
        assert tab.store.get_report(report_id).state == "queued"  # type: ignore[union-attr]
        assert tab.store.kv_get(KV_STATUS)["last_error"] == outcome.error
    finally:
        tab.client.close()
        tab.store.close()


def test_offline_cycle_sends_nothing(tablet: fx.Tablet) -> None:
    tablet.report()
    seen: list[SyncProgress] = []
    before = len(tablet.transport.seen)
    outcome = tablet.engine(online=lambda: False, on_progress=seen.append).sync_once()
    assert not outcome.ok and outcome.error is not None and "offline" in outcome.error
    assert len(tablet.transport.seen) == before
    assert [p.phase for p in seen] == ["waiting"]


def test_ops_caught_sending_by_a_crash_are_sent_again(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    report_id = tablet.report()
    with tablet.store.transaction() as tx:
        tx.mark_sending([op.op_id for op in tablet.store.list_ops()])
    engine = tablet.engine()  # start-up puts them back to pending
    assert {op.state for op in tablet.store.list_ops()} == {"pending"}
    assert engine.sync_once().ok
    _assert_all_arrived(tablet, live_server.app, [report_id])


# ---------------------------------------------------------------- pull


def test_pull_applies_case_states_and_tasks_idempotently(
    tablet: fx.Tablet, live_server: LiveServer, world: World
) -> None:
    report_id = tablet.report()
    engine = tablet.engine()
    assert engine.sync_once().ok
    server: Engine = live_server.app.state.engine
    deadline = "2026-06-01T00:00:00+00:00"
    with Session(server) as session:
        case = session.get(Case, UUID(report_id))
        assert case is not None
        case.deadline = datetime.fromisoformat(deadline)
        session.add(case)
        session.commit()
    set_status(server, report_id, CaseStatus.DISPATCHED, record=True)
    with Session(server) as session:
        inspector = session.exec(select(User).where(User.username == "inspector_a")).one()
        other_case = session.get(Case, world.a.case_id)
        assert other_case is not None
        task = create_verification_task(session, case=other_case, assignee=inspector)
        task_id = str(task.id)
        session.commit()

    outcome = engine.sync_once()
    assert outcome.ok and outcome.pulled >= 2
    local = tablet.store.get_report(report_id)
    assert local is not None and local.case_status == "dispatched"
    assert local.case_deadline is not None
    assert datetime.fromisoformat(local.case_deadline) == datetime.fromisoformat(deadline)
    pulled_task = tablet.store.get_task(task_id)
    assert pulled_task is not None and pulled_task.state == "open"
    assert pulled_task.case_id == str(world.a.case_id)
    assert pulled_task.data["kind"] == "verification"
    cursor = tablet.store.kv_get("pull_cursor")
    assert cursor > 0

    # the same pages applied again change nothing
    snapshot = (tablet.store.get_report(report_id), tablet.store.get_task(task_id))
    with tablet.store.transaction() as tx:
        tx.kv_set("pull_cursor", 0)
    assert engine.sync_once().ok
    again = (tablet.store.get_report(report_id), tablet.store.get_task(task_id))
    assert again[1] == snapshot[1]
    assert again[0] is not None and snapshot[0] is not None
    assert (again[0].case_status, again[0].case_deadline) == (
        snapshot[0].case_status,
        snapshot[0].case_deadline,
    )
    assert tablet.store.kv_get("pull_cursor") == cursor

    # answered on the tablet: the task stays done while the server still says open,
    # then the inspection and its photo go up and the server's 'done' comes back
    tablet.capture.record_verification(task_id, rectified=True, photos=[images.jpeg()])
    with tablet.store.transaction() as tx:
        tx.kv_set("pull_cursor", 0)
    tablet.transport.fail("POST", "/sync/push", fx.Fault("refuse"))
    tablet.engine().sync_once()
    assert tablet.store.get_task(task_id).state == "done"  # type: ignore[union-attr]
    final = tablet.engine().sync_once()
    assert final.ok and final.photos_sent == 1
    tablet.engine().sync_once()
    assert tablet.store.get_task(task_id).state == "done"  # type: ignore[union-attr]
    with Session(server) as session:
        photos = fx.server_photos(server, str(world.a.case_id))
        assert any(p.received_at is not None and p.kind == "verification" for p in photos)


def test_pull_fills_the_taxonomy_and_area_caches(
    tablet: fx.Tablet, live_server: LiveServer
) -> None:
    server: Engine = live_server.app.state.engine
    with Session(server) as session:
        area = session.exec(select(Area).where(Area.code == "G_A")).one()
        record_area_change(session, area)
        record_taxonomy_change(session, "FIRE_LANE")
        session.commit()
    assert tablet.engine().sync_once().ok
    assert tablet.store.cached_areas()["G_A"]["level"] == "grid"
    assert tablet.store.cached_taxonomy()["FIRE_LANE"]["code"] == "FIRE_LANE"


# ---------------------------------------------------------------- Wi-Fi only


def test_wifi_only_holds_photos_back_until_wifi(tablet: fx.Tablet, live_server: LiveServer) -> None:
    report_id = tablet.report(photos=2)
    wifi = [False]
    engine = tablet.engine(wifi_only=lambda: True, on_wifi=lambda: wifi[0])
    held = engine.sync_once()
    assert held.ok and held.applied == 1 and held.photos_sent == 0
    assert tablet.transport.count("POST", "/uploads") == 0
    assert tablet.transport.count("POST", "/photos/batch") == 0
    assert tablet.store.queue_stats().photos_pending == 2
    wifi[0] = True
    sent = engine.sync_once()
    assert sent.ok and sent.photos_sent == 2
    _assert_all_arrived(tablet, live_server.app, [report_id])


# ---------------------------------------------------------------- single flight


def test_two_threads_calling_sync_once_run_one_cycle(tablet: fx.Tablet) -> None:
    tablet.report()
    entered = threading.Event()
    release = threading.Event()

    def hold(progress: SyncProgress) -> None:
        if progress.phase == "push" and not entered.is_set():
            entered.set()
            release.wait(20)

    engine = tablet.engine(on_progress=hold)
    results: list[SyncOutcome] = []
    first = threading.Thread(target=lambda: results.append(engine.sync_once()))
    first.start()
    assert entered.wait(20)
    assert engine.running
    second = threading.Thread(target=lambda: results.append(engine.sync_once()))
    second.start()
    while engine._waiting == 0:  # the second call waits for the running cycle
        assert second.is_alive()
        time.sleep(0.005)
    release.set()
    first.join(20)
    second.join(20)
    assert len(results) == 2 and results[0] is results[1]
    assert results[0].applied == 1
    assert tablet.transport.count("GET", "/sync/pull") == 1
    assert tablet.transport.op_pushes() == 1 and len(tablet.transport.status_pushes()) == 1
    assert not engine.running


def test_background_thread_syncs_at_start_and_on_trigger(tablet: fx.Tablet) -> None:
    done = threading.Event()
    cycles: list[SyncProgress] = []

    def on_progress(progress: SyncProgress) -> None:
        if progress.phase in ("done", "failed"):
            cycles.append(progress)
            done.set()

    engine = tablet.engine(on_progress=on_progress)
    engine.start(interval_s=3600)
    try:
        assert done.wait(20)  # the first cycle runs at once
        done.clear()
        report_id = tablet.report()
        engine.trigger("save")
        assert done.wait(20)
        while engine.running:
            time.sleep(0.01)
    finally:
        engine.stop()
    assert tablet.store.get_report(report_id).state == "synced"  # type: ignore[union-attr]
    assert engine.last_success_at is not None
    assert all(c.phase == "done" for c in cycles)


def test_stop_without_a_thread_does_not_disable_later_cycles(tablet: fx.Tablet) -> None:
    engine = tablet.engine()
    engine.stop()
    report_id = tablet.report()
    assert engine.sync_once().ok
    assert tablet.store.get_report(report_id).state == "synced"  # type: ignore[union-attr]


def test_sync_modules_import_neither_kivy_nor_the_server() -> None:
    code = (
        "import sys\n"
        "import inspector_app.core.sync_engine, inspector_app.core.sync_cli\n"
        "print(','.join(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('kivy', 'server', 'fastapi', 'starlette'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
