"""Hypothesis strategies for the wire contract (shared_schemas), reusable by every test suite.

Everything generated here is *valid* unless the name says otherwise, so a test can take a
valid value and break exactly one thing. Model strategies build real pydantic models; use
``model.model_dump(mode="json")`` for the JSON a client would send.

Keyword arguments that take a strategy let a caller pin a part, e.g.
``hazard_reports(category=st.just(CategoryCode.STREET_LIGHT))`` or
``sync_operations(kind=OperationKind.REPORT_CREATE)``.
"""

from __future__ import annotations

import hashlib
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from shared_schemas.enums import LocationSource, MediaType, OperationKind, Severity
from shared_schemas.geo import GeoPoint
from shared_schemas.photos import MAX_PHOTO_BYTES_HARD, PhotoDescriptor
from shared_schemas.reports import (
    MAX_PHOTOS_PER_REPORT,
    HazardReport,
    InspectionResult,
    ReportAmend,
)
from shared_schemas.sync import DeviceStatus, PushRequest, SyncOperation
from shared_schemas.taxonomy import CategoryCode
from shared_schemas.version import SCHEMA_VERSION

__all__ = [
    "accuracies",
    "area_codes",
    "aware_datetimes",
    "category_codes",
    "device_ids",
    "device_statuses",
    "geo_points",
    "hazard_reports",
    "inspection_results",
    "latitudes",
    "long_texts",
    "longitudes",
    "naive_datetimes",
    "op_lists",
    "payload_for",
    "photo_descriptors",
    "photo_lists",
    "push_requests",
    "report_amends",
    "sha256_hexes",
    "short_texts",
    "sync_operations",
    "utc_offsets",
    "uuids",
]

# Bounds used by the wire models (kept here so strategies stay inside them).
_MAX_SHORT_TEXT = 200
_MAX_LONG_TEXT = 2000
_MAX_ACCURACY_M = 100_000.0
_MAX_PIXELS = 20_000
_MAX_COUNT = 10**12

_ALNUM = string.ascii_letters + string.digits
_AREA_CODE_CHARS = _ALNUM + "_-"
_DEVICE_ID_CHARS = _ALNUM + "._:-"

DEFAULT_MIN_TIME = datetime(2000, 1, 1)
DEFAULT_MAX_TIME = datetime(2100, 1, 1)


# ---------------------------------------------------------------- scalars


def uuids() -> st.SearchStrategy[UUID]:
    """Random (version 4) UUIDs, as the tablet makes them."""
    return st.uuids(version=4)


def utc_offsets(*, whole_minutes: bool = False) -> st.SearchStrategy[timezone]:
    """Fixed UTC offsets between -12:00 and +14:00, UTC itself more often.

    With ``whole_minutes=False`` a few offsets carry seconds (historic local mean time, such
    as +08:05:43); the contract normalises those to UTC, see ``AwareDatetime``.
    """
    minutes = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
        lambda m: timezone(timedelta(minutes=m))
    )
    choices: list[st.SearchStrategy[timezone]] = [st.just(UTC), minutes]
    if not whole_minutes:
        choices.append(
            st.integers(min_value=-12 * 3600 + 1, max_value=14 * 3600 - 1).map(
                lambda s: timezone(timedelta(seconds=s))
            )
        )
    return st.one_of(*choices)


