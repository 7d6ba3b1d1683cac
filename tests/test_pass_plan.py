"""Where each stream's pass starts, and why, on plain numbers: the periodic full re-read of every
table, staggered so that one sync never re-reads two tables in full, and the history bound that the
first sync fixes and later full passes never narrow."""

from __future__ import annotations

import pytest

from xurrent_async.pass_plan import BEGINNING, DAY, plan_passes
from xurrent_async.resources import RESOURCES
from xurrent_async.settings import Settings, parse_settings
from xurrent_async.state import Pass, StreamState, SyncState, from_iso, to_iso

NOW = from_iso("2026-06-01T12:00:00Z")
TABLES = tuple(r.table for r in RESOURCES)  # organizations, products, projects


def settings(**extra: str) -> Settings:
    return parse_settings({"oauth_token": "t", "account_id": "a", **extra})[0]


def synced(days_since_full_read: float | None = 1.0, history_from: int | None = BEGINNING) -> StreamState:
    """A stream whose last sync ended an hour ago, its last full pass `days_since_full_read` ago."""
    full_read = None if days_since_full_read is None else int(NOW - days_since_full_read * DAY)
    return StreamState(cursor=NOW - 3600, full_read=full_read, history_from=history_from)


def state_of(**streams: StreamState) -> SyncState:
    return SyncState(dict(streams))


def full_tables(plan) -> list[str]:
    return [table for table, start in plan.items() if start.full]


# -- the periodic full re-read, staggered ------------------------------------------------------------
def test_a_sync_with_nothing_due_reads_only_the_changes_of_every_table():
    plan = plan_passes(settings(), state_of(**{t: synced(1.0) for t in TABLES}), RESOURCES, NOW)
    assert full_tables(plan) == []
    assert {start.lower for start in plan.values()} == {NOW - 3600 - 5 * 60}  # the cursor minus the lookback
    assert all(start.why.startswith("changes since") and "due" not in start.why for start in plan.values())


def test_one_sync_re_reads_at_most_one_table_in_full_when_all_three_fall_due():
    plan = plan_passes(settings(), state_of(**{t: synced(8.0) for t in TABLES}), RESOURCES, NOW)
    assert full_tables(plan) == ["organizations"]  # equally overdue: in the order of the tables
    for table in ("products", "projects"):
        assert not plan[table].full and plan[table].lower == NOW - 3600 - 5 * 60
        assert "is due and waits for a later sync (organizations read in full in this one" in plan[table].why


def test_the_table_longest_overdue_is_re_read_first():
    state = state_of(organizations=synced(8.0), products=synced(9.0), projects=synced(30.0))
    assert full_tables(plan_passes(settings(), state, RESOURCES, NOW)) == ["projects"]
    state.streams["projects"].full_read = None  # never re-read: the longest overdue of all
    state.streams["products"].full_read = int(NOW - 400 * DAY)
    assert full_tables(plan_passes(settings(), state, RESOURCES, NOW)) == ["projects"]


def test_three_tables_due_together_are_re_read_one_per_sync_over_three_syncs():
    state = state_of(**{t: synced(8.0) for t in TABLES})
    now, order = NOW, []
    for _ in range(4):
        plan = plan_passes(settings(), state, RESOURCES, now)
        assert len(full_tables(plan)) <= 1
        for table in full_tables(plan):  # the pass ends: its full_read moves to the sync's time
            state.streams[table].full_read = int(now)
            order.append(table)
        now += 6 * 3600  # the next sync, six hours later
    assert order == ["organizations", "products", "projects"]


@pytest.mark.parametrize("busy", ["a resumed full pass", "a first sync"])
def test_no_re_read_starts_while_another_table_is_read_in_full(busy):
    state = state_of(**{t: synced(8.0) for t in TABLES})
    if busy == "a first sync":
        state.streams["organizations"] = StreamState()
    else:
        state.streams["organizations"].open_pass = Pass(NOW - 40 * DAY, NOW - 60, full=True)
    plan = plan_passes(settings(), state, RESOURCES, NOW)
    assert full_tables(plan) == (["organizations"] if busy == "a first sync" else [])
    assert "organizations" in plan or busy == "a resumed full pass"  # a resumed pass is not planned again
    for table in ("products", "projects"):
        assert not plan[table].full and "waits for a later sync (organizations read in full" in plan[table].why


def test_the_full_re_read_says_why_it_is_full():
    plan = plan_passes(settings(), state_of(products=synced(8.0)), RESOURCES[1:2], NOW)
    assert plan["products"].why.startswith(f"a full re-read (every 7 day(s), last on {to_iso(int(NOW - 8 * DAY))}): "
                                           "names copied from referenced records (`<reference>_name`, …) are refreshed")
    plan = plan_passes(settings(), state_of(projects=synced(8.0)), RESOURCES[2:], NOW)
    assert "and restored projects whose updated_at did not change come back" in plan["projects"].why


def test_full_resync_days_0_never_re_reads_a_table_with_a_cursor():
    state = state_of(**{t: synced(None, history_from=BEGINNING) for t in TABLES})
    assert full_tables(plan_passes(settings(full_resync_days="0"), state, RESOURCES, NOW)) == []


