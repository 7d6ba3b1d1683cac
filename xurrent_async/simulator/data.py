"""Deterministic, virtual record indexes for one collection: nothing is stored per record.

Every value is a closed-form function of the record's position p in [0, n):
- id(p) = base + 2p + bit(p): increasing, with gaps of 1 to 3; inverted in O(1).
- created_at(p) is non-decreasing in p (ids are handed out at creation), spread over the history.
- Each position belongs to an "update class" through a fixed pattern of PERIOD slots. Within a
  class, updated_at is a non-decreasing function of created_at (never updated; updated after a fixed
  share of the time since creation; or on a shared "bulk import" second), so every class is sorted
  by (updated_at, id) and by id at once. Sorted order over the collection is a k-way merge of the
  classes, and any id/created_at/updated_at range is a bisected index range in each class.

Changes (touch, changes_per_second) go to a small overlay merged at query time.

Under fractional storage (`fractional=True`) a timestamp is stored with milliseconds: its printed
second plus a fraction derived from the record and that second (`stored_updated`, `stored_created`),
and the searcher filters and sorts on the stored value. The indexes stay in whole seconds: a record's
stored time never leaves its printed second, so the second orders bound the stored ones.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from typing import Any

MASK64 = (1 << 64) - 1
PERIOD = 4096  # positions per repetition of the class pattern
_NEVER_SHARE = 0.3  # records whose updated_at equals created_at
# Updated after this share of the time between creation and the end of the data: skews recent.
_LAG_SHARES = (0.001, 0.01, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99)
_WIDTH = 1024  # sub-steps inside one position's created_at slot (jitter)
MILLIS = 1000  # a stored time under fractional storage is in milliseconds


def splitmix64(x: int) -> int:
    """Cheap, well-mixed 64-bit hash: per-record choices without a Random object per record."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def gallop(key: Callable[[int], Any], target: Any, lo: int, hi: int, guess: int, *, right: bool = False) -> int:
    """`bisect_left` (or `bisect_right`) of `target` over key(i) for i in [lo, hi), searching
    outward from `guess`: a good guess costs a few probes instead of log2(hi - lo)."""
    bisect = bisect_right if right else bisect_left

    def before(i: int) -> bool:  # key(i) lies before the answer
        return key(i) <= target if right else key(i) < target

    g = min(max(guess, lo), hi)
    step = 1
    if g < hi and before(g):
        left, end = g + 1, min(g + 1 + step, hi)
        while end < hi and before(end):
            left, step = end + 1, step * 2
            end = min(left + step, hi)
        return bisect(range(hi), target, left, end, key=key)
    end, left = g, g - 1
    while left >= lo and not before(left):
        end, step = left, step * 2
        left = end - step
    return bisect(range(hi), target, max(left + 1, lo), end, key=key)


class IdSequence:
    """The ids by position, as a read-only sequence (so `bisect` works on it)."""

    __slots__ = ("_base", "_bits", "_n")

    def __init__(self, n: int, base: int, bits: bytes) -> None:
        self._n, self._base, self._bits = n, base, bits

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, p: int) -> int:
        if not 0 <= p < self._n:
            raise IndexError(p)
        return self._base + 2 * p + self._bits[p % PERIOD]

    def __iter__(self) -> Iterator[int]:
        return (self[p] for p in range(self._n))

    def position(self, record_id: int) -> int | None:
        p = (record_id - self._base) // 2
        return p if 0 <= p < self._n and self[p] == record_id else None


class CreatedSequence:
    """created_at by position: non-decreasing, each position jittered inside its own time slot."""

    __slots__ = ("_n", "_salt", "_span", "_start")

    def __init__(self, n: int, start: int, span: int, salt: int) -> None:
        self._n, self._start, self._span, self._salt = n, start, span, salt

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, p: int) -> int:
        if not 0 <= p < self._n:
            raise IndexError(p)
        jitter = splitmix64(self._salt + p) & (_WIDTH - 1)
        return self._start + (p * _WIDTH + jitter) * self._span // (self._n * _WIDTH)

    def estimate(self, created: float) -> int:
        """A position near the first one created at or after `created` (a search hint)."""
        p = (created - self._start) * self._n // self._span
        return int(min(max(p, 0), self._n))


class UpdateClass:
    """The positions whose pattern slot is this class, in increasing order, with updated_at as a
    non-decreasing function of created_at: `lag` share of (last - created), or max(hot, created)."""

    __slots__ = ("_created", "_hot", "_lag_den", "_lag_num", "_last", "_m", "_offsets", "count")

    def __init__(self, offsets: list[int], n: int, created: CreatedSequence, last: int,
                 lag: float = 0.0, hot: int | None = None) -> None:
        self._offsets = offsets  # sorted slots of this class within one period
        self._m = len(offsets)
        self._created = created
        self._last = last
        self._lag_num, self._lag_den = round(lag * 1_000_000), 1_000_000
        self._hot = hot
        self.count = self.index(n)

    def pos(self, i: int) -> int:
        q, r = divmod(i, self._m)
        return q * PERIOD + self._offsets[r]

    def index(self, p: int) -> int:
        """Number of members at positions below p."""
        q, r = divmod(p, PERIOD)
        return q * self._m + bisect_left(self._offsets, r)

    def updated_of(self, p: int) -> int:
        return self.updated_from(self._created[p])

    def updated_from(self, created: int) -> int:
        if self._hot is not None:
            return max(self._hot, created)
        return created + (self._last - created) * self._lag_num // self._lag_den

    def updated(self, i: int) -> int:
        return self.updated_of(self.pos(i))

    def estimate(self, updated: int) -> int:
        """An index near the first member updated at or after `updated` (a search hint)."""
        if self._hot is not None:
            return 0 if updated <= self._hot else self.index(self._created.estimate(updated))
        # Invert u = c + (last - c) * r for c.
        num, den = self._lag_num, self._lag_den
        return self.index(self._created.estimate((updated * den - self._last * num) / (den - num)))

    def key(self, i: int) -> tuple[int, int]:
        p = self.pos(i)
        return self.updated_of(p), p


