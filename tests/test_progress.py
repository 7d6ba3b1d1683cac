"""Time at the pool's limits and the progress lines' estimates: pure arithmetic, no HTTP."""

from __future__ import annotations

import logging
import math

import pytest

from xurrent_async.estimate import Capacity, duration, seconds_for, stream_seconds
from xurrent_async.progress import TimeLeft

ONE = Capacity(quota=3600, hour=3600, rate=10.0)  # Xurrent's limits: 3,600 an hour, 20 per 2 s
STREAMS = ("organizations", "products", "projects")


def test_one_credential_spends_its_quota_at_burst_speed_then_waits_for_each_reset():
    assert seconds_for(3600, [ONE]) == pytest.approx(360)  # six minutes at 10/s
    assert seconds_for(7000, [ONE]) / 60 == pytest.approx(65.67, abs=0.01)  # an hour, then 340 s more
    assert seconds_for(21_000, [ONE]) / 3600 == pytest.approx(5 + 300 / 3600)


def test_credentials_of_distinct_users_add_up():
    assert seconds_for(21_000, [ONE] * 3) / 3600 == pytest.approx(1 + 340 / 3600)
    assert sum(c.per_hour for c in [ONE] * 3) == 10_800


def test_what_the_headers_said_about_the_current_window_counts():
    # 100 left in a window that resets in 10 minutes: those go at once, the rest after the reset.
    worn = Capacity(quota=3600, hour=3600, rate=10.0, remaining=100, reset_in=600)
    assert seconds_for(100, [worn]) == pytest.approx(10)
    assert seconds_for(200, [worn]) == pytest.approx(600 + 10)


def test_a_budget_caps_the_average_rate():
    budget = Capacity(quota=3600, hour=3600, rate=10.0, budget_rate=1200 / 3600, budget_burst=20)
    assert budget.per_hour == pytest.approx(1200)
    assert seconds_for(1220, [budget]) == pytest.approx(3600, rel=1e-6)


def test_no_credential_left_never_finishes():
    assert seconds_for(10, []) == math.inf and duration(math.inf).startswith("never")
    assert seconds_for(0, []) == 0


def test_streams_side_by_side_finish_the_small_one_first_and_the_last_with_the_whole():
    done = stream_seconds({"small": 1000, "big": 9000}, [ONE])
    assert done["small"] == pytest.approx(seconds_for(2000, [ONE]))  # its 1,000 and 1,000 of the big one
    assert done["big"] == pytest.approx(seconds_for(10_000, [ONE]))


def test_three_streams_of_700000_records_on_one_credential_take_5_hours_not_66_minutes(caplog):
    time_left = TimeLeft(100, STREAMS)
    lines: list[tuple[int, str]] = []
    for stream in STREAMS:
        assert lines == []  # nothing is said before every stream knows its size
        time_left.pass_started(stream, 700_000, 0)
        lines = time_left.plan([ONE], sync_frequency_hours=2)
    (level, plan), (warning_level, warning) = lines
    assert level == logging.INFO and "about 2,100,000 records → about 21,000 requests" in plan
    assert "1 credential, 3,600 requests/hour" in plan and "about 5.1 h at best" in plan
    assert "organizations 5.1 h, products 5.1 h, projects 5.1 h" in plan  # not 65.7 min each
    assert warning_level == logging.WARNING
    assert warning.startswith("at 3,600 requests/hour this sync needs about 5.1 h, longer than sync_frequency_hours=2")
    assert time_left.plan([ONE], 2) == []  # said once


def test_three_credentials_make_it_a_third_and_no_warning():
    time_left = TimeLeft(100, STREAMS)
    for stream in STREAMS:
        time_left.pass_started(stream, 700_000, 0)
    ((_, plan),) = time_left.plan([ONE] * 3, sync_frequency_hours=2)
    # What one credential would need per stream is now what three need for the whole sync.
    assert "3 credentials, 10,800 requests/hour" in plan and "about 65.7 min at best" in plan


def test_progress_says_records_left_and_time_left_per_stream_and_in_all():
    time_left = TimeLeft(100, STREAMS[:2], resumed=["projects"])
    time_left.pass_started("organizations", 36_000, 0)
    time_left.pass_started("products", 360_000, 0)
    rows = {"organizations": 35_000, "products": 0, "projects": 5}
    orgs = time_left.stream_suffix("organizations", rows, [ONE])
    assert orgs == "; about 1,000 records left, done in about 2 s"  # its 10 requests beside 10 of products
    assert time_left.stream_suffix("products", rows, [ONE]).startswith("; about 360,000 records left, done in about")
    assert time_left.stream_suffix("projects", rows, [ONE]) == ""  # resumed: its size is unknown
    summary = time_left.summary(rows, [ONE])
    assert summary.startswith("about 361,000 records left (not counting projects: resumed)")
    assert summary.endswith("about 60.0 min left") and "1 credential, 3,600 requests/hour" in summary
    assert time_left.stream_suffix("organizations", {"organizations": 36_000}, [ONE]) == "; nothing left to read"
