"""Splitting for concurrency: the window that splits keeps reading, idle slots take the far end of
a window being read, and neither loses a window, reads a record twice or declares a pass early."""

from __future__ import annotations

import asyncio
import itertools
import math

from xurrent_async.events import Event, PassDone, PassStarted, Rows, WindowDone, WindowsAdded
from xurrent_async.extract import Extraction
from xurrent_async.resources import BY_TABLE
from xurrent_async.session import open_client
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import SimConfig, running_simulator
from xurrent_async.state import SyncState
from xurrent_async.tuning import Tuning

NO_PLANNED_SPLITS = Tuning(min_pages_per_window=10_000, rebalance_min_pages=1)


def settings(sim, concurrency: int, burst: int = 10_000):
    return parse_settings({"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
                           "burst_limit": str(burst), "rate_limit_per_hour": "1000000",
                           "max_concurrency": str(concurrency)})[0]


async def extract(sim, tables: tuple[str, ...], concurrency: int, tuning: Tuning, emit=None,
                  queries: list[dict[str, str]] | None = None, burst: int = 10_000) -> list[Event]:
    """The events of one extraction; `queries` collects the parameters of every query started."""
    events: list[Event] = []

    async def record(event: Event) -> None:
        events.append(event)
        if emit is not None:
            await emit(event, events)

    s = settings(sim, concurrency, burst)
    async with open_client(s, tuning) as client:
        if queries is not None:
            get_page = client.get_page

            async def counted(url: str, params: dict[str, str] | None = None):
                if params is not None:  # a query's first request (a Link carries its parameters)
                    queries.append(dict(params))
                return await get_page(url, params)

            client.get_page = counted  # type: ignore[method-assign]
        await Extraction(client, s, SyncState.from_json(None, tables), tuple(BY_TABLE[t] for t in tables),
                         record, tuning).run()
    return events


def check_pass(events: list[Event], table: str) -> list[tuple[int, int]]:
    """The pass's windows tile [lower, upper) exactly, and PassDone comes after the last of them."""
    started = next(e for e in events if isinstance(e, PassStarted) and e.stream == table)
    done_at = next(i for i, e in enumerate(events) if isinstance(e, PassDone) and e.stream == table)
    windows = [(i, e.window) for i, e in enumerate(events) if isinstance(e, WindowDone) and e.stream == table]
    assert all(i < done_at for i, _ in windows), f"{table}: a window ended after its pass was declared done"
    tiles = sorted(w for _, w in windows)
    assert tiles[0][0] == started.lower and tiles[-1][1] == started.upper
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles)), f"{table}: windows leave a gap or overlap"
    return tiles


def rows_of(events: list[Event], table: str) -> list[int]:
    return [row["id"] for e in events if isinstance(e, Rows) and e.stream == table for row in e.rows]


async def test_a_pass_is_done_only_after_the_far_end_an_idle_slot_took():
    # products ends first; its slot takes the far half of the one organizations window. The
    # WindowsAdded of that split is held until the shortened window has ended: its stream must
    # still count the far half as outstanding.
    config = SimConfig(records={"organizations": 3_000, "products": 200}, burst_limit=None, hourly_limit=None)
    shortened_ended = asyncio.Event()
    held = []

    async def hold_the_split(event: Event, events: list[Event]) -> None:
        if isinstance(event, WindowDone) and event.stream == "organizations":
            shortened_ended.set()
        if isinstance(event, WindowsAdded) and event.stream == "organizations" and not held:
            held.append(event)
            await asyncio.wait_for(shortened_ended.wait(), 10)

    async with running_simulator(config) as sim:
        events = await extract(sim, ("organizations", "products"), 2, NO_PLANNED_SPLITS, hold_the_split)
    assert held, "the idle slot never took part of the organizations window"
    assert len(check_pass(events, "organizations")) >= 2
    check_pass(events, "products")
    assert sorted(rows_of(events, "organizations")) == sorted(sim.truth("organizations"))


async def test_idle_slots_split_the_tail_and_every_record_arrives_once():
    # One organizations window at the start; when products ends, idle slots take parts of it.
    config = SimConfig(records={"organizations": 4_000, "products": 100}, burst_limit=None, hourly_limit=None,
                       latency=0.005)
    async with running_simulator(config) as sim:
        events = await extract(sim, ("organizations", "products"), 4, NO_PLANNED_SPLITS)
    tiles = check_pass(events, "organizations")
    assert len(tiles) >= 4
    ids = rows_of(events, "organizations")
    assert len(ids) == len(set(ids)) == 4_000  # the page that crosses a window's new end is cut there
    # A split costs at most one partial page.
    assert sim.stats.requests_by_collection["organizations"] <= math.ceil(4_000 / 100) + len(tiles)


async def test_a_window_split_after_its_first_page_keeps_that_page():
    config = SimConfig(records={"organizations": 2_000}, burst_limit=None, hourly_limit=None)
    queries: list[dict[str, str]] = []
    async with running_simulator(config) as sim:
        events = await extract(sim, ("organizations",), 4, Tuning(min_pages_per_window=2, rebalance_min_pages=100),
                               queries=queries)
    tiles = check_pass(events, "organizations")
    assert len(tiles) >= 4  # split at the first page: at least one window per slot
    ids = rows_of(events, "organizations")
    assert len(ids) == len(set(ids)) == 2_000
    # One query per window: the pass's first query goes on as its first window, and a window that
    # splits again at its first page goes on as the first of its pieces.
    assert len(queries) == len(tiles)
    assert "updated_at" not in queries[0]  # the pass's first query: no bounds known yet


async def test_under_a_binding_burst_limit_windows_are_not_split_for_slots_it_cannot_feed():
    # 10 per 4 s at ~50 ms a request keeps one request busy: splitting each stream for eight slots
    # would only add a partial page per window, and under the limit each costs 0.4 s. The round trip
    # seen decides (test_governor has the arithmetic on a fake clock): up to 0.8 s, sixteen times
    # the latency, it keeps windows to four per stream, so a busy machine's slower round trips (half
    # a second with three processes per core) leave the bound intact.
    config = SimConfig(records={"organizations": 600, "products": 600}, burst_limit=10, burst_seconds=4.0,
                       hourly_limit=None, latency=0.05)
    async with running_simulator(config) as sim:
        events = await extract(sim, ("organizations", "products"), 8, Tuning(min_pages_per_window=1, burst_seconds=4.0),
                               burst=10)
    windows = sum(len(check_pass(events, t)) for t in ("organizations", "products"))
    assert windows <= 8  # filling eight slots, a page a window or more: 12
    assert sim.stats.rate_limited == 0
    assert sim.stats.requests <= 12 + windows
