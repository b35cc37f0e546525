"""Helpers for the sync tests: build operations, push, pull, count rows."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from server.cases.models import Case, CaseEvent, Photo
from server.sync.changes import record_case_change
from server.sync.models import ChangeLog, Device, ProcessedOperation, VerificationTask
from shared_schemas.enums import CaseStatus

API = "/api/v1"
T = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)
STATUS = {"app_version": "1.2.3", "queue_depth": 3, "oldest_pending_s": 60, "photos_pending": 2}


def photo(photo_id: UUID | None = None) -> dict[str, Any]:
    return {
        "id": str(photo_id or uuid4()),
        "sha256": "ab" * 32,
        "size_bytes": 123456,
        "media_type": "image/jpeg",
        "width": 1600,
        "height": 1200,
        "taken_at": T.isoformat(),
    }


def report(
    report_id: UUID | None = None,
    *,
    grid: str = "G_A",
    category: str = "FIRE_LANE",
    photos: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": str(report_id or uuid4()),
        "category": category,
        "severity": "general",
        "description": "消防通道被占用",
        "observed_at": T.isoformat(),
        "location": {
            "lat": 31.23,
            "lon": 121.47,
            "accuracy_m": 6.5,
            "source": "gps",
            "captured_at": T.isoformat(),
        },
        "grid": grid,
        "address": "1号楼东侧",
        "photos": [photo() for _ in range(photos)],
        **extra,
    }


def op(
    kind: str, payload: dict[str, Any], *, seq: int = 1, op_id: UUID | None = None
) -> dict[str, Any]:
    return {
        "op_id": str(op_id or uuid4()),
        "seq": seq,
        "kind": kind,
        "entity_id": payload["id"],
        "payload": payload,
        "created_at": T.isoformat(),
    }


def create_op(payload: dict[str, Any], seq: int = 1) -> dict[str, Any]:
    return op("report.create", payload, seq=seq)


def push_raw(
    client: TestClient,
    headers: dict[str, str],
    ops: list[dict[str, Any]],
    *,
    device_id: str = "tablet-a",
    status: dict[str, Any] | None = None,
    schema_version: int = 1,
) -> httpx.Response:
    body = {
        "device_id": device_id,
        "schema_version": schema_version,
        "ops": ops,
        "device_status": status or STATUS,
    }
    response: httpx.Response = client.post(f"{API}/sync/push", json=body, headers=headers)
    return response


def push(
    client: TestClient, headers: dict[str, str], ops: list[dict[str, Any]], **kw: Any
) -> list[dict[str, Any]]:
    response = push_raw(client, headers, ops, **kw)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert [r["op_id"] for r in results] == [o["op_id"] for o in ops]
    return results


def pull(
    client: TestClient, headers: dict[str, str], cursor: int = 0, limit: int | None = None
) -> dict[str, Any]:
    params: dict[str, int] = {"cursor": cursor}
    if limit is not None:
        params["limit"] = limit
    response = client.get(f"{API}/sync/pull", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def pull_all(client: TestClient, headers: dict[str, str], cursor: int = 0) -> dict[str, Any]:
    """Every page until has_more is false: {entity_id: change} (latest wins) and cursor."""
    seen: dict[str, Any] = {}
    while True:
        page = pull(client, headers, cursor)
        for change in page["changes"]:
            seen[change["entity_id"]] = change
        cursor = page["cursor"]
        if not page["has_more"]:
            return {"changes": seen, "cursor": cursor}


TABLES = (Case, Photo, CaseEvent, ChangeLog, ProcessedOperation, Device, VerificationTask)


def set_status(engine: Engine, case_id: str, status: CaseStatus, *, record: bool = False) -> None:
    """Set a case's status directly. With `record`, also as the workflow would (issue 5):
    bump the version and log a change so tablets pull it."""
    with Session(engine) as s:
        case = s.get(Case, UUID(case_id))
        assert case is not None
        case.status = status
        s.add(case)
        if record:
            case.version += 1
            record_case_change(s, case)
        s.commit()


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.__tablename__: s.exec(select(func.count()).select_from(t)).one() for t in TABLES}
