"""One wording system: the CLI and the report lines never branch on the language; every
catalogue key they name exists in both languages, and every CLI key is used."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from optimizer.words import MESSAGES, Text, has, t

PACKAGE = Path(__file__).resolve().parents[1] / "optimizer"
# every module but the two that hold the language choice itself: words.py (`choose`,
# `Text`, the catalogue) and fmt.py (units and digits differ by language)
LANGUAGE_HOME = {"words.py", "fmt.py"}
SCANNED = sorted(p for p in PACKAGE.rglob("*.py")
                 if p.relative_to(PACKAGE).as_posix() not in LANGUAGE_HOME
                 and "migrations" not in p.parts)


def _zh(node: ast.AST) -> bool:
    """Whether `node` is the constant "zh", or a tuple/list/set holding it."""
    if isinstance(node, ast.Constant):
        return node.value == "zh"
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_zh(e) for e in node.elts)
    return False


def language_branches(source: str) -> list[int]:
    """Lines of `source` that compare something with "zh" (`lang == "zh"`, `"zh" != lang`,
    `lang in ("zh", ...)`): a sentence chosen by language instead of taken from words.py."""
    return sorted(node.lineno for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Compare)
                  and any(_zh(side) for side in (node.left, *node.comparators)))


def _cli_keys(source: str) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value.startswith("cli_") and node.value.isidentifier()}


def test_the_scan_finds_a_branch():
    src = ('a = "x" if lang == "zh" else "y"\nzh = args.lang == "zh"\nb = "zh" != lang\n'
           'c = lang in ("zh", "zh_CN")\nd = lang == "en"\nchoices = ("en", "zh")\n')
    assert language_branches(src) == [1, 2, 3, 4]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_language_branch(path):
    lines = language_branches(path.read_text(encoding="utf-8"))
    assert lines == [], f"{path.relative_to(PACKAGE)}: branches on the language at lines {lines}"


def test_the_cli_is_scanned():
    names = {p.relative_to(PACKAGE).as_posix() for p in SCANNED}
    assert {"cli/main.py", "cli/cycle.py", "cli/sweeps.py", "cli/store.py",
            "report/path.py"} <= names


def test_cli_keys_used_exist_and_every_cli_key_is_used():
    used: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name != "words.py":
            used |= _cli_keys(path.read_text(encoding="utf-8"))
    assert used, "no cli_ keys found in the code"
    assert sorted(k for k in used if not has(k)) == []
    for lang in MESSAGES:
        assert sorted(k for k in used if k not in MESSAGES[lang]) == [], lang
    catalogue = {k for k in MESSAGES["en"] if k.startswith("cli_")}
    assert sorted(catalogue - used) == [], "cli_ keys no code uses"


@pytest.mark.parametrize(("key", "fmt", "en", "zh"), [
    ("cli_wrote", {"path": Path("out") / "a.csv"}, "wrote out/a.csv", "已写入 out/a.csv"),
    ("cli_inputs_valid", {"n": 12345, "hp": 1234},
     "inputs are valid: 12,345 regions, 1,234 high-potential.",
     "输入有效：12345 个区域，其中高潜力区域 1234 个。"),
    ("cli_sens_draws", {"draws": 2000, "infeasible": 3, "seconds": 12.34},
     "2,000 draws, 3 infeasible, 12.3 s", "2000 次抽样，3 次不可行，用时 12.3 秒"),
    ("cli_pool_optimal", {"pool": "X", "share": 0.61234, "required": 0.6},
     "X: optimal. High-potential share 61.2% (rule ≥ 60%)",
     "X：最优。高潜力区域份额 61.2%（规则 ≥ 60%）"),
    ("cli_replan_spent", {"pool": "B", "total": 1234567.4, "done": 500000, "after": "2025Q2"},
     "B: optimal, full year 1,234,567 (500,000 spent by 2025Q2)",
     "B：最优，全年 1,234,567（截至 2025Q2 已支出 500,000）"),
])
def test_cli_sentences_keep_their_figures(key, fmt, en, zh):
    assert t(key, "en", **fmt) == en
    assert t(key, "zh", **fmt) == zh


def test_pool_lines_capitalise_the_english_head_only():
    from optimizer.cli.main import _pool_lines
    from optimizer.model.result import PoolResult, Status

    class _Diagnosis:
        def text(self, lang: str) -> str:
            return Text("too little", "太少")(lang)

    pool = PoolResult(pool="csm", status=Status.INFEASIBLE, total=1.0, integer=True,
                      current=None, lo=None, hi=None, target=None,
                      label=Text("customer success", "客户成功"), diagnosis=_Diagnosis())
    assert _pool_lines(pool, "en") == ["Customer success: infeasible — too little"]
    assert _pool_lines(pool, "zh") == ["客户成功：不可行 —— 太少"]
