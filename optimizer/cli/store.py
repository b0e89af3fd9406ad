"""Command line for the plan store: `optimizer store …` and `optimizer plan …`.

Parses, calls `optimizer.store.api` (which checks the acting user's role), reports.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from optimizer import InputError, Problem, t
from optimizer.cli.common import EXIT_INFEASIBLE, EXIT_OK, add_inputs, load_inputs, progress

ENV_PASSWORD = "OPTIMIZER_PASSWORD"
ENV_NEW_PASSWORD = "OPTIMIZER_NEW_PASSWORD"

STORE_HELP = ("store URL: sqlite:///FILE or postgresql://USER@HOST:PORT/DB (default: "
              "$OPTIMIZER_STORE, else ./data/plans.db, created on first use)")


def _common(sp: argparse.ArgumentParser, json_flag: bool = True, lang: bool = True) -> None:
    """--store, --user (and --json, --lang); SUPPRESS lets them stand at either level."""
    sp.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=STORE_HELP)
    sp.add_argument("--user", metavar="NAME", default=argparse.SUPPRESS,
                    help="team stores: the store user to act as (password from the prompt "
                         f"or ${ENV_PASSWORD})")
    if json_flag:
        sp.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print only a JSON document on stdout")
    if lang:
        sp.add_argument("--lang", choices=("en", "zh"), default=argparse.SUPPRESS,
                        help="language of the messages (default: en)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `store` and `plan` to the command line."""
    fmt = argparse.RawDescriptionHelpFormatter
    st = sub.add_parser("store", help="set up, back up and restore the plan store",
                        formatter_class=fmt, description="The plan store: SQLite by default "
                        "(./data/plans.db), PostgreSQL for a team.",
                        epilog="examples:\n  optimizer store init\n  optimizer store init "
                               "--store postgresql://planner@db/plans --admin alice\n"
                               "  optimizer store dump --out backup.jsonl\n")
    _common(st)
    ss = st.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    init = ss.add_parser("init", help="create or upgrade the store; --team / --admin set up "
                         "logins")
    _common(init)
    init.add_argument("--team", action="store_true",
                      help="ask for logins (PostgreSQL stores always do)")
    init.add_argument("--admin", metavar="NAME",
                      help=f"create the first administrator (password from the prompt or "
                           f"${ENV_PASSWORD})")
    init.set_defaults(func=_cmd_init)
    user = ss.add_parser("user", help="team stores: add and list users (administrators)")
    _common(user)
    us = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = us.add_parser("add", help="add a user with roles")
    _common(add)
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, metavar="ROLES",
                     help="comma-separated: planner, finance, approver, admin")
    add.set_defaults(func=_cmd_user_add)
    ul = us.add_parser("list", help="list the users")
    _common(ul)
    ul.set_defaults(func=_cmd_user_list)
    dump = ss.add_parser("dump", help="write a portable backup (JSON lines)")
    _common(dump)
    dump.add_argument("--out", required=True, type=Path, metavar="FILE")
    dump.set_defaults(func=_cmd_dump)
    load = ss.add_parser("load", help="restore a backup into an empty store")
    _common(load)
    load.add_argument("file", type=Path, metavar="FILE")
    load.set_defaults(func=_cmd_load)

    pl = sub.add_parser("plan", help="save, list, show, compare and approve stored plans",
                        formatter_class=fmt, description="Plans of record: a scenario "
                        "version solved on a regions table, with a status (draft, submitted, "
                        "approved, superseded, rejected).",
                        epilog="examples:\n  optimizer plan save --regions inputs/regions.csv "
                               "--scenario inputs/scenario.toml --name 基线 --period 2025\n"
                               "  optimizer plan list --period 2025\n  optimizer plan submit "
                               "ID\n  optimizer plan approve ID --comment OK\n  optimizer plan "
                               "show ID --out out\n\nexit status: 0 done; 2 invalid input, "
                               "unknown id, forbidden transition or permission; 3 infeasible "
                               "(nothing saved); 1 internal error.\n")
    _common(pl)
    ps = pl.add_subparsers(dest="plan_command", required=True, metavar="ACTION")
    save = ps.add_parser("save", help="solve and store a plan; prints its id")
    add_inputs(save)
    _common(save, lang=False)
    save.add_argument("--name", required=True, help="the scenario's name, e.g. 基线")
    save.add_argument("--period", help="the period the plan is for, e.g. 2025")
    save.add_argument("--comment", default="", help="what changed in this version")
    save.add_argument("--no-explain", action="store_true",
                      help="skip the price of the binding rules")
    save.set_defaults(func=_cmd_save)
    ls = ps.add_parser("list", help="list plans, newest first")
    _common(ls)
    ls.add_argument("--period")
    ls.add_argument("--status", choices=("draft", "submitted", "approved", "superseded",
                                         "rejected"))
    ls.add_argument("--name", help="only this scenario's plans")
    ls.set_defaults(func=_cmd_list)
    show = ps.add_parser("show", help="a plan with its results and history; --out writes its "
                         "files")
    _common(show)
    show.add_argument("id", metavar="ID")
    show.add_argument("--out", type=Path, metavar="DIR",
                      help="write allocation.csv, allocation.xlsx, summary.json (as "
                           "`optimizer run` wrote them)")
    show.set_defaults(func=_cmd_show)
    diff = ps.add_parser("diff", help="per region and pool: both amounts and the difference")
    _common(diff)
    diff.add_argument("a", metavar="ID1")
    diff.add_argument("b", metavar="ID2")
    diff.set_defaults(func=_cmd_diff)
    for action, text in (("submit", "submit a draft for approval"),
                         ("approve", "approve a submitted plan (supersedes the period's "
                                     "approved plan)"),
                         ("reject", "reject a submitted plan (--comment gives the reason)")):
        sp = ps.add_parser(action, help=text)
        _common(sp)
        sp.add_argument("id", metavar="ID")
        sp.add_argument("--comment", default="")
        sp.set_defaults(func=_cmd_transition, transition=action)


