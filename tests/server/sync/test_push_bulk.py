"""The bulk report.create path (server/sync/bulk_create.py): the same answers and the same
database contents as the per-op path, a bounded number of statements per push, and the
fallback to the per-op path when its inserts fail."""

import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, Table, event, insert
from sqlalchemy.exc import DataError, OperationalError
from sqlmodel import Session, col, select

from server.accounts.models import User
from server.accounts.scope import scope_for
from server.cases.models import Case, CaseEvent, Photo
from server.sync import bulk_create
from server.sync.changes import (
    allocate_seqs,
    current_seq,
    pending_changes,
    record_case_changes,
    table_of,
)
from server.sync.models import ChangeLog, Device, ProcessedOperation
from server.sync.rows import insert_rows
from server.sync.service import push_batch
from server.taxonomy.models import Category
from shared_schemas.sync import PushRequest
from tests.server.sync.helpers import STATUS, counts, create_op, op, photo, push, push_raw, report
from tests.strategies import hazard_reports, photo_descriptors, report_amends
from tests.world import World

# ---------------------------------------------------------------- both paths, same outcome

# Canonical ids of one generated scenario. Each run replaces them with fresh ids that keep
# their order (a run prefix in the high bits): amend events list photo ids sorted.
NEW_REPORTS = [UUID(int=0xA000 + k) for k in range(4)]
OWN = UUID(int=0xA100)  # reported earlier by inspector_a from this device
OTHER = UUID(int=0xA200)  # reported earlier by patrol_a
NOPE = UUID(int=0xA300)  # refused earlier (unknown grid)
NEW_PHOTOS = [UUID(int=0xB000 + k) for k in range(5)]
OWN_PHOTO, OTHER_PHOTO = UUID(int=0xB100), UUID(int=0xB200)
OPS = [UUID(int=0xC000 + k) for k in range(12)]
REPLAYS = [UUID(int=0xC100), UUID(int=0xC200)]  # stored earlier: applied, rejected
OTHER_OP = UUID(int=0xC300)
CANONICAL = [
    *NEW_REPORTS,
    OWN,
    OTHER,
    NOPE,
    *NEW_PHOTOS,
    OWN_PHOTO,
    OTHER_PHOTO,
    *OPS,
    *REPLAYS,
    OTHER_OP,
]
DEVICE, OTHER_DEVICE = "DEVICE", "OTHER-DEVICE"
GRIDS = ["G_A", "CP_A", "G_A", "G_B", "CP_B", "D1", "ZZZ"]
INACTIVE = "ZOMBIE_CAR"
FAULTS = ["scope", "unknown", "inactive", "twice", "id", "location", "observed_at", "category"]


def _create_payload(report_id: UUID, photos: list[UUID], *, grid: str = "G_A") -> dict[str, Any]:
    payload = report(report_id, grid=grid, photos=0)
    payload["photos"] = [photo(p) for p in photos]
    return payload


@st.composite
def _creates(draw: st.DrawFn, report_id: UUID) -> dict[str, Any]:
    """A report.create payload: mostly valid, else with one or two faults (out of scope,
    unknown grid, inactive category, broken, a photo id twice); photo ids from a small pool
    (so reports collide on them), text from hypothesis (it may hold NUL)."""
    count = draw(st.sampled_from([0, 0, 0, 1, 2]))
    faults = draw(st.lists(st.sampled_from(FAULTS), min_size=count, max_size=count))
    pool = st.sampled_from([*NEW_PHOTOS, *NEW_PHOTOS, OWN_PHOTO, OTHER_PHOTO])
    descriptors = draw(
        st.lists(photo_descriptors(photo_id=pool), min_size=1, max_size=3, unique_by=lambda d: d.id)
    )
    base = draw(hazard_reports(report_id=st.just(report_id))).model_dump(mode="json")
    base["photos"] = [d.model_dump(mode="json") for d in descriptors]
    base["grid"] = draw(st.sampled_from(["G_A", "CP_A"]))
    if base["category"] == INACTIVE:
        base["category"] = "FIRE_LANE"
    for fault in faults:
        if fault == "scope":
            base["grid"] = draw(st.sampled_from(["G_B", "CP_B", "D1"]))
        elif fault == "unknown":
            base["grid"] = "ZZZ"
        elif fault == "inactive":
            base["category"] = INACTIVE
        elif fault == "twice":
            base["photos"].append(base["photos"][0])
        elif fault == "id":
            base["id"] = str(uuid4())  # differs from entity_id
        else:
            base[fault] = draw(st.sampled_from([None, "", 12]))
    return base


