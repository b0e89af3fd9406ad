"""Command line for the quarterly cycle: `optimizer actuals`, `review` and `replan`.

Store form: `--plan ID` names a period's plan of record in the plan store (`--store URL`,
`--user` as for `optimizer plan`); actuals are imported into the store, and a re-plan is
saved as a new draft plan linked to the plan of record.
File form (no store): the regions table, the scenario, a plan of record (any table with
region and one column per pool, e.g. an allocation.csv of `run`) and the actuals.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from optimizer import InputError, Problem, t
from optimizer.cli.common import EXIT_INFEASIBLE, EXIT_OK, load_inputs, option_problem
from optimizer.cli.store import _common as _store_options
from optimizer.cli.store import _json, _open
from optimizer.report.outdir import prepare_out_dir, write_files

REVIEW_FILES = ("review.csv", "review.xlsx", "review.json")
REPLAN_FILES = ("allocation.csv", "allocation.xlsx", "summary.json", "diff.csv")


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--regions", metavar="FILE", type=Path,
                    help="regions table (file form), e.g. inputs/regions.csv")
    sp.add_argument("--scenario", metavar="FILE", type=Path,
                    help="scenario TOML ([phasing], [[thresholds]], [replan] and the plan's "
                         "rules), e.g. inputs/scenario.toml")
    sp.add_argument("--plan-of-record", dest="record", metavar="FILE", type=Path,
                    help="the plan in force (file form): a table with region and one column "
                         "per pool (headcount, budget), e.g. an allocation.csv of `run`")
    sp.add_argument("--actuals", metavar="FILE", type=Path,
                    help="actuals (file form): region, quarter, headcount, budget_spent, "
                         "revenue, indicators; e.g. inputs/actuals_2025_q1_q2.csv")
    sp.add_argument("--lang", choices=("en", "zh"), default="en",
                    help="language of the messages (default: en)")


STORE_FORM = ("optimizer review --plan ID --quarter 2025Q2 [--out DIR] [--json]\n"
              "  optimizer replan --plan ID --after 2025Q2 [--scenario F] [--json]")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `actuals`, `review` and `replan` to the command line."""
    fmt = argparse.RawDescriptionHelpFormatter
    ac = sub.add_parser(
        "actuals", help="import a year's actuals into the plan store against its plan of "
        "record", formatter_class=fmt,
        description="Actuals per quarter and region (CSV/TXT/XLSX): region, quarter, "
                    "headcount (in place at the end of the quarter), budget_spent (in the "
                    "quarter), revenue and indicator columns. A quarter imported again is a "
                    "new version; earlier versions are kept, the newest counts.",
        epilog="examples:\n  optimizer actuals import --plan ID inputs/actuals_2025_q1_q2.csv"
               "\n  optimizer actuals list --plan ID\n\nexit status: 0 imported; 2 invalid "
               "input (row and column named), unknown id, not the plan of record, or no "
               "permission (planners import).\n")
    _store_options(ac)
    acs = ac.add_subparsers(dest="actuals_command", required=True, metavar="ACTION")
    imp = acs.add_parser("import", help="import an actuals file (planners)")
    _store_options(imp)
    imp.add_argument("--plan", required=True, metavar="ID",
                     help="the approved plan (plan of record) of the period")
    imp.add_argument("file", metavar="FILE", type=Path, help="the actuals table")
    imp.set_defaults(func=_cmd_import)
    ls = acs.add_parser("list", help="every imported version of the period's actuals")
    _store_options(ls)
    ls.add_argument("--plan", required=True, metavar="ID")
    ls.set_defaults(func=_cmd_actuals_list)

    rv = sub.add_parser(
        "review", help="review a quarter against the plan of record: review.csv, "
        "review.xlsx, review.json", formatter_class=fmt,
        description="Per region and pool: plan for the year, plan to date, actual to date, "
                    "variance and %% used; revenue per person and per 万 spent; the alarms "
                    "(red / amber / green, with the reason). Store form: --plan ID; file "
                    "form: --regions, --plan-of-record, --actuals and --out.",
        epilog="examples:\n  optimizer review --plan ID --quarter 2025Q2 --out review\n"
               "  optimizer review --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --plan-of-record out/allocation.csv --actuals "
               "inputs/actuals_2025_q1_q2.csv --quarter 2025Q2 --out review\n\nexit status: "
               "0 reviewed (alarms are in the outputs); 2 invalid input.\n")
    _common(rv)
    _plan_options(rv)
    rv.add_argument("--quarter", required=True, metavar="Q",
                    help="the quarter reviewed: 2025Q2, 2025-Q2 or 2025年第2季度")
    rv.add_argument("--out", metavar="DIR", type=Path,
                    help="output folder (created if missing; required in the file form)")
    rv.set_defaults(func=_cmd_review)

    rp = sub.add_parser(
        "replan", help="re-plan the full year from the actuals: allocation.*, summary.json, "
        "diff.csv", formatter_class=fmt,
        description="Solve the year again with what is spent or in place as a floor and the "
                    "change limits measured against the plan of record. allocation.csv holds "
                    "the full-year amounts plus <pool>_of_record, <pool>_spent (or "
                    "_in_place) and <pool>_remaining; diff.csv compares with the plan of "
                    "record. Store form (--plan ID): the re-plan is saved as a new draft plan "
                    "linked to the plan of record, and its id printed.",
        epilog="examples:\n  optimizer replan --plan ID --after 2025Q2\n"
               "  optimizer replan --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --plan-of-record out/allocation.csv --actuals "
               "inputs/actuals_2025_q1_q2.csv --after 2025Q2 --out replan\n\nexit status: 0 "
               "re-planned; 2 invalid input; 3 infeasible (the spending leaves no plan; "
               "nothing saved).\n")
    _common(rp)
    _plan_options(rp)
    rp.add_argument("--after", required=True, metavar="Q",
                    help="the last quarter with actuals to keep: 2025Q2")
    rp.add_argument("--out", metavar="DIR", type=Path,
                    help="output folder (created if missing; required in the file form)")
    rp.add_argument("--no-explain", action="store_true",
                    help="skip the price of the binding rules")
    rp.set_defaults(func=_cmd_replan)


