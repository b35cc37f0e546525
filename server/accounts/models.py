"""Accounts: organisations, users and their areas, refresh tokens, failed logins."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from server.core.clock import utcnow
from server.core.types import StrEnumType, UTCDateTime
from shared_schemas.enums import OrganisationKind, Role


class Organisation(SQLModel, table=True):
    """A street office, a property company or a responsible department (责任部门)."""

    __tablename__ = "organisation"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    kind: OrganisationKind = Field(sa_type=StrEnumType(OrganisationKind, 20))
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    is_active: bool = True


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=StrEnumType(Role, 20), index=True)
    organisation_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisation.id"), index=True)
    )
    locale: str = Field(default="zh_CN", max_length=10)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserArea(SQLModel, table=True):
    """The areas a user is assigned to (grids for inspectors, a street for supervisors)."""

    __tablename__ = "user_area"

    user_id: UUID = Field(
        sa_column_args=[ForeignKey("user_account.id", ondelete="CASCADE")], primary_key=True
    )
    area_id: int = Field(
        sa_column_args=[ForeignKey("area.id", ondelete="CASCADE")], primary_key=True
    )


class RefreshToken(SQLModel, table=True):
    """A long-lived refresh token, stored only as a hash.

    Tokens of one sign-in form a family: each refresh rotates to a new token in the same
    family; presenting a token that was already rotated revokes the whole family.
    """

    __tablename__ = "refresh_token"
    __table_args__ = (Index("ix_refresh_token_user_device", "user_id", "device_id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    family_id: UUID = Field(index=True)
    # The token this one replaced: tells a retried refresh from a stolen token's reuse.
    parent_id: UUID | None = Field(default=None, index=True)
    user_id: UUID = Field(sa_column_args=[ForeignKey("user_account.id", ondelete="CASCADE")])
    device_id: str | None = Field(default=None, max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, sa_type=String(40))


class LoginFailure(SQLModel, table=True):
    """One failed login, counted per user name and per client address for throttling.

    Kept in the database (not in memory) so several workers or hosts share the count."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
