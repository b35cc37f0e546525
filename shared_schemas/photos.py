"""Photo descriptors: what a report declares about each photo before its bytes arrive."""

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from shared_schemas.common import AwareDatetime, Sha256Hex, TolerantModel, WireModel
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


# -- photo batches: several small photos in one request (POST /photos/batch) --------------

MAX_BATCH_PHOTOS = 32  # photos in one batch request; the client sends up to 16
BATCH_PHOTO_MAX_BYTES = 1024 * 1024  # the client batches photos up to this; larger: tus


class BatchPhoto(WireModel):
    """One manifest entry: the photo, its report, and what its bytes must be."""

    photo_id: UUID
    report_id: UUID
    sha256: Sha256Hex
    size: int = Field(gt=0, le=MAX_PHOTO_BYTES_HARD)


class PhotoBatchManifest(WireModel):
    """The `manifest` form field; one file part per entry follows, named by photo_id."""

    photos: list[BatchPhoto] = Field(min_length=1, max_length=MAX_BATCH_PHOTOS)


class BatchPhotoStatus(StrEnum):
    RECEIVED = "received"  # stored now
    ALREADY_RECEIVED = "already_received"  # the server had it: nothing changed
    REFUSED = "refused"  # see code/message; the other photos are not affected


class BatchPhotoResult(TolerantModel):  # answers: tolerant, a newer server may add fields
    photo_id: UUID
    status: BatchPhotoStatus
    code: str | None = None
    message: str | None = None


class PhotoBatchResponse(TolerantModel):
    results: list[BatchPhotoResult]  # in manifest order
