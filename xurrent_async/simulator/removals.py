"""Archive and trash: removed projects, and the `/archive` and `/trash` feeds that list them.

A project is archived or trashed (by hand or by a retention policy), moves from the archive to the
trash, is restored (back in `/projects`) or erased from the trash for good. Each feed lists what is
in it now, every record type mixed: `{"id", "created_at" (when it was archived or trashed),
"archived_by" | "trashed_by", "archived" | "trashed": "<type>", "<type>": {"id", "href",
"display_name"}}`, filtered and sorted on `id` and `created_at` only (default `created_at`
descending), in cursor pages like every collection.

Unconfirmed by the docs, so switches or choices: a restore removes the entry from its feed; whether
a restore changes the project's `updated_at` (`SimConfig.restore_touches_updated_at`); whether a
list entry carries the typed reference (`feed_references`: the docs' examples show it, their list
of collection fields does not); whether a server has the feeds at all (`feeds_missing`: 404).
`GET /<feed>/<id>` serves one entry. Under fractional storage an entry's `created_at` is stored
with a fraction of the entry and its second, and filtered and sorted at it, as the collections'
timestamps are.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .data import MILLIS, splitmix64
from .query import FieldFilter, QueryError, decode_cursor, encode_cursor, parse_filter, parse_per_page, parse_sort
from .records import Record
from .responses import json_body
from .timefmt import TimestampFormatter

FEEDS: tuple[str, ...] = ("archive", "trash")
FEED_FILTERS = ("id", "created_at")
FEED_SORT_DEFAULT = (("created_at", True), ("id", True))
_OTHER_TYPES = ("request", "problem", "workflow", "task", "knowledge_article")


@dataclass(frozen=True)
class Entry:
    id: int
    created_at: int
    type: str  # "project", "request", ...
    target_id: int
    display_name: str
    by: Record


class Removals:
    """Which projects are archived or trashed, and both feeds' entries. Not thread-safe by itself:
    the Dataset's lock guards it."""

    def __init__(self, seed: int, people: Sequence[Record], start: int, end: int, others: int,
                 fractional: bool = False) -> None:
        self.fractional = fractional
        self._fraction_salt = splitmix64(seed * 37 + 11)
        self.feeds: dict[str, dict[int, Entry]] = {feed: {} for feed in FEEDS}
        self.where: dict[int, tuple[str, int]] = {}  # project id -> (feed, entry id); erased ones stay
        self.erased: set[int] = set()
        self._people = people
        self._next_id = 1
        rng = random.Random(seed * 131 + 7)
        for feed in FEEDS:  # other record types, in every feed: the client must skip them
            for _ in range(others):
                kind = rng.choice(_OTHER_TYPES)
                self._add(feed, rng.randrange(start, end), kind, rng.randrange(1, 10**6), f"A {kind}")
        self.version = 0

    def _add(self, feed: str, at: int, kind: str, target: int, name: str) -> Entry:
        entry = Entry(self._next_id, at, kind, target, name, self._people[self._next_id % len(self._people)])
        self._next_id += 1
        self.feeds[feed][entry.id] = entry
        return entry

    def stored(self, entry: Entry) -> int:
        """When the entry was created, as stored: whole seconds, or with a fraction (ms)."""
        if not self.fractional:
            return entry.created_at
        return entry.created_at * MILLIS + splitmix64(self._fraction_salt + entry.id) % MILLIS

    def hidden(self) -> frozenset[int]:
        """Project ids that `/projects` no longer lists."""
        return frozenset(self.where) | frozenset(self.erased)

    def remove(self, feed: str, project_id: int, at: int, name: str) -> None:
        """Archive or trash a live or archived project (archive → trash moves it)."""
        if project_id in self.erased:
            raise KeyError(f"project {project_id} was erased")
        if project_id in self.where:
            place, entry_id = self.where.pop(project_id)
            if place == feed:
                raise ValueError(f"project {project_id} is in the {feed} already")
            if place == "trash":
                raise ValueError(f"project {project_id} is in the trash: restore it first")
            del self.feeds[place][entry_id]
        entry = self._add(feed, at, "project", project_id, name)
        self.where[project_id] = (feed, entry.id)
        self.version += 1

    def restore(self, project_id: int) -> None:
        place, entry_id = self.where.pop(project_id)  # KeyError: not removed
        del self.feeds[place][entry_id]
        self.version += 1

    def erase(self, project_id: int) -> None:
        place, entry_id = self.where.get(project_id, ("", 0))
        if place != "trash":
            raise ValueError(f"project {project_id} is not in the trash")
        del self.where[project_id]
        del self.feeds["trash"][entry_id]
        self.erased.add(project_id)
        self.version += 1

    # -- serving ---------------------------------------------------------------------------
    def render(self, feed: str, entry: Entry, fmt: TimestampFormatter, link_base: str,
               with_reference: bool = True) -> Record:
        """An entry as the docs' examples show it; `with_reference=False` leaves out the typed
        reference (the docs list a feed's collection fields as `id created_at archived_by archived`)."""
        verb = "archived" if feed == "archive" else "trashed"
        path = {"project": "projects"}.get(entry.type, f"{entry.type}s")
        record: Record = {"id": entry.id, "created_at": fmt.format(entry.created_at), f"{verb}_by": entry.by,
                          verb: entry.type}
        if with_reference:
            record[entry.type] = {"id": entry.target_id, "href": f"{link_base}/{path}/{entry.target_id}",
                                  "display_name": entry.display_name}
        return record


