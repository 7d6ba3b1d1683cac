"""Values in shapes the docs allow but do not pin down: a timestamp without an offset is kept (read as
UTC) but never decides where a walk is, and an id sent as digits is that number."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.fakes import RecordingSink
from tests.sdk_harness import differences
from xurrent_async.extract.window import as_timed, before
from xurrent_async.removals import last_second
from xurrent_async.resources import BY_TABLE, RowMapper
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import COLLECTIONS, SimConfig, SimulatorThread
from xurrent_async.state import from_iso
from xurrent_async.sync import run_sync
from xurrent_async.tuning import Tuning

FAST = Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05)


def _mapped(records: list[dict]) -> tuple[list[dict], list]:
    problems: list = []
    return [RowMapper(BY_TABLE["products"]).map(r, problems) for r in records], problems


def test_an_offset_less_updated_at_is_kept_but_no_evidence_of_where_a_walk_is():
    rows, problems = _mapped([{"id": 1, "updated_at": "2026-01-01T10:00:00Z"},
                              {"id": 2, "updated_at": "2026-01-01T23:00"},  # zone unknown: maybe hours off
                              {"id": 3, "updated_at": "2026-01-01T10:00:05+00:00"}])
    assert rows[1]["updated_at"] == datetime(2026, 1, 1, 23, 0, tzinfo=timezone.utc)  # stored, read as UTC
    timed = as_timed(rows, problems)
    assert [t["updated_at"] is None for t in timed] == [False, True, False]
    # A window shortened to end at 10:00:03 keeps the row whose time is a guess: dropping it could
    # lose it for good, reading it twice costs nothing.
    upper = from_iso("2026-01-01T10:00:03Z")
    assert [r["id"] for r in before(rows, timed, upper)] == [1, 2]


def test_a_feed_page_whose_last_entries_lack_an_offset_claims_only_the_last_exact_second():
    page = [{"id": 1, "created_at": "2026-01-01T10:00:00Z"}, {"id": 2, "created_at": "2026-01-01T12:00"}]
    assert last_second(page) == from_iso("2026-01-01T10:00:00Z")


def test_loose_values_arrive_whole_through_split_and_capped_windows():
    config = SimConfig(records=900, burst_limit=None, hourly_limit=None, loose_values=0.2, record_cap=150,
                       hot_seconds=2, hot_fraction=0.3)
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        report = run_sync(parse_settings({"oauth_token": "sim-token", "account_id": "sim-account",
                                          "base_url": sim.base_url, "burst_limit": "10000",
                                          "rate_limit_per_hour": "1000000", "max_records_per_page": "50"})[0],
                          None, sink, tuning=FAST)
        truth = {table: sim.truth(table) for table in COLLECTIONS}
    for table in COLLECTIONS:
        assert differences(truth[table], sink.rows[table], table) == []
        loose = [rid for rid, r in truth[table].items() if isinstance(r["id"], str)]
        assert loose and all(sink.rows[table][rid]["updated_at"] is not None for rid in loose)
        for rid in loose:  # read as UTC, independently of the mapper
            shown = truth[table][rid]["updated_at"]
            assert sink.rows[table][rid]["updated_at"] == datetime.fromisoformat(shown).replace(tzinfo=timezone.utc)
    offsetless = [line for line in report.value_problems if "without a UTC offset" in line]
    assert offsetless and all("record(s), e.g. '" in line for line in offsetless)
    assert not [line for line in report.value_problems if "reference id" in line]
