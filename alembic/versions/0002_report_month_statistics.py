"""statistics on the report month of hazard_case (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:00:00+00:00

Migrations never import server code: column types are plain SQLAlchemy types.

The dashboard groups the cases of a period by their month in China Standard Time
(server/reports/periods.sql_month). Without statistics on that expression PostgreSQL
guesses one group per case, and so aggregates on one core instead of in parallel; with
them it knows a period holds a few dozen months. The expression must read exactly as
sql_month compiles it (tests/server/reports/test_month_statistics.py checks both).
Expression statistics need PostgreSQL 14; on SQLite and older servers this is a no-op.
Alembic's autogenerate does not compare statistics objects, so the models need nothing.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "stx_hazard_case_report_month"
MONTH = "date_trunc('month', timezone('UTC', created_at) + interval '8 hours')"


def _applies() -> bool:
    dialect = op.get_context().dialect
    # No version when writing SQL offline (alembic upgrade --sql): assume a current server.
    version = dialect.server_version_info or (14,)
    return dialect.name == "postgresql" and version >= (14,)


def upgrade() -> None:
    if not _applies():
        return
    op.execute(f"CREATE STATISTICS IF NOT EXISTS {NAME} ON ({MONTH}) FROM hazard_case")
    # Filled by the next ANALYZE; autovacuum may not analyze a large table for weeks.
    op.execute("ANALYZE hazard_case")


def downgrade() -> None:
    if not _applies():
        return
    op.execute(f"DROP STATISTICS IF EXISTS {NAME}")