def test_incremental_sync_off_reads_every_table_in_full_at_every_sync():
    plan = plan_passes(settings(enable_incremental_sync="false"), state_of(**{t: synced(1.0) for t in TABLES}),
                       RESOURCES, NOW)
    assert full_tables(plan) == list(TABLES)
    assert all(start.why.startswith("incremental sync is off") for start in plan.values())


# -- the history bound -------------------------------------------------------------------------------
def test_the_first_sync_reads_initial_sync_days_with_a_day_to_spare_and_records_that_bound():
    start = plan_passes(settings(initial_sync_days="30"), SyncState(), RESOURCES, NOW)["products"]
    assert start.full and start.lower == NOW - 31 * DAY and start.history == NOW - 31 * DAY
    assert start.why == (f"first sync; from {to_iso(NOW - 31 * DAY)}, the last 30 day(s) (initial_sync_days, with a "
                         "day to spare): the table's history from now on")


def test_a_first_sync_without_initial_sync_days_reads_from_the_oldest_record_and_records_it():
    start = plan_passes(settings(), SyncState(), RESOURCES, NOW)["products"]
    assert start.full and start.lower is None and start.history == BEGINNING
    assert "from the oldest record (initial_sync_days is not set)" in start.why


def test_a_full_re_read_after_the_window_has_moved_on_still_starts_where_the_history_began():
    """With initial_sync_days=30 a record read at the first sync is older than the window 40 days
    later: the re-read still covers it (a restored project comes back, its copied names refresh)."""
    first = NOW - 40 * DAY - 31 * DAY
    state = state_of(projects=synced(8.0, history_from=first))
    start = plan_passes(settings(initial_sync_days="30"), state, RESOURCES[2:], NOW)["projects"]
    assert start.full and start.lower == first and start.history == first
    assert (f"from {to_iso(first)}, where the table's history begins (never narrowed; initial_sync_days=30 alone "
            f"would start at {to_iso(NOW - 31 * DAY)}, later)") in start.why


def test_a_smaller_initial_sync_days_set_later_never_narrows_the_history():
    first = NOW - 91 * DAY
    state = state_of(products=synced(8.0, history_from=first))
    assert plan_passes(settings(initial_sync_days="7"), state, RESOURCES[1:2], NOW)["products"].lower == first


@pytest.mark.parametrize("days", ["90", ""], ids=["a larger initial_sync_days", "initial_sync_days unset"])
def test_a_wider_initial_sync_days_set_later_re_reads_the_table_at_once_from_the_wider_bound(days):
    state = state_of(products=synced(1.0, history_from=NOW - 31 * DAY))  # re-read yesterday: not due by time
    start = plan_passes(settings(initial_sync_days=days), state, RESOURCES[1:2], NOW)["products"]
    wider = NOW - 91 * DAY if days else None
    assert start.full and start.lower == wider and start.history == (wider or BEGINNING)
    assert start.why.startswith("a full re-read: the table's history widens; from ")
    assert "reaches back before the table's history, which widens" in start.why


def test_a_window_a_few_minutes_before_the_history_is_clock_skew_and_re_reads_nothing():
    """The next sync's machine may run a few minutes behind the first's: not a wider window."""
    state = state_of(products=synced(1.0, history_from=NOW - 31 * DAY + 600))
    start = plan_passes(settings(initial_sync_days="30"), state, RESOURCES[1:2], NOW)["products"]
    assert not start.full


def test_a_widened_history_goes_before_a_table_that_is_only_overdue():
    state = state_of(organizations=synced(None), products=synced(1.0, history_from=NOW - 31 * DAY))
    assert full_tables(plan_passes(settings(initial_sync_days="90"), state, RESOURCES[:2], NOW)) == ["products"]


def test_a_state_of_an_earlier_version_without_a_bound_re_reads_from_the_oldest_record():
    """The bound of its first sync is unknown, and only the oldest record is sure to be before it."""
    state = state_of(projects=synced(8.0, history_from=None))
    start = plan_passes(settings(initial_sync_days="30"), state, RESOURCES[2:], NOW)["projects"]
    assert start.full and start.lower is None and start.history == BEGINNING
    assert "from the oldest record: the state does not say where this table's history begins" in start.why
    # It is not a widening either: nothing is due before full_resync_days says so.
    state.streams["projects"].full_read = int(NOW - DAY)
    assert full_tables(plan_passes(settings(initial_sync_days="30"), state, RESOURCES[2:], NOW)) == []


def test_the_state_keeps_the_earliest_history_bound_and_writes_it_for_a_person_to_read():
    state = SyncState()
    state.start_pass("products", NOW - 31 * DAY, NOW, full=True, history=NOW - 31 * DAY)
    state.start_pass("products", NOW - 5 * DAY, NOW, full=True, history=NOW - 5 * DAY)  # never narrows
    assert state.stream("products").history_from == NOW - 31 * DAY
    state.start_pass("products", NOW - 3600, NOW)  # a pass of changes records no bound
    written = state.to_json()["streams"]["products"]
    assert written["history_from"] == to_iso(NOW - 31 * DAY)
    again = SyncState.from_json(state.to_json(), TABLES)
    assert again.stream("products").history_from == NOW - 31 * DAY
    assert again.stream("organizations").history_from is None
