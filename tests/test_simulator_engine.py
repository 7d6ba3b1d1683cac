"""The simulator's virtual indexes and search engine against brute force: every filter, sort and
cursor combination must give exactly what sorting and filtering all records would give."""

from __future__ import annotations

import bisect
import itertools
import random

import pytest

from xurrent_async.simulator.data import PERIOD, CollectionData, gallop
from xurrent_async.simulator.query import FieldFilter, parse_sort
from xurrent_async.simulator.search import Searcher

END = 1_767_225_600
SORTS = ["", "id", "-id", "updated_at", "-updated_at", "created_at", "-created_at", "updated_at,created_at",
         "updated_at,-id", "-created_at,updated_at", "-updated_at,id", "created_at,-id"]


def make(n: int, seed: int = 1, history_days: int = 30, hot_fraction: float = 0.05) -> CollectionData:
    return CollectionData(n, seed=seed, salt=2, id_base=1_001, data_end=END, history_seconds=history_days * 86_400,
                          hot_seconds=3, hot_fraction=hot_fraction)


def value(data: CollectionData, name: str, pos: int) -> int:
    if name == "id":
        return data.ids[pos]
    return data.created[pos] if name == "created_at" else data.updated_at(pos)


def brute(data: CollectionData, filters: dict[str, FieldFilter], sort: tuple[tuple[str, bool], ...]) -> list[int]:
    rows = [p for p in range(data.n) if all(f.matches(value(data, name, p)) for name, f in filters.items())]
    return sorted(rows, key=lambda p: tuple(-value(data, n, p) if d else value(data, n, p) for n, d in sort))


def walk(data: CollectionData, filters: dict[str, FieldFilter], sort: tuple[tuple[str, bool], ...],
         per_page: int, expected_total: int) -> list[int]:
    searcher, after, out = Searcher(), None, []
    signature = (tuple(sorted(filters.items())), sort)
    while True:
        page = searcher.search(data, filters, sort, after, per_page, signature)
        assert page.total == expected_total
        assert len(page.positions) <= per_page
        out += page.positions
        if not page.more:
            return out
        assert len(page.positions) == per_page
        after = tuple(value(data, name, page.positions[-1]) for name, _ in sort)


def random_filters(rng: random.Random, data: CollectionData) -> dict[str, FieldFilter]:
    def bound(name: str) -> int:
        return value(data, name, rng.randrange(data.n)) + rng.choice((-1, 0, 0, 1))

    filters: dict[str, FieldFilter] = {}
    for name in ("id", "created_at", "updated_at"):
        kind = rng.choice(("none", "none", "lo", "hi", "range", "eq", "sets"))
        if kind == "lo":
            filters[name] = FieldFilter(lo=bound(name))
        elif kind == "hi":
            filters[name] = FieldFilter(hi=bound(name))
        elif kind == "range":
            a, b = sorted((bound(name), bound(name)))
            filters[name] = FieldFilter(lo=a, hi=b)
        elif kind == "eq":  # one second (often a hot second, shared by many records) or one id
            v = value(data, name, rng.randrange(data.n))
            filters[name] = FieldFilter(lo=v, hi=v)
        elif kind == "sets":
            picks = frozenset(value(data, name, rng.randrange(data.n)) for _ in range(rng.randint(1, 30)))
            include = picks if name == "id" and rng.random() < 0.5 else None
            filters[name] = FieldFilter(include=include, exclude=frozenset() if include else picks)
    return filters


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_query_walk_equals_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    for n, queries in ((1, 5), (37, 25), (700, 25), (2 * PERIOD + 5, 8)):
        data = make(n, seed=seed, history_days=rng.choice((1, 30, 1000)))
        # Changed records (the overlay) take part too: now, in the past, and on shared seconds.
        for _ in range(rng.randint(0, 40)):
            pos = rng.randrange(data.n)
            data.change(pos, rng.choice((END + 5, END - 86_400, data.updated_at(rng.randrange(n)))), edit=True)
        for _ in range(queries):
            filters = random_filters(rng, data)
            sort = parse_sort(rng.choice(SORTS))
            expected = brute(data, filters, sort)
            per_page = rng.choice((1, 3, 20, 100) if n < 1_000 else (50, 100))
            assert walk(data, filters, sort, per_page, len(expected)) == expected


def test_walk_is_stable_when_records_change_mid_walk() -> None:
    data = make(3_000)
    sort = parse_sort("")
    searcher, after, seen = Searcher(), None, []
    order = brute(data, {}, sort)
    moved = {order[50], order[2_000]}  # one already handed out when it moves, one not yet
    while True:
        page = searcher.search(data, {}, sort, after, 100, ("all",))
        seen += page.positions
        if len(seen) == 1_000:
            for pos in moved:
                data.change(pos, END + 100, edit=True)
        if not page.more:
            break
        after = (data.updated_at(seen[-1]), data.ids[seen[-1]])
    others = [p for p in seen if p not in moved]
    assert others == [p for p in order if p not in moved]  # nothing else skipped or repeated
    assert seen[-2:] == sorted(moved)  # both moved to the end (the walk reaches "now")


def test_records_are_consistent() -> None:
    data = make(50_000, history_days=3 * 365)
    ids = list(data.ids)
    steps = {b - a for a, b in itertools.pairwise(ids)}
    assert steps <= {1, 2, 3} and len(steps) > 1
    assert all(data.position(i) == p for p, i in enumerate(ids[:2_000]))
    assert data.position(ids[-1] + 1) is None and data.position(0) is None
    created = [data.created[p] for p in range(data.n)]
    updated = [data.updated_at(p) for p in range(data.n)]
    assert created == sorted(created)  # id order is creation order
    assert all(c <= u < END for c, u in zip(created, updated, strict=True))
    assert min(created) >= END - 3 * 365 * 86_400
    never = sum(c == u for c, u in zip(created, updated, strict=True)) / data.n
    assert 0.25 < never < 0.4
    # Bulk-import seconds: several thousand records share each of them.
    for second in data.hot_seconds:
        assert updated.count(second) > 0.05 * data.n / 3 * 0.5


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = make(2_000, seed=7), make(2_000, seed=7), make(2_000, seed=8)
    assert [a.updated_at(p) for p in range(2_000)] == [b.updated_at(p) for p in range(2_000)]
    assert [a.updated_at(p) for p in range(2_000)] != [c.updated_at(p) for p in range(2_000)]


@pytest.mark.parametrize("right", [False, True])
def test_gallop_finds_the_bisect_point_from_any_guess(right: bool) -> None:
    rng = random.Random(5)
    values = sorted(rng.randrange(50) for _ in range(300))
    for _ in range(500):
        target, lo = rng.randrange(-2, 52), rng.randrange(0, 300)
        hi = rng.randrange(lo, 301)
        expected = (bisect.bisect_right if right else bisect.bisect_left)(values, target, lo, hi)
        assert gallop(values.__getitem__, target, lo, hi, rng.randrange(-5, 310), right=right) == expected