class CollectionData:
    def __init__(
        self,
        n: int,
        *,
        seed: int,
        salt: int,
        id_base: int,
        data_end: int,
        history_seconds: int,
        hot_seconds: int,
        hot_fraction: float,
        fractional: bool = False,
    ) -> None:
        self.n = n
        self.fractional = fractional
        self._fraction_salt = splitmix64(seed * 31 + salt)
        span = max(history_seconds, 1)
        last = data_end - 1
        rng = random.Random(splitmix64(seed * 1009 + salt))
        self.ids = IdSequence(n, id_base, rng.randbytes(PERIOD).translate(bytes(b & 1 for b in range(256))))
        self.created = CreatedSequence(n, data_end - span, span, splitmix64(seed * 7 + salt))
        # Bulk-import seconds late in the history (70-100%), so most records are created before them.
        hot = sorted({last - rng.randrange(max(span * 3 // 10, 1)) for _ in range(max(hot_seconds, 0))})
        hot_slots = 0 if not hot or hot_fraction <= 0 else max(len(hot), round(hot_fraction * PERIOD))
        never_slots = round(_NEVER_SHARE * PERIOD)
        hot_slots = min(hot_slots, PERIOD - never_slots)
        lag_slots = PERIOD - hot_slots - never_slots
        specs: list[tuple[float, int | None, int]] = [(0.0, None, never_slots)]
        specs += [(lag, None, lag_slots // len(_LAG_SHARES) + (k < lag_slots % len(_LAG_SHARES)))
                  for k, lag in enumerate(_LAG_SHARES)]
        specs += [(0.0, second, hot_slots // len(hot) + (k < hot_slots % len(hot))) for k, second in enumerate(hot)]
        slots = [k for k, (_, _, size) in enumerate(specs) for _ in range(size)]
        rng.shuffle(slots)
        self.classes: list[UpdateClass] = []
        pattern = bytearray(PERIOD)
        for k, (lag, second, _) in enumerate(specs):
            offsets = [slot for slot, owner in enumerate(slots) if owner == k]
            if offsets:
                for slot in offsets:
                    pattern[slot] = len(self.classes)
                self.classes.append(UpdateClass(offsets, n, self.created, last, lag, second))
        self._pattern = bytes(pattern)
        self.hot_seconds = hot
        self.overlay: dict[int, list[int]] = {}  # position -> [updated_at, edits]
        self.ov_keys: list[tuple[int, int]] = []  # sorted (updated_at, position) of changed records
        self.ov_base: list[tuple[int, int]] = []  # sorted (base updated_at, position) of the same
        self.ov_pos: list[int] = []  # sorted positions of the same
        self.version = 0  # bumps on every change: invalidates cached counts and orders

    # -- reads -------------------------------------------------------------------------------
    def base_updated_at(self, pos: int) -> int:
        return self.classes[self._pattern[pos % PERIOD]].updated_of(pos)

    def base_updated_from(self, pos: int, created: int) -> int:
        return self.classes[self._pattern[pos % PERIOD]].updated_from(created)

    def basics(self, pos: int) -> tuple[int, int, int, int]:
        """id, created_at, updated_at and edit count of one record, each computed once."""
        created = self.created[pos]
        change = self.overlay.get(pos)
        if change is None:
            return self.ids[pos], created, self.base_updated_from(pos, created), 0
        return self.ids[pos], created, change[0], change[1]

    def updated_at(self, pos: int) -> int:
        change = self.overlay.get(pos)
        return self.base_updated_at(pos) if change is None else change[0]

    def stored(self, pos: int, second: int) -> int:
        """A timestamp of record `pos` printed as `second`, as stored (ms): whole under whole-second
        storage, else with a fraction of the record and the second (a record never updated has
        equal created and updated times, as it should)."""
        fraction = splitmix64(self._fraction_salt + pos * 0x9E3779B1 + second) % MILLIS if self.fractional else 0
        return second * MILLIS + fraction

    def stored_updated(self, pos: int) -> int:
        return self.stored(pos, self.updated_at(pos))

    def stored_created(self, pos: int) -> int:
        return self.stored(pos, self.created[pos])

    def edits(self, pos: int) -> int:
        change = self.overlay.get(pos)
        return 0 if change is None else change[1]

    def position(self, record_id: int) -> int | None:
        return self.ids.position(record_id)

    # -- writes ------------------------------------------------------------------------------
    def change(self, pos: int, updated_at: int, *, edit: bool) -> None:
        current = self.overlay.get(pos)
        if current is None:
            current = self.overlay[pos] = [self.base_updated_at(pos), 0]
            insort(self.ov_base, (current[0], pos))
            insort(self.ov_pos, pos)
        else:
            del self.ov_keys[bisect_left(self.ov_keys, (current[0], pos))]
        current[0] = updated_at
        if edit:
            current[1] += 1
        insort(self.ov_keys, (updated_at, pos))
        self.version += 1
