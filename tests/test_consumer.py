"""The consumer turns events into upserts and checkpoints; a checkpoint never claims a window whose
rows were not upserted before it ("Checkpoints in order", README: Architecture), whatever the
interleaving of windows."""

import logging
import random
from datetime import datetime, timezone

import pytest

from tests.fakes import RecordingSink, checkpoint_claims
from xurrent_async.events import Failed, FieldsRefused, Finished, PassDone, PassStarted, Rows, WindowDone
from xurrent_async.resources import OFFSETLESS, Issue
from xurrent_async.state import SyncState
from xurrent_async.sync import Consumer
from xurrent_async.tuning import Tuning


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.05  # every look at the clock moves time a little, so time-based checkpoints happen
        return self.now


def _row(record_id: int, second: int) -> dict:
    return {"id": record_id, "updated_at": datetime.fromtimestamp(second, timezone.utc)}


def _window_events(stream: str, window: tuple[int, int], first_id: int, count: int, page: int):
    rows = [_row(first_id + i, window[0]) for i in range(count)]
    for start in range(0, count, page):
        yield Rows(stream, rows[start:start + page])
    yield WindowDone(stream, window)


@pytest.mark.parametrize("seed", range(20))
def test_no_checkpoint_claims_a_window_before_all_its_rows(seed):
    rng = random.Random(seed)
    streams = ["organizations", "products"]
    per_window: dict[tuple[str, tuple[int, int]], set[int]] = {}
    generators = []
    next_id = 1
    for stream in streams:
        bounds = [*sorted(rng.sample(range(1, 1000), 6)), 1000]
        windows = list(zip([0, *bounds[:-1]], bounds, strict=True))
        for window in windows:
            count = rng.randint(0, 40)
            per_window[(stream, window)] = set(range(next_id, next_id + count))
            generators.append(_window_events(stream, window, next_id, count, page=rng.randint(1, 10)))
            next_id += count
    events = [PassStarted(s, 0, 1000, None) for s in streams]
    while generators:  # interleave windows at random, keeping each window's own order
        gen = rng.choice(generators)
        try:
            events.append(next(gen))
        except StopIteration:
            generators.remove(gen)
    events += [PassDone(s) for s in streams] + [Finished()]

    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_rows=rng.randint(5, 50), checkpoint_seconds=0.3),
                        FakeClock())
    for event in events:
        if not consumer.handle(event):
            break

    checked = 0
    for stream, lo, hi, upserted in checkpoint_claims(sink.ops):
        for (s, (wa, wb)), ids in per_window.items():
            if s == stream and lo <= wa and wb <= hi:
                assert ids <= upserted, f"checkpoint claims {stream} {wa}-{wb} too early"
                checked += 1
    assert checked > 0
    assert len(sink.checkpoints) >= 2
    final = sink.checkpoints[-1]["streams"]
    assert all(final[s]["cursor"] == "1970-01-01T00:16:40Z" and "pass" not in final[s] for s in streams)


def test_checkpoints_come_every_few_thousand_rows_inside_an_open_window():
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_rows=1000, checkpoint_seconds=1e9), lambda: 0.0)
    consumer.handle(PassStarted("projects", 0, 10, None))
    for page in range(50):
        consumer.handle(Rows("projects", [_row(page * 100 + i, 0) for i in range(100)]))
    # 5,000 rows and no window finished yet: the buffer was still flushed every 1,000 rows ...
    assert len(sink.checkpoints) == 5
    # ... and none of those checkpoints claims anything.
    assert all(c["streams"]["projects"]["pass"]["done"] == [] for c in sink.checkpoints)
    assert all(c["streams"]["projects"]["cursor"] is None for c in sink.checkpoints)


def test_window_ends_wait_for_the_next_timed_checkpoint_and_a_pass_end_is_saved_at_once():
    # Each local checkpoint writes every table with rows waiting: window ends only mark the state;
    # the row count, the clock or the end of the sync decide when it is saved. A pass's end is saved
    # at once: its removal feeds come next, and a feed that fails the sync must not take it along.
    now = [0.0]
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_rows=1_000, checkpoint_seconds=5.0), lambda: now[0])
    for stream in ("organizations", "products"):
        consumer.handle(PassStarted(stream, 0, 10, None))
        consumer.handle(Rows(stream, [_row(i, 0) for i in range(100)]))
        consumer.handle(WindowDone(stream, (0, 10)))
    assert sink.checkpoints == []
    consumer.handle(PassDone("organizations"))
    assert len(sink.checkpoints) == 1
    assert sink.checkpoints[0]["streams"]["organizations"]["cursor"] == "1970-01-01T00:00:10Z"
    assert sink.checkpoints[0]["streams"]["products"]["pass"]["done"] == [["1970-01-01T00:00:00Z",
                                                                           "1970-01-01T00:00:10Z"]]
    consumer.handle(PassDone("products"))
    assert len(sink.checkpoints) == 2
    consumer.handle(Finished())
    assert len(sink.checkpoints) == 3  # the final one, always


