"""The store's tables. Every table of the store hangs off one `Base` (one metadata), so a
later module can add tables by subclassing `Base` and shipping an Alembic revision."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """The declarative base of every store table (one shared metadata)."""


STATUSES = ("draft", "submitted", "approved", "superseded", "rejected")


class Meta(Base):
    """Store-wide settings, e.g. mode = local | team."""

    __tablename__ = "store_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class User(Base):
    """A login of a team store; `roles` is a comma-separated subset of ROLES."""

    __tablename__ = "users"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))


class RegionsTable(Base):
    """An uploaded regions table, immutable, identified by the SHA-256 of its bytes."""

    __tablename__ = "regions_tables"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    n_regions: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ScenarioRecord(Base):
    """A named scenario; its content lives in its versions."""

    __tablename__ = "scenarios"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ScenarioVersion(Base):
    """One save of a scenario: never overwritten; `parent_id` is the version it started from."""

    __tablename__ = "scenario_versions"
    __table_args__ = (UniqueConstraint("scenario_id", "number", name="uq_scenario_number"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"))
    number: Mapped[int] = mapped_column(Integer)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("scenario_versions.id"))
    toml: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Plan(Base):
    """A scenario version solved on a regions table, with its status."""

    __tablename__ = "plans"
    __table_args__ = (
        # at most one plan of record per period: two approvals racing cannot both win
        Index("uq_plan_of_record", func.coalesce(text("period"), ""), unique=True,
              sqlite_where=text("status = 'approved'"),
              postgresql_where=text("status = 'approved'")),
        Index("ix_plans_created", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("scenario_versions.id"), index=True)
    regions_sha256: Mapped[str] = mapped_column(ForeignKey("regions_tables.sha256"))
    period: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    status_comment: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict] = mapped_column(JSON)
    versions: Mapped[dict] = mapped_column(JSON)


class PlanResult(Base):
    """One region's result in one pool of a plan (`pos` = row of the regions table)."""

    __tablename__ = "plan_results"
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    pool: Mapped[str] = mapped_column(String(20), primary_key=True)
    pos: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(200))
    high_potential: Mapped[bool]
    score: Mapped[float | None] = mapped_column(Float)
    current: Mapped[float] = mapped_column(Float)
    allocation: Mapped[float] = mapped_column(Float)
    exact: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float] = mapped_column(Float)
    lo: Mapped[float] = mapped_column(Float)
    hi: Mapped[float | None] = mapped_column(Float)  # None: no upper limit


class PlanFile(Base):
    """An output file of a plan, byte for byte as `optimizer run` writes it."""

    __tablename__ = "plan_files"
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntry(Base):
    """Who changed what, when: one row per change, written in the change's transaction."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[dict] = mapped_column(JSON)
