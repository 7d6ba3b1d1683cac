"""Runs a parsed query against one collection's virtual indexes (data.py) without a scan.

Interval filters on id, created_at and updated_at become one index range per update class.
Sorted output is a k-way merge of those ranges (plus the overlay of changed records), started
strictly after the cursor's key: keyset paging, so a record that changes mid-walk can move itself
but never shifts the other records.

- "pos" order: id (= created_at) order; merge by position.
- "upd" order: (updated_at, id) order; merge by (updated_at, position).
- other sort orders, and short `id=1,2,3` lists: candidates are materialized, filtered and sorted,
  cached per data version (slower; the connector does not use them).
- fractional storage: every query is materialized, its candidates those of the printed seconds the
  filters allow, kept when their stored times meet the filters as sent, sorted by stored times
  (slower: for tests and small data sets).
Include/exclude sets (`!X`, id lists) are checked per record; counts then scan (cached per version).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice

from .data import CollectionData, UpdateClass, gallop
from .query import FieldFilter

NO_FILTER = FieldFilter()
_BIG = 1 << 62
Ranges = list[tuple[UpdateClass, int, int]]  # (class, first index, end index)


@dataclass
class Page:
    positions: list[int]
    more: bool  # another matching record follows the page
    total: int  # every record the query matches


def sort_mode(sort: tuple[tuple[str, bool], ...]) -> tuple[str, bool]:
    """("pos" | "upd" | "generic", descending) for a normalized sort."""
    names = tuple(name for name, _ in sort)
    uniform = len({desc for _, desc in sort}) == 1
    desc = sort[0][1]
    if uniform and names in (("id",), ("created_at", "id")):
        return "pos", desc
    if uniform and names in (("updated_at", "id"), ("updated_at", "created_at", "id")):
        return "upd", desc
    return "generic", desc


@dataclass
class _Plan:
    """The interval part of a query, resolved against the indexes."""

    data: CollectionData
    p0: int
    p1: int
    lo: int | None  # updated_at bounds, inclusive
    hi: int | None
    ranges: Ranges

    def in_window(self, pos: int, updated: int) -> bool:
        return (
            self.p0 <= pos < self.p1
            and (self.lo is None or updated >= self.lo)
            and (self.hi is None or updated <= self.hi)
        )

    def overlay_count(self) -> int:
        """Changed records matching now, minus their stale base entries still in the ranges."""
        d = self.data
        if not d.overlay:
            return 0
        if (self.p0, self.p1) == (0, d.n):
            return _count_between(d.ov_keys, self.lo, self.hi) - _count_between(d.ov_base, self.lo, self.hi)
        start, stop = bisect_left(d.ov_pos, self.p0), bisect_left(d.ov_pos, self.p1)
        delta = 0
        for pos in d.ov_pos[start:stop]:
            delta += self.in_window(pos, d.overlay[pos][0]) - self.in_window(pos, d.base_updated_at(pos))
        return delta


class Searcher:
    """Per-simulator search with small caches of counts and materialized orders."""

    def __init__(self, cache_size: int = 8) -> None:
        self._counts: OrderedDict[tuple, int] = OrderedDict()
        self._orders: OrderedDict[tuple, list[tuple[tuple[int, ...], int]]] = OrderedDict()
        self._cache_size = cache_size

    def search(
        self,
        data: CollectionData,
        filters: Mapping[str, FieldFilter],
        sort: tuple[tuple[str, bool], ...],
        after: tuple[int, ...] | None,
        limit: int,
        signature: tuple,
    ) -> Page:
        if any(f.empty for f in filters.values()) or data.n == 0:
            return Page([], False, 0)
        plan = _plan(data, filters)
        mode, desc = sort_mode(sort)
        include = filters.get("id", NO_FILTER).include
        key = (id(data), data.version, signature)
        if data.fractional or mode == "generic" or (include is not None and len(include) <= 1000):
            ordered = self._materialize(key, plan, filters, sort, include)
            start = 0 if after is None else bisect_right(ordered, (_transform(after, sort), _BIG))
            chunk = ordered[start : start + limit + 1]
            return Page([pos for _, pos in chunk[:limit]], len(chunk) > limit, len(ordered))

        def stream(start_after: tuple[int, ...] | None) -> Iterator[int]:
            if mode == "pos":
                return _pos_stream(plan, desc, start_after)
            return _upd_stream(plan, desc, start_after)

        check = _set_check(data, filters)
        matches = stream(after) if check is None else filter(check, stream(after))
        chunk = list(islice(matches, limit + 1))
        if check is None:
            total = sum(b - a for _, a, b in plan.ranges) + plan.overlay_count()
        else:
            total = self._cached_count(key, lambda: sum(1 for _ in filter(check, stream(None))))
        return Page(chunk[:limit], len(chunk) > limit, total)

    def _cached_count(self, key: tuple, compute: Callable[[], int]) -> int:
        if key not in self._counts:
            self._counts[key] = compute()
            if len(self._counts) > self._cache_size:
                self._counts.popitem(last=False)
        return self._counts[key]

    def _materialize(
        self,
        key: tuple,
        plan: _Plan,
        filters: Mapping[str, FieldFilter],
        sort: tuple[tuple[str, bool], ...],
        include: frozenset[int] | None,
    ) -> list[tuple[tuple[int, ...], int]]:
        cached = self._orders.get(key)
        if cached is not None:
            self._orders.move_to_end(key)
            return cached
        data = plan.data
        if include is not None and len(include) <= 1000:
            found = (data.position(record_id) for record_id in include)
            candidates: Iterator[int] = (p for p in found if p is not None and plan.in_window(p, data.updated_at(p)))
        else:
            candidates = _pos_stream(plan, False, None)
        check = _set_check(data, filters)
        getters = [_getter(data, name) for name, _ in sort]
        signs = [-1 if desc else 1 for _, desc in sort]
        ordered = sorted(
            (tuple(s * g(p) for s, g in zip(signs, getters, strict=True)), p)
            for p in candidates
            if check is None or check(p)
        )
        self._orders[key] = ordered
        if len(self._orders) > 2:  # these can be big: keep only the two most recent
            self._orders.popitem(last=False)
        return ordered


def _count_between(keys: list[tuple[int, int]], lo: int | None, hi: int | None) -> int:
    start = 0 if lo is None else bisect_left(keys, (lo, -1))
    stop = len(keys) if hi is None else bisect_right(keys, (hi, _BIG))
    return max(0, stop - start)


def _transform(values: tuple[int, ...], sort: tuple[tuple[str, bool], ...]) -> tuple[int, ...]:
    return tuple(-v if desc else v for v, (_, desc) in zip(values, sort, strict=True))


def _getter(data: CollectionData, name: str) -> Callable[[int], int]:
    """A sort field's value of a record: its stored time under fractional storage."""
    if name == "id":
        return data.ids.__getitem__
    if name == "created_at":
        return data.stored_created if data.fractional else data.created.__getitem__
    return data.stored_updated if data.fractional else data.updated_at


