"""The quarterly cycle: imported actuals files, versioned quarters, re-plan links.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the actuals and re-plan tables."""
    op.create_table(
        "actuals_files", sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_table(
        "actuals_versions", sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("period", sa.String(50), nullable=False),
        sa.Column("quarter", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("plan_id", sa.String(16), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("file_sha256", sa.String(64), sa.ForeignKey("actuals_files.sha256"),
                  nullable=False),
        sa.Column("cells", sa.JSON, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("period", "quarter", "number", name="uq_actuals_number"))
    op.create_index("ix_actuals_versions_period", "actuals_versions", ["period"])
    op.create_table(
        "replan_links",
        sa.Column("plan_id", sa.String(16), sa.ForeignKey("plans.id"), primary_key=True),
        sa.Column("of_record_id", sa.String(16), sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("after", sa.String(10), nullable=False),
        sa.Column("actuals", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_index("ix_replan_links_of_record_id", "replan_links", ["of_record_id"])


def downgrade() -> None:
    """Drop the actuals and re-plan tables."""
    for name in ("replan_links", "actuals_versions", "actuals_files"):
        op.drop_table(name)
