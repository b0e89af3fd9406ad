"""Command line for the quarterly cycle: `optimizer review` and `optimizer replan`.

File form (no store): the regions table, the scenario, a plan of record (any table with
region and one column per pool, e.g. an allocation.csv of `run`) and the actuals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from optimizer.cli_common import EXIT_INFEASIBLE, EXIT_OK, load_inputs, option_problem
from optimizer.errors import InputError
from optimizer.outdir import prepare_out_dir, write_files

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


def register(sub: argparse._SubParsersAction) -> None:
    """Add `review` and `replan` to the command line."""
    rv = sub.add_parser(
        "review", help="review a quarter against the plan of record: review.csv, "
        "review.xlsx, review.json", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Per region and pool: plan for the year, plan to date, actual to date, "
                    "variance and %% used; revenue per person and per 万 spent; the alarms "
                    "(red / amber / green, with the reason).",
        epilog="example:\n  optimizer review --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --plan-of-record out/allocation.csv --actuals "
               "inputs/actuals_2025_q1_q2.csv --quarter 2025Q2 --out review\n\nexit status: "
               "0 reviewed (alarms are in the outputs); 2 invalid input.\n")
    _common(rv)
    rv.add_argument("--quarter", required=True, metavar="Q",
                    help="the quarter reviewed: 2025Q2, 2025-Q2 or 2025年第2季度")
    rv.add_argument("--out", required=True, metavar="DIR", type=Path,
                    help="output folder (created if missing)")
    rv.set_defaults(func=_cmd_review)

    rp = sub.add_parser(
        "replan", help="re-plan the full year from the actuals: allocation.*, summary.json, "
        "diff.csv", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Solve the year again with what is spent or in place as a floor and the "
                    "change limits measured against the plan of record. allocation.csv holds "
                    "the full-year amounts plus <pool>_of_record, <pool>_spent (or "
                    "_in_place) and <pool>_remaining; diff.csv compares with the plan of record.",
        epilog="example:\n  optimizer replan --regions inputs/regions.csv --scenario "
               "inputs/scenario.toml --plan-of-record out/allocation.csv --actuals "
               "inputs/actuals_2025_q1_q2.csv --after 2025Q2 --out replan\n\nexit status: 0 "
               "re-planned; 2 invalid input; 3 infeasible (the spending leaves no plan).\n")
    _common(rp)
    rp.add_argument("--after", required=True, metavar="Q",
                    help="the last quarter with actuals to keep: 2025Q2")
    rp.add_argument("--out", required=True, metavar="DIR", type=Path,
                    help="output folder (created if missing)")
    rp.add_argument("--no-explain", action="store_true",
                    help="skip the price of the binding rules")
    rp.set_defaults(func=_cmd_replan)


def _quarter(option: str, text: str) -> tuple[int, int]:
    from optimizer.actuals import parse_quarter

    q = parse_quarter(text)
    if q is None:
        raise InputError([option_problem(option, f"found {text!r}; expected a quarter such "
                                         "as 2025Q2, 2025-Q2 or 2025年第2季度")])
    return q


def _file_inputs(args: argparse.Namespace, year: int):  # noqa: ANN202
    """Regions, scenario, pools, plan of record and actuals of the file form."""
    from optimizer.actuals import read_actuals, read_record
    from optimizer.plan import resolve
    from optimizer.pools import build_pools
    from optimizer.scoring import high_potential, score

    missing = [o for o, v in (("--regions", args.regions), ("--plan-of-record", args.record),
                              ("--actuals", args.actuals)) if v is None]
    if missing:
        raise InputError([option_problem(o, "required: the file form reads the regions table, "
                                         "the plan of record and the actuals") for o in missing])
    regions, scenario = load_inputs(args)
    resolved = resolve(regions, scenario)
    scores, _ = score(regions, resolved)
    hp = high_potential(regions, scores, resolved, str(args.regions))
    kinds = {n: p.integer for n, p in build_pools(regions, scores, hp, resolved).items()}
    names = regions["region"].astype(str).tolist()
    problems = []
    record = actuals = None
    extra = [t.column for t in scenario.thresholds]
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


def _say(lang: str, en: str, zh: str) -> None:
    print(zh if lang == "zh" else en)


def _cmd_review(args: argparse.Namespace) -> int:
    from optimizer.review import review, review_csv_bytes, review_summary, review_xlsx_bytes

    year, q = _quarter("--quarter", args.quarter)
    prepare_out_dir(args.out, REVIEW_FILES)
    regions, scenario, kinds, record, actuals = _file_inputs(args, year)
    rv = review(record, actuals, q, scenario)
    files = {"review.csv": review_csv_bytes(rv), "review.xlsx": review_xlsx_bytes(rv),
             "review.json": (json.dumps(review_summary(rv), ensure_ascii=False, indent=2,
                                        allow_nan=False) + "\n").encode("utf-8")}
    for n in rv.notes:
        print(n(args.lang))
    counts = {lv: sum(1 for s in rv.status.values() if s == lv) for lv in ("red", "amber")}
    _say(args.lang, f"Review {rv.label}: {counts['red']} red, {counts['amber']} amber, "
         f"{len(rv.regions) - counts['red'] - counts['amber']} green.",
         f"{rv.label} 复盘：红色 {counts['red']} 个，黄色 {counts['amber']} 个，绿色 "
         f"{len(rv.regions) - counts['red'] - counts['amber']} 个。")
    for a in rv.alarms:
        print(f"  [{a.level}] {a.text(args.lang)}")
    for p in write_files(args.out, list(files.items())):
        _say(args.lang, f"wrote {p}", f"已写入 {p}")
    return EXIT_OK


def _cmd_replan(args: argparse.Namespace) -> int:
    from optimizer.export import write_outputs
    from optimizer.i18n import pool_label
    from optimizer.replan import diff_csv_bytes, replan, replan_columns, replan_summary
    from optimizer.result import Status

    year, q = _quarter("--after", args.after)
    prepare_out_dir(args.out, REPLAN_FILES)
    regions, scenario, kinds, record, actuals = _file_inputs(args, year)
    rp = replan(regions, scenario, record, actuals, q, str(args.regions),
                explain=not args.no_explain)
    inputs = {"regions": args.regions, "plan_of_record": args.record, "actuals": args.actuals}
    if args.scenario is not None:
        inputs["scenario"] = args.scenario
    ok = rp.result.status == Status.OPTIMAL
    written = write_outputs(rp.result, args.out, inputs, args.lang,
                            extra=replan_columns(rp) if ok else None,
                            summary_extra={"replan": replan_summary(rp)},
                            more_files=[("diff.csv", diff_csv_bytes(rp))] if ok else (),
                            outputs=REPLAN_FILES)
    for n in rp.result.notes:
        print(n(args.lang))
    for name, pool in rp.result.pools.items():
        label = pool_label(name, args.lang)
        if pool.status == Status.OPTIMAL:
            _say(args.lang, f"{label}: optimal, full year {pool.total:,.0f} "
                 f"({rp.to_date[name].sum():,.0f} {'in place' if pool.integer else 'spent'} "
                 f"by {rp.label})", f"{label}：最优，全年 {pool.total:,.0f}（截至 {rp.label} "
                 f"{'在岗' if pool.integer else '已支出'} {rp.to_date[name].sum():,.0f}）")
            for b in pool.binding:
                print(f"  - {b.text(args.lang)}")
        elif pool.diagnosis is not None:
            _say(args.lang, f"{label}: infeasible — {pool.diagnosis.text('en')}",
                 f"{label}：不可行 —— {pool.diagnosis.text('zh')}")
    for p in written:
        _say(args.lang, f"wrote {p}", f"已写入 {p}")
    return EXIT_OK if rp.result.status == Status.OPTIMAL else EXIT_INFEASIBLE
