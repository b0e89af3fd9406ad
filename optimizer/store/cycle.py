"""The quarterly cycle on the plan store: actuals imported against a period's plan of
record (each quarter versioned, old versions kept), the review of a quarter, and the
re-plan saved as a new draft plan linked to the plan of record.

Every entry point takes the actor and checks its role in the store (planner imports and
re-plans; every role may review), like `optimizer.store.api`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from optimizer.errors import InputError, Problem
from optimizer.store import api
from optimizer.store import models as m
from optimizer.store.auth import Action, Actor, require
from optimizer.store.db import Store
from optimizer.store.models import Base

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.cycle.actuals import Actuals
    from optimizer.cycle.replan import Replan
    from optimizer.cycle.review import Review
    from optimizer.inputs.scenario import Scenario

_YEAR = re.compile(r"\s*(\d{4})\s*(?:年(?:度)?)?\s*")


class ActualsFile(Base):
    """An imported actuals file, byte for byte, identified by the SHA-256 of its bytes."""

    __tablename__ = "actuals_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ActualsVersion(Base):
    """One import of one quarter of a period: never overwritten; the highest number counts.

    `cells` holds the quarter's rows as the canonical columns and text cells they were
    validated from, so a review reads them back through the same validation.
    """

    __tablename__ = "actuals_versions"
    __table_args__ = (UniqueConstraint("period", "quarter", "number", name="uq_actuals_number"),)
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[str] = mapped_column(String(50), index=True)
    quarter: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    file_sha256: Mapped[str] = mapped_column(ForeignKey("actuals_files.sha256"))
    cells: Mapped[dict] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReplanLink(Base):
    """A draft re-plan and the plan of record it re-plans, with the actuals it kept."""

    __tablename__ = "replan_links"
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    of_record_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    after: Mapped[str] = mapped_column(String(10))
    actuals: Mapped[dict] = mapped_column(JSON)  # quarter label -> actuals version id
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --------------------------------------------------------------------------- the plan

@dataclass
class PlanContext:
    """A stored plan with what the cycle needs: its inputs, pools and full-year amounts."""

    plan: api.StoredPlan
    regions: pd.DataFrame
    scenario: Scenario
    kinds: dict[str, bool]  # pool -> whole people
    record: pd.DataFrame  # region + one full-year column per pool, the regions' order
    year: int

    @property
    def period(self) -> str:
        """The plan's period, e.g. "2025"."""
        return str(self.plan.info["period"])

    @property
    def names(self) -> list[str]:
        """The regions, in the table's order."""
        return self.regions["region"].astype(str).tolist()


def period_year(period: str | None, plan_id: str) -> int:
    """The year of a plan's period ("2025", "2025年"); InputError when it has none."""
    match = _YEAR.fullmatch(period or "")
    if match is None:
        shown = f"'{period}'" if period else "no period"
        raise InputError([Problem("plan", f"plan {plan_id} has {shown}; the quarterly cycle "
                                  "needs a plan for one year (saved with --period 2025)")])
    return int(match.group(1))


def plan_context(store: Store, actor: Actor, plan_id: str,
                 scenario: Scenario | None = None) -> PlanContext:
    """Read a stored plan for the cycle; `scenario` replaces its stored scenario if given."""
    import pandas as pd

    from optimizer.inputs.regions import regions_from_bytes
    from optimizer.inputs.scenario_read import scenario_from_text
    from optimizer.model.prepare import prepare

    plan = api.get_plan(store, actor, plan_id)
    year = period_year(plan.info["period"], plan.id)
    if scenario is None:
        scenario = scenario_from_text(plan.scenario_toml, f"plan {plan.id}")
    name = plan.info["regions_file"]
    regions = regions_from_bytes(plan.regions_data, name, scenario)
    kinds = {n: p.integer for n, p in prepare(regions, scenario, name).pools.items()}
    record = pd.DataFrame({"region": regions["region"].astype(str).tolist()})
    for pool, integer in kinds.items():
        rows = plan.results[plan.results["pool"] == pool].sort_values("pos")
        values = rows["allocation"].to_numpy(dtype=float)
        record[pool] = values.round().astype("int64") if integer else values
    return PlanContext(plan, regions, scenario, kinds, record, year)


