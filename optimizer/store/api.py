"""The store's library layer: every entry point (CLI, app) saves, reads and changes plans
through these functions, and each one checks the acting user's role before it writes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from optimizer.errors import InputError, Problem, suggest
from optimizer.store import models as m
from optimizer.store.auth import (
    Action,
    Actor,
    PermissionDenied,
    add_user,
    authenticate,
    is_team,
    os_user,
    require,
    user_count,
)
from optimizer.store.db import Store, get_meta, head_revision, set_meta

if TYPE_CHECKING:  # pandas is imported where it is used: `plan list` starts faster without it
    import pandas as pd

_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: easy to read and type
ID_LENGTH = 8
MIN_PREFIX = 4
RESULT_COLUMNS = ("pool", "pos", "region", "high_potential", "score", "current",
                  "allocation", "exact", "target", "lo", "hi")
TRANSITIONS = {"submit": ("submitted", {"draft"}), "approve": ("approved", {"submitted"}),
               "reject": ("rejected", {"submitted"})}
LANGS = ("en", "zh")
_ACTIONS = {"submit": Action.SUBMIT, "approve": Action.APPROVE, "reject": Action.REJECT}


def new_id() -> str:
    """A random short id a person can read out and type (8 of 31 characters)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


def now() -> dt.datetime:
    """The current time in UTC (every stored time is UTC)."""
    return dt.datetime.now(dt.UTC)


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite hands back naive times)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso(value: dt.datetime) -> str:
    """A stored time as ISO 8601 UTC text, e.g. 2025-01-31T09:30:00Z."""
    return utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit(session: Session, actor: Actor, action: str, object_type: str, object_id: str,
          detail: dict[str, Any] | None = None) -> None:
    """Record one change in the audit log (inside the change's own transaction)."""
    session.add(m.AuditEntry(at=now(), actor=actor.name, action=action, object_type=object_type,
                             object_id=object_id, detail=detail or {}))


# --------------------------------------------------------------------------- who acts

def _mode(session: Session, store: Store) -> str:
    """The store's mode, fixed on first use: PostgreSQL stores are team stores."""
    mode = get_meta(session, "mode")
    if mode is None:
        mode = "team" if store.is_postgres else "local"
        set_meta(session, "mode", mode)
    return mode


def acting_user(store: Store, user: str | None = None, password: str | None = None) -> Actor:
    """The actor for a call: the OS user on a local store, a logged-in user on a team store."""
    with store.transaction() as s:
        if _mode(s, store) == "local":
            return Actor(os_user(), team=False)
        if user_count(s) == 0:
            raise PermissionDenied("this team store has no users yet: an administrator runs "
                                   "`optimizer store init --admin NAME` first")
        if not user:
            raise PermissionDenied("this is a team store: log in with --user NAME (password "
                                   "from the prompt or OPTIMIZER_PASSWORD)")
        if password is None:
            raise PermissionDenied(f"no password for {user}: type it at the prompt or set "
                                   "OPTIMIZER_PASSWORD")
        return authenticate(s, user, password)


def store_mode(store: Store) -> str:
    """'local' or 'team'."""
    with store.transaction() as s:
        return _mode(s, store)


def init_store(store: Store, *, team: bool = False, admin: tuple[str, str] | None = None,
               actor: Actor | None = None) -> dict[str, Any]:
    """Set a store up (the schema is already current): its mode and, for a team, the first
    administrator. Returns what the store is now."""
    with store.transaction() as s:
        mode = _mode(s, store)
        by = actor.name if actor else os_user()
        if team and mode == "local":
            set_meta(s, "mode", "team")
            mode = "team"
            audit(s, Actor(by, False), "team_mode", "store", "store")
        if mode == "team" and admin is not None:
            if user_count(s) > 0:
                if actor is None:
                    raise PermissionDenied("the store has users already; log in as an "
                                           "administrator and use `store user add`")
                require(s, actor, Action.USERS)
            add_user(s, by, admin[0], admin[1], "admin")
            audit(s, Actor(by, mode == "team" and actor is not None), "add_user", "user",
                  admin[0], {"roles": "admin"})
        return {"store": store.label, "mode": mode, "schema": head_revision(),
                "users": user_count(s)}


