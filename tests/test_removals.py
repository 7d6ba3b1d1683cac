"""Removed projects: the archive and trash feeds become soft deletes, in an order that lets the
latest word in Xurrent win, whatever the interleaving of archive, restore and the sync's reads."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes import RecordingSink
from tests.sdk_harness import differences
from xurrent_async.errors import ApiError
from xurrent_async.pass_plan import DAY, full_read_due, pass_start
from xurrent_async.removals import Claim, last_second, removed_ids, scan_entries
from xurrent_async.resources import BY_TABLE
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import COLLECTIONS, SimConfig, SimulatorThread
from xurrent_async.state import StreamState, from_iso, to_iso
from xurrent_async.sync import run_sync
from xurrent_async.tuning import Tuning

PROJECTS = BY_TABLE["projects"]
FAST = Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05)


def settings_for(sim, **extra: str):
    config = {"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
              "burst_limit": "10000", "rate_limit_per_hour": "1000000", **extra}
    return parse_settings(config)[0]


def unlimited(**kwargs: Any) -> SimConfig:
    return SimConfig(**{"burst_limit": None, "hourly_limit": None, "records": 300, **kwargs})


def at_first(collection: str, action: Callable[[], None]) -> Callable[[str, Any], None]:
    """A simulator hook that runs `action` once, just before it answers the first request for
    `collection`: a moment the test controls, not a time."""
    done: list[bool] = []

    def hook(asked: str, query: Any) -> None:
        if asked == collection and not done:
            done.append(True)
            action()

    return hook


def assert_warehouse_is_the_source(sim, sink: RecordingSink) -> None:
    for table in COLLECTIONS:
        assert differences(sim.truth(table), sink.live(table), table) == [], table
    removed = sim.removed()
    gone = removed["archive"] | removed["trash"] | removed["erased"]
    held = set(sink.rows.get("projects", {}))
    assert sink.deleted("projects") == gone & held  # every removed project that reached it, and no other


# -- pure rules --------------------------------------------------------------------------------------------
def test_feed_pages_yield_only_the_resource_type_and_the_last_readable_second():
    page = [
        {"id": 1, "created_at": "2026-01-01T00:00:00Z", "archived": "request", "request": {"id": 5}},
        {"id": 2, "created_at": "2026-01-01T00:00:01-05:00", "archived": "project", "project": {"id": 7}},
        {"id": 3, "created_at": "2026-01-02T00:00:00Z", "archived": "project", "project": {"id": "x"}},
        {"id": 4, "archived": "project"},
        {"id": 5, "archived": "Project", "Project": {"id": 8}},  # another spelling of the type
        {"id": 6, "archived": "PROJECT", "project": {"id": "9"}},  # the reference keyed in lower case, id as digits
        {"id": 7, "archived": "projects", "projects": {"id": 10}},  # not the type
        "garbage",
    ]
    assert removed_ids(page, "archive", "project") == [7, 8, 9]
    assert [e["id"] for e in scan_entries(page, "archive", "project").unnamed] == [3, 4]
    assert removed_ids(page, "trash", "project") == []  # the trash says "trashed", not "archived"
    assert last_second(page) == from_iso("2026-01-02T00:00:00Z")


def test_a_claim_held_by_an_unreadable_entry_never_passes_it():
    claim = Claim()
    assert claim.limit(100) == 100 and claim.limit(None) is None
    claim.hold(50)
    assert (claim.limit(100), claim.limit(40)) == (50, 40)
    claim.hold(60)  # a later one changes nothing
    assert claim.limit(100) == 50
    claim.hold(None)  # one whose second is unknown, before anything was claimable: nothing may be
    assert claim.limit(100) is None


# full_read: how many days ago the last full pass ended (None: never recorded)
@pytest.mark.parametrize(("days", "full_read", "due"), [
    (7, None, True), (7, 0.0, False), (7, 6.9, False), (7, 7.0, True), (7, 30.0, True), (0, None, False),
    (0, 99.0, False),
])
def test_a_full_re_read_of_projects_is_due_every_n_days(days, full_read, due):
    settings = parse_settings({"oauth_token": "t", "account_id": "a", "full_resync_days": str(days)})[0]
    now = 100 * DAY
    stream = StreamState(cursor=now - 3600, full_read=None if full_read is None else int(now - full_read * DAY))
    assert full_read_due(settings, PROJECTS, stream, now) is due
    start = pass_start(settings, PROJECTS, stream, now)
    assert start.full is due and (start.lower is None) is due
    if due:
        assert "full re-read" in start.why and "restored" in start.why
    # Organizations and products are never removed by Xurrent, but names copied into them go stale
    # all the same: the same rule re-reads them (pass_plan.py staggers the tables).
    assert full_read_due(settings, BY_TABLE["products"], stream, now) is due


# -- through run_sync, with a recording sink -------------------------------------------------------------
def test_a_first_sync_reads_both_feeds_whole_and_skips_other_record_types():
    with SimulatorThread(unlimited(other_feed_entries=15)) as sim:
        ids = sorted(sim.truth("projects"))
        sim.archive(ids[:4])
        sim.trash(ids[4:6])
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink, tuning=FAST)
        assert_warehouse_is_the_source(sim, sink)
        # Never held, so nothing to mark: a delete of an unknown key changes nothing.
        assert not set(ids[:6]) & set(sink.rows["projects"])
        assert report.streams["projects"].deletes == 6
        deletes = [op for op in sink.ops if op[0] == "delete"]
        assert sorted(keys["id"] for _, _, keys in deletes) == sorted(ids[:6])
        state = report.state["streams"]["projects"]
        assert set(state["removals"]) == {"archive", "trash"} and state["full_read"]


@pytest.mark.parametrize("touches", [True, False], ids=["restore-touches", "restore-keeps-updated_at"])
def test_every_interleaving_ends_with_xurrents_latest_word(touches):
    with SimulatorThread(unlimited(restore_touches_updated_at=touches)) as sim:
        ids = sorted(sim.truth("projects"))
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state  # every project live
        before, during, after, restored_early, restored_late, trashed = ids[:6]
        sim.touch("projects", [during, after])  # in the next incremental pass
        sim.archive([before, restored_early, restored_late])
        sim.archive([trashed])
        sim.trash([trashed])  # from the archive to the trash

        def archive_during() -> None:
            sim.archive([during])  # gone before the projects page is served: never read live

        def between_pass_and_feed() -> None:
            # The projects pages were served (the feeds are read after the pass): `after` was read
            # live and is archived now; `restored_early` comes back before the feed can list it.
            sim.archive([after])
            sim.restore([restored_early])

        hooks = [at_first("projects", archive_during), at_first("archive", between_pass_and_feed)]
        sim.before_serving = lambda collection, query: [hook(collection, query) for hook in hooks] and None
        state = run_sync(settings_for(sim), state, sink, tuning=FAST).state
        sim.before_serving = None
        sim.restore([restored_late])  # after this sync's feed read
        rows = sink.rows["projects"]
        assert rows[before]["_fivetran_deleted"] and rows[trashed]["_fivetran_deleted"]
        assert rows[during]["_fivetran_deleted"] and rows[after]["_fivetran_deleted"]
        last_ops = [op[0] for op in sink.ops if op[0] != "checkpoint" and op[2]["id"] == after][-2:]
        assert last_ops == ["upsert", "delete"]  # read live in this sync, then its delete: the later word
        assert not rows[restored_early].get("_fivetran_deleted")  # restored before the feed was read
        assert rows[restored_late]["_fivetran_deleted"]  # this sync could not know yet
        # The next sync brings the late restore back: by its new updated_at, or, when a restore keeps
        # it, by the periodic full re-read (here made due).
        if not touches:
            incremental = run_sync(settings_for(sim), state, sink, tuning=FAST).state
            assert sink.rows["projects"][restored_late]["_fivetran_deleted"]  # changes alone cannot see it
            state = {**incremental, "streams": {**incremental["streams"], "projects": {
                **incremental["streams"]["projects"], "full_read": to_iso(int(sim.clock.now()) - 8 * DAY)}}}
        final = run_sync(settings_for(sim), state, sink, tuning=FAST)
        assert_warehouse_is_the_source(sim, sink)
        assert not sink.rows["projects"][restored_late].get("_fivetran_deleted")
        if not touches:
            assert final.streams["projects"].rows == len(sim.truth("projects"))  # the full re-read


def test_erased_projects_stay_deleted_and_organizations_and_products_are_untouched():
    with SimulatorThread(unlimited()) as sim:
        ids = sorted(sim.truth("projects"))
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        sim.trash(ids[:3])
        state = run_sync(settings_for(sim), state, sink, tuning=FAST).state
        sim.erase(ids[:2])  # gone from the trash for good
        run_sync(settings_for(sim), state, sink, tuning=FAST)
        assert_warehouse_is_the_source(sim, sink)
        assert {op[1] for op in sink.ops if op[0] == "delete"} == {"projects"}
        assert sink.deleted("organizations") == sink.deleted("products") == set()


def test_an_incremental_sync_with_nothing_removed_costs_one_request_per_feed():
    with SimulatorThread(unlimited(other_feed_entries=250)) as sim:
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        sim.reset_stats()
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
        assert sim.stats.requests_by_collection == {"organizations": 1, "products": 1, "projects": 1,
                                                    "archive": 1, "trash": 1}
        assert report.deletes == 0


@pytest.mark.parametrize(("precision", "throttled_header", "total_entries"), [
    ("second", "all", "exact"), ("fractional", "all", "exact"),
    # A cap the API does not announce: seen in the count, or, with a total that stops at the cap
    # too, prevented by stopping every walk at the window's size (Tuning.window_records).
    ("second", "none", "exact"), ("second", "none", "capped")])
def test_a_feed_above_the_record_cap_is_read_whole(precision: str, throttled_header: str, total_entries: str):
    # Under fractional storage a crowded second is walked by id from its start: sorted by
    # created_at, its entries come in the order of fractions nobody sees.
    config = unlimited(records=2_000, other_feed_entries=0, record_cap=120, timestamp_precision=precision,
                       throttled_header=throttled_header, total_entries=total_entries)
    with SimulatorThread(config) as sim:
        ids = sorted(sim.truth("projects"))
        start = int(sim.clock.now()) - 10 * DAY
        for n, project in enumerate(ids[:900]):
            sim.archive([project], at=start + n // 300)  # three seconds of 300 entries: each above the cap
        sink = RecordingSink()
        run_sync(settings_for(sim), None, sink, tuning=dataclasses.replace(FAST, window_records=60))
        deleted = [keys["id"] for kind, _, keys in sink.ops if kind == "delete"]
        assert set(deleted) == set(ids[:900])
        assert_warehouse_is_the_source(sim, sink)


def test_a_token_that_may_not_read_the_feeds_warns_once_and_the_sync_goes_on(caplog):
    caplog.set_level(logging.WARNING)
    with SimulatorThread(unlimited(forbidden=("archive", "trash"))) as sim:
        sim.archive(sorted(sim.truth("projects"))[:2])
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink, tuning=FAST)
    warnings = [r.getMessage() for r in caplog.records if "may not read" in r.getMessage()]
    assert len(warnings) == 1 and "not marked deleted" in warnings[0]
    assert report.rows == 300 * 2 + 298 and "removals" not in report.state["streams"]["projects"]


def test_a_server_without_the_feeds_warns_once_and_the_sync_succeeds(caplog):
    caplog.set_level(logging.WARNING)
    with SimulatorThread(unlimited(feeds_missing=True)) as sim:
        sim.archive(sorted(sim.truth("projects"))[:2])
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink, tuning=FAST)
    warnings = [r.getMessage() for r in caplog.records if "answered 404 for /v1/" in r.getMessage()]
    assert len(warnings) == 1 and "404" in warnings[0] and "not marked deleted" in warnings[0]
    assert report.rows == 300 * 2 + 298 and "removals" not in report.state["streams"]["projects"]
    assert report.state["streams"]["projects"]["cursor"]


def test_list_entries_without_the_reference_are_read_alone_and_their_projects_deleted():
    with SimulatorThread(unlimited(feed_references="single", other_feed_entries=5)) as sim:
        ids = sorted(sim.truth("projects"))
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        sim.archive(ids[:3])
        sim.trash(ids[3:4])
        sim.reset_stats()
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
        assert_warehouse_is_the_source(sim, sink)
        # One request per feed, and one per project entry asked for alone (other types never are).
        assert sim.stats.requests_by_collection["archive"] == 1 + 3
        assert sim.stats.requests_by_collection["trash"] == 1 + 1
    assert report.deletes == 4 and sink.deleted("projects") == set(ids[:4])
    assert set(report.state["streams"]["projects"]["removals"]) == {"archive", "trash"}


def test_entries_that_name_no_project_anywhere_are_counted_warned_and_never_claimed(caplog):
    caplog.set_level(logging.WARNING)
    with SimulatorThread(unlimited(feed_references="never", other_feed_entries=0)) as sim:
        ids = sorted(sim.truth("projects"))
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        sim.clock.skew_seconds += 2  # archived after the first sync's feeds were read
        removed_at = int(sim.clock.now())
        sim.archive(ids[:3], at=removed_at)
        sim.clock.skew_seconds += 2
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
        feeds = report.state["streams"]["projects"]["removals"]
        # The archive's claim stops at the first entry it could not read; the trash had none.
        assert from_iso(feeds["archive"]) == removed_at
        assert from_iso(feeds["trash"]) > removed_at
        assert sink.deleted("projects") == set()
        warnings = [r.getMessage() for r in caplog.records if "named no usable project id" in r.getMessage()]
        assert len(warnings) == 1 and "3 entries of /v1/archive" in warnings[0]
        # The server names them again: the next sync reads the archive from there and deletes them.
        sim.config.feed_references = "always"
        run_sync(settings_for(sim), report.state, sink, tuning=FAST)
        assert_warehouse_is_the_source(sim, sink)
    assert sink.deleted("projects") == set(ids[:3])


def test_a_sync_that_fails_in_a_feed_saves_its_passes_and_the_rerun_reads_only_the_changes():
    with SimulatorThread(unlimited()) as sim:
        sim.archive(sorted(sim.truth("projects"))[:2])

        def broken_archive(collection: str, query: Any) -> None:
            if collection == "archive":
                raise RuntimeError("the archive is down")  # a 500 on every attempt

        sim.before_serving = broken_archive
        sink = RecordingSink()
        with pytest.raises(ApiError) as info:
            run_sync(settings_for(sim, retry_attempts="1"), None, sink, tuning=FAST)
        assert info.value.status == 500 and "/v1/archive" in str(info.value)
        saved = sink.checkpoints[-1]["streams"]
        assert all(saved[table]["cursor"] for table in COLLECTIONS)  # every pass is saved
        assert "removals" not in saved["projects"]
        sim.before_serving = None
        sim.clock.skew_seconds += 2
        rerun = run_sync(settings_for(sim), sink.checkpoints[-1], sink, tuning=FAST)
        assert rerun.rows < 30  # the lookback's overlap, not a full re-read
        assert_warehouse_is_the_source(sim, sink)


def test_an_unreadable_entry_that_shows_up_behind_the_claim_moves_the_claim_back_to_it():
    with SimulatorThread(unlimited(feed_references="never", other_feed_entries=0)) as sim:
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        claimed = from_iso(state["streams"]["projects"]["removals"]["archive"])
        # Visible only now, created a minute before what the last sync claimed (within the lookback).
        sim.archive(sorted(sim.truth("projects"))[:1], at=claimed - 60)
        sim.clock.skew_seconds += 2
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
    assert from_iso(report.state["streams"]["projects"]["removals"]["archive"]) == claimed - 60