def sort_values(data: CollectionData, sort: tuple[tuple[str, bool], ...], pos: int) -> tuple[int, ...]:
    """The cursor key of a record: its values of the sort fields (id last), as the search orders them."""
    return tuple(_getter(data, name)(pos) for name, _ in sort)


def _plan(data: CollectionData, filters: Mapping[str, FieldFilter]) -> _Plan:
    f_id = filters.get("id", NO_FILTER)
    f_created = filters.get("created_at", NO_FILTER)
    f_updated = filters.get("updated_at", NO_FILTER)
    lo_id, hi_id = f_id.lo, f_id.hi
    if f_id.include:
        lo_id = min(f_id.include) if lo_id is None else max(lo_id, min(f_id.include))
        hi_id = max(f_id.include) if hi_id is None else min(hi_id, max(f_id.include))
    p0, p1 = 0, data.n
    if lo_id is not None:
        p0 = max(p0, bisect_left(data.ids, lo_id))
    if hi_id is not None:
        p1 = min(p1, bisect_right(data.ids, hi_id))
    if f_created.lo is not None:
        p0 = max(p0, bisect_left(data.created, f_created.lo))
    if f_created.hi is not None:
        p1 = min(p1, bisect_right(data.created, f_created.hi))
    p1 = max(p0, p1)
    lo, hi = f_updated.lo, f_updated.hi
    ranges: Ranges = []
    for cls in data.classes:
        # Members are sorted by position and by updated_at at once: intersect both index ranges.
        a, b = cls.index(p0), cls.index(p1)
        if lo is not None and a < b:
            a = gallop(cls.updated, lo, a, b, cls.estimate(lo))
        if hi is not None and a < b:
            b = gallop(cls.updated, hi, a, b, cls.estimate(hi + 1), right=True)
        if a < b:
            ranges.append((cls, a, b))
    return _Plan(data, p0, p1, lo, hi, ranges)


