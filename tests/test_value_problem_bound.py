"""The value-problem bookkeeping stays bounded however many distinct bad values a sync meets."""

from __future__ import annotations

from xurrent_async.resources import Issue
from xurrent_async.value_problems import MAX_DISTINCT_PROBLEMS, ValueProblemLog


def test_distinct_problems_beyond_the_bound_are_counted_on_one_line_per_table_and_kept_nowhere_else():
    problems = ValueProblemLog()
    extra = 5_000
    for i in range(MAX_DISTINCT_PROBLEMS + extra):  # a new unparseable timestamp in every record
        problems.add(Issue("projects", "completed_at", "is an unparseable timestamp", f"'day {i}'", i))
    problems.add(Issue("projects", "completed_at", "is an unparseable timestamp", "'day 0'", 1))  # a known one
    assert len(problems.counts) == MAX_DISTINCT_PROBLEMS
    assert problems.total("projects") == MAX_DISTINCT_PROBLEMS + extra + 1
    summary = problems.summary()
    assert summary[0].startswith("projects: completed_at is an unparseable timestamp 'day 0': 2 record(s)")
    assert summary[-1] == (f"projects: {extra:,} more value problem(s) of kinds beyond the first "
                           f"{MAX_DISTINCT_PROBLEMS:,} distinct ones, counted only")
    assert len(summary) == MAX_DISTINCT_PROBLEMS + 1