def create_user(store: Store, actor: Actor, name: str, password: str, roles: str) -> None:
    """Add a user to a team store (administrators only)."""
    def tx(s: Session) -> None:
        if not is_team(s):
            raise InputError([Problem("store", "a local store has no users; make it a team "
                                      "store with `optimizer store init --team --admin NAME`")])
        require(s, actor, Action.USERS)
        user = add_user(s, actor.name, name, password, roles)
        audit(s, actor, "add_user", "user", name, {"roles": user.roles})
    store.run(tx, retries=1)


def list_users(store: Store, actor: Actor) -> list[dict[str, Any]]:
    """Every user with roles (administrators only)."""
    with store.transaction() as s:
        require(s, actor, Action.USERS)
        return [{"name": u.name, "roles": u.roles.split(","), "active": u.active,
                 "created_at": iso(u.created_at), "created_by": u.created_by}
                for u in s.scalars(select(m.User).order_by(m.User.name))]


# --------------------------------------------------------------------------- saving

@dataclass
class VersionInfo:
    """A scenario version as the list shows it."""

    id: str
    scenario: str
    number: int
    author: str
    created_at: dt.datetime
    plan_id: str | None = None


@dataclass
class SaveOutcome:
    """What a save stored, and the version someone else saved in between (if any)."""

    plan_id: str
    version_id: str
    number: int
    parent_id: str | None
    in_between: VersionInfo | None = None


def _latest(session: Session, name: str) -> VersionInfo | None:
    row = session.execute(
        select(m.ScenarioVersion.id, m.ScenarioVersion.number, m.ScenarioVersion.author,
               m.ScenarioVersion.created_at)
        .join(m.ScenarioRecord, m.ScenarioRecord.id == m.ScenarioVersion.scenario_id)
        .where(m.ScenarioRecord.name == name)
        .order_by(m.ScenarioVersion.number.desc()).limit(1)).first()
    if row is None:
        return None
    plan_id = session.scalar(select(m.Plan.id).where(m.Plan.version_id == row.id).limit(1))
    return VersionInfo(row.id, name, row.number, row.author, utc(row.created_at), plan_id)


def latest_version(store: Store, actor: Actor, name: str) -> VersionInfo | None:
    """The newest version of scenario `name` (what a new save will be based on)."""
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        return _latest(s, name)


def result_rows(result: Any) -> list[dict[str, Any]]:
    """A PlanResult's per-region, per-pool numbers as rows of plan_results."""
    import numpy as np

    regions = result.regions["region"].astype(str).tolist()
    hp = np.asarray(result.high_potential, dtype=bool).tolist()
    score = result.scores["score"].to_numpy(dtype=float)
    score_l = [None if not np.isfinite(v) else float(v) for v in score]
    rows = []
    for name, pool in result.pools.items():
        if pool.allocation is None:
            raise InputError([Problem("plan", f"the {name} pool has no allocation "
                                      "(infeasible): only solved plans are stored")])
        cols = {k: np.asarray(getattr(pool, k), dtype=float).tolist()
                for k in ("current", "allocation", "exact", "target", "lo", "hi")}
        for i, region in enumerate(regions):
            hi = cols["hi"][i]
            rows.append({"pool": name, "pos": i, "region": region, "high_potential": hp[i],
                         "score": score_l[i], "current": cols["current"][i],
                         "allocation": cols["allocation"][i], "exact": cols["exact"][i],
                         "target": cols["target"][i], "lo": cols["lo"][i],
                         "hi": hi if np.isfinite(hi) else None})
    return rows


