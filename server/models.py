"""Every table, imported in one place so the metadata is complete (Alembic, tests)."""

from server.accounts.models import LoginFailure, Organisation, RefreshToken, User, UserArea
from server.areas.models import Area
from server.cases.models import Case, CaseEvent, Photo
from server.core.db import metadata
from server.sync.models import Device, ProcessedOperation
from server.taxonomy.models import Category

__all__ = [
    "Area",
    "Case",
    "CaseEvent",
    "Category",
    "Device",
    "LoginFailure",
    "Organisation",
    "Photo",
    "ProcessedOperation",
    "RefreshToken",
    "User",
    "UserArea",
    "metadata",
]
