"""Pull: fetch change pages after the stored cursor and apply each in one transaction.

A page and the cursor after it commit together, so a crash between pages repeats at most
the page that was not committed; applying a page twice is harmless (every change carries
the entity's current state, design.md sync rule 7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from inspector_app.core.api_client import (
    KV_AREAS_FETCHED,
    KV_CURSOR,
    ApiClient,
    NetworkError,
    json_body,
)
from inspector_app.core.store import Store, Tx
from shared_schemas.api import AreasOut
from shared_schemas.sync import PullChange, PullResponse

log = logging.getLogger(__name__)

PAGE_LIMIT = 200
MAX_PAGES_PER_CYCLE = 10_000  # a guard against a server that always says has_more


def apply_change(tx: Tx, change: PullChange) -> bool:
    """Apply one change; False when it does not concern this tablet's data."""
    data: dict[str, Any] | None = change.data if change.op == "upsert" else None
    if change.entity == "case":
        if data is None:
            return False  # out of sight now: the local report keeps what it knew
        found = tx.execute("SELECT 1 FROM reports WHERE id = ?", (change.entity_id,)).fetchone()
        if found is None:
            return False  # someone else's case in the same grid
        tx.set_case(
            change.entity_id,
            case_id=str(data.get("id") or change.entity_id),
            status=data.get("status"),
            deadline=data.get("deadline"),
        )
        return True
    if change.entity == "task":
        if data is None:
            tx.withdraw_task(change.entity_id)
            return True
        case_id = data.get("case_id")
        if not case_id:
            log.warning("pull: task %s without case_id ignored", change.entity_id)
            return False
        tx.set_task_from_server(change.entity_id, case_id=str(case_id), data=data)
        return True
    if change.entity == "taxonomy":
        tx.cache_taxonomy(change.entity_id, data)
        return True
    if change.entity == "area":
        tx.cache_area(change.entity_id, data)
        return True
    return False  # pragma: no cover - the Literal type allows nothing else


def apply_page(store: Store, page: PullResponse) -> int:
    """One page and its cursor in one transaction; returns how many changes applied."""
    applied = 0
    with store.transaction() as tx:
        for change in page.changes:
            applied += apply_change(tx, change)
        tx.kv_set(KV_CURSOR, page.cursor)
    return applied


def fetch_page(client: ApiClient, *, cursor: int, limit: int = PAGE_LIMIT) -> PullResponse:
    response = client.request("GET", "/sync/pull", params={"cursor": cursor, "limit": limit})
    try:
        return PullResponse.model_validate(json_body(response))
    except ValidationError as exc:
        raise NetworkError(
            f"the pull answer was not understood: {exc.errors()[0]['msg']}", code="bad_response"
        ) from exc


def fetch_areas(client: ApiClient) -> list[dict[str, Any]]:
    response = client.request("GET", "/areas")
    try:
        return [
            a.model_dump(mode="json") for a in AreasOut.model_validate(json_body(response)).areas
        ]
    except ValidationError as exc:
        raise NetworkError(
            f"the areas answer was not understood: {exc.errors()[0]['msg']}", code="bad_response"
        ) from exc


def bootstrap_areas(store: Store, client: ApiClient) -> int:
    """Once per user (a first sync, or another user signed in): the change log only holds
    areas changed since it exists, so the whole visible tree comes from GET /areas."""
    areas = fetch_areas(client)
    with store.transaction() as tx:
        tx.replace_areas(areas)
        tx.kv_set(KV_AREAS_FETCHED, True)
    return len(areas)


def pull(
    store: Store,
    client: ApiClient,
    *,
    limit: int = PAGE_LIMIT,
    on_page: Callable[[int, int], None] | None = None,
) -> int:
    """Pull every page after the stored cursor; returns the number of changes received.
    ``on_page(changes_so_far, applied_so_far)`` after each committed page."""
    received = 0
    applied = 0
    if not store.kv_get(KV_AREAS_FETCHED, False):
        bootstrap_areas(store, client)
    for _ in range(MAX_PAGES_PER_CYCLE):
        cursor = int(store.kv_get(KV_CURSOR, 0) or 0)
        page = fetch_page(client, cursor=cursor, limit=limit)
        applied += apply_page(store, page)
        received += len(page.changes)
        if on_page is not None:
            on_page(received, applied)
        if not page.has_more or page.cursor == cursor:
            break
    return received


__all__ = [
    "PAGE_LIMIT",
    "apply_change",
    "apply_page",
    "bootstrap_areas",
    "fetch_areas",
    "fetch_page",
    "pull",
]
