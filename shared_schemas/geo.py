"""Geographic points as captured on the tablet."""

from pydantic import Field

from shared_schemas.common import AwareDatetime, WireModel
from shared_schemas.enums import LocationSource


class GeoPoint(WireModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    accuracy_m: float = Field(ge=0, le=100_000, allow_inf_nan=False)
    source: LocationSource
    captured_at: AwareDatetime
