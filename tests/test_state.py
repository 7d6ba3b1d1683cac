"""State: interval arithmetic, the checkpoint format, and reading old or broken states safely."""

import json

import pytest

from xurrent_async.errors import StateMismatchError
from xurrent_async.state import FORMAT_VERSION, Source, SyncState, from_iso, gaps, merge, to_iso

STREAMS = ("organizations", "products", "projects")


def test_merge_joins_touching_and_overlapping_intervals():
    done: list[tuple[int, int]] = []
    for interval in [(10, 20), (30, 40), (20, 30), (5, 6), (39, 50)]:
        done = merge(done, interval)
    assert done == [(5, 6), (10, 50)]


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        ([], [(0, 100)]),
        ([(0, 100)], []),
        ([(10, 20), (50, 60)], [(0, 10), (20, 50), (60, 100)]),
        ([(-5, 10), (90, 200)], [(10, 90)]),
    ],
)
def test_gaps_are_what_is_left_of_the_pass(done, expected):
    assert gaps(0, 100, done) == expected


def test_iso_round_trip_is_whole_seconds_utc():
    assert to_iso(0) == "1970-01-01T00:00:00Z"
    assert from_iso("2026-01-01T00:00:00-05:00") == from_iso("2026-01-01T05:00:00Z")
    assert from_iso(to_iso(1_790_000_123)) == 1_790_000_123


def test_cursor_moves_only_when_the_pass_is_whole():
    state = SyncState()
    state.start_pass("products", 100, 200)
    state.window_done("products", (100, 150))
    with pytest.raises(RuntimeError):
        state.finish_pass("products")
    assert state.stream("products").cursor is None
    state.window_done("products", (150, 200))
    state.finish_pass("products")
    assert state.stream("products").cursor == 200
    assert state.stream("products").open_pass is None


def test_state_round_trips_through_json_and_stays_readable():
    state = SyncState()
    state.stream("organizations").cursor = 1_700_000_000
    state.start_pass("projects", 1_700_000_000, 1_700_086_400)
    state.window_done("projects", (1_700_000_000, 1_700_003_600))
    state.window_done("projects", (1_700_003_600, 1_700_007_200))  # merges with the previous one
    data = json.loads(json.dumps(state.to_json()))
    assert data["format"] == FORMAT_VERSION
    assert data["streams"]["projects"]["pass"]["done"] == [["2023-11-14T22:13:20Z", "2023-11-15T00:13:20Z"]]
    again = SyncState.from_json(data, STREAMS)
    assert again.to_json() == data


@pytest.mark.parametrize(
    "saved",
    [
        None,
        {},
        {"last_sync_time": "2024-01-01T00:00:00Z"},  # Fivetran's original Xurrent example
        {"format": 999, "streams": {}},
        {"format": FORMAT_VERSION, "streams": {"products": {"cursor": "not a time"}}},
        {"format": FORMAT_VERSION, "streams": {"products": {"cursor": None, "pass": {"lower": "x"}}}},
        ["not", "an", "object"],
    ],
)
def test_unreadable_or_foreign_state_restarts_in_full_instead_of_failing(saved):
    state = SyncState.from_json(saved, STREAMS)
    for name in STREAMS:
        assert state.stream(name).cursor is None
        assert state.stream(name).open_pass is None


def test_one_broken_stream_does_not_reset_the_others():
    saved = {"format": FORMAT_VERSION, "streams": {
        "products": {"cursor": "garbage"},
        "projects": {"cursor": "2026-01-01T00:00:00Z"},
    }}
    state = SyncState.from_json(saved, STREAMS)
    assert state.stream("products").cursor is None
    assert state.stream("projects").cursor == from_iso("2026-01-01T00:00:00Z")


def test_refused_fields_are_remembered_readably_and_an_older_state_without_them_asks_for_every_field():
    state = SyncState()
    state.stream("products").cursor = from_iso("2026-01-01T00:00:00Z")
    state.stream("products").refused_fields = ["rate", "brand"]
    data = json.loads(json.dumps(state.to_json()))
    assert data["streams"]["products"] == {"cursor": "2026-01-01T00:00:00Z", "refused_fields": ["rate", "brand"]}
    assert "refused_fields" not in data["streams"].get("projects", {})  # nothing refused: nothing written
    assert SyncState.from_json(data, STREAMS).stream("products").refused_fields == ["rate", "brand"]
    older = {"format": FORMAT_VERSION, "streams": {"products": {"cursor": "2026-01-01T00:00:00Z"}}}
    assert SyncState.from_json(older, STREAMS).stream("products").refused_fields == []


def test_an_unreadable_refused_fields_list_is_forgotten_and_the_cursor_kept():
    saved = {"format": FORMAT_VERSION, "streams": {"products": {"cursor": "2026-01-01T00:00:00Z",
                                                                "refused_fields": "rate"}}}
    stream = SyncState.from_json(saved, STREAMS).stream("products")
    assert stream.refused_fields == [] and stream.cursor == from_iso("2026-01-01T00:00:00Z")


# --- the source a state belongs to ------------------------------------------------------------------
WDC = Source("wdc", "api.xurrent.com")


def _bound_state() -> dict:
    state = SyncState()
    state.bind(WDC)
    state.stream("products").cursor = from_iso("2026-11-28T10:00:00Z")
    return json.loads(json.dumps(state.to_json()))


def test_the_state_records_the_account_and_host_it_was_written_for_and_no_secret():
    data = _bound_state()
    assert data["source"] == {"account_id": "wdc", "host": "api.xurrent.com"}
    assert SyncState.from_json(data, STREAMS).source == WDC


@pytest.mark.parametrize("configured", [Source("widget-data", "api.xurrent.com"), Source("wdc", "api.au.xurrent.com")])
def test_a_state_used_for_another_account_or_host_is_refused_saying_whose_it_is_and_how_to_start_over(configured):
    state = SyncState.from_json(_bound_state(), STREAMS)
    with pytest.raises(StateMismatchError) as info:
        state.bind(configured)
    text = str(info.value)
    assert "belongs to account 'wdc' at api.xurrent.com" in text
    assert f"names account '{configured.account_id}' at {configured.host}" in text
    assert "fivetran reset --yes" in text and "full re-sync" in text
    assert state.stream("products").cursor is not None  # refused, not reset


def test_the_same_account_on_its_legacy_4me_host_name_is_the_same_source():
    state = SyncState.from_json(_bound_state(), STREAMS)
    assert state.bind(Source("wdc", "API.4me.com")) is False
    assert state.source == WDC  # the host it was written for stays recorded


def test_a_state_without_a_source_is_adopted_and_its_progress_kept():
    saved = {"format": FORMAT_VERSION, "streams": {"projects": {"cursor": "2026-01-01T00:00:00Z"}}}
    state = SyncState.from_json(saved, STREAMS)
    assert state.bind(WDC) is True
    assert state.stream("projects").cursor == from_iso("2026-01-01T00:00:00Z")
    assert state.to_json()["source"] == {"account_id": "wdc", "host": "api.xurrent.com"}


def test_the_source_is_checked_even_in_a_state_whose_streams_would_be_re_read():
    # A full re-read of another account into this warehouse would mix two accounts' rows.
    saved = {"format": 999, "source": {"account_id": "wdc", "host": "api.xurrent.com"}, "streams": {}}
    with pytest.raises(StateMismatchError):
        SyncState.from_json(saved, STREAMS).bind(Source("other", "api.xurrent.com"))
