"""Request and response shapes of the account, taxonomy and area endpoints."""

from uuid import UUID

from pydantic import Field

from shared_schemas.common import DeviceId, TolerantModel, WireModel
from shared_schemas.enums import AreaLevel, CategoryGroup, OrganisationKind, Role, Severity
from shared_schemas.taxonomy import CategoryCode, DeadlineDays


class LoginRequest(WireModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    device_id: DeviceId | None = None


class RefreshRequest(WireModel):
    refresh_token: str = Field(min_length=10, max_length=512)


class LogoutRequest(WireModel):
    refresh_token: str | None = Field(default=None, min_length=10, max_length=512)


class AreaRef(TolerantModel):
    code: str
    name: str
    level: AreaLevel


class OrganisationRef(TolerantModel):
    code: str
    name: str
    kind: OrganisationKind


class UserInfo(TolerantModel):
    id: UUID
    username: str
    display_name: str
    role: Role
    organisation: OrganisationRef | None = None
    areas: list[AreaRef] = Field(default_factory=list)


class TokenResponse(TolerantModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int
    refresh_expires_in: int
    user: UserInfo


class CategoryOut(TolerantModel):
    code: CategoryCode
    group: CategoryGroup
    group_name_zh: str
    group_name_en: str
    name_zh: str
    name_en: str
    default_department: str | None
    default_severity: Severity
    deadline_days: DeadlineDays
    active: bool = True


class DepartmentOut(TolerantModel):
    code: str
    name_zh: str
    name_en: str


class TaxonomyOut(TolerantModel):
    version: int
    categories: list[CategoryOut]
    departments: list[DepartmentOut]


class AreaOut(TolerantModel):
    code: str
    name: str
    level: AreaLevel
    parent_code: str | None
    lat: float | None = None
    lon: float | None = None


class AreasOut(TolerantModel):
    areas: list[AreaOut]


class HealthOut(TolerantModel):
    status: str
    database: str
