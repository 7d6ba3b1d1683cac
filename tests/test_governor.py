"""The rate governor on the virtual-time loop: pauses, quota, Retry-After forms. No real waiting:
the loop's clock jumps to the next timer, and a test moves it itself with `t.now += seconds`."""

import asyncio
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from tests.conftest import on_virtual_time
from tests.virtual_time import VirtualTimeLoop
from xurrent_async.governor import (
    MAX_DEFAULT_RETRY_AFTER_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    RateGovernor,
    retry_after_seconds,
)


def loop_clock() -> VirtualTimeLoop:
    """The running test's loop: its `now` starts at 1000.0 and is the governor's clock."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeLoop)
    return loop


def governor(t: VirtualTimeLoop | None, **kwargs) -> RateGovernor:
    kwargs.setdefault("burst_limit", None)
    if t is None:  # a test that never waits
        return RateGovernor(**kwargs)
    return RateGovernor(clock=t.time, sleep=asyncio.sleep, **kwargs)


@on_virtual_time
async def test_a_429_pauses_every_request_on_the_token_until_retry_after():
    t = loop_clock()
    g = governor(t)
    await g.acquire()
    g.on_throttled(retry_after=30)
    sent_at: list[float] = []

    async def request():
        await g.acquire()
        sent_at.append(t.now)

    await asyncio.gather(*(request() for _ in range(5)))
    assert len(sent_at) == 5
    assert min(sent_at) >= 1030.0
    assert g.stats.throttled == 1


@on_virtual_time
async def test_without_retry_after_the_pause_doubles_and_stays_bounded():
    t = loop_clock()
    g = governor(t)
    pauses = [g.on_throttled(None) for _ in range(12)]
    assert pauses[:3] == [2.0, 4.0, 8.0]
    assert max(pauses) == MAX_DEFAULT_RETRY_AFTER_SECONDS
    g.on_success()
    assert g.on_throttled(None) == 2.0


def test_retry_after_reads_seconds_and_http_dates_relative_to_the_server_clock():
    server_now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    assert retry_after_seconds("7", server_now) == 7
    in_45 = format_datetime(datetime.fromtimestamp(server_now + 45, timezone.utc), usegmt=True)
    # The local clock could be anything: the server's Date is the reference.
    assert retry_after_seconds(in_45, server_now) == pytest.approx(45)
    assert retry_after_seconds("soon", server_now) is None
    assert retry_after_seconds(None, server_now) is None


def test_an_absurd_retry_after_is_capped():
    g = governor(None)
    assert g.on_throttled(10**9) == MAX_RETRY_AFTER_SECONDS


async def spent_quota(t, reset_after: int):
    """A governor whose one request was answered: quota spent, reset `reset_after` s after its Date."""
    g = governor(t, hourly_limit=3600)
    server_date = 1_800_000_000.0
    ticket = await g.acquire()
    g.observe({"X-RateLimit-Limit": "3600", "X-RateLimit-Remaining": "0",
               "X-RateLimit-Reset": str(int(server_date + reset_after))}, server_date)
    g.release(ticket)
    return g


@on_virtual_time
async def test_an_exhausted_quota_waits_for_the_reset_announced_by_the_server():
    t = loop_clock()
    g = await spent_quota(t, reset_after=120)
    before = t.now
    await g.acquire()
    assert t.now - before == pytest.approx(121.0)  # the reset, plus one second for whole-second headers
    assert g.stats.wait_seconds == pytest.approx(121.0)


@on_virtual_time
async def test_an_absurd_reset_is_capped_like_an_absurd_retry_after():
    t = loop_clock()
    g = await spent_quota(t, reset_after=10**9)
    before = t.now
    await g.acquire()
    assert t.now - before == pytest.approx(MAX_RETRY_AFTER_SECONDS + 1.0)


@on_virtual_time
async def test_a_request_the_server_did_not_count_gives_its_quota_unit_back():
    t = loop_clock()
    g = governor(t, hourly_limit=10, hour_seconds=60)
    for _ in range(10):
        g.release(await g.acquire())
    g.not_counted()  # one of them was answered 429 or 401, or never reached the server
    assert g.remaining == 1
    await g.acquire()
    assert t.now == 1000.0  # sent at once: no wait for the window's end
    fresh = governor(t, hourly_limit=10, hour_seconds=60)
    fresh.not_counted()
    assert fresh.remaining == 10  # never beyond what the hour allows


@on_virtual_time
async def test_local_counting_stops_at_the_quota_even_before_any_header():
    t = loop_clock()
    g = governor(t, hourly_limit=10, hour_seconds=60)
    for _ in range(10):
        await g.acquire()
    assert t.now == 1000.0  # ten requests went out at once
    await g.acquire()
    assert t.now >= 1060.0  # the eleventh waited for the window to end


@on_virtual_time
async def test_a_token_shared_with_another_client_follows_the_servers_lower_figure():
    t = loop_clock()
    g = governor(t, hourly_limit=3600)
    ticket = await g.acquire()
    g.observe({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1800000100"}, 1_800_000_000.0)
    g.release(ticket)
    for _ in range(3):
        g.release(await g.acquire())
    before = t.now
    await g.acquire()
    assert t.now - before == pytest.approx(101.0)


@on_virtual_time
async def test_the_burst_window_lets_n_through_then_one_per_freed_slot():
    t = loop_clock()
    g = governor(t, burst_limit=20, burst_seconds=2.0, hourly_limit=None, burst_safety=0.03)
    sent: list[float] = []
    for _ in range(45):
        g.release(await g.acquire())  # answered at once: the slot frees one window later
        sent.append(t.now - 1000.0)
    assert sent[:20] == [0.0] * 20  # a burst of N is allowed, as the API allows it
    assert sent[20] == pytest.approx(2.06) and sent[40] == pytest.approx(4.12)
    # In every window of 2 s (and a little more, for arrival jitter) at most 20 went out.
    for i in range(len(sent) - 20):
        assert sent[i + 20] - sent[i] >= 2.06 - 1e-9


@on_virtual_time
async def test_concurrent_waiters_share_the_window_in_order_and_never_exceed_it():
    t = loop_clock()
    g = governor(t, burst_limit=5, burst_seconds=1.0, hourly_limit=None, burst_safety=0.0)
    order: list[tuple[int, float]] = []

    async def request(n: int) -> None:
        ticket = await g.acquire()
        order.append((n, t.now))
        await asyncio.sleep(0)
        g.release(ticket)

    await asyncio.gather(*(request(n) for n in range(12)))
    assert [n for n, _ in order] == list(range(12))
    times = [when for _, when in order]
    assert all(times[i + 5] - times[i] >= 1.0 for i in range(len(times) - 5))


@on_virtual_time
async def test_a_slot_is_held_while_its_request_is_in_flight_and_a_window_after_its_response():
    t = loop_clock()
    g = governor(t, burst_limit=2, burst_seconds=1.0, hourly_limit=None, burst_safety=0.0)
    first = await g.acquire()
    second = await g.acquire()
    third = asyncio.ensure_future(g.acquire())
    await asyncio.sleep(0)
    assert not third.done()  # both slots are in flight: the server may not have seen them yet
    t.now += 0.4
    g.release(first)  # answered after 0.4 s: it reached the server at the latest now
    await third  # its slot frees 1 s after that response, less half the shortest round trip
    assert t.now - 1000.0 == pytest.approx(0.4 + 1.0 - 0.2)
    g.release(second)


@on_virtual_time
async def test_the_quota_is_checked_again_after_waiting_for_a_burst_slot():
    t = loop_clock()
    g = governor(t, burst_limit=1, burst_seconds=1.0, hourly_limit=3, hour_seconds=60)
    sent: list[float] = []

    async def request() -> None:
        ticket = await g.acquire()
        sent.append(t.now)
        g.release(ticket)

    await asyncio.gather(*(request() for _ in range(5)))
    # Three fit in the quota; the other two had to wait for the next window, not just a slot.
    assert len([when for when in sent if when < 1060.0]) == 3


@on_virtual_time
async def test_useful_concurrency_is_what_the_burst_limit_can_keep_busy_at_the_round_trip_seen():
    t = loop_clock()
    unlimited = governor(t)
    limited = governor(t, burst_limit=20, burst_seconds=2.0)  # 10 requests/s
    assert limited.useful_in_flight(8) == 8  # nothing known yet: every slot
    for g in (unlimited, limited):
        for _ in range(10):
            ticket = await g.acquire()
            t.now += 0.15
            g.release(ticket)
    assert unlimited.useful_in_flight(8) == 8
    assert limited.useful_in_flight(8) == 3  # 10/s × 0.15 s, doubled for the spread, rounded up
    for _ in range(20):  # the round trip grows: more in flight are needed to keep the rate
        ticket = await limited.acquire()
        t.now += 1.0
        limited.release(ticket)
    assert limited.useful_in_flight(8) == 8 and limited.useful_in_flight(32) == 20
