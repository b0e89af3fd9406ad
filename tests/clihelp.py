"""Running the command line through its front door, for the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str | Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m optimizer ARGS` from the repository root, output captured."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("OPTIMIZER_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "optimizer", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=full_env)


def strict_json(path: Path) -> dict:
    """Load a JSON file, failing on NaN / Infinity (the outputs must be strict JSON)."""
    def no_constants(name: str):
        raise AssertionError(f"non-strict JSON constant {name} in {path}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
