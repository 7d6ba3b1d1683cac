"""The three collections of one simulator: indexes, renderers, changes, and the lock that makes
them safe to read and change from another thread (SimulatorThread)."""

from __future__ import annotations

import functools
import math
import random
import threading
from bisect import bisect_left
from collections.abc import Iterable

import orjson

from . import loose
from .config import COLLECTIONS, SimConfig
from .data import CollectionData, splitmix64
from .records import DIRECTORY, RENDERERS, OrganizationRenderer, Pools, Record, Renderer, node_id
from .removals import Removals
from .search import Searcher
from .timefmt import TimestampFormatter

_SALT = {"organizations": 1, "products": 2, "projects": 3}
_ID_BASE = {"organizations": 1_001, "products": 10_000_001, "projects": 20_000_001}


class _Remove:
    """The type of REMOVE: a patch value that deletes its key from the served record."""

    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()


class Dataset:
    def __init__(self, config: SimConfig, now: float) -> None:
        self.lock = threading.RLock()
        self.data_end = int(config.data_end if config.data_end is not None else now - 60)
        self._seed = config.seed
        self._config = config  # read at each render: loose_values may change while it runs
        if config.timestamp_precision not in ("second", "fractional"):
            raise ValueError(f"timestamp_precision: 'second' or 'fractional', not {config.timestamp_precision!r}")
        self.fractional = config.timestamp_precision == "fractional"
        fmt = TimestampFormatter(config.utc_offset_minutes)
        self.collections: dict[str, CollectionData] = {}
        self.renderers: dict[str, Renderer] = {}
        for name in COLLECTIONS:
            data = CollectionData(
                config.record_count(name),
                seed=config.seed,
                salt=_SALT[name],
                id_base=_ID_BASE[name],
                data_end=self.data_end,
                history_seconds=config.history_days * 86_400,
                hot_seconds=config.hot_seconds,
                hot_fraction=config.hot_fraction,
                fractional=self.fractional,
            )
            self.collections[name] = data
            self.renderers[name] = RENDERERS[name](data, config.seed, _SALT[name], fmt)
        orgs = self.renderers["organizations"]
        assert isinstance(orgs, OrganizationRenderer)
        org_ids = self.collections["organizations"].ids

        @functools.lru_cache(maxsize=16_384)  # parents and owners repeat; render each org ref once
        def org_ref(pos: int) -> Record:
            record_id = org_ids[pos]
            ref: Record = {"id": record_id, "name": orgs.base_name(pos), "nodeID": node_id("Organization", record_id)}
            if orgs.in_directory(pos):
                ref["account"] = dict(DIRECTORY)
            return ref

        pools = Pools(config.account_id, org_ref, len(org_ids), config.template_display)
        self.pools, self._org_ref = pools, org_ref
        for renderer in self.renderers.values():
            renderer.pools, renderer.org_ref, renderer.org_count = pools, org_ref, len(org_ids)
        self.fmt = fmt
        history = config.history_days * 86_400
        self.removals = Removals(config.seed, pools.people, self.data_end - history, self.data_end,
                                 config.other_feed_entries, self.fractional)
        self.searcher = Searcher()
        # collection -> record id -> patch laid over the rendered record (see Simulator.corrupt).
        self.corruptions: dict[str, dict[int, dict[str, object]]] = {name: {} for name in COLLECTIONS}
        self._last_change: float = now
        self._change_debt = dict.fromkeys(COLLECTIONS, 0.0)
        self._change_counter = dict.fromkeys(COLLECTIONS, 0)
        if config.bulk_update:
            self.bulk_update(config.bulk_update, self.data_end - 3600, 60, ("products", "projects"))

    # -- reading -----------------------------------------------------------------------------
    def render(self, collection: str, pos: int, fields: tuple[str, ...] | None = None) -> Record:
        record = self.renderers[collection].render(pos)
        share = self._config.loose_values
        if share and loose.chosen(self._seed, self.collections[collection].ids[pos], share):
            record = loose.loosen(record, self._seed)
        patches = self.corruptions[collection]
        if patches:
            patch = patches.get(self.collections[collection].ids[pos])
            if patch is not None:
                record = _patched(record, patch)
        if fields is None:
            return record
        return {name: record[name] for name in fields if name in record}

    def list_fields(self, collection: str, asked: tuple[str, ...] | None) -> tuple[str, ...]:
        """What a list returns of each record: the default or asked fields, `id` and `nodeID` always,
        and `account` whenever the record has one (a record of another account)."""
        renderer = self.renderers[collection]
        if asked is None:
            return (*renderer.default_fields, "account")
        return (*(name for name in renderer.all_fields if name in ("id", "nodeID") or name in asked), "account")

    def hidden(self, collection: str) -> frozenset[int]:
        """Ids a list no longer returns: archived, trashed and erased projects."""
        return self.removals.hidden() if collection == "projects" else frozenset()

    def truth(self, collection: str) -> dict[int, Record]:
        with self.lock:
            data = self.collections[collection]
            hidden = self.hidden(collection)
            records = {data.ids[pos]: self.render(collection, pos) for pos in range(data.n)
                       if not hidden or data.ids[pos] not in hidden}
        # A JSON round trip: the same values a GET returns, and no shared (mutable) references.
        return {record_id: orjson.loads(orjson.dumps(record)) for record_id, record in records.items()}

    def positions(self, collection: str, ids: Iterable[int]) -> list[int]:
        data = self.collections[collection]
        found = []
        for record_id in ids:
            pos = data.position(record_id)
            if pos is None:
                raise KeyError(f"{collection} has no record with id {record_id}")
            found.append(pos)
        return found

    # -- changing ----------------------------------------------------------------------------
    def corrupt(self, collection: str, record_id: int, patch: dict[str, object] | None) -> None:
        """Serve the record with `patch` laid over it (None: serve it as generated again)."""
        with self.lock:
            self.positions(collection, [record_id])  # KeyError for an unknown id
            if patch is None:
                self.corruptions[collection].pop(record_id, None)
            else:
                self.corruptions[collection][record_id] = dict(patch)

    def rename(self, target: str, target_id: int, name: str, at: float, *, touch_references: bool) -> None:
        """Rename an organization (which changes it: its updated_at becomes `at`) or a target of a
        pool (records.POOLS). Records that reference it show the new name from now on; with
        `touch_references` their updated_at becomes `at` too, else it does not move."""
        with self.lock:
            before = self._rendered_all() if touch_references else {}
            self._rename(target, target_id, name, at)
            for collection, records in before.items():
                data = self.collections[collection]
                changed = [pos for pos, record in enumerate(records) if self.render(collection, pos) != record]
                for pos in changed:
                    if (collection, data.ids[pos]) != (target, target_id):
                        data.change(pos, int(at), edit=False)

    def _rendered_all(self) -> dict[str, list[Record]]:
        """Every record as served now, copied: rendered records share the pools' dicts, which a
        rename changes in place."""
        return {name: [orjson.loads(orjson.dumps(self.render(name, pos))) for pos in range(data.n)]
                for name, data in self.collections.items()}

    def _rename(self, target: str, target_id: int, name: str, at: float) -> None:
        with self.lock:
            if target == "organizations":
                pos = self.positions("organizations", [target_id])[0]
                self.renderers["organizations"].renamed[pos] = name
                self.collections["organizations"].change(pos, int(at), edit=False)
                self._org_ref.cache_clear()  # references render the organization's name from it
                self.pools.rename_provider(target_id, name)
            else:
                self.pools.rename(target, target_id, name)

    def change(self, collection: str, ids: Iterable[int], at: float, *, edit: bool) -> None:
        with self.lock:
            data = self.collections[collection]
            for pos in self.positions(collection, ids):
                data.change(pos, int(at), edit=edit)

    def bulk_update(self, count: int, start: int, seconds: int, collections: Iterable[str]) -> dict[str, list[int]]:
        """Update `count` records, shared among `collections`, at times spread evenly over `seconds`
        seconds from `start` (each record created before `start`): a bulk import or mass edit.
        Returns the ids updated per collection."""
        names = list(collections)
        chosen: dict[str, list[int]] = {}
        with self.lock:
            for k, name in enumerate(names):
                data = self.collections[name]
                share = count // len(names) + (k < count % len(names))
                older = bisect_left(data.created, start)  # positions are in created_at order
                if share > older:
                    raise ValueError(f"{name}: only {older} records were created before the bulk update")
                rng = random.Random(splitmix64(self._seed * 613 + _SALT[name] + count))
                positions = rng.sample(range(older), share)
                for i, pos in enumerate(positions):
                    data.change(pos, start + i * seconds // max(share, 1), edit=True)
                chosen[name] = [data.ids[pos] for pos in positions]
        return chosen

    def remove(self, feed: str, ids: Iterable[int], at: float) -> None:
        with self.lock:
            data = self.collections["projects"]
            for pos in self.positions("projects", ids):
                self.removals.remove(feed, data.ids[pos], int(at), self.renderers["projects"].base_name(pos))

    def restore(self, ids: Iterable[int], at: float, touch: bool) -> None:
        with self.lock:
            for pos in self.positions("projects", ids):
                self.removals.restore(self.collections["projects"].ids[pos])
                if touch:
                    self.collections["projects"].change(pos, int(at), edit=False)

    def erase(self, ids: Iterable[int]) -> None:
        with self.lock:
            for record_id in ids:
                self.removals.erase(record_id)

    def apply_changes(self, now: float, per_second: float) -> None:
        """Lazily play `per_second` (share of each collection per second) up to `now`."""
        with self.lock:
            elapsed = now - self._last_change
            if elapsed <= 0:
                return
            self._last_change = now
            if per_second <= 0:
                return
            for name, data in self.collections.items():
                if data.n == 0:
                    continue
                debt = self._change_debt[name] + elapsed * per_second * data.n
                count = min(math.floor(debt), data.n)
                self._change_debt[name] = debt - math.floor(debt)
                salt = splitmix64(self._seed * 977 + _SALT[name])
                for _ in range(count):
                    k = self._change_counter[name] = self._change_counter[name] + 1
                    data.change(splitmix64(salt + k) % data.n, int(now), edit=True)


def _patched(record: Record, patch: dict[str, object]) -> Record:
    result = dict(record)
    for key, value in patch.items():
        if value is REMOVE:
            result.pop(key, None)
        else:
            result[key] = value
    return result
