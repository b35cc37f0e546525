"""GeoPoint and AwareDatetime: bounds, non-finite numbers, time zones."""

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared_schemas.enums import LocationSource
from shared_schemas.geo import GeoPoint
from tests.strategies import (
    accuracies,
    aware_datetimes,
    geo_points,
    latitudes,
    longitudes,
    naive_datetimes,
)

CAPTURED = datetime(2026, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


def _point(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "lat": 31.23,
        "lon": 121.47,
        "accuracy_m": 5.0,
        "source": "gps",
        "captured_at": CAPTURED.isoformat(),
    }
    data.update(overrides)
    return data


def _error_locs(exc: ValidationError) -> list[tuple[int | str, ...]]:
    return [tuple(err["loc"]) for err in exc.errors()]


def _outside(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(max_value=low, exclude_max=True, allow_nan=False),
        st.floats(min_value=high, exclude_min=True, allow_nan=False),
        NON_FINITE,
    )


@given(lat=latitudes(), lon=longitudes(), accuracy=accuracies())
def test_points_inside_the_bounds_are_accepted(lat: float, lon: float, accuracy: float) -> None:
    point = GeoPoint.model_validate(_point(lat=lat, lon=lon, accuracy_m=accuracy))
    assert (point.lat, point.lon, point.accuracy_m) == (lat, lon, accuracy)


@pytest.mark.parametrize(("lat", "lon"), [(-90.0, -180.0), (90.0, 180.0), (0.0, 0.0), (-0.0, -0.0)])
def test_the_bounds_themselves_are_accepted(lat: float, lon: float) -> None:
    GeoPoint.model_validate(_point(lat=lat, lon=lon, accuracy_m=0.0))


@given(lat=_outside(-90.0, 90.0))
def test_latitude_outside_is_refused_naming_lat(lat: float) -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(lat=lat))
    assert _error_locs(info.value) == [("lat",)]


@given(lon=_outside(-180.0, 180.0))
def test_longitude_outside_is_refused_naming_lon(lon: float) -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(lon=lon))
    assert _error_locs(info.value) == [("lon",)]


@given(accuracy=st.one_of(st.floats(max_value=0.0, exclude_max=True), NON_FINITE))
def test_negative_or_non_finite_accuracy_is_refused(accuracy: float) -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(accuracy_m=accuracy))
    assert _error_locs(info.value) == [("accuracy_m",)]


@pytest.mark.parametrize("text", ["NaN", "nan", "Infinity", "-Infinity", "inf"])
def test_non_finite_numbers_spelled_as_strings_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(lat=text))
    assert _error_locs(info.value) == [("lat",)]


def test_non_finite_in_json_text_is_refused() -> None:
    raw = '{"lat": NaN, "lon": 1, "accuracy_m": 1, "source": "gps", "captured_at": "%s"}'
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate_json(raw % CAPTURED.isoformat())
    assert ("lat",) in _error_locs(info.value)


def test_unknown_source_and_extra_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(source="wifi", altitude=12.0))
    assert sorted(_error_locs(info.value)) == [("altitude",), ("source",)]
    assert {e["type"] for e in info.value.errors()} == {"enum", "extra_forbidden"}


@given(when=naive_datetimes())
def test_naive_datetimes_are_refused(when: datetime) -> None:
    for value in (when, when.isoformat()):
        with pytest.raises(ValidationError) as info:
            GeoPoint.model_validate(_point(captured_at=value))
        assert _error_locs(info.value) == [("captured_at",)]
        assert "UTC offset" in info.value.errors()[0]["msg"]


@pytest.mark.parametrize("text", ["2026-05-01T09:30:00", "2026-05-01", "2026-05-01 09:30"])
def test_times_without_offset_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(captured_at=text))
    assert _error_locs(info.value) == [("captured_at",)]


@given(when=aware_datetimes())
def test_aware_datetimes_are_accepted_and_keep_the_instant(when: datetime) -> None:
    point = GeoPoint.model_validate(_point(captured_at=when))
    assert point.captured_at == when
    assert point.captured_at.utcoffset() is not None
    again = GeoPoint.model_validate(point.model_dump(mode="json"))
    assert again.captured_at == when


@pytest.mark.parametrize(
    "text",
    ["2026-05-01T09:30:00+08:00", "2026-05-01T01:30:00Z", "2026-05-01T01:30:00.123456+00:00"],
)
def test_iso_times_with_offset_are_accepted(text: str) -> None:
    point = GeoPoint.model_validate(_point(captured_at=text))
    assert point.captured_at.utcoffset() is not None


def test_offset_with_seconds_is_normalised_to_utc_and_survives_the_wire() -> None:
    lmt = timezone(timedelta(hours=8, minutes=5, seconds=43))  # Shanghai local mean time
    when = datetime(2026, 5, 1, 9, 30, tzinfo=lmt)
    point = GeoPoint(
        lat=31.2, lon=121.5, accuracy_m=3.0, source=LocationSource.GPS, captured_at=when
    )
    assert point.captured_at == when
    assert point.captured_at.utcoffset() == timedelta(0)
    assert GeoPoint.model_validate_json(point.model_dump_json()).captured_at == when


def test_offset_with_seconds_out_of_range_in_utc_is_a_validation_error() -> None:
    tz = timezone(timedelta(hours=1, seconds=1))
    with pytest.raises(ValidationError) as info:
        GeoPoint.model_validate(_point(captured_at=datetime.min.replace(tzinfo=tz)))
    assert _error_locs(info.value) == [("captured_at",)]


@given(point=geo_points())
def test_generated_points_round_trip(point: GeoPoint) -> None:
    assert GeoPoint.model_validate(point.model_dump(mode="json")) == point
    assert GeoPoint.model_validate_json(point.model_dump_json()) == point


def test_utc_is_accepted() -> None:
    assert GeoPoint.model_validate(_point(captured_at=datetime.now(UTC))).captured_at.tzinfo


@pytest.mark.parametrize("number", [0, 1_700_000_000, 1.7e9])
def test_numbers_are_refused_as_times(number: float) -> None:
    with pytest.raises(ValidationError, match="ISO 8601 string"):
        GeoPoint.model_validate(
            {"lat": 1, "lon": 1, "accuracy_m": 1, "source": "gps", "captured_at": number}
        )