def save_plan(store: Store, actor: Actor, *, name: str, regions_data: bytes,
              regions_filename: str, scenario_toml: str, result: Any,
              files: dict[str, bytes], summary: dict[str, Any], period: str | None = None,
              comment: str = "", based_on: str | None = None,
              also: Callable[[Session, str], None] | None = None) -> SaveOutcome:
    """Store a solved plan as a new version of scenario `name`, all in one transaction.

    `based_on` is the version the user started from (None: none). If another version was
    saved after it, this save still gets its own version and the outcome names the one
    in between, so the caller can offer the comparison. `files` are the output files
    (allocation.csv, ...) byte for byte; `summary` is the run summary. `also(session,
    plan_id)` writes more rows in the same transaction (e.g. a re-plan's link to its plan
    of record), so that a killed save leaves neither.
    """
    from optimizer.report.summary import versions

    name = name.strip()
    if not name:
        raise InputError([Problem("--name", "a plan needs a name")])
    period = period.strip() if period and period.strip() else None
    rows = result_rows(result)
    sha = hashlib.sha256(regions_data).hexdigest()
    software = versions()

    def tx(s: Session) -> SaveOutcome:
        require(s, actor, Action.SAVE)
        t = now()
        if s.get(m.RegionsTable, sha) is None:
            s.add(m.RegionsTable(sha256=sha, filename=regions_filename,
                                 n_regions=len(result.regions), data=regions_data,
                                 created_by=actor.name, created_at=t))
            audit(s, actor, "add_regions", "regions", sha, {"file": regions_filename})
        scen = s.scalar(select(m.ScenarioRecord).where(m.ScenarioRecord.name == name))
        if scen is None:
            scen = m.ScenarioRecord(id=new_id(), name=name, created_by=actor.name, created_at=t)
            s.add(scen)
            s.flush()
        latest = _latest(s, name)
        in_between = latest if latest is not None and latest.id != based_on else None
        parent = based_on if based_on is not None else None
        if parent is None and latest is not None:
            parent = latest.id
        number = (latest.number if latest else 0) + 1
        ver = m.ScenarioVersion(id=new_id(), scenario_id=scen.id, number=number,
                                parent_id=parent, toml=scenario_toml, comment=comment,
                                author=actor.name, created_at=t)
        s.add(ver)
        s.flush()  # a concurrent save of the same number fails here and is retried
        plan = m.Plan(id=new_id(), version_id=ver.id, regions_sha256=sha, period=period,
                      status="draft", status_comment="", author=actor.name, created_at=t,
                      updated_at=t, summary=summary,
                      versions={"software": software,
                                "solver": {p: dict(r.solver) for p, r in result.pools.items()}})
        s.add(plan)
        s.flush()
        s.execute(insert(m.PlanResult), [{**r, "plan_id": plan.id} for r in rows])
        s.execute(insert(m.PlanFile), [{"plan_id": plan.id, "name": k, "data": v}
                                       for k, v in files.items()])
        audit(s, actor, "save", "plan", plan.id,
              {"scenario": name, "version": number, "version_id": ver.id, "period": period,
               "regions": sha, "comment": comment,
               "in_between": in_between.id if in_between else None})
        if also is not None:
            also(s, plan.id)
        return SaveOutcome(plan.id, ver.id, number, parent, in_between)

    return store.run(tx)


def plan_files_of(result: Any, inputs: dict[str, Any], *, extra: Any = None,
                  summary_extra: dict[str, Any] | None = None,
                  more_files: dict[str, bytes] | None = None,
                  ) -> tuple[dict[str, bytes], dict]:
    """The files `optimizer run` writes for `result` (in each language, keyed "en/…",
    "zh/…"; summary.json once) and the summary, to store with a plan.

    A re-plan adds its columns (`extra`, a table aligned with the regions), its summary
    section (`summary_extra`) and its own files (`more_files`, e.g. diff.csv).
    """
    from optimizer.report.export import allocation_csv_bytes, allocation_xlsx_bytes
    from optimizer.report.summary import summary_dict, summary_json
    from optimizer.report.table import ALLOCATION_CSV, ALLOCATION_XLSX, SUMMARY_JSON

    summary = summary_dict(result, inputs) | (summary_extra or {})
    files = {SUMMARY_JSON: summary_json(summary).encode("utf-8"), **(more_files or {})}
    for lang in LANGS:
        files[f"{lang}/{ALLOCATION_CSV}"] = allocation_csv_bytes(result, lang, extra)
        files[f"{lang}/{ALLOCATION_XLSX}"] = allocation_xlsx_bytes(result, lang, extra)
    return files, summary


