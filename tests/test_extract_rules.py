"""The rules that shape a pass's windows, on plain numbers: no HTTP, no simulator. Each rule here
is what the scheduler applies (extract/plan.py, extract/passes.py); the end-to-end behaviour is in
test_rebalance.py, test_query_forms.py and test_extract.py."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from xurrent_async.client import Page
from xurrent_async.errors import XurrentError
from xurrent_async.events import Event, PassDone, Removed
from xurrent_async.extract import Extraction
from xurrent_async.extract.passes import Outstanding, Resume, pass_bounds
from xurrent_async.extract.plan import (
    ActiveWindow,
    Continuation,
    Order,
    WalkMode,
    after_cap,
    pieces,
    query_params,
    slots_to_fill,
    split_bounds,
    take_tail,
)
from xurrent_async.record_cap import cut_short, runs_long
from xurrent_async.resources import RESOURCES, Resource
from xurrent_async.settings import parse_settings
from xurrent_async.state import Pass, SyncState
from xurrent_async.tuning import Tuning

T = 1_767_225_600  # 2026-01-01T00:00:00Z
TUNING = Tuning(window_records=50_000, min_pages_per_window=5, rebalance_min_pages=1)
PER_PAGE = 100


def at(second: int) -> datetime:
    return datetime.fromtimestamp(second, timezone.utc)


def rows(*keys: tuple[int | None, int]) -> list[dict[str, Any]]:
    return [{"updated_at": None if s is None else at(s), "id": i} for s, i in keys]


def ordered_to(second: int, last_id: int) -> Order:
    order = Order()
    order.observe(rows((second, last_id)))
    return order


# -- queries ---------------------------------------------------------------------------------
def test_each_walk_mode_queries_the_bounds_it_knows():
    window = (T, T + 60)
    assert WalkMode.WINDOW.query_bounds(window) == (T, T + 60)
    assert WalkMode.GAP.query_bounds(window) == (T, T + 60)
    assert WalkMode.PASS_FROM_LOWER.query_bounds(window) == (T, None)  # the Date sets the upper bound
    assert WalkMode.PASS_FROM_OLDEST.query_bounds(window) == (None, None)
    assert [m for m in WalkMode if m.starts_pass] == [WalkMode.PASS_FROM_OLDEST, WalkMode.PASS_FROM_LOWER]


def test_a_query_is_sorted_by_time_and_bounded_in_the_documented_exclusive_form():
    assert query_params(100, "id,name", T, T + 2, None) == {
        "per_page": "100", "fields": "id,name", "sort": "updated_at,id",
        "updated_at": ">2025-12-31T23:59:59Z<2026-01-01T00:00:02Z"}
    assert "updated_at" not in query_params(100, "id", None, None, None)


def test_a_query_of_one_second_is_sorted_by_id_and_goes_on_after_an_id():
    assert query_params(100, "id", T, T + 1, 41, by_id=True) == {
        "per_page": "100", "fields": "id", "sort": "id",
        "updated_at": ">2025-12-31T23:59:59Z<2026-01-01T00:00:01Z", "id": ">41"}


def test_a_known_window_of_one_second_is_walked_by_id_and_nothing_else_is():
    assert WalkMode.WINDOW.by_id((T, T + 1)) and WalkMode.GAP.by_id((T, T + 1))
    assert not WalkMode.WINDOW.by_id((T, T + 2))
    assert not WalkMode.PASS_FROM_LOWER.by_id((T, T + 1))  # a pass's first request sets its bounds


# -- split counts ----------------------------------------------------------------------------
def test_a_window_of_one_second_or_of_unknown_size_is_never_split_by_time():
    assert pieces(10**6, True, 1, 8, PER_PAGE, TUNING) == 1  # a crowded second goes on by id
    assert pieces(None, True, 3600, 8, PER_PAGE, TUNING) == 1


def test_a_window_too_big_for_one_query_splits_into_pieces_that_fit():
    assert pieces(50_000, False, 3600, 1, PER_PAGE, TUNING) == 1
    assert pieces(50_001, False, 3600, 1, PER_PAGE, TUNING) == 2
    assert pieces(420_000, False, 3600, 1, PER_PAGE, TUNING) == 9
    assert pieces(420_000, False, 4, 1, PER_PAGE, TUNING) == 4  # never finer than a second


def test_a_throttled_first_page_splits_even_a_small_window():
    assert pieces(300, True, 3600, 1, PER_PAGE, TUNING) == 2
    assert pieces(300, False, 3600, 1, PER_PAGE, TUNING) == 1


def test_idle_slots_split_only_while_each_piece_keeps_its_minimum_of_pages():
    assert pieces(10_000, False, 3600, 1, PER_PAGE, TUNING) == 1  # a single slot: splitting only costs requests
    assert pieces(10_000, False, 3600, 4, PER_PAGE, TUNING) == 4
    assert pieces(10_000, False, 3600, 40, PER_PAGE, TUNING) == 20  # 10,000 / (100 × 5): 20 pieces are worth it
    assert pieces(400, False, 3600, 8, PER_PAGE, TUNING) == 1  # under five pages in all


def test_a_new_pass_takes_its_share_of_the_slots_and_any_other_window_the_idle_ones():
    assert slots_to_fill(8, 0, 3, new_pass=True) == 6  # every stream plans at once
    assert slots_to_fill(1, 0, 3, new_pass=True) == 1
    assert slots_to_fill(8, 5, 3, new_pass=False) == 4  # three idle, plus the window's own
    assert slots_to_fill(8, 8, 3, new_pass=False) == 1


def test_split_bounds_tile_the_window_in_whole_seconds():
    assert split_bounds((T, T + 10), 3) == [(T, T + 3), (T + 3, T + 6), (T + 6, T + 10)]
    assert split_bounds((T, T + 2), 5) == [(T, T + 1), (T + 1, T + 2)]
    for window, n in itertools.product([(T, T + 7), (T, T + 86_400)], [1, 2, 6]):
        parts = split_bounds(window, n)
        assert parts[0][0] == window[0] and parts[-1][1] == window[1]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))


# -- idle slots ------------------------------------------------------------------------------
def active(lower: int, upper: int, total: int | None, seen: int = 0, last_second: int | None = None,
           stream: str = "organizations") -> ActiveWindow:
    window = ActiveWindow(stream, lower, upper, total, pass_upper=T + 10_000)
    window.seen, window.last_second = seen, last_second
    return window


def test_an_idle_slot_takes_the_far_half_of_the_window_with_the_most_records_left():
    small, big = active(T, T + 100, 5_000, seen=4_000), active(T, T + 100, 5_000, seen=1_000, last_second=T + 19)
    shortened, tail = take_tail({small, big}, PER_PAGE, 1)
    assert shortened is big
    assert tail == (T + 60, T + 100) and big.upper == T + 60  # the half after the second being read
    assert big.total == 1_000 + 2_000  # it keeps half of what it had left


def test_an_idle_slot_takes_nothing_whose_halves_would_be_under_the_minimum_of_pages():
    assert take_tail([active(T, T + 100, 200)], PER_PAGE, 1) is None  # two pages left: a page each is not more
    assert take_tail([active(T, T + 100, 201)], PER_PAGE, 1) is not None
    assert take_tail([active(T, T + 100, 1_000)], PER_PAGE, 5) is None


def test_an_idle_slot_skips_windows_that_cannot_be_split():
    unknown = active(T, T + 100, None)  # its size was never reported
    unordered = active(T, T + 100, 9_000)
    unordered.observe(0, _unordered())
    assert not unknown.splittable and not unordered.splittable
    assert take_tail([unknown, unordered], PER_PAGE, 1) is None


def test_a_window_with_under_two_seconds_unread_is_marked_and_the_next_biggest_split():
    crowded = active(T, T + 10, 9_000, last_second=T + 8)  # reading its second to last second
    other = active(T, T + 100, 1_000)
    shortened, tail = take_tail([crowded, other], PER_PAGE, 1)
    assert not crowded.splittable and crowded.upper == T + 10
    assert shortened is other and tail == (T + 50, T + 100)


def test_a_window_being_read_crosses_its_shortened_end_only_in_order():
    window = active(T, T + 60, 1_000)
    order = Order()
    order.observe(rows((T + 30, 1)))
    assert not window.observe(1, order) and window.last_second == T + 30
    window.upper = T + 40
    order.observe(rows((T + 40, 2)))
    assert window.observe(1, order) and window.seen == 2
    assert window.shortened() and not active(T, T + 10_000, 10).shortened()
    assert not active(T, T + 60, 1_000).observe(1, _unordered())


# -- order and the record cap ----------------------------------------------------------------
def _unordered() -> Order:
    order = Order()
    order.observe(rows((T + 5, 1), (T + 3, 2)))
    return order


def test_the_order_a_walk_saw_ignores_unreadable_times_and_claims_only_complete_seconds():
    order = Order()
    order.observe(rows((T + 1, 5), (None, 9), (T + 4, 2)))
    assert order.ordered and order.last_second == T + 4 and order.last_id == 2
    assert order.complete(T, T + 60, by_id=False) == (T, T + 4)  # the second T+4 may hold more
    assert order.complete(T, T + 3, by_id=False) == (T, T + 3)  # never past the window's end
    assert order.complete(T + 4, T + 60, by_id=False) is None
    assert order.complete(T, T + 60, by_id=True) is None  # inside one second, by id: nothing to claim
    assert _unordered().complete(T, T + 60, by_id=False) is None
    assert not _unordered().ordered



def test_ids_going_down_inside_one_printed_second_keep_a_walk_ordered():
    # Under fractional storage a sort by updated_at follows the stored fractions: the printed
    # seconds never go down, the ids inside one of them may.
    order = Order()
    order.observe(rows((T, 7), (T, 3), (T + 1, 1)))
    assert order.ordered and not order.ids_ascending
    assert order.complete(T - 1, T + 60, by_id=False) == (T - 1, T + 1)
    by_id = Order()
    by_id.observe(rows((T, 3), (T - 1, 7), (T, 9)))  # one second walked by id (and the fraction before it)
    assert by_id.ids_ascending and not by_id.ordered


def test_a_walk_that_ends_short_of_its_total_stopped_short_with_or_without_the_header():
    assert cut_short(250, 600, throttled=False)  # the cap, unannounced
    assert cut_short(250, 600, throttled=True)
    assert cut_short(250, None, throttled=True)
    assert not cut_short(600, 600, throttled=False) and not cut_short(610, 600, throttled=False)
    assert not cut_short(250, None, throttled=False)  # nothing tells: every walk stops early instead (runs_long)
    assert not cut_short(0, 3, throttled=False)  # a total counting what the list does not show is no cap


def test_a_walk_stops_once_it_has_read_a_windows_worth_whatever_its_size_says():
    # A total counted up to the cap would hide the cap from the count: no walk goes near it.
    assert runs_long(50_000, 50_000) and not runs_long(49_900, 50_000)


def test_a_capped_ordered_walk_goes_on_from_its_last_records_second():
    plan = after_cap("organizations", (T, T + 100), ordered_to(T + 30, 77))
    assert plan == Continuation(done=(T, T + 30), walks=[((T + 30, T + 100), None)], added=1)


def test_a_capped_walk_past_its_windows_end_is_done():
    plan = after_cap("organizations", (T, T + 100), ordered_to(T + 150, 77))
    assert plan == Continuation(done=(T, T + 100), walks=[], added=None)


def test_a_second_above_the_cap_is_walked_by_id_from_its_start_and_the_rest_of_the_window_by_time():
    # Sorted by time, the ids read so far are no prefix of the second under fractional storage.
    plan = after_cap("organizations", (T, T + 100), ordered_to(T, 77))
    assert plan == Continuation(done=None, walks=[((T, T + 1), None), ((T + 1, T + 100), None)], added=1)
    before = after_cap("organizations", (T, T + 100), ordered_to(T - 1, 77))  # still in the second before
    assert before.walks == [((T, T + 1), None), ((T + 1, T + 100), None)]


def test_a_capped_one_second_walk_goes_on_after_its_last_id_whatever_the_times_say():
    order = Order()
    order.observe(rows((T, 70), (T - 1, 80), (None, 90)))
    plan = after_cap("organizations", (T, T + 1), order, by_id=True)
    assert plan == Continuation(done=None, walks=[((T, T + 1), 90)], added=None)


def test_a_capped_one_second_walk_out_of_id_order_fails_naming_the_stream():
    order = Order()
    order.observe(rows((T, 70), (T, 60)))
    with pytest.raises(XurrentError, match=r"^organizations: .*not in id order"):
        after_cap("organizations", (T, T + 1), order, by_id=True)
    with pytest.raises(XurrentError):
        after_cap("organizations", (T, T + 1), Order(), by_id=True)  # not a single row to go on from


def test_a_capped_unordered_walk_splits_in_two():
    plan = after_cap("organizations", (T, T + 100), _unordered())
    assert plan == Continuation(None, [((T, T + 50), None), ((T + 50, T + 100), None)], 1, planned=1)
    assert after_cap("organizations", (T, T + 2), _unordered()).walks == [((T, T + 1), None), ((T + 1, T + 2), None)]


# -- a pass ----------------------------------------------------------------------------------
def test_a_pass_ends_at_the_servers_date_and_a_full_one_starts_at_its_oldest_record():
    assert pass_bounds(T + 500.7, None, False, T + 100) == (T + 100, T + 500)  # whole seconds
    assert pass_bounds(T + 500, at(T + 7), True, None) == (T + 7, T + 500)
    assert pass_bounds(T + 500, None, True, None) == (0, T + 500)  # unreadable oldest time: from the start
    assert pass_bounds(T + 500, None, False, None) == (T + 500, T + 500)  # nothing to read
    assert pass_bounds(T + 500, None, False, T + 900) == (T + 500, T + 500)  # never past the server's clock


def test_a_streams_pass_is_done_when_its_last_walk_ends_whatever_the_others_do():
    book = Outstanding()
    book.spawned("organizations"), book.spawned("products")
    book.spawned("organizations")  # a split, spawned before the walk that split ends
    assert book.queued == 3
    book.released()
    assert not book.ended("organizations")
    book.released()
    assert book.ended("products")
    book.released()
    assert book.ended("organizations") and book.queued == 0


def test_a_resumed_pass_is_sized_once_every_gap_has_told_its_size():
    resume = Resume(T, T + 100, holes=2)
    assert not resume.sized(300) and resume.sized(1_200) and resume.records == 1_500
    unknown = Resume(T, T + 100, holes=2)
    unknown.sized(None), unknown.sized(5)
    assert unknown.records is None


class _FeedsOnly:
    """A client with nothing to read but the removal feeds, each one empty page."""

    def __init__(self) -> None:
        self.governor = SimpleNamespace(useful_in_flight=lambda slots: slots)
        self.queries: list[str] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:9/v1/{path}"

    async def get_page(self, url: str, params: Any = None) -> Page:
        raise AssertionError(f"a pass with nothing left to read sent a request: {url}")

    async def pages(self, path: str, params: Any) -> Any:
        self.queries.append(path)
        yield Page([], path, 0, False, None, float(T + 200))


def resume_finished_passes(client: _FeedsOnly, resources: tuple[Resource, ...]) -> list[Event]:
    """The events of an extraction whose every stream resumes a pass that has no gap left."""
    settings = parse_settings({"oauth_token": "t", "account_id": "a", "base_url": "http://127.0.0.1:9/v1"})[0]
    state = SyncState()
    for resource in resources:
        state.stream(resource.table).open_pass = Pass(T, T + 100, [(T, T + 100)])
    events: list[Event] = []

    async def emit(event: Event) -> None:
        events.append(event)

    # The timeout only turns a hang (a pass never declared done) into a failure.
    asyncio.run(asyncio.wait_for(Extraction(client, settings, state, resources, emit).run(), 10))  # type: ignore[arg-type]
    return events


def test_a_resumed_pass_with_nothing_left_is_done_at_once_and_its_feeds_read_after():
    client = _FeedsOnly()
    events = resume_finished_passes(client, RESOURCES)
    done = [e.stream for e in events if isinstance(e, PassDone)]
    assert sorted(done) == sorted(r.table for r in RESOURCES)
    removed = [i for i, e in enumerate(events) if isinstance(e, Removed)]
    assert sorted(client.queries) == ["archive", "trash"]
    assert removed and min(removed) > events.index(PassDone("projects"))


def test_a_run_whose_every_stream_has_nothing_left_and_no_feeds_ends():
    resources = tuple(r for r in RESOURCES if r.removed_as is None)
    events = resume_finished_passes(_FeedsOnly(), resources)
    assert events == [PassDone(r.table) for r in resources]
