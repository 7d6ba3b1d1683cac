"""Reading a removal feed (`/v1/archive`, `/v1/trash`) into `Removed` events.

Each feed lists what is archived or trashed now, every record type mixed; only entries of the
resource's type count (the type compared case-insensitively). A feed is read from its cursor (minus
the lookback; on the first sync from its beginning) sorted by `created_at, id`, so after each page
every entry created before the last entry's second has been read: that second is what the state may
record once the page's deletes are sent. A query that reaches the API's record cap goes on from that
second, or, inside one crowded second, by id. The walk's end records the server's Date at its start.

An entry of the resource's type names its record in a reference named after the type (`"project":
{"id": ...}`), as the docs' examples show; their list of a feed's collection fields leaves it out.
An entry without a usable id is asked for alone (`GET /v1/archive/<entry id>`, documented with the
reference); if that does not tell either, the entry is counted and warned about, and the feed's
claim stops before it: the next sync reads it again.

A feed that the token may not read (403) or that the server does not have (404) costs a warning
(`FeedRefused`): deletes are not reflected, the sync goes on. A feed is read only after its
resource's pass has ended, so a delete is always a later word than the upserts of the same sync
(see extract/scheduler.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from xurrent_async.client import Page, XurrentClient
from xurrent_async.errors import ApiError
from xurrent_async.events import Event, FeedRefused, Removed
from xurrent_async.record_cap import cut_short, runs_long
from xurrent_async.resources import Resource, as_id, exact_timestamp
from xurrent_async.state import to_iso
from xurrent_async.time_filter import second_filter
from xurrent_async.tuning import DEFAULT_TUNING

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]
_VERB = {"archive": "archived", "trash": "trashed"}


@dataclass
class EntryScan:
    """What a feed page says of the `kind` records: the ids it names, and its entries of that type
    that name none usable."""

    ids: list[int] = field(default_factory=list)
    unnamed: list[dict[str, Any]] = field(default_factory=list)


def of_kind(entry: Any, feed: str, kind: str) -> bool:
    """Whether a feed entry is about a `kind` record (the type as sent, in any case)."""
    if not isinstance(entry, dict):
        return False
    sent = entry.get(_VERB[feed])
    return isinstance(sent, str) and sent.strip().lower() == kind


def named_id(entry: dict[str, Any], feed: str, kind: str) -> int | None:
    """The id of the record an entry of `kind` names in its typed reference (keyed by the type as
    sent, or in lower case), as an integer or a string of digits."""
    sent = entry.get(_VERB[feed])
    target = entry.get(sent) if isinstance(sent, str) and sent in entry else entry.get(kind)
    return as_id(target.get("id")) if isinstance(target, dict) else None


def scan_entries(records: list[Any], feed: str, kind: str) -> EntryScan:
    """The `kind` records a feed page lists (entries of other types, and what is no entry, skipped)."""
    scan = EntryScan()
    for entry in records:
        if not of_kind(entry, feed, kind):
            continue
        record_id = named_id(entry, feed, kind)
        if record_id is None:
            scan.unnamed.append(entry)
        else:
            scan.ids.append(record_id)
    return scan


def removed_ids(records: list[Any], feed: str, kind: str) -> list[int]:
    """The ids of the `kind` records a feed page names."""
    return scan_entries(records, feed, kind).ids


@dataclass
class Claim:
    """How far a feed's walk may claim to have read: never past an entry it could not read. Held
    at such an entry's second (or, without a readable one, at the claim before its page)."""

    held: bool = False
    at: int | None = None  # with `held`: claims stop here (None: nothing may be claimed)

    def hold(self, second: int | None) -> None:
        if not self.held:
            self.held, self.at = True, second
        elif self.at is not None:
            self.at = None if second is None else min(self.at, second)

    def limit(self, upto: int | None) -> int | None:
        if not self.held or upto is None:
            return upto
        return None if self.at is None else min(upto, self.at)


def last_second(records: list[Any]) -> int | None:
    """The created_at second of a page's last entry with a readable one (one without an offset is
    no evidence: its zone is a guess)."""
    for entry in reversed(records):
        stamp = exact_timestamp(entry.get("created_at")) if isinstance(entry, dict) else None
        if stamp is not None:
            return int(stamp.timestamp())
    return None


