"""Errors the user sees, each naming where the problem is."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what was found, what is expected."""

    file: str
    message: str
    row: int | None = None  # as a spreadsheet shows it: header = row 1
    column: str | None = None

    def render(self, lang: str = "en") -> str:
        """The problem as the user reads it, in `lang` ("en" or "zh")."""
        return str(self)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class InputError(Exception):
    """Invalid input: carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class SolverError(Exception):
    """The LP solver failed or did not prove optimality."""


class VerificationError(Exception):
    """An allocation broke a rule it must meet: a bug, never shown as a result."""


def suggest(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close known name exists, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