def _require_status(plan_id: str, status: str, allowed: tuple[str, ...], doing: str) -> None:
    if status not in allowed:
        raise api.ForbiddenTransition([Problem(
            "plan", f"cannot {doing} plan {plan_id}: it is {status}, not the plan of record "
            "of its period (approve it first, or pick the approved plan: optimizer plan list "
            "--status approved)")])


# --------------------------------------------------------------------------- actuals

def _cells(actuals: Actuals, q: int) -> dict[str, Any]:
    """One quarter of validated actuals as canonical columns and text cells."""
    from optimizer.cycle.actuals import QUARTER, REGION, REVENUE, actual_column

    t = actuals.table[actuals.table["q"] == q]
    columns = [REGION, QUARTER, *[actual_column(p, i) for p, i in actuals.pools.items()],
               REVENUE, *actuals.indicators]
    sources = [REGION, QUARTER, *actuals.pools, REVENUE, *actuals.indicators]

    def text(v: Any) -> str:
        if isinstance(v, str):
            return v
        f = float(v)
        if math.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)

    rows = [[text(r[c]) for c in sources] for _, r in t.iterrows()]
    return {"columns": columns, "rows": rows}


@dataclass
class ImportedQuarter:
    """One quarter an import stored: its label, version number and id."""

    quarter: str
    number: int
    id: str
    regions: int


def import_actuals(store: Store, actor: Actor, plan_id: str, data: bytes,
                   filename: str) -> list[ImportedQuarter]:
    """Import an actuals file (CSV/TXT/XLSX) against a plan of record (planners).

    Each quarter in the file becomes a new version of that quarter of the plan's period;
    earlier versions are kept. Problems of the file are input errors naming row and column.
    """
    from optimizer.cycle.actuals import actuals_from_bytes, quarter_label

    ctx = plan_context(store, actor, plan_id)
    with store.transaction() as s:
        require(s, actor, Action.IMPORT_ACTUALS)  # refuse before reading the file
    _require_status(ctx.plan.id, ctx.plan.info["status"], ("approved",), "import actuals for")
    extra = [t.column for t in ctx.scenario.thresholds]
    actuals = actuals_from_bytes(data, filename, ctx.names, ctx.kinds, ctx.year, extra)
    sha = hashlib.sha256(data).hexdigest()

    def tx(s: Session) -> list[ImportedQuarter]:
        require(s, actor, Action.IMPORT_ACTUALS)
        plan = s.get(m.Plan, ctx.plan.id)
        _require_status(plan.id, plan.status, ("approved",), "import actuals for")
        t = api.now()
        if s.get(ActualsFile, sha) is None:
            s.add(ActualsFile(sha256=sha, filename=filename, data=data, created_by=actor.name,
                              created_at=t))
            s.flush()
        out = []
        for q in actuals.quarters():
            last = s.scalar(select(func.max(ActualsVersion.number)).where(
                ActualsVersion.period == ctx.period, ActualsVersion.quarter == q)) or 0
            cells = _cells(actuals, q)
            row = ActualsVersion(id=api.new_id(), period=ctx.period, quarter=q,
                                 number=last + 1, plan_id=plan.id, file_sha256=sha,
                                 cells=cells, author=actor.name, created_at=t)
            s.add(row)
            s.flush()  # a concurrent import of the same number fails here and is retried
            out.append(ImportedQuarter(quarter_label(ctx.year, q), row.number, row.id,
                                       len(cells["rows"])))
        api.audit(s, actor, "import_actuals", "plan", plan.id,
                  {"file": filename, "sha256": sha, "period": ctx.period,
                   "quarters": {x.quarter: x.number for x in out}})
        return out

    return store.run(tx)


