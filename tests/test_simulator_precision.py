"""The simulator's switches for what the docs leave open about time and the record cap: fractional
timestamp storage (printed in whole seconds, filtered and sorted at the fraction), a bulk update of
thousands of records within one minute, and a record cap without the throttled header."""

from __future__ import annotations

import operator
import random
from datetime import datetime
from urllib.parse import quote

import pytest

from tests.conftest import unlimited
from tests.test_simulator_paging import walk
from xurrent_async.simulator import FakeClock, running_simulator
from xurrent_async.simulator.__main__ import build_parser, config_from
from xurrent_async.simulator.data import CollectionData
from xurrent_async.simulator.query import parse_filter, parse_sort
from xurrent_async.simulator.search import Searcher, sort_values
from xurrent_async.state import to_iso

END = 1_767_225_600  # 2026-01-01T00:00:00Z
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "": operator.eq}


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def iso(seconds: float) -> str:
    whole = int(seconds)
    text = to_iso(whole)
    return text if seconds == whole else text[:-1] + f"{seconds - whole:.3f}"[1:] + "Z"


def stored(data: CollectionData, name: str, pos: int) -> int:
    if name == "id":
        return data.ids[pos]
    return data.stored_created(pos) if name == "created_at" else data.stored_updated(pos)


# -- fractional storage: the search engine against brute force -------------------------------------
def random_conditions(rng: random.Random, data: CollectionData) -> dict[str, list[tuple[str, float]]]:
    """Per timestamp field, a documented condition: one-sided, a documented range, or equality,
    around a record's printed second, some with a fraction."""
    conditions: dict[str, list[tuple[str, float]]] = {}
    for name in ("created_at", "updated_at"):
        def bound(name: str = name) -> float:
            second = stored(data, name, rng.randrange(data.n)) // 1000 + rng.choice((-1, 0, 0, 1))
            return second + rng.choice((0, 0, 0, 0.25, 0.5))

        kind = rng.choice(("none", "one", "range", "range", "eq"))
        if kind == "one":
            conditions[name] = [(rng.choice((">", ">=", "<", "<=")), bound())]
        elif kind == "range":
            low, high = sorted((bound(), bound()))
            conditions[name] = [(">", low), ("<", high)] if rng.random() < 0.5 else [(">=", low), ("<=", high)]
        elif kind == "eq":
            conditions[name] = [("", float(stored(data, name, rng.randrange(data.n)) // 1000))]
    return conditions


@pytest.mark.parametrize("seed", [1, 2])
def test_under_fractional_storage_every_walk_filters_and_sorts_at_the_fraction(seed: int) -> None:
    rng = random.Random(seed)
    data = CollectionData(1_500, seed=seed, salt=2, id_base=1_001, data_end=END, history_seconds=3 * 86_400,
                          hot_seconds=3, hot_fraction=0.05, fractional=True)
    for _ in range(30):  # changed records (the overlay) take part too
        data.change(rng.randrange(data.n), rng.choice((END + 5, data.updated_at(rng.randrange(data.n)))), edit=True)
    for _ in range(40):
        conditions = random_conditions(rng, data)
        filters = {name: parse_filter(name, ["".join(f"{op}{iso(v)}" for op, v in conds)], fractional=True)
                   for name, conds in conditions.items()}
        sort = parse_sort(rng.choice(("", "id", "updated_at", "-updated_at", "created_at", "updated_at,-id")))
        expected = sorted(
            (p for p in range(data.n)
             if all(OPS[op](stored(data, name, p), v * 1000) for name, conds in conditions.items() for op, v in conds)),
            key=lambda p: tuple(-stored(data, n, p) if d else stored(data, n, p) for n, d in sort))
        searcher, after, seen = Searcher(), None, []
        signature = (tuple(sorted(filters.items())), sort)
        while True:
            page = searcher.search(data, filters, sort, after, rng.choice((7, 100)), signature)
            assert page.total == len(expected), conditions
            seen += page.positions
            if not page.more:
                break
            after = sort_values(data, sort, page.positions[-1])
        assert seen == expected, (conditions, sort)


# -- fractional storage over HTTP -------------------------------------------------------------------
async def test_under_fractional_storage_a_window_sent_whole_seconds_inclusive_misses_its_last_second(session) -> None:
    clock = FakeClock(END + 3_600)
    config = unlimited(records={"products": 2_000}, timestamp_precision="fractional", data_end=END, history_days=1)
    async with running_simulator(config, clock=clock) as sim:
        crowded = END - 600
        ids = sim.ids("products")[:300]
        sim.set_updated_at("products", ids, crowded)  # 300 records printed at one second
        q = quote(f">={to_iso(crowded - 60)}<={to_iso(crowded)}")  # [A, B) as >=A<=B-1s, B = crowded + 1
        inclusive, _ = await walk(session, f"{sim.base_url}/products?per_page=100&updated_at={q}")
        q = quote(f">{to_iso(crowded - 61)}<{to_iso(crowded + 1)}")  # [A, B) as >A-1s<B
        exclusive, _ = await walk(session, f"{sim.base_url}/products?per_page=100&sort=updated_at,id&updated_at={q}")
        truth = sim.truth("products")
    at_crowded = {r["id"] for r in inclusive if epoch(r["updated_at"]) == crowded}
    assert len(at_crowded) < 5  # only those stored at exactly .000 of that second
    got = {r["id"] for r in exclusive}
    window = {i for i, r in truth.items() if crowded - 60 <= epoch(r["updated_at"]) <= crowded}
    assert window <= got and set(ids) <= got
    assert all(crowded - 61 <= epoch(r["updated_at"]) <= crowded for r in exclusive)  # plus part of A-1s at most
    assert all(r["updated_at"][19] in "+-" for r in exclusive)  # printed in whole seconds
    printed = [epoch(r["updated_at"]) for r in exclusive]
    assert printed == sorted(printed)  # sorted by the stored time: printed seconds never go down ...
    crowd = [r["id"] for r in exclusive if epoch(r["updated_at"]) == crowded]
    assert crowd != sorted(crowd)  # ... but ids inside one printed second do


async def test_under_fractional_storage_undocumented_forms_are_still_refused(session) -> None:
    async with running_simulator(unlimited(records=50, timestamp_precision="fractional")) as sim:
        q = quote(f">={to_iso(END)}<{to_iso(END + 60)}")
        async with session.get(f"{sim.base_url}/products?updated_at={q}") as response:
            assert response.status == 400
            assert "not a documented form" in (await response.json())["message"]


async def test_under_fractional_storage_the_feeds_compare_created_at_at_the_fraction(session) -> None:
    clock = FakeClock(END)
    config = unlimited(records={"projects": 400}, timestamp_precision="fractional", other_feed_entries=0)
    async with running_simulator(config, clock=clock) as sim:
        archived = sim.ids("projects")[:200]
        sim.archive(archived, at=END - 10)  # 200 entries created in one printed second
        q = quote(f">={to_iso(END - 10)}<={to_iso(END - 10)}")
        exact, _ = await walk(session, f"{sim.base_url}/archive?per_page=100&sort=created_at,id&created_at={q}")
        q = quote(f">{to_iso(END - 11)}<{to_iso(END - 9)}")
        whole, _ = await walk(session, f"{sim.base_url}/archive?per_page=100&sort=id&created_at={q}")
    assert len(exact) < 5  # stored at exactly .000
    assert sorted(e["project"]["id"] for e in whole) == sorted(archived)
    assert [e["id"] for e in whole] == sorted(e["id"] for e in whole)
    assert {epoch(e["created_at"]) for e in whole} == {END - 10}


# -- a bulk update ------------------------------------------------------------------------------------
async def test_a_bulk_update_spreads_thousands_of_records_over_one_minute() -> None:
    clock = FakeClock(END)
    config = unlimited(records={"products": 3_000, "projects": 3_000}, data_end=END - 3_600, history_days=30)
    async with running_simulator(config, clock=clock) as sim:
        changed = sim.bulk_update(2_400, at=END - 120)
        products, projects = sim.truth("products"), sim.truth("projects")
    assert {name: len(ids) for name, ids in changed.items()} == {"products": 1_200, "projects": 1_200}
    seconds = [epoch(t[i]["updated_at"]) for t, name in ((products, "products"), (projects, "projects"))
               for i in changed[name]]
    assert min(seconds) == END - 120 and max(seconds) == END - 61
    per_second = {s: seconds.count(s) for s in set(seconds)}
    assert len(per_second) == 60 and max(per_second.values()) - min(per_second.values()) <= 2
    assert all(" (edit 1)" in products[i]["name"] for i in changed["products"])
    assert all(epoch(products[i]["created_at"]) <= END - 120 for i in changed["products"])


async def test_the_bulk_update_switch_applies_it_an_hour_before_the_data_ends() -> None:
    config = unlimited(records={"products": 1_000, "projects": 1_000}, data_end=END, bulk_update=500)
    async with running_simulator(config, clock=FakeClock(END + 60)) as sim:
        truth = {**sim.truth("products"), **sim.truth("projects")}
    inside = [r for r in truth.values() if END - 3_600 <= epoch(r["updated_at"]) < END - 3_540]
    assert len([r for r in inside if "(edit 1)" in (r.get("name") or r.get("subject"))]) == 500


# -- the cap without the header -------------------------------------------------------------------------
async def test_a_cap_without_the_header_ends_the_walk_short_of_its_total_and_says_nothing(session) -> None:
    async with running_simulator(unlimited(records=120, record_cap=45, throttled_header="none")) as sim:
        records, pages = await walk(session, f"{sim.base_url}/projects")
    assert len(records) == 45 and "next" not in pages[-1].links
    assert all(p.headers["X-Pagination-Total-Entries"] == "120" for p in pages)
    assert all("X-Pagination-Throttled" not in p.headers for p in pages)


async def test_a_total_counted_up_to_the_cap_hides_the_cap_from_the_count(session) -> None:
    config = unlimited(records=120, record_cap=45, throttled_header="none", total_entries="capped")
    async with running_simulator(config) as sim:
        records, pages = await walk(session, f"{sim.base_url}/projects")
    assert len(records) == 45 and "next" not in pages[-1].links
    assert all(p.headers["X-Pagination-Total-Entries"] == "45" for p in pages)
    assert all(p.headers["X-Pagination-Total-Pages"] == "3" for p in pages)


def test_the_command_line_names_each_switch() -> None:
    args = build_parser().parse_args(["--timestamp-precision", "fractional", "--bulk-update", "2400",
                                      "--throttled-header", "none", "--total-entries", "capped"])
    config = config_from(args)
    assert (config.timestamp_precision, config.bulk_update, config.throttled_header) == ("fractional", 2_400, "none")
    assert config.total_entries == "capped"
    assert config_from(build_parser().parse_args([])).timestamp_precision == "second"


async def test_an_unknown_precision_is_refused_when_the_simulator_is_built() -> None:
    with pytest.raises(ValueError, match="timestamp_precision"):
        async with running_simulator(unlimited(records=5, timestamp_precision="micro")):
            pass
