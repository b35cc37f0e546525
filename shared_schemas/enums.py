"""Enumerations shared by the app and the server (values are wire strings)."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"
    PATROL = "patrol"
    DEPARTMENT = "department"


class Severity(StrEnum):
    MINOR = "minor"
    GENERAL = "general"
    MAJOR = "major"


class CaseStatus(StrEnum):
    """The case states of design.md (上报 → 立案 → 派遣 → 整改 → 核查 → 结案)."""

    REPORTED = "reported"
    REGISTERED = "registered"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    DISPATCHED = "dispatched"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    CLOSED = "closed"
    REOPENED = "reopened"


class LocationSource(StrEnum):
    GPS = "gps"
    MAP = "map"
    MANUAL = "manual"


class AreaLevel(StrEnum):
    """Levels of the area tree, from the largest down."""

    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    COMPOUND = "compound"


class OrganisationKind(StrEnum):
    STREET_OFFICE = "street_office"
    PROPERTY_COMPANY = "property_company"
    DEPARTMENT = "department"


class CategoryGroup(StrEnum):
    FIRE_SAFETY = "fire_safety"
    ORDER = "order"
    ENVIRONMENT = "environment"
    FACILITIES = "facilities"
    OTHER = "other"


class MediaType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"


class OperationKind(StrEnum):
    REPORT_CREATE = "report.create"
    REPORT_AMEND = "report.amend"
    INSPECTION_CREATE = "inspection.create"


class OperationStatus(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"