class FeedReader:
    def __init__(self, client: XurrentClient, per_page: int, emit: Emit, now: Callable[[], float] = time.time,
                 long_walk: int = DEFAULT_TUNING.window_records):
        self._client = client
        self._per_page = per_page
        self._long_walk = long_walk  # a walk stops after this many entries and goes on (record_cap.py)
        self._emit = emit
        self._now = now
        self.unnamed: dict[str, int] = {}  # feed -> entries of the resource's type that named no usable id
        self.looked_up = 0  # entries asked for alone

    async def read(self, resource: Resource, feed: str, lower: int | None) -> None:
        """Read `feed` from `lower` (None: from its beginning) to its end, emitting `Removed` per page."""
        assert resource.removed_as is not None
        claim = Claim()
        try:
            end = await self._walk(resource, feed, resource.removed_as, lower, claim)
        except ApiError as exc:
            if exc.status not in (403, 404):
                raise
            await self._emit(FeedRefused(resource.table, feed, exc.api_message, exc.status))
            return
        finally:
            self._say_unnamed(resource, feed, claim)
        upto = claim.limit(end)
        await self._emit(Removed(resource.table, feed, [], upto, held=claim.held))
        if upto is not None:
            log.info("%s: %s read up to %s", resource.table, feed, to_iso(upto))

    async def _removed(self, records: list[Any], feed: str, kind: str, claim: Claim, before: int | None) -> list[int]:
        """The ids of the `kind` records a page lists; an entry naming none usable is asked for alone
        and, if that does not tell either, counted and holds the claim (`before`: the claim before
        this page, for an entry without a readable second)."""
        scan = scan_entries(records, feed, kind)
        for entry in scan.unnamed:
            record_id = await self._look_up(feed, kind, entry)
            if record_id is not None:
                scan.ids.append(record_id)
                continue
            self.unnamed[feed] = self.unnamed.get(feed, 0) + 1
            stamp = exact_timestamp(entry.get("created_at"))
            claim.hold(int(stamp.timestamp()) if stamp is not None else before)
        return scan.ids

    async def _look_up(self, feed: str, kind: str, entry: dict[str, Any]) -> int | None:
        """`GET /v1/<feed>/<entry id>`: the docs show one entry with its typed reference."""
        entry_id = as_id(entry.get("id"))
        if entry_id is None:
            return None
        self.looked_up += 1
        try:
            one = await self._client.get_one(self._client.url(f"{feed}/{entry_id}"))
        except ApiError as exc:
            if exc.status is None or exc.status >= 500:
                raise  # the API kept failing: as for any request
            return None
        return named_id(one, feed, kind) if of_kind(one, feed, kind) else None

    def _say_unnamed(self, resource: Resource, feed: str, claim: Claim) -> None:
        count = self.unnamed.get(feed, 0)
        if not count:
            return
        held = f"from {to_iso(claim.at)}" if claim.at is not None else "from where this sync began"
        log.warning("%s: %d entr%s of /v1/%s of type %s named no usable %s id, in the list or alone: those %s are "
                    "not marked deleted, and the next sync reads /v1/%s again %s", resource.table, count,
                    "y" if count == 1 else "ies", feed, resource.removed_as, resource.removed_as, resource.table,
                    feed, held)

    async def _walk(self, resource: Resource, feed: str, kind: str, lower: int | None, claim: Claim) -> int:
        """Returns the moment before which every entry has been read (`claim` may hold it back)."""
        upper: int | None = None
        at, id_after = lower, None  # every entry before `at` has been read (and, by id, up to id_after)
        while True:
            start, capped, last_id = at, False, None
            read, total = 0, None
            pages = self._pages(feed, at, id_after)
            async for page in pages:
                if upper is None:
                    upper = int(page.server_date) if page.server_date is not None else int(self._now())
                if read == 0:
                    total = page.total_entries
                second = last_second(page.records)
                if page.records and isinstance(page.records[-1], dict):
                    last_id = as_id(page.records[-1].get("id"))
                ids = await self._removed(page.records, feed, kind, claim, at)
                if id_after is None and second is not None and (at is None or second > at):
                    at = second  # sorted by created_at: every earlier second is complete
                await self._emit(Removed(resource.table, feed, ids, claim.limit(at)))
                read += len(page.records)
                # The cap, announced or seen in the count, or a walk that runs long: go on from here.
                capped = cut_short(read, total, page.throttled) if page.next_url is None else \
                    runs_long(read, self._long_walk)
                if capped:
                    break
            await pages.aclose()
            if id_after is not None and not capped:  # the crowded second is done: on past it
                at, id_after = (at or 0) + 1, None
            elif not capped:
                return max(upper or 0, at or 0)
            elif id_after is None and at is not None and (start is None or at > start):
                pass  # the cap ended the walk: go on from the last entry's second
            elif id_after is None and at is not None:
                id_after = 0  # a whole capped walk inside one second: that second by id, from its start
            elif last_id is not None:
                id_after = last_id  # on by id
            else:
                raise ApiError(None, f"/v1/{feed}", "the feed reached the record cap without usable entry ids")

    def _pages(self, feed: str, at: int | None, id_after: int | None) -> AsyncGenerator[Page, None]:
        params = {"per_page": str(self._per_page), "sort": "created_at,id"}
        if id_after is not None and at is not None:
            # That one second, whatever precision the server compares at (time_filter.py), sorted by
            # id: sorted by time, a second stored with fractions is in no id order. Past the id.
            params["created_at"] = second_filter(at)
            params["sort"] = "id"
            if id_after:
                params["id"] = f">{id_after}"
        elif at is not None:
            params["created_at"] = f">={to_iso(at)}"
        return self._client.pages(feed, params)
