"""Duplicates: candidates (same category, within the radius and the time window, open, in
scope), and mark_duplicate's checks and its links both ways."""

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from server.areas.models import Area
from server.cases.models import Case, Photo
from server.core.config import Settings
from server.main import create_app
from server.workflow.duplicates import METRES_PER_DEGREE_LAT, distance_m
from shared_schemas.enums import CaseStatus, MediaType
from tests.server.workflow.helpers import API, error, user
from tests.world import T0, World, add_case, login

Headers = Callable[[str], dict[str, str]]
# A kilometre north of the world's own cases, which would otherwise be candidates too.
LAT, LON = 31.23 + 1000 / METRES_PER_DEGREE_LAT, 121.47


def _case(
    s: Session,
    area: Area,
    *,
    north_m: float = 0.0,
    category: str = "FIRE_LANE",
    days_later: float = 0,
    status: CaseStatus = CaseStatus.REPORTED,
    reporter: str = "inspector_a",
) -> UUID:
    case = add_case(
        s,
        area=area,
        reporter=user(s, reporter),
        category=category,
        created_at=T0 + timedelta(days=days_later),
        status=status,
    )
    case.lat = LAT + north_m / METRES_PER_DEGREE_LAT
    case.lon = LON
    s.add(case)
    s.flush()
    return case.id


def _ids(client: TestClient, headers: dict[str, str], case_id: UUID, **params: Any) -> list[str]:
    r = client.get(f"{API}/cases/{case_id}/duplicates", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def test_candidates(client: TestClient, engine: Engine, world: World, as_user: Headers) -> None:
    with Session(engine) as s:
        a = world.a.compound
        me = _case(s, a)
        near = _case(s, a, north_m=20)
        nearer = _case(s, a, north_m=5, days_later=-10)
        far = _case(s, a, north_m=80)
        other_kind = _case(s, a, north_m=1, category="GARBAGE")
        old = _case(s, a, north_m=1, days_later=-45)
        closed = _case(s, a, north_m=1, status=CaseStatus.CLOSED)
        # Street B's case at the same spot: not visible to street A's supervisor.
        other_street = _case(s, world.b.compound, north_m=2, reporter="inspector_b")
        s.commit()
    sup = as_user("supervisor_a")
    assert _ids(client, sup, me) == [str(nearer), str(near)]
    body = client.get(f"{API}/cases/{me}/duplicates", headers=sup).json()
    assert (body["radius_m"], body["window_days"]) == (50.0, 30)
    assert [round(c["distance_m"]) for c in body["items"]] == [5, 20]
    assert _ids(client, sup, me, radius_m=100) == [str(nearer), str(near), str(far)]
    assert str(old) in _ids(client, sup, me, window_days=60)
    assert str(other_kind) not in _ids(client, sup, me, radius_m=1000)
    assert str(closed) not in _ids(client, sup, me, radius_m=1000)
    assert str(other_street) in _ids(client, as_user("admin"), me)
    assert str(other_street) not in _ids(client, sup, me, radius_m=1000)
    r = client.get(f"{API}/cases/{me}/duplicates", params={"radius_m": 0}, headers=sup)
    assert (r.status_code, error(r)["details"][0]["field"]) == (422, "query.radius_m")


def test_the_radius_comes_from_the_settings(
    engine: Engine, world: World, settings: Settings
) -> None:
    with Session(engine) as s:
        me = _case(s, world.a.compound)
        near = _case(s, world.a.compound, north_m=80)
        s.commit()
    app = create_app(settings.model_copy(update={"duplicate_radius_m": 100.0}))
    try:
        with TestClient(app) as c:
            assert _ids(c, login(c, "supervisor_a"), me) == [str(near)]
    finally:
        app.state.engine.dispose()


@hypothesis_settings(max_examples=40, deadline=None)
@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179, max_value=179),
    bearing=st.floats(min_value=0, max_value=2 * math.pi),
    metres=st.floats(min_value=0, max_value=2000),
)
def test_distance_is_metres_on_the_ground(
    lat: float, lon: float, bearing: float, metres: float
) -> None:
    """A point moved `metres` along a bearing (small-offset approximation) is that far."""
    dlat = metres * math.cos(bearing) / METRES_PER_DEGREE_LAT
    dlon = metres * math.sin(bearing) / (METRES_PER_DEGREE_LAT * math.cos(math.radians(lat)))
    got = distance_m(lat, lon, lat + dlat, lon + dlon)
    assert math.isclose(got, metres, rel_tol=0.01, abs_tol=0.05)


def test_mark_duplicate_checks_the_original(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    with Session(engine) as s:
        me = _case(s, world.a.compound)
        other = _case(s, world.a.compound, north_m=3)
        dup = _case(s, world.a.compound, north_m=4, status=CaseStatus.DUPLICATE)
        s.commit()
    sup = as_user("supervisor_a")
    url = f"{API}/cases/{me}/transitions"

    def mark(original: Any) -> Any:
        body = {"action": "mark_duplicate", "duplicate_of": original and str(original)}
        return client.post(url, json=body, headers=sup)

    for original, words in [
        (None, "name the original"),
        (me, "itself"),
        (dup, "itself duplicate"),
        (world.b.case_id, "in your areas"),  # exists, out of scope: like missing
        (UUID(int=7), "in your areas"),
    ]:
        r = mark(original)
        assert (r.status_code, error(r)["details"][0]["field"]) == (422, "duplicate_of"), r.text
        assert words in error(r)["message"]
    r = mark(other)
    assert (r.json()["status"], r.json()["duplicate_of"]) == ("duplicate", str(other))


def test_duplicates_link_both_ways_and_show_their_photos_on_the_original(
    client: TestClient, engine: Engine, world: World, as_user: Headers
) -> None:
    with Session(engine) as s:
        original = _case(s, world.a.compound)
        first = _case(s, world.a.compound, north_m=3)
        second = _case(s, world.a.compound, north_m=6)
        s.add(
            Photo(
                id=UUID(int=99),
                case_id=first,
                sha256="ab" * 32,
                size_bytes=10,
                media_type=MediaType.JPEG,
                width=8,
                height=6,
                taken_at=T0,
            )
        )
        s.commit()
    sup = as_user("supervisor_a")

    def mark(case_id: UUID, original_id: UUID) -> Any:
        body = {"action": "mark_duplicate", "duplicate_of": str(original_id), "note": "同一处"}
        r = client.post(f"{API}/cases/{case_id}/transitions", json=body, headers=sup)
        assert r.status_code == 200, r.text
        return r.json()

    # `first` gets a duplicate of its own, then becomes a duplicate itself: its duplicate
    # follows it to the original (no chains).
    mark(second, first)
    mark(first, original)
    detail = client.get(f"{API}/cases/{original}", headers=sup).json()
    assert sorted(detail["duplicates"]) == sorted([str(first), str(second)])
    photo = next(p for p in detail["photos"] if p["id"] == str(UUID(int=99)))
    assert photo["case_id"] == str(first)
    linked = [e for e in detail["timeline"] if e["action"] == "duplicate_linked"]
    assert [e["changes"]["duplicate"] for e in linked] == [str(first)]
    moved = client.get(f"{API}/cases/{second}", headers=sup).json()
    assert moved["duplicate_of"] == str(original)
    assert moved["timeline"][-1]["action"] == "duplicate_relinked"
    with Session(engine) as s:
        for case_id in (first, second):
            case = s.get(Case, case_id)
            assert case is not None and case.duplicate_of_id == original
