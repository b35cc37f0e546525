"""Sync operations, push requests, and the tolerant response models."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared_schemas.enums import OperationKind, OperationStatus
from shared_schemas.reports import HazardReport, InspectionResult, ReportAmend
from shared_schemas.sync import (
    MAX_OPS_PER_PUSH,
    PAYLOAD_MODELS,
    OperationResult,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncOperation,
)
from shared_schemas.version import SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS
from tests.strategies import hazard_reports, op_lists, push_requests, sync_operations

NOW = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)
STATUS = {"app_version": "1.0.0", "queue_depth": 0, "oldest_pending_s": 0, "photos_pending": 0}


def _op(
    kind: OperationKind = OperationKind.REPORT_AMEND,
    payload: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    entity_id = str(uuid.uuid4())
    data: dict[str, Any] = {
        "op_id": str(uuid.uuid4()),
        "seq": 1,
        "kind": str(kind),
        "entity_id": entity_id,
        "payload": payload if payload is not None else {"id": entity_id, "severity": "minor"},
        "created_at": NOW.isoformat(),
    }
    data.update(overrides)
    return data


def _push(ops: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    return {"device_id": "tab-01", "ops": ops, "device_status": STATUS, **overrides}


# ---------------------------------------------------------------- parsed_payload


@given(op=sync_operations())
def test_valid_payload_parses_into_the_model_of_its_kind(op: SyncOperation) -> None:
    parsed = op.parsed_payload()
    assert type(parsed) is PAYLOAD_MODELS[op.kind]
    assert parsed == PAYLOAD_MODELS[op.kind].model_validate(op.payload)
    assert getattr(parsed, "id", None) == op.entity_id


def test_every_kind_has_a_payload_model() -> None:
    expected = {
        OperationKind.REPORT_CREATE: HazardReport,
        OperationKind.REPORT_AMEND: ReportAmend,
        OperationKind.INSPECTION_CREATE: InspectionResult,
    }
    assert expected == PAYLOAD_MODELS


@pytest.mark.parametrize("kind", [OperationKind.REPORT_CREATE, OperationKind.REPORT_AMEND])
@given(data=st.data())
def test_payload_id_other_than_entity_id_is_refused(
    kind: OperationKind, data: st.DataObject
) -> None:
    op = data.draw(sync_operations(kind=kind))
    other = data.draw(st.uuids().filter(lambda u: u != op.entity_id))
    moved = SyncOperation.model_validate({**op.model_dump(mode="json"), "entity_id": str(other)})
    with pytest.raises(ValidationError, match=r"payload\.id must equal entity_id") as info:
        moved.parsed_payload()
    assert [tuple(e["loc"]) for e in info.value.errors()] == [("id",)]
    assert info.value.errors()[0]["type"] == "entity_mismatch"


def test_a_bad_payload_fails_alone_not_the_batch() -> None:
    bad = _op(payload={"id": "nope"})
    good = _op()
    push = PushRequest.model_validate(_push([bad, good]))
    with pytest.raises(ValidationError):
        push.ops[0].parsed_payload()
    assert isinstance(push.ops[1].parsed_payload(), ReportAmend)


def test_payload_of_the_wrong_kind_is_refused() -> None:
    amend_payload = _op()["payload"]
    op = SyncOperation.model_validate(
        _op(OperationKind.REPORT_CREATE, payload=amend_payload, entity_id=amend_payload["id"])
    )
    with pytest.raises(ValidationError):
        op.parsed_payload()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "report.delete"),
        ("seq", -1),
        ("op_id", "op-1"),
        ("entity_id", "x"),
        ("created_at", "2026-05-01T09:30:00"),
        ("payload", "{}"),
    ],
)
def test_operation_envelope_is_strict(field: str, value: object) -> None:
    data = _op()
    data[field] = value
    with pytest.raises(ValidationError) as info:
        SyncOperation.model_validate(data)
    assert [e["loc"][0] for e in info.value.errors()] == [field]


# ---------------------------------------------------------------- push request


@settings(max_examples=50)  # each example is a whole batch of reports with photos
@given(push=push_requests())
def test_generated_push_requests_round_trip(push: PushRequest) -> None:
    assert PushRequest.model_validate(push.model_dump(mode="json")) == push
    assert PushRequest.model_validate_json(push.model_dump_json()) == push
    seqs = [op.seq for op in push.ops]
    assert seqs == sorted(set(seqs))


@given(ops=op_lists(min_size=1, max_size=3, kinds=st.just(OperationKind.REPORT_AMEND)))
def test_duplicate_op_ids_are_refused(ops: list[SyncOperation]) -> None:
    raw = [op.model_dump(mode="json") for op in ops]
    raw.append({**raw[0], "seq": raw[-1]["seq"] + 1})
    with pytest.raises(ValidationError, match="same op_id"):
        PushRequest.model_validate(_push(raw))


def test_max_ops_per_push_is_accepted_one_more_is_refused() -> None:
    ops = [_op(seq=i) for i in range(MAX_OPS_PER_PUSH)]
    assert len(PushRequest.model_validate(_push(ops)).ops) == MAX_OPS_PER_PUSH
    ops.append(_op(seq=MAX_OPS_PER_PUSH))
    with pytest.raises(ValidationError) as info:
        PushRequest.model_validate(_push(ops))
    assert [(tuple(e["loc"]), e["type"]) for e in info.value.errors()] == [(("ops",), "too_long")]


def test_an_empty_batch_carries_only_the_device_status() -> None:
    push = PushRequest.model_validate(_push([]))
    assert push.ops == []
    assert push.schema_version == SCHEMA_VERSION
    assert SCHEMA_VERSION in SUPPORTED_SCHEMA_VERSIONS


@pytest.mark.parametrize(
    "overrides",
    [
        {"device_id": ""},
        {"device_id": "tab 01"},
        {"schema_version": 0},
        {"device_status": {**STATUS, "queue_depth": -1}},
        {"device_status": {"app_version": "1.0.0"}},
        {"device_status": {**STATUS, "battery": 80}},
        {"sent_at": NOW.isoformat()},
    ],
)
def test_push_request_envelope_is_strict(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PushRequest.model_validate(_push([], **overrides))


# ---------------------------------------------------------------- tolerant responses

_extra_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=10), st.lists(st.integers())
)


def _extras(reserved: set[str]) -> st.SearchStrategy[dict[str, Any]]:
    keys = st.text(min_size=1, max_size=12).filter(lambda k: k not in reserved)
    return st.dictionaries(keys, _extra_values, max_size=4)


_RESULT = {
    "op_id": str(uuid.uuid4()),
    "status": "rejected",
    "code": "case_registered",
    "message": "已立案，不能修改",
    "case_id": str(uuid.uuid4()),
}


@given(extra=_extras(set(OperationResult.model_fields)))
def test_operation_result_ignores_unknown_fields(extra: dict[str, Any]) -> None:
    result = OperationResult.model_validate({**_RESULT, **extra})
    assert result == OperationResult.model_validate(_RESULT)
    assert result.status is OperationStatus.REJECTED


@given(
    extra=_extras(set(PushResponse.model_fields)),
    nested=_extras(set(OperationResult.model_fields)),
)
def test_push_response_ignores_unknown_fields(
    extra: dict[str, Any], nested: dict[str, Any]
) -> None:
    plain = {"results": [_RESULT], "server_time": NOW.isoformat()}
    newer = {**plain, "results": [{**_RESULT, **nested}], **extra}
    assert PushResponse.model_validate(newer) == PushResponse.model_validate(plain)


@given(
    extra=_extras(set(PullResponse.model_fields)),
    nested=_extras({"seq", "entity", "entity_id", "op", "data"}),
)
def test_pull_response_ignores_unknown_fields(
    extra: dict[str, Any], nested: dict[str, Any]
) -> None:
    change = {"seq": 7, "entity": "case", "entity_id": "c-1", "data": {"status": "dispatched"}}
    plain = {"changes": [change], "cursor": 7, "has_more": False}
    newer = {**plain, "changes": [{**change, **nested}], **extra}
    parsed = PullResponse.model_validate(newer)
    assert parsed == PullResponse.model_validate(plain)
    assert parsed.changes[0].op == "upsert"


def test_minimal_responses_parse() -> None:
    result = OperationResult.model_validate({"op_id": str(uuid.uuid4()), "status": "applied"})
    assert (result.code, result.message, result.case_id) == (None, None, None)
    pull = PullResponse.model_validate({"changes": [], "cursor": 0, "has_more": False})
    assert pull.changes == []


@given(report=hazard_reports())
def test_strict_input_refuses_what_tolerant_output_ignores(report: HazardReport) -> None:
    with pytest.raises(ValidationError):
        HazardReport.model_validate({**report.model_dump(mode="json"), "added_later": 1})
