"""The first schema: regions tables, scenarios and versions, plans, results, audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the first schema."""
    op.create_table("store_meta", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    op.create_table(
        "regions_tables", sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("n_regions", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_table(
        "scenarios", sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False))
    op.create_table(
        "scenario_versions", sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("scenario_id", sa.String(16), sa.ForeignKey("scenarios.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.String(16), sa.ForeignKey("scenario_versions.id")),
        sa.Column("toml", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("scenario_id", "number", name="uq_scenario_number"))
    op.create_table(
        "plans", sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("version_id", sa.String(16), sa.ForeignKey("scenario_versions.id"),
                  nullable=False),
        sa.Column("regions_sha256", sa.String(64), sa.ForeignKey("regions_tables.sha256"),
                  nullable=False),
        sa.Column("period", sa.String(50)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_comment", sa.Text, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False))
    op.create_index("ix_plans_version_id", "plans", ["version_id"])
    op.create_index("ix_plans_created", "plans", ["created_at"])
    op.create_index("uq_plan_of_record", "plans", [sa.text("coalesce(period, '')")],
                    unique=True, sqlite_where=sa.text("status = 'approved'"),
                    postgresql_where=sa.text("status = 'approved'"))
    op.create_table(
        "plan_results",
        sa.Column("plan_id", sa.String(16), sa.ForeignKey("plans.id"), primary_key=True),
        sa.Column("pool", sa.String(20), primary_key=True),
        sa.Column("pos", sa.Integer, primary_key=True),
        sa.Column("region", sa.String(200), nullable=False),
        sa.Column("high_potential", sa.Boolean, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("current", sa.Float, nullable=False),
        sa.Column("allocation", sa.Float, nullable=False),
        sa.Column("exact", sa.Float),
        sa.Column("target", sa.Float, nullable=False),
        sa.Column("lo", sa.Float, nullable=False),
        sa.Column("hi", sa.Float))
    op.create_table(
        "plan_files",
        sa.Column("plan_id", sa.String(16), sa.ForeignKey("plans.id"), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False))
    op.create_table(
        "audit_log", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("object_type", sa.String(50), nullable=False),
        sa.Column("object_id", sa.String(100), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False))
    op.create_index("ix_audit_log_object_id", "audit_log", ["object_id"])


def downgrade() -> None:
    """Drop the first schema."""
    for name in ("audit_log", "plan_files", "plan_results", "plans", "scenario_versions",
                 "scenarios", "regions_tables", "store_meta"):
        op.drop_table(name)
