"""The queries the extraction sends: documented filter forms only (the API answers any other with
400), every documented field asked for, and a field the API stops knowing does not stop a sync."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.fakes import RecordingSink
from tests.sdk_harness import differences
from xurrent_async.errors import ApiError
from xurrent_async.events import WindowDone
from xurrent_async.extract import Extraction
from xurrent_async.resources import BY_TABLE
from xurrent_async.session import open_client
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import FakeClock, SimConfig, SimulatorThread, running_simulator
from xurrent_async.state import SyncState, from_iso
from xurrent_async.sync import run_sync
from xurrent_async.time_filter import second_filter, window_filter
from xurrent_async.tuning import Tuning

T = 1_767_225_600  # 2026-01-01T00:00:00Z
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
# A window [A, B) as `>A−1s<B`; a pass's first request from its lower bound as `>=A`.
WINDOW = re.compile(rf"^>({ISO})<({ISO})$")
OPEN = re.compile(rf"^>=({ISO})$")


def settings_for(sim, **extra: str):
    config = {"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
              "burst_limit": "10000", "rate_limit_per_hour": "1000000", **extra}
    return parse_settings(config)[0]


def test_a_window_of_whole_seconds_is_sent_as_the_documented_exclusive_range_from_the_second_before():
    # Exactly [A, B) when the server compares whole seconds; (A−1s, B) ⊇ [A, B) when it compares fractions.
    assert window_filter(T, T + 3600) == ">2025-12-31T23:59:59Z<2026-01-01T01:00:00Z"
    assert window_filter(T, T + 1) == ">2025-12-31T23:59:59Z<2026-01-01T00:00:01Z"  # one second
    assert second_filter(T) == window_filter(T, T + 1)
    assert window_filter(T, None) == ">=2026-01-01T00:00:00Z"  # exact under either precision
    assert window_filter(None, T) == "<2026-01-01T00:00:00Z"
    assert window_filter(None, None) is None
    with pytest.raises(ValueError):
        window_filter(T, T)


@pytest.mark.parametrize("precision", ["second", "fractional"])
async def test_every_query_of_a_pass_with_splits_rebalancing_and_cap_continuations_is_documented(precision):
    clock = FakeClock(T + 10 * 86_400)
    config = SimConfig(records={"organizations": 3_000, "products": 300}, burst_limit=None, hourly_limit=None,
                       record_cap=500, seed=3, timestamp_precision=precision)
    sent: list[dict[str, str]] = []  # the parameters of every request, Links included
    async with running_simulator(config, clock=clock) as sim:
        crowded = T + 5 * 86_400
        sim.set_updated_at("organizations", sim.ids("organizations")[:700], crowded)  # above the cap
        s = settings_for(sim, max_concurrency="4")
        events = []

        async def emit(event) -> None:
            events.append(event)

        async with open_client(s, Tuning(window_records=1_000, min_pages_per_window=2)) as client:
            get_page = client.get_page

            async def recorded(url: str, params: dict[str, str] | None = None):
                sent.append(dict(params) if params is not None else dict(parse_qsl(urlsplit(url).query)))
                return await get_page(url, params)

            client.get_page = recorded  # type: ignore[method-assign]
            tables = ("organizations", "products")
            extraction = Extraction(client, s, SyncState(), tuple(BY_TABLE[t] for t in tables), emit,
                                    Tuning(window_records=1_000, min_pages_per_window=2))
            await extraction.run()
        assert extraction.progress["organizations"].idle_splits >= 1, "no window was rebalanced"
        assert set(sim.stats.by_status) == {200}  # the strict simulator refused nothing

    # The pass's first request: no bounds yet, sorted, every documented list field.
    first = next(p for p in sent if p["fields"] == BY_TABLE["organizations"].api_fields)
    assert first == {"per_page": "100", "fields": BY_TABLE["organizations"].api_fields, "sort": "updated_at,id"}
    bounded = [p for p in sent if "updated_at" in p and p["sort"] == "updated_at,id"]
    assert bounded, "the pass was never split"
    for params in bounded:
        match = WINDOW.match(params["updated_at"]) or OPEN.match(params["updated_at"])
        assert match, params["updated_at"]
        if match.re is WINDOW:
            assert from_iso(match.group(1)) + 1 < from_iso(match.group(2)), params["updated_at"]
    # Split and rebalanced windows: each finished window was asked for from the second before its start.
    tiles = [e.window for e in events if isinstance(e, WindowDone) and e.stream == "organizations"]
    starts = {from_iso(m.group(1)) + 1 for p in bounded if (m := WINDOW.match(p["updated_at"]))}
    assert len(tiles) >= 3
    assert all(a in starts for a, _ in tiles[1:] if a != tiles[0][0]), (tiles, sorted(starts))
    # Every walk by id is one second (under fractional storage with the end of the one before). The
    # crowded second above the cap was walked by id from its start, then went on after an id.
    by_id = [p for p in sent if p["sort"] == "id"]
    assert all(WINDOW.match(p["updated_at"]) and p["updated_at"] == second_filter(from_iso(p["updated_at"][1:21]) + 1)
               for p in by_id), by_id
    crowd = [p.get("id") for p in by_id if p["updated_at"] == second_filter(crowded) and "search_after" not in p]
    assert len(crowd) >= 2 and crowd[0] is None, crowd  # 700 records, 500 a query
    assert all(re.fullmatch(r">\d+", i) for i in crowd[1:]), crowd
    assert all(p["sort"] in ("updated_at,id", "id") for p in sent)


def test_a_field_the_api_no_longer_knows_is_dropped_once_and_the_sync_goes_on(caplog):
    caplog.set_level(logging.WARNING)
    config = SimConfig(records=300, burst_limit=None, hourly_limit=None,
                       withdrawn_fields={"products": ("rate", "recurrence")})
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink)
        truth = sim.truth("products")
    assert len(sink.rows["products"]) == 300 and report.rows == 900
    for record in truth.values():  # the server no longer sends them: the columns stay null
        record.pop("rate"), record.pop("recurrence")
    assert differences(truth, sink.rows["products"], "products") == []
    assert all(row["rate"] is None and row["recurrence"] is None for row in sink.rows["products"].values())
    warnings = [r.getMessage() for r in caplog.records if "does not know the field" in r.getMessage()]
    assert len(warnings) == 1 and "rate, recurrence" in warnings[0] and "rate" in warnings[0]


def test_any_other_400_still_fails_the_sync_with_status_path_and_message():
    # The simulator no longer sorts by updated_at (a stand-in for any request the API rejects).
    config = SimConfig(records=50, burst_limit=None, hourly_limit=None)
    with SimulatorThread(config) as sim, pytest.MonkeyPatch.context() as patch:
        patch.setattr("xurrent_async.simulator.query.SORT_FIELDS", ("id", "created_at"))
        with pytest.raises(ApiError) as info:
            run_sync(settings_for(sim), None, RecordingSink())
    assert info.value.status == 400 and re.search(r"/v1/(organizations|products|projects)", str(info.value))
    assert "Sorting not allowed on fields: updated_at" in str(info.value)