def _plan_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--plan", metavar="ID",
                    help="store form: the plan of record (approved plan) in the plan store")
    _store_options(sp, lang=False)


def _quarter(option: str, text: str) -> tuple[int, int]:
    from optimizer.cycle.actuals import parse_quarter

    q = parse_quarter(text)
    if q is None:
        raise InputError([option_problem(option, f"found {text!r}; expected a quarter such "
                                         "as 2025Q2, 2025-Q2 or 2025年第2季度")])
    return q


def _store_form(args: argparse.Namespace) -> bool:
    """Whether the command names a stored plan; the file options are refused with it."""
    if args.plan is None:
        return False
    given = [o for o, v in (("--regions", args.regions), ("--plan-of-record", args.record),
                            ("--actuals", args.actuals)) if v is not None]
    if given:
        raise InputError([option_problem(o, "not with --plan: the store form reads the "
                                         "regions table, the plan of record and the actuals "
                                         "from the store") for o in given])
    return True


def _need_out(args: argparse.Namespace) -> None:
    if args.out is None:
        raise InputError([option_problem("--out", "required in the file form (or name a "
                                         "stored plan with --plan)")])


def _scenario_override(args: argparse.Namespace):  # noqa: ANN202 - Scenario | None
    from optimizer import load_scenario

    return None if args.scenario is None else load_scenario(args.scenario)


def _file_inputs(args: argparse.Namespace, year: int):  # noqa: ANN202
    """Regions, scenario, pools, plan of record and actuals of the file form."""
    from optimizer import prepare
    from optimizer.cycle.actuals import read_actuals, read_record

    missing = [o for o, v in (("--regions", args.regions), ("--plan-of-record", args.record),
                              ("--actuals", args.actuals)) if v is None]
    if missing:
        raise InputError([option_problem(o, "required: the file form reads the regions table, "
                                         "the plan of record and the actuals") for o in missing])
    regions, scenario = load_inputs(args)
    kinds = {n: p.integer for n, p in prepare(regions, scenario, str(args.regions)).pools.items()}
    names = regions["region"].astype(str).tolist()
    problems = []
    record = actuals = None
    extra = [th.column for th in scenario.thresholds]
    try:
        record = read_record(args.record, names, kinds)
    except InputError as e:
        problems += e.problems
    try:
        actuals = read_actuals(args.actuals, names, kinds, year, extra)
    except InputError as e:
        problems += e.problems
    if problems:
        raise InputError(problems)
    return regions, scenario, kinds, record, actuals


# --------------------------------------------------------------------------- actuals

