"""HazardReport, ReportAmend, PhotoDescriptor: round trips and every refusal."""

import re
import uuid
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from shared_schemas.photos import PhotoDescriptor
from shared_schemas.reports import (
    MAX_PHOTOS_PER_REPORT,
    HazardReport,
    InspectionResult,
    ReportAmend,
)
from shared_schemas.taxonomy import CategoryCode
from tests.strategies import (
    hazard_reports,
    inspection_results,
    photo_descriptors,
    report_amends,
    sha256_hexes,
)

NOW = datetime(2026, 5, 1, 1, 30, tzinfo=UTC)


def _photo(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "sha256": "ab" * 32,
        "size_bytes": 123_456,
        "media_type": "image/jpeg",
        "width": 1600,
        "height": 1200,
        "taken_at": NOW.isoformat(),
    }
    data.update(overrides)
    return data


def _report(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "category": "FIRE_LANE",
        "severity": "major",
        "description": "消防车通道被私家车占用",
        "observed_at": NOW.isoformat(),
        "location": {
            "lat": 31.23,
            "lon": 121.47,
            "accuracy_m": 6.5,
            "source": "gps",
            "captured_at": NOW.isoformat(),
        },
        "grid": "SH-HP-01-003",
        "address": "XX路100弄3号楼",
        "photos": [_photo()],
    }
    data.update(overrides)
    return data