@st.composite
def _amend(draw: st.DrawFn, report_id: UUID) -> dict[str, Any]:
    amend = draw(report_amends(report_id=st.just(report_id))).model_dump(
        mode="json", exclude_unset=True
    )
    if "grid" in amend:
        amend["grid"] = draw(st.sampled_from(GRIDS))
    for p in amend.get("photos") or []:  # ids from the pool (a repeat: invalid_payload)
        p["id"] = str(draw(st.sampled_from([*NEW_PHOTOS, OWN_PHOTO, OTHER_PHOTO])))
    return amend


@st.composite
def scenarios(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A batch: creates (repeated report ids, shared photo ids, ids of existing reports),
    replayed op ids and amends between them, in a shuffled request order."""
    targets = st.sampled_from([*NEW_REPORTS, *NEW_REPORTS, OWN, OTHER])
    n = draw(st.integers(min_value=1, max_value=len(OPS)))
    replays = list(REPLAYS)
    ops: list[dict[str, Any]] = []
    for seq in range(n):
        kind = draw(st.sampled_from(["create"] * 6 + ["replay", "amend"]))
        target = draw(targets)
        op_id = OPS[seq]
        if kind == "replay" and replays:
            op_id = replays.pop(draw(st.integers(0, len(replays) - 1)))
        if kind == "amend":
            ops.append(op("report.amend", draw(_amend(target)), seq=seq, op_id=op_id))
        else:
            created = op("report.create", draw(_creates(target)), seq=seq, op_id=op_id)
            ops.append({**created, "entity_id": str(target)})
    return draw(st.permutations(ops))


def _in_process_push(
    engine: Engine, username: str, device: str, ops: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    with Session(engine, expire_on_commit=False) as s:
        user = s.exec(select(User).where(User.username == username)).one()
        request = PushRequest.model_validate(
            {"device_id": device, "schema_version": 1, "ops": ops, "device_status": STATUS}
        )
        response = push_batch(s, user=user, scope=scope_for(s, user), request=request)
    return [r.model_dump(mode="json") for r in response.results]


@contextmanager
def fast_creates(enabled: bool) -> Iterator[None]:
    saved = bulk_create.FAST_CREATES
    bulk_create.FAST_CREATES = enabled
    try:
        yield
    finally:
        bulk_create.FAST_CREATES = saved


@contextmanager
def _bulk_warnings() -> Iterator[list[str]]:
    """The warnings and errors bulk_create logs meanwhile (each one is a fallback)."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("server.sync.bulk_create")
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    return {k: v for k, v in obj.model_dump().items() if k not in skip}


def _run(engine: Engine, batch: list[dict[str, Any]], *, fast: bool) -> str:
    """Set up the scenario's earlier state with fresh ids, push the batch through one path,
    and return everything it answered and wrote, with the canonical ids back."""
    # Not `random`: hypothesis seeds it the same for every example.
    prefix = (uuid4().int >> 68) << 64
    fresh = {str(c): str(UUID(int=prefix | c.int)) for c in CANONICAL}
    fresh |= {DEVICE: f"prop-{uuid4().hex}", OTHER_DEVICE: f"prop-{uuid4().hex}"}

    def instantiate(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        text = json.dumps(ops)
        for canonical, new in fresh.items():
            text = text.replace(canonical, new)
        loaded: list[dict[str, Any]] = json.loads(text)
        return loaded

    device = fresh[DEVICE]
    with fast_creates(False):  # the earlier state, the same for both runs
        other = [op("report.create", _create_payload(OTHER, [OTHER_PHOTO], grid="CP_A"))]
        other[0]["op_id"] = str(OTHER_OP)
        _in_process_push(engine, "patrol_a", fresh[OTHER_DEVICE], instantiate(other))
        earlier = [
            op("report.create", _create_payload(OWN, [OWN_PHOTO]), seq=0, op_id=REPLAYS[0]),
            op("report.create", _create_payload(NOPE, [], grid="ZZZ"), seq=1, op_id=REPLAYS[1]),
        ]
        earlier[1]["payload"]["photos"] = [photo()]
        _in_process_push(engine, "inspector_a", device, instantiate(earlier))
    with Session(engine) as s:
        before = current_seq(s)
    with fast_creates(fast), _bulk_warnings() as warnings:
        results = _in_process_push(engine, "inspector_a", device, instantiate(batch))
    # Nothing runs concurrently here: a fallback would hide a wrong decision of the bulk
    # path behind the per-op path's answers.
    assert warnings == [], warnings

    reports = [UUID(fresh[str(r)]) for r in [*NEW_REPORTS, OWN, OTHER, NOPE]]
    photos = [UUID(fresh[str(p)]) for p in [*NEW_PHOTOS, OWN_PHOTO, OTHER_PHOTO]]
    with Session(engine) as s:
        cases = s.exec(select(Case).where(col(Case.id).in_(reports))).all()
        photo_rows = s.exec(
            select(Photo).where(col(Photo.id).in_(photos) | col(Photo.case_id).in_(reports))
        ).all()
        events = s.exec(
            select(CaseEvent).where(col(CaseEvent.case_id).in_(reports)).order_by(col(CaseEvent.id))
        ).all()
        changes = s.exec(
            select(ChangeLog).where(col(ChangeLog.seq) > before).order_by(col(ChangeLog.seq))
        ).all()
        processed = s.exec(
            select(ProcessedOperation).where(ProcessedOperation.device_id == device)
        ).all()
        device_row = s.get(Device, device)
        assert device_row is not None
        snapshot = {
            "results": results,
            "cases": [_row(c, "created_at", "updated_at") for c in cases],
            "photos": [_row(p, "created_at") for p in photo_rows],
            "events": [_row(e, "id", "at") for e in events],
            "changes": [{**_row(c, "created_at", "seq"), "n": c.seq - before} for c in changes],
            "processed": [_row(p, "processed_at") for p in processed],
            "rejected_ops": device_row.rejected_ops,
        }
    # Back to canonical ids, then order what the database returns unordered.
    text = json.dumps(snapshot, default=str, sort_keys=True)
    for canonical, new in fresh.items():
        text = text.replace(new, canonical)
    loaded = json.loads(text)
    for key in ("cases", "photos", "processed"):
        loaded[key] = sorted(loaded[key], key=lambda r: json.dumps(r, sort_keys=True))
    return json.dumps(loaded, indent=1, sort_keys=True, ensure_ascii=False)


@pytest.fixture
def inactive_category(engine: Engine, world: World) -> str:
    with Session(engine) as s:
        category = s.get(Category, INACTIVE)
        assert category is not None
        category.active = False
        s.add(category)
        s.commit()
    return INACTIVE


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=scenarios())
def test_bulk_path_answers_and_writes_as_the_per_op_path(
    engine: Engine, inactive_category: str, batch: list[dict[str, Any]]
) -> None:
    per_op = _run(engine, batch, fast=False)
    bulk = _run(engine, batch, fast=True)
    assert bulk == per_op


def test_refusals_come_in_the_per_op_order(engine: Engine, inactive_category: str) -> None:
    """Several faults in one create: the first check of create_report names it."""
    broken = _create_payload(NEW_REPORTS[1], [OTHER_PHOTO], grid="G_B")
    del broken["location"]
    payloads = [
        _create_payload(NEW_REPORTS[0], [OTHER_PHOTO], grid="ZZZ") | {"category": INACTIVE},
        broken,
        _create_payload(OTHER, [OWN_PHOTO], grid="G_B") | {"category": INACTIVE},
        _create_payload(NEW_REPORTS[2], [OTHER_PHOTO], grid="G_B"),
        _create_payload(NEW_REPORTS[3], [OWN_PHOTO, NEW_PHOTOS[0]]),
    ]
    batch = [op("report.create", p, seq=i, op_id=OPS[i]) for i, p in enumerate(payloads)]
    per_op = _run(engine, batch, fast=False)
    assert _run(engine, batch, fast=True) == per_op
    codes = [(r["status"], r["code"]) for r in json.loads(per_op)["results"]]
    assert codes == [
        ("rejected", "unknown_category"),
        ("rejected", "invalid_payload"),
        ("conflict", "id_in_use"),
        ("rejected", "area_out_of_scope"),
        ("conflict", "photo_id_in_use"),
    ]


# ---------------------------------------------------------------- examples


def test_collisions_inside_one_batch(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    first = report()
    shared = first["photos"][0]
    steals = report(photos=1)
    steals["photos"] = [photo(), dict(shared)]  # a photo id of the first report
    again = dict(first)
    amend = op("report.amend", {"id": first["id"], "address": "3号楼"}, seq=3)
    after = report()
    results = push(
        client,
        inspector_a,
        [
            create_op(first, 1),
            create_op(steals, 2),
            amend,
            create_op(again, 4),
            create_op(after, 5),
        ],
    )
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", None),
        ("conflict", "photo_id_in_use"),
        ("applied", None),
        ("duplicate", "already_exists"),
        ("applied", None),
    ]
    assert shared["id"] in results[1]["message"]
    assert results[3]["case_id"] == first["id"]
    with Session(engine) as s:
        case = s.get(Case, UUID(first["id"]))
        assert case is not None
        assert (case.address, case.version) == ("3号楼", 2)
        assert s.get(Case, UUID(steals["id"])) is None
        # One change per applied create and one for the amend, in op seq order.
        entity_ids = s.exec(select(ChangeLog.entity_id).order_by(col(ChangeLog.seq))).all()
        assert entity_ids[-3:] == [first["id"], first["id"], after["id"]]


def test_seqs_follow_op_seq_not_request_order(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    payloads = [report() for _ in range(6)]
    ops = [create_op(p, seq) for seq, p in enumerate(payloads)]
    with Session(engine) as s:
        before = current_seq(s)
    push(client, inspector_a, list(reversed(ops)))
    with Session(engine) as s:
        rows = s.exec(
            select(ChangeLog).where(col(ChangeLog.seq) > before).order_by(col(ChangeLog.seq))
        ).all()
    assert [r.seq for r in rows] == list(range(before + 1, before + 7))
    assert [r.entity_id for r in rows] == [p["id"] for p in payloads]


def test_a_push_of_creates_costs_the_same_statements_whatever_its_size(
    client: TestClient, engine: Engine, inspector_a: dict[str, str]
) -> None:
    statements: list[str] = []

    def count(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    push(client, inspector_a, [create_op(report())])  # signs in, makes the counter row
    event.listen(engine, "before_cursor_execute", count)
    try:
        sizes = {}
        for n in (10, 100):
            statements.clear()
            push(client, inspector_a, [create_op(report(), i) for i in range(n)])
            sizes[n] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sizes[10] == sizes[100], sizes
    assert sizes[100] < 25, statements


# ---------------------------------------------------------------- fallback and outage

Hook = Callable[[Connection, list[dict[str, Any]]], None]


@contextmanager
def on_bulk_case_insert(monkeypatch: pytest.MonkeyPatch, hook: Hook) -> Iterator[list[int]]:
    """Run `hook` once, just before the bulk path inserts its cases (between its checks
    and its writes, on its connection), with the rows it inserts. Yields a list that gets
    the number of rows when the hook ran."""
    fired: list[int] = []
    original = insert_rows

    def wrapped(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        if not fired and table.name == "hazard_case" and len(rows) >= 2:
            fired.append(len(rows))
            hook(session.connection(), [dict(r) for r in rows])
        original(session, table, rows)

    with monkeypatch.context() as patch:
        patch.setattr(bulk_create, "insert_rows", wrapped)
        yield fired


def test_an_integrity_error_in_the_bulk_insert_falls_back_to_per_op(
    client: TestClient,
    engine: Engine,
    world: World,
    inspector_a: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payloads = [report() for _ in range(3)]

    def sneak_in(conn: Connection, rows: list[dict[str, Any]]) -> None:
        # The first case appears behind the bulk path's back, inside its savepoint.
        conn.execute(insert(table_of(Case)).values(**rows[0]))

    before = counts(engine)
    with (
        caplog.at_level(logging.WARNING, "server.sync.bulk_create"),
        on_bulk_case_insert(monkeypatch, sneak_in) as fired,
    ):
        results = push(client, inspector_a, [create_op(p, i) for i, p in enumerate(payloads)])
    assert fired == [3]
    assert "applying op by op" in caplog.text
    # The savepoint took the sneaked row with it; the per-op path applied all three.
    assert [r["status"] for r in results] == ["applied"] * 3
    after = counts(engine)
    assert after["hazard_case"] == before["hazard_case"] + 3
    assert after["photo"] == before["photo"] + 6
    assert after["case_event"] == before["case_event"] + 3
    assert after["change_log"] == before["change_log"] + 3
    assert after["sync_operation"] == before["sync_operation"] + 3


@pytest.mark.postgresql_only
def test_a_concurrent_writer_before_the_bulk_insert_gets_per_op_answers(
    client: TestClient,
    engine: Engine,
    world: World,
    inspector_a: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payloads = [report() for _ in range(3)]

    def other_user_commits(_conn: Connection, rows: list[dict[str, Any]]) -> None:
        # Another user's case with the second report's id commits meanwhile.
        with Session(engine) as other:
            values = {**rows[1], "reporter_id": world.user_ids["patrol_a"]}
            other.execute(insert(table_of(Case)).values(**values))
            other.commit()

    with on_bulk_case_insert(monkeypatch, other_user_commits) as fired:
        results = push(client, inspector_a, [create_op(p, i) for i, p in enumerate(payloads)])
    assert fired == [3]
    assert [(r["status"], r["code"]) for r in results] == [
        ("applied", None),
        ("conflict", "id_in_use"),
        ("applied", None),
    ]
    with Session(engine) as s:
        stored = s.exec(select(ProcessedOperation.status)).all()
        assert sorted(stored) == ["applied", "applied", "conflict"]


def test_another_database_error_in_the_bulk_path_falls_back_to_per_op(
    client: TestClient, engine: Engine, inspector_a: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(_conn: Connection, _rows: list[dict[str, Any]]) -> None:
        raise DataError("INSERT INTO hazard_case", {}, Exception("value too long"))

    payloads = [report() for _ in range(2)]
    with on_bulk_case_insert(monkeypatch, fail) as fired:
        results = push(client, inspector_a, [create_op(p, i) for i, p in enumerate(payloads)])
    assert fired == [2]
    assert [r["status"] for r in results] == ["applied", "applied"]
    with Session(engine) as s:
        ids = s.exec(select(Case.id).where(col(Case.id).in_([UUID(p["id"]) for p in payloads])))
        assert len(ids.all()) == 2


def test_an_outage_in_the_bulk_path_fails_the_whole_push(
    client: TestClient, engine: Engine, inspector_a: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def outage(_conn: Connection, _rows: list[dict[str, Any]]) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    amend_target = report()
    push(client, inspector_a, [create_op(amend_target)])
    before = counts(engine)
    ops = [
        op("report.amend", {"id": amend_target["id"], "address": "x"}, seq=1),
        create_op(report(), 2),
        create_op(report(), 3),
    ]
    with on_bulk_case_insert(monkeypatch, outage) as fired:
        response = push_raw(client, inspector_a, ops)
    assert fired == [2]
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert counts(engine) == before  # the amend before the run is gone too


def test_a_range_of_seqs_comes_from_one_bump(engine: Engine) -> None:
    with Session(engine) as s:
        record_case_changes(s, [])  # nothing to record: nothing noted, no bump
        assert pending_changes(s) == 0
        first = allocate_seqs(s, 1)  # makes the counter row on a fresh database
        assert allocate_seqs(s, 5) == first + 5
        with pytest.raises(ValueError, match="at least 1"):
            allocate_seqs(s, 0)
        s.commit()
        assert current_seq(s) == first + 5
