"""Property: random batches of valid and invalid operations, pushed in random splits,
possibly twice. Every valid report exists exactly once, every operation has exactly one
stored result, and a replayed op_id always gets the identical result."""

import itertools
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from server.cases.models import Case
from server.sync.models import ProcessedOperation
from shared_schemas.enums import OperationKind
from tests.server.sync.helpers import push
from tests.strategies import area_codes, hazard_reports, photo_lists, report_amends
from tests.world import World, login

WORLD_CODES = {"D1", "ST_A", "CM_A", "G_A", "CP_A", "ST_B", "CM_B", "G_B", "CP_B"}


@dataclass
class Planned:
    op: dict[str, Any]
    report_id: str
    expect: str | None  # the status a report.create must get; None: not checked


def _op(kind: OperationKind, payload: dict[str, Any], seq: int) -> dict[str, Any]:
    return {
        "op_id": str(uuid4()),
        "seq": seq,
        "kind": kind.value,
        "entity_id": payload["id"],
        "payload": payload,
        "created_at": "2026-05-01T09:00:00+08:00",
    }


def _has_nul(payload: dict[str, Any]) -> bool:
    return any("\x00" in str(payload.get(k, "")) for k in ("description", "address"))


@st.composite
def batches(draw: st.DrawFn) -> list[Planned]:
    """Creates (valid, out of scope, unknown area, broken), re-sent creates and amends."""
    planned: list[Planned] = []
    created: list[str] = []  # report ids the server accepts
    n = draw(st.integers(min_value=1, max_value=8))
    for seq in range(n):
        choice = draw(
            st.sampled_from(["valid", "valid", "scope", "unknown", "broken", "resend", "amend"])
        )
        if choice in ("resend", "amend") and not created:
            choice = "valid"
        if choice == "resend":
            rid = draw(st.sampled_from(created))
            payload = draw(hazard_reports(report_id=st.just(UUID(rid)))).model_dump(mode="json")
            payload["grid"] = "G_A"
            # An invalid payload is refused before the server looks at the id.
            expect = "rejected" if _has_nul(payload) else "duplicate"
            planned.append(Planned(_op(OperationKind.REPORT_CREATE, payload, seq), rid, expect))
            continue
        if choice == "amend":
            rid = draw(st.sampled_from(created))
            amend = draw(report_amends(report_id=st.just(UUID(rid)))).model_dump(
                mode="json", exclude_unset=True
            )
            if "grid" in amend:
                amend["grid"] = "CP_A"
            planned.append(Planned(_op(OperationKind.REPORT_AMEND, amend, seq), rid, None))
            continue
        report = draw(hazard_reports(photos=photo_lists(max_size=3))).model_dump(mode="json")
        expect = "rejected"
        if choice == "valid":
            report["grid"] = draw(st.sampled_from(["G_A", "CP_A"]))
            expect = "rejected" if _has_nul(report) else "applied"
        elif choice == "scope":
            report["grid"] = draw(st.sampled_from(["G_B", "CP_B", "D1"]))
        elif choice == "unknown":
            report["grid"] = draw(area_codes().filter(lambda c: c not in WORLD_CODES))
        else:
            field = draw(st.sampled_from(["location", "category", "photos", "observed_at"]))
            report[field] = draw(st.sampled_from([None, "", 12, []]))
        if expect == "applied":
            created.append(report["id"])
        planned.append(Planned(_op(OperationKind.REPORT_CREATE, report, seq), report["id"], expect))
    return planned


@st.composite
def splits(draw: st.DrawFn, ops: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Contiguous chunks of the outbox, each possibly shuffled (the server sorts by seq)."""
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(len(ops) - 1, 1)))))
    bounds = [0, *[c for c in cuts if c < len(ops)], len(ops)]
    return [draw(st.permutations(ops[a:b])) for a, b in itertools.pairwise(bounds)]


def _fresh_ids(planned: list[Planned]) -> list[Planned]:
    """Hypothesis repeats its UUIDs across examples, but the database lives through the
    whole test: give each example ids of its own (consistently within the example)."""
    fresh: dict[str, str] = {}

    def new(old: str) -> str:
        return fresh.setdefault(old, str(uuid4()))

    for p in planned:
        payload = p.op["payload"]
        payload["id"] = p.op["entity_id"] = new(payload["id"])
        photos = payload.get("photos")
        for photo in photos if isinstance(photos, list) else []:
            if isinstance(photo, dict):
                photo["id"] = new(photo["id"])
        p.report_id = new(p.report_id)
    return planned


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_random_batches_apply_exactly_once(
    client: TestClient, engine: Engine, world: World, data: st.DataObject
) -> None:
    headers = login(client, "inspector_a", device_id="prop")
    device = f"prop-{uuid4().hex}"
    planned = _fresh_ids(data.draw(batches(), label="batch"))
    ops = [p.op for p in planned]
    results: dict[str, dict[str, Any]] = {}
    for _ in range(data.draw(st.integers(min_value=1, max_value=2), label="pushes")):
        for chunk in data.draw(splits(ops), label="split"):
            for result in push(client, headers, chunk, device_id=device):
                previous = results.setdefault(result["op_id"], result)
                assert result == previous, "a replayed op_id got a different result"
    assert set(results) == {o["op_id"] for o in ops}
    for p in planned:
        if p.expect is not None:
            assert results[p.op["op_id"]]["status"] == p.expect, (p.op, results[p.op["op_id"]])
    accepted = {p.report_id for p in planned if p.expect == "applied"}
    refused = {p.report_id for p in planned if p.expect == "rejected"} - accepted
    with Session(engine) as s:
        ids = [UUID(i) for i in accepted | refused]
        cases = s.exec(select(Case.id).where(col(Case.id).in_(ids))).all()
        assert sorted(str(c) for c in cases) == sorted(accepted)
        per_op = s.exec(
            select(ProcessedOperation.op_id, func.count())
            .where(ProcessedOperation.device_id == device)
            .group_by(col(ProcessedOperation.op_id))
        ).all()
        assert {str(op_id): n for op_id, n in per_op} == {o["op_id"]: 1 for o in ops}