def _refused(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        HazardReport.model_validate(data)
    return info.value


def _locs(exc: ValidationError) -> set[tuple[int | str, ...]]:
    return {tuple(e["loc"]) for e in exc.errors()}


# ---------------------------------------------------------------- round trips


def test_the_design_example_is_valid() -> None:
    report = HazardReport.model_validate(_report())
    assert report.category == "FIRE_LANE"
    assert len(report.photos) == 1


@given(report=hazard_reports())
def test_valid_reports_round_trip_through_json(report: HazardReport) -> None:
    assert HazardReport.model_validate(report.model_dump(mode="json")) == report
    assert HazardReport.model_validate_json(report.model_dump_json()) == report


@given(report=hazard_reports())
def test_dump_uses_wire_types(report: HazardReport) -> None:
    data = report.model_dump(mode="json")
    assert isinstance(data["id"], str)
    assert uuid.UUID(data["id"]) == report.id
    assert isinstance(data["observed_at"], str)
    assert datetime.fromisoformat(data["observed_at"]) == report.observed_at
    assert {p["id"] for p in data["photos"]} == {str(p.id) for p in report.photos}


def test_text_is_stripped_and_defaults_apply() -> None:
    data = _report(description="  堵了  ", address=" 3号楼 ")
    report = HazardReport.model_validate(data)
    assert (report.description, report.address) == ("堵了", "3号楼")
    del data["description"], data["address"]
    report = HazardReport.model_validate(data)
    assert (report.description, report.address) == ("", "")


# ---------------------------------------------------------------- refusals


@given(code=st.text(max_size=30))
def test_unknown_category_code_is_refused(code: str) -> None:
    assume(code not in set(CategoryCode))
    assert _locs(_refused(_report(category=code))) == {("category",)}


@pytest.mark.parametrize("code", ["fire_lane", "Fire_Lane", "FIRE LANE", "", "UNKNOWN"])
def test_category_codes_are_case_sensitive_and_closed(code: str) -> None:
    assert _locs(_refused(_report(category=code))) == {("category",)}


@pytest.mark.parametrize(
    "bad_id", ["", "not-a-uuid", "1234", "g" * 32, "fe2215c1-59d0-489a-9e73-2dbe0876cad", 42, None]
)
def test_report_id_that_is_not_a_uuid_is_refused(bad_id: object) -> None:
    assert _locs(_refused(_report(id=bad_id))) == {("id",)}


def test_photo_id_that_is_not_a_uuid_is_refused() -> None:
    assert _locs(_refused(_report(photos=[_photo(id="photo-1")]))) == {("photos", 0, "id")}


def test_zero_photos_is_refused() -> None:
    exc = _refused(_report(photos=[]))
    assert _locs(exc) == {("photos",)}
    assert exc.errors()[0]["type"] == "too_short"


def test_missing_photos_is_refused() -> None:
    data = _report()
    del data["photos"]
    assert _locs(_refused(data)) == {("photos",)}


def test_the_maximum_number_of_photos_is_accepted() -> None:
    photos = [_photo() for _ in range(MAX_PHOTOS_PER_REPORT)]
    assert len(HazardReport.model_validate(_report(photos=photos)).photos) == 12


def test_too_many_photos_is_refused() -> None:
    exc = _refused(_report(photos=[_photo() for _ in range(MAX_PHOTOS_PER_REPORT + 1)]))
    assert _locs(exc) == {("photos",)}
    assert exc.errors()[0]["type"] == "too_long"


@given(photo=photo_descriptors(), copies=st.integers(min_value=2, max_value=4))
def test_duplicate_photo_ids_are_refused(photo: PhotoDescriptor, copies: int) -> None:
    same_id = [
        _photo(id=str(photo.id), sha256=photo.sha256 if i == 0 else f"{i:064x}")
        for i in range(copies)
    ]
    exc = _refused(_report(photos=same_id))
    assert "same photo id" in str(exc)


def test_description_at_the_bound_is_accepted_over_it_refused() -> None:
    assert len(HazardReport.model_validate(_report(description="隐" * 2000)).description) == 2000
    # surrounding whitespace is stripped before the bound is checked
    HazardReport.model_validate(_report(description="  " + "x" * 2000 + "\n"))
    exc = _refused(_report(description="x" * 2001))
    assert _locs(exc) == {("description",)}
    assert exc.errors()[0]["type"] == "string_too_long"


def test_address_over_its_bound_is_refused() -> None:
    HazardReport.model_validate(_report(address="a" * 200))
    assert _locs(_refused(_report(address="a" * 201))) == {("address",)}


@given(name=st.text(min_size=1, max_size=20).filter(lambda s: s not in HazardReport.model_fields))
def test_unknown_top_level_field_is_refused(name: str) -> None:
    exc = _refused(_report(**{name: "x"}))
    assert _locs(exc) == {(name,)}
    assert exc.errors()[0]["type"] == "extra_forbidden"


def test_unknown_nested_fields_are_refused() -> None:
    data = _report()
    data["location"]["altitude_m"] = 12.0
    data["photos"][0]["exif"] = {}
    exc = _refused(data)
    assert _locs(exc) == {("location", "altitude_m"), ("photos", 0, "exif")}


_VALID_SHA = re.compile(r"[0-9a-f]{64}")


@given(
    sha=st.one_of(
        st.text(max_size=70),
        st.text(alphabet="0123456789abcdefABCDEF", min_size=60, max_size=68),
        sha256_hexes().map(str.upper),
        sha256_hexes().map(lambda h: h[:-1]),
        sha256_hexes().map(lambda h: h + "0"),
        sha256_hexes().map(lambda h: "g" + h[1:]),
    ).filter(lambda s: not _VALID_SHA.fullmatch(s.strip()))
)
def test_sha256_that_is_not_64_lowercase_hex_is_refused(sha: str) -> None:
    with pytest.raises(ValidationError) as info:
        PhotoDescriptor.model_validate(_photo(sha256=sha))
    assert _locs(info.value) == {("sha256",)}
    assert _locs(_refused(_report(photos=[_photo(sha256=sha)]))) == {("photos", 0, "sha256")}


@given(sha=sha256_hexes())
def test_real_sha256_digests_are_accepted(sha: str) -> None:
    assert PhotoDescriptor.model_validate(_photo(sha256=sha)).sha256 == sha


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size_bytes", 0),
        ("size_bytes", 100 * 1024 * 1024 + 1),
        ("width", 0),
        ("height", 20_001),
        ("media_type", "image/gif"),
        ("taken_at", "2026-05-01T09:30:00"),
    ],
)
def test_photo_descriptor_bounds(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        PhotoDescriptor.model_validate(_photo(**{field: value}))
    assert _locs(info.value) == {(field,)}


@pytest.mark.parametrize("grid", ["", "a b", "网格1", "x" * 41, "G1/2"])
def test_bad_grid_codes_are_refused(grid: str) -> None:
    assert _locs(_refused(_report(grid=grid))) == {("grid",)}


@pytest.mark.parametrize("severity", ["high", "MAJOR", "", None])
def test_unknown_severity_is_refused(severity: object) -> None:
    assert _locs(_refused(_report(severity=severity))) == {("severity",)}


# ---------------------------------------------------------------- amends


def test_amend_with_only_the_id_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        ReportAmend.model_validate({"id": str(uuid.uuid4())})


def test_amend_whose_fields_are_all_null_is_refused() -> None:
    """null means "unchanged", so an amend of nulls changes nothing."""
    with pytest.raises(ValidationError, match="at least one field"):
        ReportAmend.model_validate({"id": str(uuid.uuid4()), "category": None, "grid": None})


def test_amend_without_id_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ReportAmend.model_validate({"severity": "minor"})
    assert ("id",) in _locs(info.value)


@given(amend=report_amends())
def test_partial_amends_are_accepted_and_round_trip(amend: ReportAmend) -> None:
    data = amend.model_dump(mode="json", exclude_unset=True)
    again = ReportAmend.model_validate(data)
    assert again == amend
    assert again.model_fields_set == amend.model_fields_set


@pytest.mark.parametrize(
    "change",
    [
        {"severity": "minor"},
        {"description": ""},
        {"category": "STREET_LIGHT", "severity": None},
        {"photos": [_photo()]},
    ],
)
def test_examples_of_partial_amends(change: dict[str, Any]) -> None:
    ReportAmend.model_validate({"id": str(uuid.uuid4()), **change})


def test_amend_may_not_remove_every_photo() -> None:
    with pytest.raises(ValidationError) as info:
        ReportAmend.model_validate({"id": str(uuid.uuid4()), "photos": []})
    assert _locs(info.value) == {("photos",)}


def test_amend_refuses_duplicate_photos_unknown_fields_and_bad_values() -> None:
    photo = _photo()
    with pytest.raises(ValidationError, match="same photo id"):
        ReportAmend.model_validate({"id": str(uuid.uuid4()), "photos": [photo, deepcopy(photo)]})
    with pytest.raises(ValidationError) as info:
        ReportAmend.model_validate(
            {"id": str(uuid.uuid4()), "category": "NOPE", "status": "closed"}
        )
    assert _locs(info.value) == {("category",), ("status",)}


# ---------------------------------------------------------------- inspections


def _inspection(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "task_id": str(uuid.uuid4()),
        "case_id": str(uuid.uuid4()),
        "rectified": True,
        "inspected_at": NOW.isoformat(),
    }
    data.update(overrides)
    return data


@given(result=inspection_results())
def test_inspection_results_round_trip(result: InspectionResult) -> None:
    assert InspectionResult.model_validate(result.model_dump(mode="json")) == result


def test_inspection_photos_are_optional_but_distinct_and_bounded() -> None:
    assert InspectionResult.model_validate(_inspection()).photos == []
    photo = _photo()
    with pytest.raises(ValidationError, match="same photo id"):
        InspectionResult.model_validate(_inspection(photos=[photo, deepcopy(photo)]))
    with pytest.raises(ValidationError) as info:
        InspectionResult.model_validate(
            _inspection(photos=[_photo() for _ in range(MAX_PHOTOS_PER_REPORT + 1)])
        )
    assert _locs(info.value) == {("photos",)}