@dataclass
class FeedAnswer:
    status: int
    body: bytes
    headers: dict[str, str]
    records: int = 0


def feed_page(removals: Removals, feed: str, query_items: Iterable[tuple[str, str]], link_base: str,
              fmt: TimestampFormatter, per_page_default: int, per_page_max: int, cap: int,
              throttled_header: str = "all", total_entries: str = "exact",
              with_reference: bool = True) -> FeedAnswer:
    items = list(query_items)
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    try:
        filters = {name: parse_filter(name, params[name], removals.fractional)
                   for name in FEED_FILTERS if params.get(name)}
        bad = [name for name in ("updated_at",) if params.get(name)]
        if bad:
            raise QueryError(f"Filtering not allowed on fields: {', '.join(bad)}")
        sort = _feed_sort(params.get("sort", [None])[-1])
        per_page = parse_per_page(params.get("per_page", [None])[-1], per_page_default, per_page_max)
        raw_cursor = params.get("search_after", [None])[-1]
        cursor = None if raw_cursor is None else decode_cursor(raw_cursor, sort)
    except QueryError as exc:
        return FeedAnswer(400, json_body({"message": str(exc)}), {})
    entries = [e for e in removals.feeds[feed].values()
               if all(_matches(removals, e, name, f) for name, f in filters.items())]
    keyed = sorted(((_key(removals, e, sort), e) for e in entries), key=lambda pair: pair[0])
    served = cursor.served if cursor else 0
    start = 0 if cursor is None else bisect_right([k for k, _ in keyed], _transform(cursor.key, sort))
    limit = max(0, min(per_page, cap - served))
    chunk = keyed[start : start + limit]
    more = start + limit < len(keyed)
    reached = served + len(chunk)
    total = min(len(keyed), cap) if total_entries == "capped" else len(keyed)
    headers = {
        "X-Pagination-Per-Page": str(per_page),
        "X-Pagination-Current-Page": str(served // per_page + 1),
        "X-Pagination-Total-Pages": str(math.ceil(total / per_page)),
        "X-Pagination-Total-Entries": str(total),
    }
    capped = reached >= cap and more
    if len(keyed) > cap and (throttled_header == "all" or (throttled_header == "last" and capped)):
        headers["X-Pagination-Throttled"] = "true"
    if more and not capped and chunk:
        last = chunk[-1][1]
        pairs = [(k, v) for k, v in items if k != "search_after"]
        raw_key = _values(removals, last, sort)
        pairs.append(("search_after", encode_cursor(reached, raw_key, sort)))
        url = f"{link_base}/{feed}?{urlencode(pairs, quote_via=quote, safe=',:')}"
        headers["Link"] = f'<{url}>; rel="next"'
    records = [removals.render(feed, e, fmt, link_base, with_reference) for _, e in chunk]
    return FeedAnswer(200, json_body(records), headers, len(records))


def _feed_sort(raw: str | None) -> tuple[tuple[str, bool], ...]:
    if raw is None or not raw.strip():
        return FEED_SORT_DEFAULT
    names = [part.strip().lstrip("-") for part in raw.split(",") if part.strip()]
    bad = [name for name in names if name not in FEED_FILTERS]
    if bad:
        raise QueryError(f"Sorting not allowed on fields: {', '.join(bad)}")
    return parse_sort(raw)


def _matches(removals: Removals, entry: Entry, name: str, f: FieldFilter) -> bool:
    if name == "id":
        return f.matches(entry.id)
    return f.matches(entry.created_at) and (not f.exact or f.matches_stored(removals.stored(entry)))


def _values(removals: Removals, entry: Entry, sort: tuple[tuple[str, bool], ...]) -> tuple[int, ...]:
    """The entry's values of the sort fields: its stored created_at, its id."""
    return tuple(entry.id if name == "id" else removals.stored(entry) for name, _ in sort)


def _key(removals: Removals, entry: Entry, sort: tuple[tuple[str, bool], ...]) -> tuple[int, ...]:
    return _transform(_values(removals, entry, sort), sort)


def _transform(key: Sequence[int], sort: tuple[tuple[str, bool], ...]) -> tuple[int, ...]:
    """Sort keys made ascending: a descending field is negated."""
    return tuple(-v if desc else v for v, (_, desc) in zip(key, sort, strict=True))
