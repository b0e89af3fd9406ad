"""Errors the user sees, each naming where the problem is, in English and Chinese."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from optimizer.words import choose


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what was found, what is expected.

    `message` is English; `message_zh` the same in Chinese (None: the English is shown).
    """

    file: str
    message: str
    row: int | None = None  # as a spreadsheet shows it: header = row 1
    column: str | None = None
    message_zh: str | None = field(default=None, compare=False)

    def render(self, lang: str = "en") -> str:
        """The problem as the user reads it, in `lang` ("en" or "zh")."""
        where = f"文件 {self.file}"
        if self.row is not None:
            where += f"，第 {self.row} 行"
        if self.column is not None:
            where += f"，列“{self.column}”"
        return choose(lang, str(self), f"{where}：{self.message_zh or self.message}")

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


def _closest(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def suggest(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close known name exists, else ''."""
    close = _closest(name, known)
    return f" (did you mean '{close}'?)" if close else ""


def suggest_zh(name: str, known: Iterable[str]) -> str:
    """'（是否应为“x”？）' when a close known name exists, else ''."""
    close = _closest(name, known)
    return f"（是否应为“{close}”？）" if close else ""
