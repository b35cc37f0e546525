"""Response shapes of GET /devices (server-side API for the web admin, not synced).

Push and pull use the wire contract in shared_schemas/sync.py."""

from datetime import datetime

from pydantic import BaseModel, Field

from shared_schemas.enums import Role


class DeviceOut(BaseModel):
    id: str
    user: str | None = Field(description="username of the last user who pushed from it")
    user_display_name: str | None
    role: Role | None
    first_seen_at: datetime
    last_seen_at: datetime = Field(description="time of the last push (server clock)")
    app_version: str
    queue_depth: int = Field(description="operations waiting in the tablet's outbox")
    oldest_pending_s: int = Field(description="age of the oldest waiting operation, seconds")
    photos_pending: int
    last_error: str | None
    free_bytes: int | None
    rejected_ops: int = Field(description="operations of this device the server rejected")
    silent: bool = Field(description="no push for more than device_silent_after_h hours")


class DevicesOut(BaseModel):
    devices: list[DeviceOut] = Field(description="least recently seen first")
    silent_after_h: int
