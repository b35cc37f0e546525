"""Two people act on one case at once: one wins, the other gets 409 with the new state,
never a silent overwrite. Real threads, real databases (SQLite and PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from server.cases.models import Case
from server.core.errors import ApiError
from tests.server.workflow.helpers import API, act, error, timeline, user
from tests.world import World, add_case, login


def _reported_case(engine: Engine, world: World) -> UUID:
    with Session(engine) as s:
        case = add_case(s, area=world.a.compound, reporter=user(s, "inspector_a"))
        s.commit()
        return case.id


def _both_read_before_either_writes(engine: Engine, parties: int = 2) -> Any:
    """Hold each thread at its UPDATE of hazard_case until all have got there, so both
    have read the old version: the compare-and-set must decide, not luck."""
    barrier = threading.Barrier(parties, timeout=20)
    held: set[int] = set()

    def hold(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        me = threading.get_ident()
        if statement.lstrip().upper().startswith("UPDATE HAZARD_CASE") and me not in held:
            held.add(me)  # only each thread's first write waits
            barrier.wait()

    event.listen(engine, "before_cursor_execute", hold)
    return hold


@pytest.mark.parametrize(
    ("first", "second"),
    [(("register", {}), ("register", {})), (("register", {}), ("reject", {"note": "重复"}))],
    ids=["same-action", "different-actions"],
)
def test_the_second_of_two_concurrent_actions_gets_409(
    engine: Engine,
    world: World,
    first: tuple[str, dict[str, Any]],
    second: tuple[str, dict[str, Any]],
) -> None:
    case_id = _reported_case(engine, world)
    hook = _both_read_before_either_writes(engine)
    outcomes: dict[str, Any] = {}

    def run(name: str, action: str, fields: dict[str, Any]) -> None:
        with Session(engine, expire_on_commit=False) as s:
            try:
                case = act(s, "supervisor_a", case_id, action, **fields)
                s.commit()
                outcomes[name] = case.status.value
            except ApiError as exc:
                s.rollback()
                outcomes[name] = exc

    try:
        threads = [
            threading.Thread(target=run, args=("one", *first)),
            threading.Thread(target=run, args=("two", *second)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", hook)
    losers = [o for o in outcomes.values() if isinstance(o, ApiError)]
    winners = [o for o in outcomes.values() if isinstance(o, str)]
    assert len(losers) == 1 and len(winners) == 1, outcomes
    lost = losers[0]
    # The loser sees the winner's state, and what it may do now.
    assert (lost.status_code, lost.code) == (409, "version_conflict")
    assert lost.details["status"] == winners[0]
    assert lost.details["version"] == 2
    assert lost.details["expected_version"] == 1
    with Session(engine) as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.status.value, case.version) == (winners[0], 2)
        assert [e.action for e in timeline(s, case_id)][1:] == [
            "register" if winners[0] == "registered" else "reject"
        ]


def test_concurrent_requests_through_the_api(app: FastAPI, engine: Engine, world: World) -> None:
    """Two supervisors click "register" at the same moment: one 200, one 409 naming the
    new state (whether the second request read before or after the first wrote)."""
    case_id = _reported_case(engine, world)
    with TestClient(app) as c1, TestClient(app) as c2:
        headers = login(c1, "supervisor_a", device_id="pc-1")
        admin = login(c2, "admin", device_id="pc-2")
        url = f"{API}/cases/{case_id}/transitions"
        with ThreadPoolExecutor(2) as pool:
            responses = list(
                pool.map(
                    lambda ch: ch[0].post(url, json={"action": "register"}, headers=ch[1]),
                    ((c1, headers), (c2, admin)),
                )
            )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert error(loser)["code"] in ("version_conflict", "invalid_transition")
    assert error(loser)["details"]["status"] == "registered"


def test_a_stale_expected_version_is_409_with_the_current_state(
    client: TestClient, world: World
) -> None:
    sup, admin = login(client, "supervisor_a"), login(client, "admin")
    url = f"{API}/cases/{world.a.case_id}/transitions"
    seen = client.get(f"{API}/cases/{world.a.case_id}", headers=sup).json()["version"]
    r = client.post(
        url, json={"action": "start_rectification", "expected_version": seen}, headers=admin
    )
    assert r.status_code == 200
    r = client.post(
        url,
        json={
            "action": "extend_deadline",
            "note": "x",
            "deadline": "2099-01-01T00:00:00+08:00",
            "expected_version": seen,
        },
        headers=sup,
    )
    assert r.status_code == 409
    err = error(r)
    assert err["code"] == "version_conflict"
    assert err["details"] == {
        "status": "rectifying",
        "version": seen + 1,
        "allowed_actions": ["mark_rectified", "extend_deadline"],
        "action": "extend_deadline",
        "expected_version": seen,
    }
    # Nothing of the refused request was written.
    detail = client.get(f"{API}/cases/{world.a.case_id}", headers=sup).json()
    assert detail["version"] == seen + 1
    assert [e["action"] for e in detail["timeline"]][-1] == "start_rectification"
