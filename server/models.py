"""Every table, imported in one place so the metadata is complete (Alembic, tests)."""

from server.accounts.models import LoginFailure, Organisation, RefreshToken, User, UserArea
from server.admin.models import AdminSession
from server.areas.models import Area
from server.cases.models import Case, CaseEvent, Photo
from server.core.db import metadata
from server.sync.models import (
    ChangeLog,
    Device,
    ProcessedOperation,
    SyncCounter,
    VerificationTask,
)
from server.taxonomy.models import Category
from server.uploads.models import Upload

__all__ = [
    "AdminSession",
    "Area",
    "Case",
    "CaseEvent",
    "Category",
    "ChangeLog",
    "Device",
    "LoginFailure",
    "Organisation",
    "Photo",
    "ProcessedOperation",
    "RefreshToken",
    "SyncCounter",
    "Upload",
    "User",
    "UserArea",
    "VerificationTask",
    "metadata",
]