def _cmd_import(args: argparse.Namespace) -> int:
    from optimizer.store.cycle import import_actuals

    lang = getattr(args, "lang", "en")
    js = getattr(args, "json", False)
    store, actor = _open(args)
    try:
        data = args.file.read_bytes()
    except OSError as e:
        raise InputError([Problem(str(args.file), f"cannot read the file "
                                  f"({e.strerror or e})")]) from None
    done = import_actuals(store, actor, args.plan, data, str(args.file))
    if js:
        _json({"plan": args.plan, "file": str(args.file),
               "quarters": [{"quarter": q.quarter, "version": q.number, "id": q.id,
                             "regions": q.regions} for q in done]})
        return EXIT_OK
    for q in done:
        print(t("cli_actuals_imported", lang, quarter=q.quarter, version=q.number,
                regions=q.regions))
    return EXIT_OK


def _cmd_actuals_list(args: argparse.Namespace) -> int:
    from optimizer.cli.sweeps import _print_columns
    from optimizer.store.cycle import actuals_versions

    store, actor = _open(args)
    rows = actuals_versions(store, actor, args.plan)
    if getattr(args, "json", False):
        _json(rows)
        return EXIT_OK
    if not rows:
        print(t("cli_no_actuals", getattr(args, "lang", "en")))
        return EXIT_OK
    table = [["quarter", "version", "latest", "id", "file", "author", "created"]]
    table += [[r["quarter"], str(r["version"]), "*" if r["latest"] else "", r["id"], r["file"],
               r["author"], r["created_at"]] for r in rows]
    _print_columns(table)
    return EXIT_OK


# --------------------------------------------------------------------------- review

def _cmd_review(args: argparse.Namespace) -> int:
    from optimizer.cycle.review import review, review_csv_bytes, review_summary, review_xlsx_bytes

    store_form = _store_form(args)
    js = getattr(args, "json", False)
    if store_form:
        from optimizer.store.cycle import review_plan

        store, actor = _open(args)
        scenario = _scenario_override(args)
        if args.out is not None:
            prepare_out_dir(args.out, REVIEW_FILES)
        rv = review_plan(store, actor, args.plan, args.quarter, scenario)
    else:
        _need_out(args)
        year, q = _quarter("--quarter", args.quarter)
        prepare_out_dir(args.out, REVIEW_FILES)
        regions, scenario, kinds, record, actuals = _file_inputs(args, year)
        rv = review(record, actuals, q, scenario)
    summary = review_summary(rv)
    files = {"review.csv": review_csv_bytes(rv), "review.xlsx": review_xlsx_bytes(rv),
             "review.json": (json.dumps(summary, ensure_ascii=False, indent=2,
                                        allow_nan=False) + "\n").encode("utf-8")}
    for n in rv.notes:
        print(n(args.lang), file=sys.stderr if js else sys.stdout)
    written = write_files(args.out, list(files.items())) if args.out is not None else []
    if js:
        _json({**summary, "plan": args.plan, "written": [str(p) for p in written]})
        return EXIT_OK
    counts = {lv: sum(1 for s in rv.status.values() if s == lv) for lv in ("red", "amber")}
    print(t("cli_review_counts", args.lang, label=rv.label, red=counts["red"],
            amber=counts["amber"], green=len(rv.regions) - counts["red"] - counts["amber"]))
    for a in rv.alarms:
        print(f"  [{a.level}] {a.text(args.lang)}")
    for p in written:
        print(t("cli_wrote", args.lang, path=p))
    return EXIT_OK


# --------------------------------------------------------------------------- re-plan

def _replan_lines(rp: Any, lang: str) -> list[str]:
    """The re-plan in words: per pool, optimal with its year and spending, or the diagnosis."""
    from optimizer import Status
    from optimizer.words import pool_label

    lines = [n(lang) for n in rp.result.notes]
    for name, pool in rp.result.pools.items():
        label = pool_label(name, lang)
        done = rp.to_date[name].sum()
        if pool.status == Status.OPTIMAL:
            lines.append(t("cli_replan_in_place" if pool.integer else "cli_replan_spent", lang,
                           pool=label, total=pool.total, done=done, after=rp.label))
            lines += [f"  - {b.text(lang)}" for b in pool.binding]
        elif pool.diagnosis is not None:
            lines.append(t("cli_pool_infeasible", lang, pool=label,
                           diagnosis=pool.diagnosis.text(lang)))
    return lines


