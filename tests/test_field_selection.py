"""A 400 caused by `fields=`, whatever its wording, costs a handful of one-record probes once, the
refused fields stay null (said once), later syncs remember them, and a full pass asks again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from tests.fakes import RecordingSink
from tests.sdk_harness import differences
from xurrent_async.errors import ApiError
from xurrent_async.field_selection import MAX_PROBES, find_refused
from xurrent_async.resources import BY_TABLE
from xurrent_async.settings import parse_settings
from xurrent_async.simulator import SimConfig, SimulatorThread
from xurrent_async.simulator.query import FieldsError
from xurrent_async.state import from_iso, to_iso
from xurrent_async.sync import run_sync
from xurrent_async.tuning import Tuning

FAST = Tuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05)
PRODUCT_FIELDS = list(BY_TABLE["products"].requested_fields)


def settings_for(sim, **extra: str):
    config = {"oauth_token": "sim-token", "account_id": "sim-account", "base_url": sim.base_url,
              "burst_limit": "10000", "rate_limit_per_hour": "1000000", **extra}
    return parse_settings(config)[0]


def probe_refusing(refused: set[str], also: set[str] | None = None) -> tuple[list[str], object]:
    """A probe that refuses any list naming one of `refused` (and, with `also`, everything)."""
    asked: list[str] = []

    async def probe(names: str) -> bool:
        asked.append(names)
        return not also and not refused & set(names.split(","))

    return asked, probe


@pytest.mark.parametrize("refused", [{"rate"}, {"brand"}, {"picture_uri"}, {"rate", "brand"},
                                     {"name", "rate", "remarks"}])
def test_halving_finds_the_refused_fields_in_a_handful_of_probes(refused):
    asked, probe = probe_refusing(refused)
    found = asyncio.run(find_refused(PRODUCT_FIELDS, probe))
    assert set(found) == refused
    assert asked[0] == "id"  # first: is the 400 about the fields at all?
    # Per refused field among 27: one probe per halving (5) and one of the rest; plus the id probe.
    assert len(asked) <= 1 + len(refused) * (5 + 1), asked


def test_when_even_fields_id_is_refused_the_400_is_not_about_the_fields():
    asked, probe = probe_refusing(set(), also={"*"})
    assert asyncio.run(find_refused(PRODUCT_FIELDS, probe)) is None
    assert asked == ["id"]


def watch_probes(sim, collection: str) -> list[str]:
    """The `fields=` of every one-record request (a probe) the simulator gets for `collection`."""
    probes: list[str] = []
    sim.before_serving = lambda asked, query: (
        probes.append(query.get("fields", "")) if asked == collection and query.get("per_page") == "1" else None)
    return probes


@pytest.fixture
def refusing() -> Iterator[SimConfig]:
    yield SimConfig(records=300, burst_limit=None, hourly_limit=None, refused_fields={"products": ("rate",)},
                    fields_error_message="Bad Request")


def test_a_field_refused_with_a_message_that_names_nothing_is_found_dropped_and_remembered(refusing, caplog):
    caplog.set_level(logging.WARNING)
    with SimulatorThread(refusing) as sim:
        sink = RecordingSink()
        probes = watch_probes(sim, "products")
        first = run_sync(settings_for(sim), None, sink, tuning=FAST)
        truth = sim.truth("products")
        assert first.state["streams"]["products"]["refused_fields"] == ["rate"]
        assert "refused_fields" not in first.state["streams"]["organizations"]
        sim.touch("products", sim.ids("products")[:5])
        sim.clock.skew_seconds += 2
        sim.reset_stats()
        second = run_sync(settings_for(sim), first.state, sink, tuning=FAST)
        assert sim.stats.requests_by_collection["products"] == 1  # remembered: no probe, no 400
        assert second.state["streams"]["products"]["refused_fields"] == ["rate"]
        truth = sim.truth("products")
    for record in truth.values():
        record["rate"] = None  # the column the API refuses stays null; every other one is the source's
    assert differences(truth, sink.rows["products"], "products") == []
    assert probes[0] == "id" and len(probes) <= 1 + 5 + 1, probes
    found = [r.getMessage() for r in caplog.records if "refused the field(s) rate" in r.getMessage()]
    assert len(found) == 1 and "Bad Request" in found[0] and "column(s) rate stay null" in found[0]
    assert any("not asking for the field(s) rate" in r.getMessage() for r in caplog.records)


def test_the_simulators_wording_for_a_field_a_list_cannot_return_is_survivable_too():
    config = SimConfig(records=200, burst_limit=None, hourly_limit=None,
                       refused_fields={"projects": ("roi", "effort"), "organizations": ("region",)})
    with SimulatorThread(config) as sim:
        sink = RecordingSink()
        report = run_sync(settings_for(sim), None, sink, tuning=FAST)
        assert sim.stats.by_status.get(400, 0) > 0
    assert report.state["streams"]["projects"]["refused_fields"] == ["effort", "roi"]  # in declared order
    assert report.state["streams"]["organizations"]["refused_fields"] == ["region"]
    assert all(row["roi"] is None and row["effort"] is None for row in sink.rows["projects"].values())
    assert len(sink.rows["projects"]) == 200


def test_a_full_pass_asks_again_and_gets_a_field_the_api_accepts_again(refusing):
    with SimulatorThread(refusing) as sim:
        sink = RecordingSink()
        state = run_sync(settings_for(sim), None, sink, tuning=FAST).state
        sim.config.refused_fields = {}  # the API lists the field again
        report = run_sync(settings_for(sim, enable_incremental_sync="false"), state, sink, tuning=FAST)
        truth = sim.truth("products")
    assert "refused_fields" not in report.state["streams"]["products"]
    assert differences(truth, sink.rows["products"], "products") == []
    assert any(row["rate"] is not None for row in sink.rows["products"].values())


def test_a_400_that_is_not_about_the_fields_fails_with_the_apis_message_after_one_probe():
    config = SimConfig(records=50, burst_limit=None, hourly_limit=None)
    with SimulatorThread(config) as sim, pytest.MonkeyPatch.context() as patch:
        patch.setattr("xurrent_async.simulator.query.SORT_FIELDS", ("id", "created_at"))
        with pytest.raises(ApiError) as info:
            run_sync(settings_for(sim, max_concurrency="1"), None, RecordingSink(), tuning=FAST)
        first = next(iter(sim.stats.requests_by_collection))
        assert sim.stats.requests_by_collection[first] == 2  # the request, and the fields=id probe
    assert info.value.status == 400 and "Sorting not allowed on fields: updated_at" in str(info.value)


def test_a_400_that_persists_without_the_refused_fields_fails_with_the_apis_message():
    """A server that refuses any list of more than ten fields: halving ends on one field, and the
    request without it is still refused: the error stands."""
    import xurrent_async.simulator.query as query

    original = query._fields

    def at_most_ten(raw, known, detail_only):
        if raw and len(raw.split(",")) > 10:
            raise FieldsError("Too many fields")
        return original(raw, known, detail_only)

    config = SimConfig(records=50, burst_limit=None, hourly_limit=None)
    with SimulatorThread(config) as sim, pytest.MonkeyPatch.context() as patch:
        patch.setattr(query, "_fields", at_most_ten)
        probes = watch_probes(sim, "products")
        with pytest.raises(ApiError) as info:
            run_sync(settings_for(sim, max_concurrency="1"), None, RecordingSink(), tuning=FAST)
    assert info.value.status == 400 and "Too many fields" in str(info.value)
    assert len(probes) <= MAX_PROBES


def test_a_field_the_walks_cannot_do_without_is_never_dropped():
    _, probe = probe_refusing({"updated_at"})
    assert asyncio.run(find_refused(PRODUCT_FIELDS, probe)) is None


def test_concurrent_walks_of_a_table_share_one_probe(refusing):
    """A resumed pass with four gaps starts four walks at once: one finds the refused field, the
    others wait for its answer and ask again without it."""
    with SimulatorThread(refusing) as sim:
        first = run_sync(settings_for(sim), None, RecordingSink(), tuning=FAST).state
        products = {k: v for k, v in first["streams"]["products"].items() if k not in ("cursor", "refused_fields")}
        times = sorted(from_iso(r["updated_at"][:19] + "Z") for r in sim.truth("products").values())
        lower, upper = times[0] - 86_400, from_iso(first["streams"]["products"]["cursor"])
        marks = [times[len(times) * k // 8] for k in range(1, 8)]
        done = [[to_iso(marks[i]), to_iso(marks[i + 1])] for i in (0, 2, 4)]  # gaps before, between and after
        products["pass"] = {"lower": to_iso(lower), "upper": to_iso(upper), "done": done}
        state = {**first, "streams": {**first["streams"], "products": products}}
        probes = watch_probes(sim, "products")
        sink = RecordingSink()
        report = run_sync(settings_for(sim), state, sink, tuning=FAST)
        sim.before_serving = None
    assert report.state["streams"]["products"]["refused_fields"] == ["rate"]
    assert probes[0] == "id" and 2 <= len(probes) <= 7, probes  # one search, not one per walk
    assert report.streams["products"].rows > 0
