"""Photo descriptors: what a report declares about each photo before its bytes arrive."""

from uuid import UUID

from pydantic import Field

from shared_schemas.common import AwareDatetime, Sha256Hex, WireModel
from shared_schemas.enums import MediaType

MAX_PHOTO_BYTES_HARD = 100 * 1024 * 1024  # contract bound; the server's limit is lower


class PhotoDescriptor(WireModel):
    id: UUID
    sha256: Sha256Hex
    size_bytes: int = Field(gt=0, le=MAX_PHOTO_BYTES_HARD)
    media_type: MediaType
    width: int = Field(gt=0, le=20_000)
    height: int = Field(gt=0, le=20_000)
    taken_at: AwareDatetime