# --------------------------------------------------------------------------- helpers

def _lang(args: argparse.Namespace) -> str:
    return getattr(args, "lang", "en")


def _password(env: str, prompt: str, confirm: bool = False) -> str | None:
    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != first:
        raise InputError([Problem("password", "the two passwords differ")])
    return first


def _open(args: argparse.Namespace):  # noqa: ANN202 - (Store, Actor)
    from optimizer.store import acting_user, open_store
    from optimizer.store.api import store_mode

    store = open_store(getattr(args, "store", None))
    user = getattr(args, "user", None)
    password = None
    if store_mode(store) == "team" and user:
        password = _password(ENV_PASSWORD, f"password for {user}: ")
    return store, acting_user(store, user, password)


def _say(args: argparse.Namespace, text: str) -> None:
    """A note for the user: stderr when stdout is reserved for JSON."""
    print(text, file=sys.stderr if getattr(args, "json", False) else sys.stdout)


def _json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False))


def _num(v: float) -> float | int | None:
    if v != v:
        return None
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


# --------------------------------------------------------------------------- store

def _cmd_init(args: argparse.Namespace) -> int:
    from optimizer.store import open_store
    from optimizer.store.api import init_store, store_mode

    store = open_store(getattr(args, "store", None))
    admin = None
    actor = None
    team = args.team or store.is_postgres or store_mode(store) == "team"
    if args.admin:
        if not team:
            raise InputError([Problem("--admin", "a local store has no logins; add --team to "
                                      "make it a team store")])
        pw = _password(ENV_PASSWORD, f"new password for {args.admin}: ", confirm=True)
        if pw is None:
            raise InputError([Problem("--admin", f"no password: type it at the prompt or set "
                                      f"{ENV_PASSWORD}")])
        admin = (args.admin, pw)
        if getattr(args, "user", None):
            _, actor = _open(args)
    info = init_store(store, team=args.team, admin=admin, actor=actor)
    if getattr(args, "json", False):
        _json(info)
    else:
        print(f"store {info['store']}: {info['mode']}, schema {info['schema']}, "
              f"{info['users']} user(s)")
        if info["mode"] == "team" and info["users"] == 0:
            print("next: optimizer store init --admin NAME (creates the first administrator)")
    return EXIT_OK


def _cmd_user_add(args: argparse.Namespace) -> int:
    from optimizer.store.api import create_user

    store, actor = _open(args)
    pw = _password(ENV_NEW_PASSWORD, f"new password for {args.name}: ", confirm=True)
    if pw is None:
        raise InputError([Problem(args.name, f"no password: type it at the prompt or set "
                                  f"{ENV_NEW_PASSWORD}")])
    create_user(store, actor, args.name, pw, args.role)
    _say(args, f"added {args.name} ({args.role})")
    if getattr(args, "json", False):
        _json({"name": args.name, "roles": args.role.split(",")})
    return EXIT_OK


