"""Cursor pagination of the simulator over HTTP: complete, ordered, stable walks; Link headers;
pagination headers; the record cap; sorting."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlsplit

import aiohttp
import pytest

from tests.conftest import unlimited
from xurrent_async.simulator import running_simulator

PLUS_TWO = timezone(timedelta(hours=2))



def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp())


def by_updated(records: dict[int, dict]) -> list[int]:
    return sorted(records, key=lambda i: (epoch(records[i]["updated_at"]), i))


async def walk(session: aiohttp.ClientSession, url: str) -> tuple[list[dict], list[aiohttp.ClientResponse]]:
    records: list[dict] = []
    pages: list[aiohttp.ClientResponse] = []
    next_url: str | None = url
    while next_url:
        async with session.get(next_url) as response:
            assert response.status == 200, await response.text()
            records += await response.json()
            pages.append(response)
            link = response.links.get("next")
            next_url = str(link["url"]) if link else None
        assert len(pages) < 1_000
    return records, pages



@pytest.mark.parametrize("per_page", [None, 7, 100, 250])
async def test_a_walk_returns_every_record_once_in_order(session, per_page: int | None) -> None:
    async with running_simulator(unlimited(records=333)) as sim:
        query = "" if per_page is None else f"?per_page={per_page}"
        records, pages = await walk(session, f"{sim.base_url}/products{query}")
        truth = sim.truth("products")
    assert [r["id"] for r in records] == by_updated(truth)
    size = min(per_page or 20, 100)
    assert [len(await p.json()) for p in pages[:-1]] == [size] * (len(pages) - 1)
    assert len(pages) == math.ceil(333 / size)
    for number, page in enumerate(pages, start=1):
        h = page.headers
        assert (h["X-Pagination-Per-Page"], h["X-Pagination-Current-Page"]) == (str(size), str(number))
        assert (h["X-Pagination-Total-Pages"], h["X-Pagination-Total-Entries"]) == (str(len(pages)), "333")
        assert "X-Pagination-Throttled" not in h
        links = page.links
        assert set(links) <= {"next"}  # never first/prev/last
        assert ("next" in links) == (number < len(pages))


async def test_a_filtered_walk_keeps_every_other_query_parameter(session) -> None:
    async with running_simulator(unlimited(records=2_000)) as sim:
        truth = sim.truth("products")
        times = sorted(epoch(r["updated_at"]) for r in truth.values())
        lo, hi = times[200], times[1_500]
        # The same instants written with a +02:00 offset, sent as %2B.
        a = datetime.fromtimestamp(lo, PLUS_TWO).isoformat()
        b = datetime.fromtimestamp(hi - 1, PLUS_TWO).isoformat()  # [lo, hi) of whole seconds is >=lo<=hi-1
        assert a.endswith("+02:00")
        window = quote(f">={a}<={b}", safe="")
        url = f"{sim.base_url}/products?updated_at={window}&fields=name,brand&foo=bar&per_page=30"
        records, pages = await walk(session, url)
    expected = [i for i in by_updated(truth) if lo <= epoch(truth[i]["updated_at"]) < hi]
    assert [r["id"] for r in records] == expected
    assert all(set(r) == {"id", "nodeID", "name", "brand"} for r in records)
    assert all(r == {k: truth[r["id"]][k] for k in r} for r in records)
    for page in pages[:-1]:
        params = parse_qsl(urlsplit(str(page.links["next"]["url"])).query)
        names = [name for name, _ in params]
        assert names == ["updated_at", "fields", "foo", "per_page", "search_after"]
        assert dict(params)["updated_at"] == f">={a}<={b}" and dict(params)["foo"] == "bar"


async def test_an_empty_result_is_an_empty_array_without_next(session) -> None:
    async with running_simulator(unlimited(records=50)) as sim:
        async with session.get(f"{sim.base_url}/projects?updated_at=>2100-01-01T00:00:00Z") as r:
            assert r.status == 200 and await r.json() == []
            assert "Link" not in r.headers
            assert r.headers["X-Pagination-Total-Entries"] == "0"
    async with running_simulator(unlimited(records=0)) as sim, session.get(f"{sim.base_url}/projects") as r:
        assert r.status == 200 and await r.json() == [] and "Link" not in r.headers


async def test_records_changed_mid_walk_do_not_shift_the_others(session) -> None:
    async with running_simulator(unlimited(records=500)) as sim:
        order = by_updated(sim.truth("organizations"))
        seen: list[int] = []
        url: str | None = f"{sim.base_url}/organizations?per_page=50"
        while url:
            async with session.get(url) as r:
                seen += [rec["id"] for rec in await r.json()]
                url = str(r.links["next"]["url"]) if "next" in r.links else None
            if len(seen) == 150:
                sim.touch("organizations", [order[10], order[400]])  # one handed out already, one not yet
    moved = {order[10], order[400]}
    assert [i for i in seen if i not in moved] == [i for i in order if i not in moved]
    assert sorted(seen[-2:]) == sorted(moved)


@pytest.mark.parametrize("mode", ["all", "last"])
async def test_the_record_cap_stops_the_walk_and_says_throttled(session, mode: str) -> None:
    async with running_simulator(unlimited(records=120, record_cap=45, throttled_header=mode)) as sim:
        records, pages = await walk(session, f"{sim.base_url}/projects")
        assert [r["id"] for r in records] == by_updated(sim.truth("projects"))[:45]
        assert [len(await p.json()) for p in pages] == [20, 20, 5]
        assert all(p.headers["X-Pagination-Total-Entries"] == "120" for p in pages)
        throttled = [p.headers.get("X-Pagination-Throttled") for p in pages]
        assert throttled == (["true"] * 3 if mode == "all" else [None, None, "true"])
        # A query under the cap is not throttled.
        small, small_pages = await walk(session, f"{sim.base_url}/projects?id=<{records[0]['id'] + 60}")
        assert len(small) <= 45 and all("X-Pagination-Throttled" not in p.headers for p in small_pages)


async def test_the_cap_counts_across_per_page_changes_and_exact_fits(session) -> None:
    async with running_simulator(unlimited(records=100, record_cap=40)) as sim:
        records, pages = await walk(session, f"{sim.base_url}/projects?per_page=40")
        assert len(records) == 40 and len(pages) == 1 and "next" not in pages[0].links
        assert pages[0].headers["X-Pagination-Throttled"] == "true"


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("id", lambda r: r["id"]),
        ("-id", lambda r: -r["id"]),
        ("-updated_at", lambda r: (-epoch(r["updated_at"]), -r["id"])),
        ("created_at", lambda r: (epoch(r["created_at"]), r["id"])),
        ("updated_at,-id", lambda r: (epoch(r["updated_at"]), -r["id"])),
    ],
)
async def test_sort_orders(session, sort: str, key) -> None:
    async with running_simulator(unlimited(records=250)) as sim:
        records, _ = await walk(session, f"{sim.base_url}/organizations?per_page=33&sort={sort}")
        truth = sim.truth("organizations")
    assert [r["id"] for r in records] == [r["id"] for r in sorted(truth.values(), key=key)]


async def test_unsortable_fields_and_bad_cursors_are_400(session) -> None:
    async with running_simulator(unlimited(records=30)) as sim:
        async with session.get(f"{sim.base_url}/products?sort=name,-id") as r:
            assert r.status == 400 and await r.json() == {"message": "Sorting not allowed on fields: name"}
        async with session.get(f"{sim.base_url}/products?search_after=not*a*cursor") as r:
            assert r.status == 400 and "search_after" in (await r.json())["message"]
        async with session.get(f"{sim.base_url}/products?per_page=5") as r:
            cursor = dict(parse_qsl(urlsplit(str(r.links["next"]["url"])).query))["search_after"]
        async with session.get(f"{sim.base_url}/products?sort=-id&search_after={cursor}") as r:
            assert r.status == 400 and "another sort order" in (await r.json())["message"]


async def test_links_can_name_another_host(session) -> None:
    async with running_simulator(unlimited(records=30, link_base_url="https://api.4me.com/v1")) as sim:
        async with session.get(f"{sim.base_url}/organizations?per_page=10") as r:
            assert str(r.links["next"]["url"]).startswith("https://api.4me.com/v1/organizations?per_page=10&")


async def test_page_is_ignored_and_per_page_defaults_follow_the_config(session) -> None:
    async with running_simulator(unlimited(records=30, per_page_default=8, per_page_max=12)) as sim:
        async with session.get(f"{sim.base_url}/organizations?page=3") as r:
            assert len(await r.json()) == 8 and r.headers["X-Pagination-Current-Page"] == "1"
        async with session.get(f"{sim.base_url}/organizations?per_page=50") as r:
            assert len(await r.json()) == 12 and r.headers["X-Pagination-Per-Page"] == "12"
