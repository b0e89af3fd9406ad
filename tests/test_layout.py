"""The layout of docs/architecture.md holds: data flows one way through the stages.

Every import inside the package (at the top of a module or inside a function) goes to the
module's own stage or to a stage above it; the shells use the public API.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "optimizer"
# stage → rank; a module may import from its own rank or a lower one
RANKS = {
    "errors": 0, "words": 0, "fmt": 0,
    "inputs": 1, "model": 2, "solve": 3, "explain": 4, "flow": 5, "report": 6,
    "studies": 7, "cycle": 7, "store": 8, "app": 9, "cli": 9,
}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of the package in `path`; a public-API name
    (`from optimizer import run_plan`) counts as an import of the module defining it."""
    from optimizer import _API

    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "optimizer":
                out += [(node.lineno, _API.get(a.name, f"optimizer.{a.name}"))
                        for a in node.names]
            elif node.module.startswith("optimizer."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("optimizer.")]
    return out


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if p.name not in {"__init__.py", "__main__.py"} and "migrations" not in p.parts)


def test_every_module_belongs_to_a_stage():
    stray = [str(p.relative_to(PACKAGE)) for p in _modules()
             if (p.parent.name if p.parent != PACKAGE else p.stem) not in RANKS]
    assert stray == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path):
    own = path.parent.name if path.parent != PACKAGE else path.stem
    bad = []
    for line, target in _imports(path):
        stage = _stage(target)
        if stage in {"__version__", ""} or target == "optimizer.__version__":
            continue
        assert stage in RANKS, f"{path.name}:{line} imports {target}, which is in no stage"
        if RANKS[stage] > RANKS[own]:
            bad.append(f"line {line}: {target}")
    assert bad == [], f"{path.relative_to(PACKAGE)} imports from a later stage: {bad}"


def test_the_public_api_names_load():
    import optimizer

    for name in optimizer.__all__:
        assert getattr(optimizer, name) is not None, name
    with pytest.raises(AttributeError):
        optimizer.no_such_name  # noqa: B018


def test_no_import_cycles():
    """No module reaches itself through the imports (lazy ones inside functions included)."""
    graph: dict[str, set[str]] = {}
    for path in _modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        graph[name] = {t for _, t in _imports(path)}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
            if nxt in graph and state.get(nxt) is None:
                found = visit(nxt, [*trail, nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if state.get(start) is None:
            cycle = visit(start, [start])
            assert cycle is None, " → ".join(cycle or [])


def test_the_public_api_example_runs(monkeypatch):
    """The example in optimizer/__init__'s docstring runs on the bundled sample as shown."""
    import doctest

    import optimizer

    monkeypatch.chdir(PACKAGE.parent)
    result = doctest.testmod(optimizer, verbose=False)
    assert result.attempted >= 4 and result.failed == 0


@pytest.mark.parametrize("path", sorted([*PACKAGE.glob("cli/*.py"), *PACKAGE.glob("app/*.py")]),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_shells_take_public_names_from_the_api(path: Path):
    """The CLI and the app import a public name from `optimizer`, not from its module."""
    from optimizer import _API

    deep = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "optimizer":
            deep += [f"line {node.lineno}: {a.name} from {node.module}" for a in node.names
                     if a.asname is None and _API.get(a.name) == node.module]
    assert deep == []
