"""The simulator's filter grammar, sort parameter and cursors: parsing, and the 400s a client sees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import aiohttp
import pytest

from tests.conftest import HEADERS
from xurrent_async.simulator import SimConfig, running_simulator
from xurrent_async.simulator.query import (
    FieldFilter,
    QueryError,
    decode_cursor,
    encode_cursor,
    parse_filter,
    parse_sort,
)

T = 1_767_225_600  # 2026-01-01T00:00:00Z
Z = "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("updated_at", Z, FieldFilter(lo=T, hi=T)),
        ("updated_at", f">{Z}", FieldFilter(lo=T + 1)),
        ("updated_at", f">={Z}", FieldFilter(lo=T)),
        ("updated_at", f"<{Z}", FieldFilter(hi=T - 1)),
        ("updated_at", f"<={Z}", FieldFilter(hi=T)),
        ("updated_at", f"!{Z}", FieldFilter(exclude=frozenset({T}))),
        ("created_at", f">={Z}<=2026-01-02T00:00:00Z", FieldFilter(lo=T, hi=T + 86_400)),
        ("created_at", f">{Z}<2026-01-02T00:00:00Z", FieldFilter(lo=T + 1, hi=T + 86_399)),
        ("updated_at", "", FieldFilter(include=frozenset())),  # empty: no value, and every record has one
        ("updated_at", "!", FieldFilter()),  # present: every record
        ("updated_at", "2026-01-01T02:00:00+02:00", FieldFilter(lo=T, hi=T)),
        ("updated_at", ">=2025-12-31T19:00:00-05:00", FieldFilter(lo=T)),
        ("updated_at", ">=2025-12-31T23:59:59.5Z", FieldFilter(lo=T)),  # fractions round inward
        ("updated_at", "<2026-01-01T00:00:00.5Z", FieldFilter(hi=T)),
        ("updated_at", "2026-01-01T00:00:00.5Z", FieldFilter(include=frozenset())),  # matches nothing
        ("id", "12", FieldFilter(lo=12, hi=12)),
        ("id", "1,2,3", FieldFilter(include=frozenset({1, 2, 3}))),
        ("id", "!4,5", FieldFilter(exclude=frozenset({4, 5}))),
        ("id", ">=100<=200", FieldFilter(lo=100, hi=200)),
    ],
)
def test_operators(name: str, value: str, expected: FieldFilter) -> None:
    assert parse_filter(name, [value]) == expected


def test_repeated_parameters_all_apply() -> None:
    assert parse_filter("id", [">=10", "<20", "!15"]) == FieldFilter(lo=10, hi=19, exclude=frozenset({15}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("updated_at", ">=2026-01-01T00:00:00 02:00"),  # a '+' sent unencoded arrives as a space
        ("updated_at", "yesterday"),
        ("updated_at", "2026-01-01T00:00:00"),  # no zone
        ("updated_at", "2026-13-01T00:00:00Z"),
        ("updated_at", "2026-02-30T00:00:00Z"),
        ("updated_at", f">={Z}<{Z}<{Z}"),
        ("updated_at", f"!{Z}<{Z}"),
        ("updated_at", ">="),
        # Undocumented forms: mixed and reversed ranges, `=X`, `!=X`, lists of timestamps.
        ("updated_at", f">={Z}<2026-01-02T00:00:00Z"),
        ("updated_at", f">{Z}<=2026-01-02T00:00:00Z"),
        ("updated_at", f"<2026-01-02T00:00:00Z>={Z}"),
        ("updated_at", f"={Z}"),
        ("updated_at", f"!={Z}"),
        ("updated_at", f"{Z},{Z}"),
        ("id", "abc"),
        ("id", ">=1,2"),
        ("id", "-5"),
    ],
)
def test_bad_values_name_the_parameter(name: str, value: str) -> None:
    with pytest.raises(QueryError, match=f"^Invalid value for {name}: "):
        parse_filter(name, [value])


def test_an_unencoded_plus_gets_a_hint() -> None:
    with pytest.raises(QueryError, match="%2B"):
        parse_filter("updated_at", ["2026-01-01T00:00:00 02:00"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, (("updated_at", False), ("id", False))),
        ("id", (("id", False),)),
        ("-updated_at", (("updated_at", True), ("id", True))),
        ("updated_at,-id,created_at", (("updated_at", False), ("id", True))),
        ("created_at, updated_at", (("created_at", False), ("updated_at", False), ("id", False))),
    ],
)
def test_sort_normalization(raw: str | None, expected: tuple) -> None:
    assert parse_sort(raw) == expected


def test_unsortable_fields_are_named() -> None:
    with pytest.raises(QueryError, match=r"^Sorting not allowed on fields: name, status$"):
        parse_sort("name,-updated_at,status")


def test_cursors_round_trip_and_reject_garbage() -> None:
    sort = parse_sort("-updated_at")
    cursor = decode_cursor(encode_cursor(40, (T, 1234), sort), sort)
    assert (cursor.served, cursor.key) == (40, (T, 1234))
    for bad in ("", "%%%", "bm90IGpzb24", encode_cursor(-1, (T, 1), sort)):
        with pytest.raises(QueryError, match="search_after"):
            decode_cursor(bad, sort)


async def test_filters_over_http() -> None:
    config = SimConfig(records=400, burst_limit=None, hourly_limit=None)
    async with running_simulator(config) as sim, aiohttp.ClientSession(headers=HEADERS) as session:
        truth = sim.truth("organizations")
        some = sorted(truth)[100]
        stamp = truth[some]["updated_at"]
        at = int(datetime.fromisoformat(stamp).timestamp())

        async def ids(query: str) -> list[int]:
            async with session.get(f"{sim.base_url}/organizations?per_page=100&sort=id&{query}") as r:
                assert r.status == 200, await r.text()
                return [rec["id"] for rec in await r.json()]

        # The record's own offset (%2B- or '-'-signed) and the same instant in Z select the same records.
        zulu = datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert some in await ids(f"updated_at={quote(stamp, safe='')}")
        assert await ids(f"updated_at={quote(stamp, safe='')}") == await ids(f"updated_at={zulu}")
        plus = datetime.fromtimestamp(at, timezone(timedelta(hours=2))).isoformat()
        assert plus.endswith("+02:00")
        assert await ids(f"updated_at={quote(plus, safe='')}") == await ids(f"updated_at={zulu}")
        assert await ids(f"id={some}") == [some]
        listed = sorted(truth)[:3]
        assert await ids("id=" + ",".join(map(str, listed))) == listed
        assert some not in await ids(f"id=!{some}&id=<{some + 10}")
        assert await ids(f"id=>={listed[0]}<={listed[2]}") == listed
        async with session.get(f"{sim.base_url}/organizations?updated_at=>=2026-01-01T00:00:00+02:00") as r:
            assert r.status == 400
            assert (await r.json())["message"].startswith("Invalid value for updated_at: ")
        async with session.get(f"{sim.base_url}/organizations?id=x") as r:
            assert r.status == 400 and (await r.json())["message"].startswith("Invalid value for id: ")
        async with session.get(f"{sim.base_url}/organizations?per_page=0") as r:
            assert r.status == 400 and "per_page" in (await r.json())["message"]
        async with session.get(f"{sim.base_url}/organizations?status=!completed&name=x") as r:
            assert r.status == 200  # other parameters are ignored