def test_a_failure_event_is_raised_with_its_original_message():
    consumer = Consumer(SyncState(), RecordingSink(), Tuning(), lambda: 0.0)
    with pytest.raises(ValueError, match="original message"):
        consumer.handle(Failed(ValueError("original message")))


def test_value_problems_are_warned_and_the_rows_still_delivered(caplog):
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(), lambda: 0.0)
    consumer.handle(PassStarted("products", 0, 10, None))
    consumer.handle(Rows("products", [_row(7, 0)], [Issue("products", "salvage_value", "is not a decimal", "'x'", 7)]))
    assert 7 in sink.rows["products"]
    assert "products id 7" in caplog.text


def test_each_distinct_value_problem_is_warned_once_and_counted_so_repeats_never_hide_others(caplog):
    caplog.set_level(logging.WARNING)
    consumer = Consumer(SyncState(), RecordingSink(), Tuning(), lambda: 0.0)
    consumer.handle(PassStarted("products", 0, 10, None))
    harmless = [Issue("products", "rule_set", "has an undocumented value", "'quantum'", i) for i in range(500)]
    real = Issue("products", "updated_at", "is an unparseable timestamp", "'yesterday'", 999)
    consumer.handle(Rows("products", [_row(i, 0) for i in range(501)], [*harmless[:250], real, *harmless[250:]]))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("'quantum'" in w for w in warnings) == 1
    assert sum("'yesterday'" in w for w in warnings) == 1
    summary = consumer.value_problems.summary()
    assert summary[0].startswith("products: rule_set has an undocumented value 'quantum': 500 record(s)")
    assert any("'yesterday': 1 record(s), e.g. id 999" in line for line in summary)


def test_timestamps_without_an_offset_are_warned_once_per_field_with_their_count(caplog):
    caplog.set_level(logging.WARNING)
    consumer = Consumer(SyncState(), RecordingSink(), Tuning(), lambda: 0.0)
    consumer.handle(PassStarted("projects", 0, 10, None))
    issues = [Issue("projects", "completed_at", OFFSETLESS, f"'2016-03-22T21:{i:02d}'", i, per_value=False)
              for i in range(40)]
    consumer.handle(Rows("projects", [_row(i, 0) for i in range(40)], issues))
    assert sum("without a UTC offset" in r.getMessage() for r in caplog.records) == 1
    assert consumer.value_problems.summary() == [
        f"projects: completed_at {OFFSETLESS}: 40 record(s), e.g. '2016-03-22T21:00' (id 0)"]


def test_refused_fields_reach_the_next_checkpoint_and_an_empty_list_forgets_them():
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_seconds=0.0), lambda: 0.0)
    consumer.handle(FieldsRefused("products", ("rate",)))
    consumer.save()
    assert sink.checkpoints[-1]["streams"]["products"]["refused_fields"] == ["rate"]
    consumer.handle(FieldsRefused("products", ()))
    consumer.save()
    assert "refused_fields" not in sink.checkpoints[-1]["streams"]["products"]


def test_a_sync_that_fails_in_a_feed_keeps_the_pass_that_ended_before_it():
    now = [0.0]
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_seconds=5.0), lambda: now[0])
    consumer.handle(PassStarted("projects", 0, 10, None))
    consumer.handle(Rows("projects", [_row(1, 5)]))
    consumer.handle(WindowDone("projects", (0, 10)))
    consumer.handle(PassDone("projects"))
    with pytest.raises(RuntimeError):
        consumer.handle(Failed(RuntimeError("the archive failed")))
    assert sink.checkpoints[-1]["streams"]["projects"] == {"cursor": "1970-01-01T00:00:10Z"}
    assert [op[0] for op in sink.ops] == ["upsert", "checkpoint"]


def test_the_read_part_of_an_open_window_is_claimed_once_its_rows_are_upserted():
    sink = RecordingSink()
    consumer = Consumer(SyncState(), sink, Tuning(checkpoint_rows=100, checkpoint_seconds=1e9), lambda: 0.0)
    consumer.handle(PassStarted("projects", 0, 100, None))
    consumer.handle(Rows("projects", [_row(i, 10 + i // 10) for i in range(100)], done=(0, 19)))
    assert sink.ops[-1][0] == "checkpoint" and sink.ops[-2][0] == "upsert"  # rows first, then the claim
    assert sink.checkpoints[-1]["streams"]["projects"]["pass"]["done"] == [
        ["1970-01-01T00:00:00Z", "1970-01-01T00:00:19Z"]]
    consumer.handle(Rows("projects", [_row(100 + i, 19 + i // 10) for i in range(100)], done=(0, 28)))
    assert sink.checkpoints[-1]["streams"]["projects"]["pass"]["done"] == [
        ["1970-01-01T00:00:00Z", "1970-01-01T00:00:28Z"]]
    assert sink.checkpoints[-1]["streams"]["projects"]["cursor"] is None  # the pass is still open