def actuals_versions(store: Store, actor: Actor, plan_id: str) -> list[dict[str, Any]]:
    """Every stored version of the actuals of a plan's period, by quarter then version."""
    from optimizer.cycle.actuals import quarter_label

    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        plan = api._find_plan(s, plan_id)
        year = period_year(plan.period, plan.id)
        rows = s.execute(
            select(ActualsVersion.id, ActualsVersion.quarter, ActualsVersion.number,
                   ActualsVersion.plan_id, ActualsVersion.author, ActualsVersion.created_at,
                   ActualsFile.filename)
            .join(ActualsFile, ActualsFile.sha256 == ActualsVersion.file_sha256)
            .where(ActualsVersion.period == plan.period)
            .order_by(ActualsVersion.quarter, ActualsVersion.number)).all()
        latest: dict[int, int] = {}
        for r in rows:
            latest[r.quarter] = max(latest.get(r.quarter, 0), r.number)
        return [{"id": r.id, "quarter": quarter_label(year, r.quarter), "version": r.number,
                 "latest": r.number == latest[r.quarter], "plan_id": r.plan_id,
                 "file": r.filename, "author": r.author, "created_at": api.iso(r.created_at)}
                for r in rows]


def latest_actuals(store: Store, actor: Actor, ctx: PlanContext) -> tuple[Actuals, dict[str, str]]:
    """The latest version of each quarter of the period, validated against the plan.

    Returns the actuals and, per quarter label, the id of the version used.
    """
    import pandas as pd

    from optimizer.cycle.actuals import quarter_label, validate_actuals

    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        newest = (select(ActualsVersion.quarter, func.max(ActualsVersion.number).label("n"))
                  .where(ActualsVersion.period == ctx.period)
                  .group_by(ActualsVersion.quarter).subquery())
        rows = s.execute(
            select(ActualsVersion.id, ActualsVersion.quarter, ActualsVersion.cells)
            .join(newest, (newest.c.quarter == ActualsVersion.quarter)
                  & (newest.c.n == ActualsVersion.number))
            .where(ActualsVersion.period == ctx.period)
            .order_by(ActualsVersion.quarter)).all()
    if not rows:
        raise InputError([Problem("plan", f"no actuals imported for period {ctx.period} yet; "
                                  f"import them first: optimizer actuals import --plan "
                                  f"{ctx.plan.id} FILE")])
    columns: list[str] = []
    for r in rows:
        columns += [c for c in r.cells["columns"] if c not in columns]
    records = []
    for r in rows:
        idx = {c: j for j, c in enumerate(r.cells["columns"])}
        for cells in r.cells["rows"]:
            records.append([cells[idx[c]] if c in idx else "" for c in columns])
    raw = pd.DataFrame(records, columns=columns, dtype=object)
    extra = [t.column for t in ctx.scenario.thresholds]
    actuals = validate_actuals(raw, f"actuals of {ctx.period}", ctx.names, ctx.kinds, ctx.year,
                               extra)
    return actuals, {quarter_label(ctx.year, r.quarter): r.id for r in rows}


# --------------------------------------------------------------------------- review

def quarter_of(text: str, year: int, option: str = "--quarter") -> int:
    """The quarter (1–4) of `text` ("2025Q2", "2025-Q2", "2025年第2季度") in `year`."""
    from optimizer.cycle.actuals import parse_quarter

    parsed = parse_quarter(text)
    if parsed is None:
        raise InputError([Problem(option, f"found {text!r}; expected a quarter such as "
                                  f"{year}Q2, {year}-Q2 or {year}年第2季度")])
    if parsed[0] != year:
        raise InputError([Problem(option, f"the quarter {text} is outside the plan's period "
                                  f"{year}; expected {year}Q1 … {year}Q4")])
    return parsed[1]


