"""Seq order is commit order, and a batch pushed twice at once applies once (PostgreSQL:
SQLite has a single writer, so these races cannot happen there)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from server.cases.models import Case
from server.sync.bulk_create import apply_creates
from server.sync.changes import current_seq, record_change, write_changes
from server.sync.models import ChangeEntity, Device, ProcessedOperation
from tests.server.sync.helpers import STATUS, counts, create_op, push_raw, report
from tests.world import World, login

# SQLite has one writer at a time: concurrent writers only exist on PostgreSQL.
pytestmark = pytest.mark.postgresql_only


def test_a_second_allocator_waits_for_the_first_commit(engine: Engine) -> None:
    """The counter lock is taken when a transaction writes its changes (at commit) and
    held until it ends: a second committer waits, then gets the next number."""
    first = Session(engine)
    record_change(first, entity=ChangeEntity.TAXONOMY, entity_id="OTHER")
    write_changes(first)  # what before_commit does: first now holds the counter
    seq1 = current_seq(first)
    got: list[int] = []
    started = threading.Event()

    def second() -> None:
        with Session(engine) as s:
            started.set()
            record_change(s, entity=ChangeEntity.TAXONOMY, entity_id="MANHOLE")
            s.commit()
            got.append(current_seq(s))

    thread = threading.Thread(target=second)
    thread.start()
    started.wait()
    thread.join(timeout=0.5)
    assert thread.is_alive(), "the second allocator did not wait for the first transaction"
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert got == [seq1 + 1]


def test_the_same_batch_pushed_twice_at_once_applies_once(
    app: FastAPI, engine: Engine, world: World
) -> None:
    with TestClient(app) as c1, TestClient(app) as c2:
        headers = login(c1, "inspector_a")
        ops = [create_op(report(), i) for i in range(5)]
        before = counts(engine)
        with ThreadPoolExecutor(2) as pool:
            responses = list(pool.map(lambda c: push_raw(c, headers, ops), (c1, c2)))
    bodies: list[Any] = [r.json() for r in responses]
    assert [r.status_code for r in responses] == [200, 200], bodies
    assert bodies[0]["results"] == bodies[1]["results"]
    assert {r["status"] for r in bodies[0]["results"]} == {"applied"}
    after = counts(engine)
    assert after["hazard_case"] == before["hazard_case"] + 5
    assert after["sync_operation"] == before["sync_operation"] + 5
    with Session(engine) as s:
        assert len(s.exec(select(ProcessedOperation)).all()) == 5
        assert len(s.exec(select(Case)).all()) == before["hazard_case"] + 5


def test_a_devices_second_push_is_not_held_by_its_first(
    app: FastAPI, engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app keeps two pushes in flight. The device row (locked until commit once
    written) is written at the end of a push, so while one push is still applying, the
    device's next push applies and commits."""
    applying, release = threading.Event(), threading.Event()

    def hold_the_first(*args: Any, **kwargs: Any) -> Any:
        result = apply_creates(*args, **kwargs)
        if not applying.is_set():
            applying.set()
            release.wait(20)
        return result

    monkeypatch.setattr("server.sync.service.apply_creates", hold_the_first)
    with TestClient(app) as c1, TestClient(app) as c2:
        headers = login(c1, "inspector_a")
        first_ops = [create_op(report(), i) for i in range(1, 4)]
        second_ops = [create_op(report(), i) for i in range(4, 6)]
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(
                push_raw, c1, headers, first_ops, status={**STATUS, "queue_depth": 5}
            )
            assert applying.wait(20)
            second = push_raw(c2, headers, second_ops, status={**STATUS, "queue_depth": 2})
            assert second.status_code == 200, second.text  # while the first is held
            assert {r["status"] for r in second.json()["results"]} == {"applied"}
            assert not first.done()
            release.set()
            assert first.result(timeout=20).status_code == 200
    with Session(engine) as s:
        assert len(s.exec(select(ProcessedOperation)).all()) == 5
        device = s.get(Device, "tablet-a")
        # the last commit's status stands (the app's closing status push settles it)
        assert device is not None and device.queue_depth == 5