def _diff_rows(rp: Any) -> list[dict[str, Any]]:
    from optimizer.cycle.replan import diff_table

    def num(v: float) -> float | None:
        return None if v != v else round(float(v), 6) + 0.0

    return [{"region": r.region, "pool": r.pool, "of_record": num(r.of_record),
             "replan": num(r.replan), "change": num(r.change), "change_pct": num(r.change_pct),
             "to_date": num(r.to_date), "remaining": num(r.remaining)}
            for r in diff_table(rp).itertuples(index=False)]


def _write_replan(rp: Any, out: Path, inputs: dict[str, Any], lang: str,
                  of_record: str | None = None) -> list[Path]:
    from optimizer import Status, write_outputs
    from optimizer.cycle.replan import diff_csv_bytes, replan_columns, replan_summary

    ok = rp.result.status == Status.OPTIMAL
    extra = replan_summary(rp) | ({"of_record": of_record} if of_record else {})
    return write_outputs(rp.result, out, inputs, lang,
                         extra=replan_columns(rp) if ok else None,
                         summary_extra={"replan": extra},
                         more_files=[("diff.csv", diff_csv_bytes(rp))] if ok else (),
                         outputs=REPLAN_FILES)


def _cmd_replan(args: argparse.Namespace) -> int:
    from optimizer import Status

    if _store_form(args):
        return _replan_store(args)
    from optimizer.cycle.replan import replan

    _need_out(args)
    year, q = _quarter("--after", args.after)
    prepare_out_dir(args.out, REPLAN_FILES)
    regions, scenario, kinds, record, actuals = _file_inputs(args, year)
    rp = replan(regions, scenario, record, actuals, q, str(args.regions),
                explain=not args.no_explain)
    inputs = {"regions": args.regions, "plan_of_record": args.record, "actuals": args.actuals}
    if args.scenario is not None:
        inputs["scenario"] = args.scenario
    written = _write_replan(rp, args.out, inputs, args.lang)
    for line in _replan_lines(rp, args.lang):
        print(line)
    for p in written:
        print(t("cli_wrote", args.lang, path=p))
    return EXIT_OK if rp.result.status == Status.OPTIMAL else EXIT_INFEASIBLE


def _replan_store(args: argparse.Namespace) -> int:
    from optimizer.cli.sweeps import _print_columns
    from optimizer.store.cycle import replan_plan

    lang, js = args.lang, getattr(args, "json", False)
    store, actor = _open(args)
    scenario = _scenario_override(args)
    if args.out is not None:
        prepare_out_dir(args.out, REPLAN_FILES)
    outcome = replan_plan(store, actor, args.plan, args.after, scenario,
                          explain=not args.no_explain)
    rp, saved = outcome.replan, outcome.saved
    written = []
    if args.out is not None:
        inputs = {"scenario": args.scenario} if args.scenario is not None else {}
        written = _write_replan(rp, args.out, inputs, lang, outcome.of_record)
    lines = _replan_lines(rp, lang)
    if js:
        for line in lines:
            print(line, file=sys.stderr)
        _json({"status": "draft" if saved else "infeasible",
               "id": saved.plan_id if saved else None,
               "version": saved.number if saved else None,
               "of_record": outcome.of_record, "after": rp.label,
               "pools": {p: {"status": r.status.value, "total": r.total,
                             "to_date": float(rp.to_date[p].sum()),
                             "diagnosis": r.diagnosis.text(lang) if r.diagnosis else None}
                         for p, r in rp.result.pools.items()},
               "diff": _diff_rows(rp) if saved else [],
               "written": [str(p) for p in written]})
        return EXIT_OK if saved else EXIT_INFEASIBLE
    for line in lines:
        print(line)
    if saved is None:
        print(t("cli_replan_nothing_saved", lang))
    else:
        rows = [["region", "pool", "of record", "re-plan", "change", "to date", "remaining"]]
        for r in _diff_rows(rp):
            pool = rp.result.pools.get(r["pool"])
            whole = pool.integer if pool is not None else r["pool"] == "headcount"
            rows.append([r["region"], r["pool"], *[f"{r[k]:,.0f}" if whole
                                                   else f"{r[k]:,.2f}" for k in
                                                   ("of_record", "replan", "change", "to_date",
                                                    "remaining")]])
        _print_columns(rows)
        print(t("cli_replan_saved", lang, id=saved.plan_id, version=saved.number,
                record=outcome.of_record, after=rp.label))
    for p in written:
        print(t("cli_wrote", lang, path=p))
    return EXIT_OK if saved else EXIT_INFEASIBLE
