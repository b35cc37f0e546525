"""Hazard categories. Departments are organisations of kind 'department'."""

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from server.core.types import StrEnumType
from shared_schemas.enums import CategoryGroup, Severity


class Category(SQLModel, table=True):
    __tablename__ = "category"

    code: str = Field(primary_key=True, max_length=40)
    group: CategoryGroup = Field(sa_type=StrEnumType(CategoryGroup, 20))
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=120)
    default_department_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisation.id"))
    )
    default_severity: Severity = Field(sa_type=StrEnumType(Severity, 10))
    deadline_minor_days: int
    deadline_general_days: int
    deadline_major_days: int
    sort_order: int = 0
    active: bool = True
