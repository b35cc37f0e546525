"""drop two indexes nothing reads: sync_operation(entity_id), change_log(assignee_id)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:50:00+00:00

Migrations never import server code: column types are plain SQLAlchemy types.

Every push inserts into both tables; each index is one more B-tree write per row. A replay
is found by (device_id, op_id), the primary key; pull reads the change log by seq range
(the primary key) and filters the assignee among those rows (EXPLAIN on both backends).
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_sync_operation_entity", table_name="sync_operation")
    op.drop_index(op.f("ix_change_log_assignee_id"), table_name="change_log")


def downgrade() -> None:
    op.create_index(op.f("ix_change_log_assignee_id"), "change_log", ["assignee_id"], unique=False)
    op.create_index("ix_sync_operation_entity", "sync_operation", ["entity_id"], unique=False)