def _set_check(data: CollectionData, filters: Mapping[str, FieldFilter]) -> Callable[[int], bool] | None:
    """A per-record check for include/exclude sets (the ranges already enforce the intervals)."""
    needed = [(_getter(data, name), f.matches) for name, f in filters.items() if f.has_sets]
    if data.fractional:  # the printed seconds were bounded by the plan; the conditions as sent here
        needed += [(_getter(data, name), f.matches_stored) for name, f in filters.items() if f.exact]
    if not needed:
        return None

    def check(pos: int) -> bool:
        return all(matches(get(pos)) for get, matches in needed)

    return check


def _pos_stream(plan: _Plan, desc: bool, after: tuple[int, ...] | None) -> Iterator[int]:
    data, overlay = plan.data, plan.data.overlay
    # Positions strictly after the cursor's id (in walking direction).
    if after is None:
        pivot = plan.p1 if desc else plan.p0
    else:
        pivot = bisect_left(data.ids, after[-1]) if desc else bisect_right(data.ids, after[-1])

    def members(cls: UpdateClass, a: int, b: int) -> Iterator[int]:
        span = range(min(b, cls.index(pivot)) - 1, a - 1, -1) if desc else range(max(a, cls.index(pivot)), b)
        for i in span:
            p = cls.pos(i)
            if p not in overlay:
                yield p

    def changed() -> Iterator[int]:
        ov_pos = data.ov_pos
        if desc:
            span = range(bisect_left(ov_pos, min(pivot, plan.p1)) - 1, bisect_left(ov_pos, plan.p0) - 1, -1)
        else:
            span = range(bisect_left(ov_pos, max(pivot, plan.p0)), bisect_left(ov_pos, plan.p1))
        for j in span:
            p = ov_pos[j]
            if plan.in_window(p, overlay[p][0]):
                yield p

    sources = [members(cls, a, b) for cls, a, b in plan.ranges]
    if overlay:
        sources.append(changed())
    return heapq.merge(*sources, reverse=desc)


def _upd_stream(plan: _Plan, desc: bool, after: tuple[int, ...] | None) -> Iterator[int]:
    data, overlay, ov_keys = plan.data, plan.data.overlay, plan.data.ov_keys
    cut: tuple[int, int] | None = None  # (updated_at, position) boundary of the cursor
    if after is not None:
        pivot = bisect_left(data.ids, after[-1]) if desc else bisect_right(data.ids, after[-1])
        cut = (after[0], pivot)

    def members(cls: UpdateClass, a: int, b: int) -> Iterator[tuple[int, int]]:
        if cut is not None:
            edge = gallop(cls.key, cut, a, b, cls.estimate(cut[0]))
            a, b = (a, edge) if desc else (edge, b)
        for i in range(b - 1, a - 1, -1) if desc else range(a, b):
            p = cls.pos(i)
            if p not in overlay:
                yield cls.updated_of(p), p

    def changed() -> Iterator[tuple[int, int]]:
        start = 0 if plan.lo is None else bisect_left(ov_keys, (plan.lo, -1))
        stop = len(ov_keys) if plan.hi is None else bisect_right(ov_keys, (plan.hi, _BIG))
        if cut is not None:
            edge = bisect_left(ov_keys, cut)
            start, stop = (start, min(stop, edge)) if desc else (max(start, edge), stop)
        for j in range(stop - 1, start - 1, -1) if desc else range(start, stop):
            entry = ov_keys[j]
            if plan.p0 <= entry[1] < plan.p1:
                yield entry

    sources = [members(cls, a, b) for cls, a, b in plan.ranges]
    if overlay:
        sources.append(changed())
    return (p for _, p in heapq.merge(*sources, reverse=desc))