def aware_datetimes(
    *,
    min_value: datetime = DEFAULT_MIN_TIME,
    max_value: datetime = DEFAULT_MAX_TIME,
    whole_minute_offsets: bool = False,
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes (naive bounds are local wall-clock times)."""
    return st.datetimes(
        min_value=min_value,
        max_value=max_value,
        timezones=utc_offsets(whole_minutes=whole_minute_offsets),
    )


def naive_datetimes(
    *, min_value: datetime = DEFAULT_MIN_TIME, max_value: datetime = DEFAULT_MAX_TIME
) -> st.SearchStrategy[datetime]:
    """Datetimes without tzinfo: every wire model refuses them."""
    return st.datetimes(min_value=min_value, max_value=max_value)


def latitudes() -> st.SearchStrategy[float]:
    return st.floats(min_value=-90.0, max_value=90.0, allow_nan=False, allow_infinity=False)


def longitudes() -> st.SearchStrategy[float]:
    return st.floats(min_value=-180.0, max_value=180.0, allow_nan=False, allow_infinity=False)


def accuracies() -> st.SearchStrategy[float]:
    return st.floats(
        min_value=0.0, max_value=_MAX_ACCURACY_M, allow_nan=False, allow_infinity=False
    )


def sha256_hexes() -> st.SearchStrategy[str]:
    """Real sha256 digests (64 lowercase hex characters) of random bytes."""
    return st.binary(max_size=64).map(lambda b: hashlib.sha256(b).hexdigest())


def area_codes() -> st.SearchStrategy[str]:
    """Grid / area codes as the contract allows them: [A-Za-z0-9_-]{1,40}."""
    return st.text(alphabet=_AREA_CODE_CHARS, min_size=1, max_size=40)


def device_ids() -> st.SearchStrategy[str]:
    return st.text(alphabet=_DEVICE_ID_CHARS, min_size=1, max_size=64)


def short_texts() -> st.SearchStrategy[str]:
    """Any text the ShortText bound accepts (up to 200 characters, any script)."""
    return st.text(max_size=_MAX_SHORT_TEXT)


def long_texts() -> st.SearchStrategy[str]:
    """Any text the LongText bound accepts (up to 2000 characters, any script)."""
    return st.text(max_size=_MAX_LONG_TEXT)


def category_codes() -> st.SearchStrategy[CategoryCode]:
    return st.sampled_from(CategoryCode)


# ---------------------------------------------------------------- models


def geo_points(
    *,
    lat: st.SearchStrategy[float] | None = None,
    lon: st.SearchStrategy[float] | None = None,
    captured_at: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[GeoPoint]:
    return st.builds(
        GeoPoint,
        lat=lat if lat is not None else latitudes(),
        lon=lon if lon is not None else longitudes(),
        accuracy_m=accuracies(),
        source=st.sampled_from(LocationSource),
        captured_at=captured_at if captured_at is not None else aware_datetimes(),
    )


def photo_descriptors(
    *, photo_id: st.SearchStrategy[UUID] | None = None
) -> st.SearchStrategy[PhotoDescriptor]:
    return st.builds(
        PhotoDescriptor,
        id=photo_id if photo_id is not None else uuids(),
        sha256=sha256_hexes(),
        size_bytes=st.integers(min_value=1, max_value=MAX_PHOTO_BYTES_HARD),
        media_type=st.sampled_from(MediaType),
        width=st.integers(min_value=1, max_value=_MAX_PIXELS),
        height=st.integers(min_value=1, max_value=_MAX_PIXELS),
        taken_at=aware_datetimes(),
    )


def photo_lists(
    *, min_size: int = 1, max_size: int = MAX_PHOTOS_PER_REPORT
) -> st.SearchStrategy[list[PhotoDescriptor]]:
    """Photo lists with distinct photo ids (what a report may declare)."""
    return st.lists(
        photo_descriptors(), min_size=min_size, max_size=max_size, unique_by=lambda p: p.id
    )


def hazard_reports(
    *,
    report_id: st.SearchStrategy[UUID] | None = None,
    category: st.SearchStrategy[CategoryCode] | None = None,
    severity: st.SearchStrategy[Severity] | None = None,
    photos: st.SearchStrategy[list[PhotoDescriptor]] | None = None,
) -> st.SearchStrategy[HazardReport]:
    """Valid report.create payloads."""
    return st.builds(
        HazardReport,
        id=report_id if report_id is not None else uuids(),
        category=category if category is not None else category_codes(),
        severity=severity if severity is not None else st.sampled_from(Severity),
        description=long_texts(),
        observed_at=aware_datetimes(),
        location=geo_points(),
        grid=area_codes(),
        address=short_texts(),
        photos=photos if photos is not None else photo_lists(),
    )


_AMEND_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "category": category_codes(),
    "severity": st.sampled_from(Severity),
    "description": long_texts(),
    "location": geo_points(),
    "grid": area_codes(),
    "address": short_texts(),
    "photos": photo_lists(),
}


@st.composite
def report_amends(
    draw: st.DrawFn, *, report_id: st.SearchStrategy[UUID] | None = None
) -> ReportAmend:
    """Valid report.amend payloads: the id plus a non-empty subset of changed fields."""
    names = draw(
        st.lists(st.sampled_from(sorted(_AMEND_FIELDS)), min_size=1, unique=True),
    )
    changes = {name: draw(_AMEND_FIELDS[name]) for name in names}
    amend_id = draw(report_id if report_id is not None else uuids())
    return ReportAmend(id=amend_id, **changes)


def inspection_results(
    *, inspection_id: st.SearchStrategy[UUID] | None = None
) -> st.SearchStrategy[InspectionResult]:
    """Valid inspection.create payloads."""
    return st.builds(
        InspectionResult,
        id=inspection_id if inspection_id is not None else uuids(),
        task_id=uuids(),
        case_id=uuids(),
        rectified=st.booleans(),
        note=long_texts(),
        inspected_at=aware_datetimes(),
        location=st.none() | geo_points(),
        photos=photo_lists(min_size=0),
    )


def payload_for(
    kind: OperationKind, *, entity_id: st.SearchStrategy[UUID] | None = None
) -> st.SearchStrategy[HazardReport | ReportAmend | InspectionResult]:
    """A valid payload model for one operation kind."""
    if kind is OperationKind.REPORT_CREATE:
        return hazard_reports(report_id=entity_id)
    if kind is OperationKind.REPORT_AMEND:
        return report_amends(report_id=entity_id)
    return inspection_results(inspection_id=entity_id)


@st.composite
def sync_operations(
    draw: st.DrawFn,
    *,
    kind: OperationKind | None = None,
    seq: st.SearchStrategy[int] | None = None,
    entity_id: st.SearchStrategy[UUID] | None = None,
) -> SyncOperation:
    """A valid outbox operation: payload as JSON, ``entity_id`` equal to the payload id."""
    op_kind = kind if kind is not None else draw(st.sampled_from(OperationKind))
    payload = draw(payload_for(op_kind, entity_id=entity_id))
    return SyncOperation(
        op_id=draw(uuids()),
        seq=draw(seq if seq is not None else st.integers(min_value=0, max_value=2**53)),
        kind=op_kind,
        entity_id=payload.id,
        payload=payload.model_dump(mode="json"),
        created_at=draw(aware_datetimes()),
    )


@st.composite
def op_lists(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 5,
    kinds: st.SearchStrategy[OperationKind] | None = None,
) -> list[SyncOperation]:
    """An outbox batch as a tablet pushes it: distinct op ids, seq strictly increasing."""
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=3), min_size=size, max_size=size))
    first = draw(st.integers(min_value=0, max_value=10_000))
    op_ids = draw(st.lists(uuids(), min_size=size, max_size=size, unique=True))
    ops: list[SyncOperation] = []
    seq = first
    for op_id, gap in zip(op_ids, gaps, strict=True):
        kind = draw(kinds if kinds is not None else st.sampled_from(OperationKind))
        op = draw(sync_operations(kind=kind, seq=st.just(seq)))
        ops.append(op.model_copy(update={"op_id": op_id}))
        seq += gap
    return ops


def device_statuses() -> st.SearchStrategy[DeviceStatus]:
    counts = st.integers(min_value=0, max_value=_MAX_COUNT)
    return st.builds(
        DeviceStatus,
        app_version=st.tuples(*[st.integers(0, 99)] * 3).map(lambda v: ".".join(map(str, v))),
        queue_depth=counts,
        oldest_pending_s=counts,
        photos_pending=counts,
        last_error=st.none() | short_texts(),
        free_bytes=st.none() | counts,
    )


def push_requests(
    *,
    ops: st.SearchStrategy[list[SyncOperation]] | None = None,
    device_id: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[PushRequest]:
    """Valid push requests at the current SCHEMA_VERSION (small batches by default)."""
    return st.builds(
        PushRequest,
        device_id=device_id if device_id is not None else device_ids(),
        schema_version=st.just(SCHEMA_VERSION),
        ops=ops if ops is not None else op_lists(),
        device_status=device_statuses(),
    )
