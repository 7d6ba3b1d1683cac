"""The bench's results: a row of the table, the bound its ratio is judged against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A pass/fail bound on a row's ratio."""

    op: str  # ">=" or "<="
    value: float

    def met(self, ratio: float) -> bool:
        return ratio >= self.value if self.op == ">=" else ratio <= self.value

    def __str__(self) -> str:
        return f"{'≥' if self.op == '>=' else '≤'} {self.value:g}"


@dataclass
class Row:
    """One line of the table: one measured side of a scenario. The row that carries the comparison
    has `ratio`, `target` and `passed`; the reference side of the comparison has none."""

    scenario: str
    side: str
    records: int
    requests: int | None
    seconds: float
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    quick_miss: bool = False  # missed a full-size target at quick sizes: not a failure, said as such

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def judged(row: Row, ratio: float, target: Target, *, also: bool = True) -> Row:
    """Fill in a row's ratio and verdict (`also`: a further condition, e.g. zero 429s)."""
    row.ratio = ratio
    row.target = str(target)
    row.passed = target.met(ratio) and also
    return row


class BenchError(RuntimeError):
    """A run that did not complete (a worker failed, or a result is inconsistent)."""