def review_plan(store: Store, actor: Actor, plan_id: str, quarter: int | str,
                scenario: Scenario | None = None) -> Review:
    """Review a quarter (1–4, or text such as "2025Q2") of a plan of record with the latest
    actuals of each quarter."""
    from optimizer.cycle.review import review

    ctx = plan_context(store, actor, plan_id, scenario)
    if isinstance(quarter, str):
        quarter = quarter_of(quarter, ctx.year, "--quarter")
    _require_status(ctx.plan.id, ctx.plan.info["status"], ("approved", "superseded"),
                    "review")
    actuals, _ = latest_actuals(store, actor, ctx)
    return review(ctx.record, actuals, quarter, ctx.scenario)


# --------------------------------------------------------------------------- re-plan

@dataclass
class ReplanOutcome:
    """A re-plan and, when it solved, the draft plan it was saved as."""

    replan: Replan
    of_record: str
    saved: api.SaveOutcome | None


def replan_files(rp: Replan) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files a re-plan stores (allocation.* with the re-plan columns per language,
    diff.csv, summary.json with its "replan" section) and the summary."""
    from optimizer.cycle.replan import diff_csv_bytes, replan_columns, replan_summary

    return api.plan_files_of(rp.result, {}, extra=replan_columns(rp),
                             summary_extra={"replan": replan_summary(rp)},
                             more_files={"diff.csv": diff_csv_bytes(rp)})


def replan_plan(store: Store, actor: Actor, plan_id: str, after: int | str,
                scenario: Scenario | None = None, explain: bool = True) -> ReplanOutcome:
    """Re-plan the year of a plan of record after quarter `after` (1–4 or "2025Q2";
    planners).

    A re-plan that solves is saved as a new draft version of the plan's scenario, for the
    same period, linked to the plan of record; an infeasible one is not saved.
    """
    from optimizer.cycle.replan import replan, replan_summary
    from optimizer.inputs.scenario_write import scenario_to_toml
    from optimizer.model.result import Status

    ctx = plan_context(store, actor, plan_id, scenario)
    if isinstance(after, str):
        after = quarter_of(after, ctx.year, "--after")
    with store.transaction() as s:
        require(s, actor, Action.SAVE)
    _require_status(ctx.plan.id, ctx.plan.info["status"], ("approved",), "re-plan")
    actuals, used = latest_actuals(store, actor, ctx)
    rp = replan(ctx.regions, ctx.scenario, ctx.record, actuals, after,
                ctx.plan.info["regions_file"], explain=explain)
    if rp.result.status != Status.OPTIMAL:
        return ReplanOutcome(rp, ctx.plan.id, None)
    files, summary = replan_files(rp)
    summary["replan"] = {**replan_summary(rp), "of_record": ctx.plan.id}
    kept = {k: v for k, v in used.items() if int(k[-1]) <= after}
    def link(s: Session, plan_id: str) -> None:  # in the save's own transaction
        s.add(ReplanLink(plan_id=plan_id, of_record_id=ctx.plan.id, after=rp.label,
                         actuals=kept, created_by=actor.name, created_at=api.now()))
        api.audit(s, actor, "replan", "plan", plan_id,
                  {"of_record": ctx.plan.id, "after": rp.label, "actuals": kept})

    saved = api.save_plan(
        store, actor, name=ctx.plan.info["name"], regions_data=ctx.plan.regions_data,
        regions_filename=ctx.plan.info["regions_file"],
        scenario_toml=scenario_to_toml(rp.result.scenario), result=rp.result, files=files,
        summary=summary, period=ctx.period,
        comment=f"re-plan of {ctx.plan.id} after {rp.label}",
        based_on=ctx.plan.info["version_id"], also=link)
    return ReplanOutcome(rp, ctx.plan.id, saved)


def replan_link(store: Store, actor: Actor, plan_id: str) -> dict[str, Any] | None:
    """What a re-plan was made from ({"of_record", "after", "actuals"}), or None."""
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        plan = api._find_plan(s, plan_id)
        row = s.get(ReplanLink, plan.id)
        if row is None:
            return None
        return {"plan_id": row.plan_id, "of_record": row.of_record_id, "after": row.after,
                "actuals": dict(row.actuals), "created_by": row.created_by,
                "created_at": api.iso(row.created_at)}