def files_for(files: dict[str, bytes], lang: str) -> list[tuple[str, bytes]]:
    """The stored files a run with --lang `lang` writes, as (file name, bytes)."""
    prefix = f"{lang}/"
    return sorted((k[len(prefix):] if k.startswith(prefix) else k, v) for k, v in files.items()
                  if k.startswith(prefix) or "/" not in k)


# --------------------------------------------------------------------------- reading

class UnknownId(InputError):
    """No plan (or more than one) has this id."""


def _find_plan(session: Session, text: str) -> m.Plan:
    text = text.strip().lower()
    plan = session.get(m.Plan, text)
    if plan is not None:
        return plan
    if len(text) >= MIN_PREFIX:
        found = session.scalars(select(m.Plan).where(m.Plan.id.startswith(text)).limit(2)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise UnknownId([Problem("plan", f"'{text}' starts more than one plan id; type "
                                     "more of it")])
    recent = session.scalars(select(m.Plan.id).order_by(m.Plan.created_at.desc())
                             .limit(200)).all()
    raise UnknownId([Problem("plan", f"no plan has the id '{text}'{suggest(text, recent)}; "
                             "`optimizer plan list` shows the ids")])


def _plan_query():  # noqa: ANN202 - a select of the list's columns
    return (select(m.Plan.id, m.ScenarioRecord.name, m.ScenarioVersion.number.label("version"),
                   m.ScenarioVersion.id.label("version_id"),
                   m.ScenarioVersion.parent_id, m.ScenarioVersion.comment,
                   m.Plan.period, m.Plan.status, m.Plan.status_comment, m.Plan.author,
                   m.Plan.created_at, m.Plan.updated_at, m.RegionsTable.filename,
                   m.RegionsTable.n_regions, m.Plan.regions_sha256)
            .join(m.ScenarioVersion, m.ScenarioVersion.id == m.Plan.version_id)
            .join(m.ScenarioRecord, m.ScenarioRecord.id == m.ScenarioVersion.scenario_id)
            .join(m.RegionsTable, m.RegionsTable.sha256 == m.Plan.regions_sha256))


def _listed(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "version": row.version,
            "version_id": row.version_id, "parent_id": row.parent_id, "comment": row.comment,
            "period": row.period, "status": row.status, "status_comment": row.status_comment,
            "author": row.author, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at), "regions_file": row.filename,
            "regions": row.n_regions, "regions_sha256": row.regions_sha256}