def _cmd_user_list(args: argparse.Namespace) -> int:
    from optimizer.store.api import list_users

    store, actor = _open(args)
    users = list_users(store, actor)
    if getattr(args, "json", False):
        _json(users)
    else:
        for u in users:
            print(f"{u['name']}  {','.join(u['roles'])}  {'' if u['active'] else '(disabled)'}")
    return EXIT_OK


def _cmd_dump(args: argparse.Namespace) -> int:
    import io

    from optimizer.report.export import write_files
    from optimizer.store.api import dump

    store, actor = _open(args)
    buf = io.StringIO()
    counts = dump(store, actor, buf)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_files(args.out.parent, [(args.out.name, buf.getvalue().encode("utf-8"))])
    _say(args, f"wrote {args.out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if getattr(args, "json", False):
        _json({"file": str(args.out), "rows": counts})
    return EXIT_OK


def _cmd_load(args: argparse.Namespace) -> int:
    from optimizer.store import open_store
    from optimizer.store.api import load

    store = open_store(getattr(args, "store", None))
    actor = None
    if getattr(args, "user", None):
        _, actor = _open(args)
    try:
        src = args.file.open(encoding="utf-8")
    except OSError as e:
        raise InputError([Problem(str(args.file), f"cannot read the file ({e.strerror})")]) \
            from None
    with src:
        counts = load(store, actor, src, str(args.file))
    _say(args, f"loaded {args.file}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if getattr(args, "json", False):
        _json({"file": str(args.file), "rows": counts})
    return EXIT_OK


# --------------------------------------------------------------------------- plan

def _cmd_save(args: argparse.Namespace) -> int:
    from optimizer import Status, run_plan, scenario_to_toml
    from optimizer.store.api import latest_version, plan_files_of, save_plan

    lang = _lang(args)
    store, actor = _open(args)
    # the version this save builds on: read before the solve, so a save by someone else
    # while this one solves is noticed at commit
    base = latest_version(store, actor, args.name.strip())
    with progress() as say:
        say("reading inputs")
        regions, scenario = load_inputs(args)
        if scenario.years:
            raise InputError([Problem(str(args.scenario), "a multi-year scenario ([[years]]) "
                                      "cannot be stored as a plan yet; store one year at a "
                                      "time")])
        result = run_plan(regions, scenario, regions_file=str(args.regions),
                          explain=not args.no_explain, progress=say)
        if result.status != Status.OPTIMAL:
            for pool in result.pools.values():
                if pool.diagnosis is not None:
                    print(f"{pool.label(lang)}: {pool.diagnosis.text(lang)}", file=sys.stderr)
            print(t("cli_plan_infeasible", lang), file=sys.stderr)
            return EXIT_INFEASIBLE
        say("storing the plan")
        inputs = {"regions": args.regions}
        if args.scenario is not None:
            inputs["scenario"] = args.scenario
        files, summary = plan_files_of(result, inputs)
        out = save_plan(store, actor, name=args.name, regions_data=args.regions.read_bytes(),
                        regions_filename=args.regions.name,
                        scenario_toml=scenario_to_toml(scenario), result=result,
                        files=files, summary=summary, period=args.period,
                        comment=args.comment, based_on=base.id if base else None)
    if out.in_between is not None:
        ib = out.in_between
        other = ib.plan_id or ib.id
        print(t("cli_plan_in_between", lang, author=ib.author, version=ib.number,
                scenario=ib.scenario, other=other, id=out.plan_id), file=sys.stderr)
    if getattr(args, "json", False):
        _json({"id": out.plan_id, "name": args.name.strip(), "version": out.number,
               "version_id": out.version_id, "parent_id": out.parent_id,
               "period": args.period, "status": "draft", "author": actor.name,
               "in_between": None if out.in_between is None else
               {"version": out.in_between.number, "author": out.in_between.author,
                "plan_id": out.in_between.plan_id}})
    else:
        print(t("cli_plan_saved", lang, id=out.plan_id, name=args.name, version=out.number))
    return EXIT_OK


def _columns(rows: list[list[str]]) -> None:
    from optimizer.cli.sweeps import _print_columns

    _print_columns(rows)


def _cmd_list(args: argparse.Namespace) -> int:
    from optimizer.store.api import list_plans

    store, actor = _open(args)
    plans = list_plans(store, actor, period=args.period, status=args.status, name=args.name)
    if getattr(args, "json", False):
        _json(plans)
        return EXIT_OK
    if not plans:
        print(t("cli_no_plans", _lang(args)))
        return EXIT_OK
    rows = [["id", "name", "version", "period", "status", "author", "created"]]
    rows += [[p["id"], p["name"], str(p["version"]), p["period"] or "", p["status"],
              p["author"], p["created_at"]] for p in plans]
    _columns(rows)
    return EXIT_OK


def _results_json(plan: Any) -> list[dict[str, Any]]:
    by_pos: dict[int, dict[str, Any]] = {}
    for r in plan.results.itertuples(index=False):
        row = by_pos.get(r.pos)
        if row is None:
            row = by_pos[r.pos] = {"region": r.region, "high_potential": bool(r.high_potential),
                                   "score": _num(r.score)}
        row[r.pool] = _num(r.allocation)
        row[f"current_{r.pool}"] = _num(r.current)
        row[f"{r.pool}_target"] = _num(r.target)
    return [by_pos[k] for k in sorted(by_pos)]


def _cmd_show(args: argparse.Namespace) -> int:
    from optimizer.report.export import prepare_out_dir, write_files
    from optimizer.store.api import files_for, get_plan, history, plan_files

    store, actor = _open(args)
    plan = get_plan(store, actor, args.id)
    written = []
    if args.out is not None:
        files = files_for(plan_files(store, actor, plan.id), _lang(args))
        written = write_files(prepare_out_dir(args.out), files)
    events = history(store, actor, plan.id)
    if getattr(args, "json", False):
        _json({**plan.info, "scenario_toml": plan.scenario_toml, "summary": plan.summary,
               "versions": plan.versions, "history": events,
               "results": _results_json(plan), "written": [str(p) for p in written]})
        return EXIT_OK
    i = plan.info
    print(f"plan {i['id']}: {i['name']} version {i['version']}, period {i['period'] or '-'}, "
          f"{i['status']}" + (f" ({i['status_comment']})" if i["status_comment"] else ""))
    print(f"  by {i['author']} at {i['created_at']}; regions {i['regions_file']} "
          f"({i['regions']} rows, sha256 {i['regions_sha256'][:12]})")
    rows = [["region", "pool", "current", "plan", "change"]]
    for r in plan.results.itertuples(index=False):
        rows.append([r.region, r.pool, f"{r.current:,.0f}", f"{r.allocation:,.0f}",
                     f"{r.allocation - r.current:+,.0f}"])
    _columns(rows if len(rows) <= 61 else rows[:61])
    if len(rows) > 61:
        print(f"  … {len(rows) - 61} more rows (--json or --out for all)")
    print("history:")
    for e in events:
        extra = e["detail"].get("comment") or ""
        print(f"  {e['at']}  {e['actor']}  {e['action']}" + (f"  {extra}" if extra else ""))
    for p in written:
        print(f"wrote {p}")
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from optimizer.store.api import diff_plans

    store, actor = _open(args)
    a, b, table = diff_plans(store, actor, args.a, args.b)
    if getattr(args, "json", False):
        _json({"a": a, "b": b, "rows": [
            {"region": r.region, "pool": r.pool, "a": _num(r.a), "b": _num(r.b),
             "difference": _num(r.difference)} for r in table.itertuples(index=False)]})
        return EXIT_OK

    def num(v: float) -> str:
        return "" if v != v else f"{v:,.2f}".rstrip("0").rstrip(".")

    rows = [["region", "pool", a["id"], b["id"], "difference"]]
    rows += [[r.region, r.pool, num(r.a), num(r.b), num(r.difference)]
             for r in table.itertuples(index=False)]
    _columns(rows)
    return EXIT_OK


def _cmd_transition(args: argparse.Namespace) -> int:
    from optimizer.store.api import change_status

    store, actor = _open(args)
    out = change_status(store, actor, args.id, args.transition, args.comment)
    if getattr(args, "json", False):
        _json(out)
    else:
        print(f"plan {out['id']}: {out['status']}" +
              (f"; {out['superseded']} superseded" if out["superseded"] else ""))
    return EXIT_OK
