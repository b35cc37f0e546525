"""Web admin sign-ins, kept on the server so signing out (or disabling a user) ends them."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, ForeignKey
from sqlmodel import Field, SQLModel

from server.core.clock import utcnow
from server.core.types import UTCDateTime


class AdminSession(SQLModel, table=True):
    """One browser's sign-in. The cookie holds a random token; only its sha256 is stored,
    so a copy of the database cannot be replayed as cookies."""

    __tablename__ = "admin_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie token
    user_id: UUID = Field(
        sa_column_args=[ForeignKey("user_account.id", ondelete="CASCADE")],
        index=True,
    )
    # The synchronizer token every form and htmx request of this sign-in must carry.
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Messages for the next page shown ("case registered"), already in the user's language.
    flash: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
