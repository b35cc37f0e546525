"""Upload state of the tus server: one row per upload URL handed out."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, Column, ForeignKey
from sqlmodel import Field, SQLModel

from server.core.clock import utcnow
from server.core.types import UTCDateTime


class Upload(SQLModel, table=True):
    """A tus upload of one declared photo. The bytes received so far live in
    `<storage_dir>/partial/<id>`; `offset` counts only bytes that are fsynced there (a
    crash between the write and the offset update leaves extra bytes, cut off by the
    next PATCH). `completed_at` is set in the transaction that marks the photo received.
    """

    __tablename__ = "upload"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    photo_id: UUID = Field(sa_column_args=[ForeignKey("photo.id", ondelete="CASCADE")], index=True)
    case_id: UUID = Field(
        sa_column_args=[ForeignKey("hazard_case.id", ondelete="CASCADE")], index=True
    )
    user_id: UUID = Field(sa_column_args=[ForeignKey("user_account.id")], index=True)
    length: int = Field(sa_column=Column(BigInteger, nullable=False))
    offset: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
