"""Small building blocks for the wire models: bounded strings, aware datetimes."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)


def _require_timezone(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("must include a UTC offset, e.g. 2026-05-01T09:30:00+08:00")
    if offset.seconds % 60 or offset.microseconds:  # (days * 86,400 s is whole minutes)
        # ISO 8601 offsets are whole minutes and pydantic serialises them without seconds:
        # an offset such as +08:05:43 (historic local mean time) would silently lose 43 s
        # on the wire, so such values are normalised to UTC (same instant).
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("out of range once converted to UTC") from None
    return value


def _refuse_numbers(value: object) -> object:
    # pydantic would read a number as Unix seconds; the contract says ISO 8601 strings.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be an ISO 8601 string with a UTC offset, not a number")
    return value


AwareDatetime = Annotated[
    datetime, BeforeValidator(_refuse_numbers), AfterValidator(_require_timezone)
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
AreaCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Count = Annotated[int, Field(ge=0, le=10**12)]


class WireModel(BaseModel):
    """Strict input: unknown fields refused, so a typo is an error and not a silent loss.

    Readers of newer payloads drop unknown fields before validating (see design.md:
    fields may be added); tests and the server validate what they produce strictly.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TolerantModel(BaseModel):
    """For responses a client reads: fields added by a newer server are ignored."""

    model_config = ConfigDict(extra="ignore")