def list_plans(store: Store, actor: Actor, *, period: str | None = None,
               status: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """Every plan (newest first) with its scenario, version, status, author and time."""
    if status is not None and status not in m.STATUSES:
        raise InputError([Problem("--status", f"unknown status '{status}'; expected one of "
                                  f"{', '.join(m.STATUSES)}")])
    q = _plan_query().order_by(m.Plan.created_at.desc(), m.Plan.id)
    if period is not None:
        q = q.where(m.Plan.period == period)
    if status is not None:
        q = q.where(m.Plan.status == status)
    if name is not None:
        q = q.where(m.ScenarioRecord.name == name)
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        return [_listed(r) for r in s.execute(q)]


@dataclass
class StoredPlan:
    """A stored plan: what the list shows, its inputs, summary and per-region results.

    `results` has one row per region and pool, columns RESULT_COLUMNS, regions in the
    input table's order (`pos`).
    """

    info: dict[str, Any]
    scenario_toml: str
    regions_data: bytes
    summary: dict[str, Any]
    versions: dict[str, Any]
    results: pd.DataFrame = field(repr=False)

    @property
    def id(self) -> str:
        """The plan's id."""
        return self.info["id"]

    def pool(self, name: str) -> pd.DataFrame:
        """One pool's rows, indexed by region."""
        return self.results[self.results["pool"] == name].set_index("region")


def _read_results(session: Session, plan_id: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = [getattr(m.PlanResult, c) for c in RESULT_COLUMNS]
    rows = session.execute(select(*cols).where(m.PlanResult.plan_id == plan_id)
                           .order_by(m.PlanResult.pool, m.PlanResult.pos)).all()
    df = pd.DataFrame.from_records(rows, columns=list(RESULT_COLUMNS))
    for c in ("score", "current", "allocation", "exact", "target", "lo", "hi"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["hi"] = df["hi"].fillna(np.inf)
    df["high_potential"] = df["high_potential"].astype(bool)
    return df


def get_plan(store: Store, actor: Actor, plan_id: str) -> StoredPlan:
    """A stored plan with its inputs and per-region results (UnknownId if there is none)."""
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        plan = _find_plan(s, plan_id)
        row = s.execute(_plan_query().where(m.Plan.id == plan.id)).one()
        ver = s.get(m.ScenarioVersion, plan.version_id)
        data = s.scalar(select(m.RegionsTable.data)
                        .where(m.RegionsTable.sha256 == plan.regions_sha256))
        return StoredPlan(_listed(row), ver.toml, bytes(data), plan.summary, plan.versions,
                          _in_plan_order(_read_results(s, plan.id), plan.summary))


def _in_plan_order(results: pd.DataFrame, summary: dict[str, Any] | None) -> pd.DataFrame:
    """The rows pool by pool in the plan's order (headcount, budget, then the added pools
    as the scenario lists them: the summary's), each pool's regions in input order."""
    order = list((summary or {}).get("pools") or {})
    rank = {p: i for i, p in enumerate(order)}
    key = results["pool"].map(lambda p: rank.get(p, len(order)))
    return (results.assign(_rank=key).sort_values(["_rank", "pool", "pos"], kind="stable")
            .drop(columns="_rank").reset_index(drop=True))


def plan_files(store: Store, actor: Actor, plan_id: str) -> dict[str, bytes]:
    """A plan's output files by name, as `optimizer run` wrote them."""
    with store.transaction() as s:
        require(s, actor, Action.EXPORT)
        plan = _find_plan(s, plan_id)
        return {f.name: bytes(f.data) for f in
                s.scalars(select(m.PlanFile).where(m.PlanFile.plan_id == plan.id))}


def history(store: Store, actor: Actor, plan_id: str) -> list[dict[str, Any]]:
    """The plan's timeline: its scenario's saves up to this version, then its status changes."""
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        plan = _find_plan(s, plan_id)
        ver = s.get(m.ScenarioVersion, plan.version_id)
        earlier = s.execute(select(m.ScenarioVersion.number, m.ScenarioVersion.author,
                                   m.ScenarioVersion.created_at, m.ScenarioVersion.comment)
                            .where(m.ScenarioVersion.scenario_id == ver.scenario_id,
                                   m.ScenarioVersion.number < ver.number)
                            .order_by(m.ScenarioVersion.number)).all()
        out = [{"at": iso(r.created_at), "actor": r.author, "action": "version",
                "detail": {"version": r.number, "comment": r.comment}} for r in earlier]
        for e in s.scalars(select(m.AuditEntry).where(m.AuditEntry.object_id == plan.id)
                           .order_by(m.AuditEntry.id)):
            out.append({"at": iso(e.at), "actor": e.actor, "action": e.action,
                        "detail": e.detail})
        return out


def diff_plans(store: Store, actor: Actor, a: str, b: str) -> tuple[dict, dict, pd.DataFrame]:
    """Both plans' amounts per region and pool, and b − a (regions matched by name)."""
    pa, pb = get_plan(store, actor, a), get_plan(store, actor, b)
    left = pa.results[["pool", "region", "pos", "allocation"]].rename(
        columns={"allocation": "a", "pos": "pos_a"})
    right = pb.results[["pool", "region", "pos", "allocation"]].rename(
        columns={"allocation": "b", "pos": "pos_b"})
    table = left.merge(right, on=["pool", "region"], how="outer")
    table["difference"] = table["b"] - table["a"]
    table["order"] = table["pos_a"].fillna(table["pos_b"] + len(left))
    pools = list(dict.fromkeys([*pa.results["pool"], *pb.results["pool"]]))  # plan order
    table["rank"] = table["pool"].map({p: i for i, p in enumerate(pools)})
    table = table.sort_values(["rank", "order"], kind="stable")
    return pa.info, pb.info, table[["region", "pool", "a", "b", "difference"]].reset_index(
        drop=True)


def resolve_again(plan: StoredPlan, explain: bool = True) -> Any:
    """Solve a stored plan again from its stored inputs (regions bytes, scenario TOML)."""
    from optimizer.flow.plan import run_plan
    from optimizer.inputs.regions import regions_from_bytes
    from optimizer.inputs.scenario_read import scenario_from_text

    scenario = scenario_from_text(plan.scenario_toml)
    name = plan.info["regions_file"]
    regions = regions_from_bytes(plan.regions_data, name, scenario)
    return run_plan(regions, scenario, regions_file=name, explain=explain)


# --------------------------------------------------------------------------- status

class ForbiddenTransition(InputError):
    """A status change the plan's current status does not allow."""


def change_status(store: Store, actor: Actor, plan_id: str, action: str,
                  comment: str = "") -> dict[str, Any]:
    """submit | approve | reject a plan; approving supersedes the period's plan of record.

    Returns {"id", "status", "superseded": id or None}.
    """
    if action not in TRANSITIONS:
        raise ValueError(action)
    new, allowed = TRANSITIONS[action]
    comment = comment.strip()

    def tx(s: Session) -> dict[str, Any]:
        require(s, actor, _ACTIONS[action])
        found = _find_plan(s, plan_id)
        plan = s.scalars(select(m.Plan).where(m.Plan.id == found.id).with_for_update()
                         .execution_options(populate_existing=True)).one()
        old_status = plan.status
        if plan.status not in allowed:
            why = {"draft": "it is a draft that was never submitted",
                   "approved": "it is approved already",
                   "superseded": "it was superseded by a later approved plan",
                   "rejected": "it was rejected; save a new version instead"}.get(
                       plan.status, f"it is {plan.status}")
            raise ForbiddenTransition([Problem("plan", f"cannot {action} plan {plan.id}: "
                                               f"{why} (status {plan.status})")])
        if action == "reject" and not comment:
            raise InputError([Problem("--comment", "a rejection needs a reason")])
        t = now()
        superseded = None
        if action == "approve":
            period_match = (m.Plan.period == plan.period if plan.period is not None
                            else m.Plan.period.is_(None))
            for old in s.scalars(select(m.Plan).where(m.Plan.status == "approved",
                                                      period_match).with_for_update()):
                old.status, old.updated_at = "superseded", t
                old.status_comment = f"superseded by {plan.id}"
                superseded = old.id
                audit(s, actor, "supersede", "plan", old.id, {"by": plan.id})
            s.flush()  # the old plan of record steps down before the new one takes its place
        plan.status, plan.status_comment, plan.updated_at = new, comment, t
        s.flush()
        audit(s, actor, action, "plan", plan.id, {"comment": comment, "from": old_status,
                                                   "superseded": superseded})
        return {"id": plan.id, "status": new, "superseded": superseded}

    return store.run(tx)


# --------------------------------------------------------------------------- backup

def _encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dt.datetime):
        return {"$ts": utc(value).isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$b64" in value:
            return base64.b64decode(value["$b64"])
        if "$ts" in value:
            return dt.datetime.fromisoformat(value["$ts"])
    return value


DUMP_FORMAT = "optimizer-store-dump"


def dump(store: Store, actor: Actor, out: IO[str]) -> dict[str, int]:
    """Write every table of the store as JSON lines; returns the row count per table.

    Line 1 is a header (format, schema revision); then one {"table", "row"} per row, tables
    in dependency order. Every table on the shared metadata is included.
    """
    counts: dict[str, int] = {}
    with store.transaction() as s:
        require(s, actor, Action.BACKUP)
        out.write(json.dumps({"format": DUMP_FORMAT, "schema": head_revision(),
                              "created": iso(now())}) + "\n")
        for table in m.Base.metadata.sorted_tables:
            counts[table.name] = 0
            # rows in creation order, so that a row referring to an earlier one of the same
            # table (a version's parent) is loaded after it
            order = ([table.c.created_at] if "created_at" in table.c else []) + list(
                table.primary_key.columns)
            for row in s.execute(select(table).order_by(*order)).mappings():
                out.write(json.dumps({"table": table.name,
                                      "row": {k: _encode(v) for k, v in row.items()}},
                                     ensure_ascii=False) + "\n")
                counts[table.name] += 1
    return counts


def _lines(src: IO[str]) -> Iterator[tuple[int, dict]]:
    for n, line in enumerate(src, start=1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError([Problem("dump", f"not JSON: {e.msg}", row=n)]) from None


def load(store: Store, actor: Actor | None, src: IO[str], file: str = "dump") -> dict[str, int]:
    """Restore a dump into an empty store (one transaction: all of it or nothing)."""
    tables = {t.name: t for t in m.Base.metadata.sorted_tables}
    counts: dict[str, int] = {}
    with store.transaction() as s:
        empty = all(s.scalar(select(func.count()).select_from(t)) == 0
                    for name, t in tables.items() if name not in ("store_meta",))
        if not empty:
            raise InputError([Problem(file, "the store is not empty: load a dump into a new "
                                      "store (another --store URL or file)")])
        if is_team(s) and user_count(s) > 0:
            if actor is None:
                raise PermissionDenied("log in as an administrator to load a dump")
            require(s, actor, Action.BACKUP)
        lines = _lines(src)
        first = next(lines, None)
        if first is None or first[1].get("format") != DUMP_FORMAT:
            raise InputError([Problem(file, "not a store dump (the first line is not its "
                                      "header)", row=1)])
        s.execute(m.Meta.__table__.delete())
        batch: dict[str, list[dict]] = {}
        for n, item in lines:
            name = item.get("table")
            if name not in tables:
                raise InputError([Problem(file, f"unknown table '{name}'", row=n)])
            batch.setdefault(name, []).append({k: _decode(v) for k, v in item["row"].items()})
        for name, table in tables.items():
            rows = batch.get(name, [])
            if rows:
                s.execute(insert(table), rows)
            counts[name] = len(rows)
        audit(s, actor or Actor(os_user(), False), "load", "store", "store",
              {"file": file, "rows": counts})
    return counts


def all_scenario_versions(store: Store, actor: Actor) -> list[VersionInfo]:
    """Every scenario version, newest first."""
    with store.transaction() as s:
        require(s, actor, Action.VIEW)
        rows = s.execute(select(m.ScenarioVersion.id, m.ScenarioRecord.name,
                                m.ScenarioVersion.number, m.ScenarioVersion.author,
                                m.ScenarioVersion.created_at)
                         .join(m.ScenarioRecord,
                               m.ScenarioRecord.id == m.ScenarioVersion.scenario_id)
                         .order_by(m.ScenarioVersion.created_at.desc())).all()
        return [VersionInfo(r.id, r.name, r.number, r.author, utc(r.created_at)) for r in rows]
