"""Areas. `path` is the materialised chain of ids ('/1/4/9/'), so 'inside this area' is a
prefix match that every scope query can use with an index."""

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from server.core.types import StrEnumType
from shared_schemas.enums import AreaLevel


class Area(SQLModel, table=True):
    __tablename__ = "area"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    level: AreaLevel = Field(sa_type=StrEnumType(AreaLevel, 20))
    parent_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("area.id"), index=True)
    )
    path: str = Field(default="", max_length=400, index=True)
    # The property company managing a compound: its patrols see the compound's cases.
    property_company_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("organisation.id"), index=True)
    )
    lat: float | None = None
    lon: float | None = None
    is_active: bool = True

    @property
    def pk(self) -> int:
        """The id, once the row is flushed (an area without one is a programming error)."""
        if self.id is None:
            raise RuntimeError(f"area {self.code} has no id yet: flush first")
        return self.id
