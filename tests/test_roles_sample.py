"""The roles sample (issue 10, item 6): inputs/roles_2024.toml on inputs/regions.csv.

The sample runs through the CLI; every expected figure is computed here from the two files
(tomllib, the csv module) and tests/reference.py, never by the engine:

- every pool meets its total (whole people; the fund to the cent) and its high-potential
  share, and the people cost is count × unit cost per region and in total (38.35 m);
- exactly one director per war zone; the expansion fund only in 西南 and 西北;
- each role without a group rule is the reference's optimum (its own weights: the customer
  success managers follow customer value) rounded by docs/model.md's rule, exactly;
  the fund is the reference's optimum over the two eligible regions within 0.1 %.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.clihelp import cli, strict_json
from tests.reference import DIMS, ref_optimum, ref_scores, ref_whole_people

ROOT = Path(__file__).resolve().parents[1]
REGIONS = ROOT / "inputs" / "regions.csv"
SAMPLE = ROOT / "inputs" / "roles_2024.toml"
ROLES = ("director", "solution_expert", "digital_sales", "csm", "sales_ops", "trainer")
# the source plan's roles: count and pay range (PLAN_FACTS, "People to place"), in CNY
SOURCE = {"director": (4, 0.8e6, 1.2e6), "solution_expert": (12, 0.6e6, 0.9e6),
          "digital_sales": (20, 0.4e6, 0.6e6), "csm": (15, 0.5e6, 0.7e6),
          "sales_ops": (8, 0.35e6, 0.55e6), "trainer": (5, 0.45e6, 0.65e6)}
TRUE = {"true", "1", "yes", "y", "是"}


def spec() -> dict:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def regions() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(REGIONS.read_bytes().decode("utf-8-sig"))))


def pool_specs() -> dict[str, dict]:
    return {p["name"]: p for p in spec()["pools"]}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path, list[dict[str, str]]]:
    out = tmp_path_factory.mktemp("roles") / "out_roles"
    proc = cli("run", "--regions", REGIONS, "--scenario", SAMPLE, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = list(csv.DictReader(io.StringIO(
        (out / "allocation.csv").read_bytes().decode("utf-8-sig"))))
    return proc, out, rows


# --------------------------------------------------------------------------- the file

def test_the_sample_states_the_source_plans_figures():
    s = spec()
    pools = pool_specs()
    # 206 people in all: the existing sales force beside the 64 people of the six roles
    assert sum(pools[r]["total"] for r in ROLES) == 64
    assert s["totals"]["headcount"] + 64 == 206
    # 100 m of money: the regular budget beside the fund's 2024 tranche (30 m / 3 years)
    assert pools["expansion_fund"]["total"] == 30_000_000 / 3
    assert s["totals"]["budget"] + pools["expansion_fund"]["total"] == 100_000_000
    for role, (count, lo, hi) in SOURCE.items():
        p = pools[role]
        assert p["kind"] == "headcount" and p["total"] == count
        assert p["unit_cost"] == (lo + hi) / 2  # the pay range's mid-point
        assert any("\u4e00" <= ch <= "\u9fff" for ch in p["label"])  # a Chinese label
    assert pools["expansion_fund"]["kind"] == "budget"
    assert pools["expansion_fund"]["eligible"] == ["西南", "西北"]
    # the same weights and high-potential rule as the one-pool sample
    one = tomllib.loads((ROOT / "inputs" / "scenario.toml").read_text(encoding="utf-8"))
    assert s["weights"] == one["weights"] and s["high_potential"] == one["high_potential"]
    csm = pools["csm"]["weights"]
    assert max(csm, key=csm.get) == "customer_value"


# --------------------------------------------------------------------------- the run

def test_every_pool_meets_its_total_and_its_share(run):
    _, _, rows = run
    s, pools = spec(), pool_specs()
    hp = [r["high_potential"].strip().casefold() in TRUE for r in regions()]
    totals = {"headcount": s["totals"]["headcount"], "budget": s["totals"]["budget"],
              **{n: p["total"] for n, p in pools.items()}}
    for name, total in totals.items():
        whole = name == "headcount" or pools.get(name, {}).get("kind") == "headcount"
        if whole:
            vals = [int(r[name]) for r in rows]
            assert [float(r[name]) for r in rows] == vals, name  # whole people
            assert sum(vals) == total, name
        else:
            vals = [round(float(r[name]) * 100) for r in rows]  # cents
            assert sum(vals) == round(total * 100), name
            total *= 100
        share = pools.get(name, {}).get("hp_share", s["high_potential"]["share"])
        need = math.ceil(share * total - 1e-9) if whole else share * total
        assert sum(v for v, h in zip(vals, hp, strict=True) if h) >= need - 1e-6, name
        assert all(v >= 0 for v in vals), name


def test_exactly_one_director_per_war_zone(run):
    _, _, rows = run
    zone = {r["region"]: r["war_zone"] for r in regions()}
    per_zone: dict[str, int] = {}
    for r in rows:
        per_zone[zone[r["region"]]] = per_zone.get(zone[r["region"]], 0) + int(r["director"])
    assert per_zone == {z: 1 for z in set(zone.values())}
    assert len(per_zone) == 4


def test_the_expansion_fund_goes_only_to_the_south_west_and_the_north_west(run):
    _, _, rows = run
    fund = {r["region"]: float(r["expansion_fund"]) for r in rows}
    assert {r for r, v in fund.items() if v != 0} == {"西南", "西北"}
    assert round(sum(fund.values()) * 100) == 10_000_000 * 100


def test_people_cost_is_count_times_unit_cost(run):
    _, out, rows = run
    pools = pool_specs()
    summary = strict_json(out / "summary.json")
    expected_total = 0.0
    for role in ROLES:
        unit = pools[role]["unit_cost"]
        for r in rows:
            assert float(r[f"{role}_cost"]) == pytest.approx(int(r[role]) * unit, abs=0.005)
        cost = pools[role]["total"] * unit  # every person of the role is placed
        assert summary["pools"][role]["cost"] == pytest.approx(cost, abs=0.01)
        expected_total += cost
    assert expected_total == pytest.approx(38_350_000)
    assert summary["people_cost_total"] == pytest.approx(expected_total, abs=0.01)
    # money pools and the built-ins have no unit cost, so no cost column
    for name in ("headcount", "budget", "expansion_fund"):
        assert f"{name}_cost" not in rows[0]


def test_the_columns_of_every_added_pool_follow_the_built_ins(run):
    _, _, rows = run
    cols = list(rows[0])
    assert cols.index("current_budget") < cols.index("current_director")
    at = cols.index("current_director")
    for name, p in pool_specs().items():
        own = [f"current_{name}", name, f"{name}_change", f"{name}_change_pct",
               f"{name}_target"] + ([f"{name}_cost"] if "unit_cost" in p else [])
        assert cols[at:at + len(own)] == own, name
        at += len(own)
    # nobody is in the new roles yet: current 0 everywhere
    for r in rows:
        assert all(float(r[f"current_{name}"]) == 0 for name in pool_specs())


def _weights(own: dict[str, float] | None) -> dict[str, float]:
    w = dict(spec()["weights"])
    w.update(own or {})
    return {d: w[d] for d in DIMS}


def _S(own: dict[str, float] | None) -> list[float]:
    table = regions()
    cols = {k: [float(r[k]) for r in table] for k in (
        "market_size", "growth_rate", "competition_intensity", "customer_ltv",
        "repurchase_rate", "referral_score", "team_capability", "resource_reserve",
        "collaboration_efficiency")}
    rows = ref_scores(cols, weights=_weights(own), floor=spec()["scoring"]["floor"])
    return [float(r["weight"]) for r in rows]  # type: ignore[arg-type]


@pytest.mark.parametrize("role", [r for r in ROLES if r != "director"])
def test_each_role_is_the_reference_optimum_rounded(run, role):
    _, _, rows = run
    p = pool_specs()[role]
    hp = [r["high_potential"].strip().casefold() in TRUE for r in regions()]
    S = _S(p.get("weights"))
    n = len(S)
    rho = p.get("hp_share", spec()["high_potential"]["share"])
    x = ref_optimum(S, [0.0] * n, [math.inf] * n, hp, p["total"], rho, True)
    want = ref_whole_people(x, p["total"], S, hp, rho)
    assert [int(r[role]) for r in rows] == want, (role, x)


def test_customer_success_managers_follow_customer_value(run):
    # the same plan with the scenario's weights would place them differently: the pool's
    # own weights are used
    _, _, rows = run
    p = pool_specs()["csm"]
    S_own, S_default = _S(p["weights"]), _S(None)
    assert S_own != S_default
    hp = [r["high_potential"].strip().casefold() in TRUE for r in regions()]
    rho = spec()["high_potential"]["share"]
    x_own = ref_optimum(S_own, [0.0] * 7, [math.inf] * 7, hp, 15, rho, True)
    x_default = ref_optimum(S_default, [0.0] * 7, [math.inf] * 7, hp, 15, rho, True)
    got = [float(r["csm"]) for r in rows]
    # whole people within one of the own-weights optimum, and the continuous optima differ
    assert all(abs(g - x) < 1 for g, x in zip(got, x_own, strict=True))
    assert max(abs(a - b) for a, b in zip(x_own, x_default, strict=True)) > 0.05


def test_the_fund_is_the_reference_optimum_over_its_two_regions(run):
    _, _, rows = run
    table = regions()
    eligible = [r["region"] in ("西南", "西北") for r in table]
    S = [s for s, e in zip(_S(None), eligible, strict=True) if e]
    x = ref_optimum(S, [0.0, 0.0], [math.inf, math.inf], [True, True], 10_000_000.0, 0.6, False)
    got = [float(r["expansion_fund"]) for r, e in zip(rows, eligible, strict=True) if e]
    for g, want in zip(got, x, strict=True):
        assert abs(g - want) <= 1e-3 * want, (got, x)


def test_the_sample_runs_in_chinese_and_names_the_roles(tmp_path):
    proc = cli("run", "--regions", REGIONS, "--scenario", SAMPLE, "--out", tmp_path / "zh",
               "--lang", "zh")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for p in pool_specs().values():
        assert p["label"] in proc.stdout, p["label"]
