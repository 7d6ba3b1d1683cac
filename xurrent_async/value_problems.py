"""Value problems of a sync, reported once per (table, field, problem, value), with a count.

A harmless repeat (one new enum value on every product, say) must never hide a real problem behind
a cap on warning lines: each distinct problem is warned about the first time it is seen, and the
end of the sync lists how often each one occurred. A value kept in a form the docs allow (a
timestamp without an offset) is one problem per field whatever its value.
"""

from __future__ import annotations

import logging
from collections import Counter

from xurrent_async.resources import Issue

log = logging.getLogger("xurrent_async.sync")
MAX_KINDS_PER_TABLE = 50  # distinct problems warned about one by one; more are only counted
# Distinct problems kept with their counts: a sync that meets a new bad value in every record (an
# unparseable timestamp in each, say) must not grow without bound. Beyond it, a table's further
# problems of new kinds are only counted, on one line of the summary.
MAX_DISTINCT_PROBLEMS = 1_000


class ValueProblemLog:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str, str]] = Counter()
        self._first: dict[tuple[str, str, str, str], Issue] = {}
        self._kinds: Counter[str] = Counter()
        self._beyond: Counter[str] = Counter()  # per table: problems of kinds past MAX_DISTINCT_PROBLEMS

    def add(self, issue: Issue) -> None:
        key = issue.key
        if key not in self._first and len(self._first) >= MAX_DISTINCT_PROBLEMS:
            self._beyond[issue.table] += 1
            return
        self.counts[key] += 1
        if key in self._first:
            return
        self._first[key] = issue
        self._kinds[issue.table] += 1
        kinds = self._kinds[issue.table]
        if kinds <= MAX_KINDS_PER_TABLE:
            log.warning("%s (kept as sent where the column can hold it, else null; the sync goes on; "
                        "repeats are counted in the summary)", issue)
        elif kinds == MAX_KINDS_PER_TABLE + 1:
            log.warning("%s: more than %d distinct value problems; the rest are counted in the summary",
                        issue.table, MAX_KINDS_PER_TABLE)

    def total(self, table: str | None = None) -> int:
        beyond = sum(n for t, n in self._beyond.items() if table is None or t == table)
        return beyond + sum(n for key, n in self.counts.items() if table is None or key[0] == table)

    def summary(self) -> list[str]:
        """One line per distinct problem, most frequent first (and one per table for those beyond
        the bound)."""
        lines = [_line(self._first[key], n) for key, n in self.counts.most_common()]
        lines += [f"{table}: {n:,} more value problem(s) of kinds beyond the first {MAX_DISTINCT_PROBLEMS:,} "
                  "distinct ones, counted only" for table, n in sorted(self._beyond.items())]
        return lines


def _line(issue: Issue, n: int) -> str:
    if issue.per_value:
        return f"{issue.table}: {issue.field} {issue.problem} {issue.value}: {n:,} record(s), e.g. id {issue.record_id}"
    return f"{issue.table}: {issue.field} {issue.problem}: {n:,} record(s), e.g. {issue.value} (id {issue.record_id})"
