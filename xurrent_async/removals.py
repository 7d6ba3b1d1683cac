"""Reading a removal feed (`/v1/archive`, `/v1/trash`) into `Removed` events.

Each feed lists what is archived or trashed now, every record type mixed; only entries of the
resource's type count. A feed is read from its cursor (minus the lookback; on the first sync from
its beginning) sorted by `created_at, id`, so after each page every entry created before the last
entry's second has been read: that second is what the state may record once the page's deletes are
sent. A query that reaches the API's record cap goes on from that second, or, inside one crowded
second, by id. The walk's end records the server's Date at its start.

A feed is read only after its resource's pass has ended, so a delete is always a later word than
the upserts of the same sync (see extract/scheduler.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from xurrent_async.client import Page, XurrentClient
from xurrent_async.errors import ApiError
from xurrent_async.events import Event, FeedRefused, Removed
from xurrent_async.resources import Resource, parse_timestamp
from xurrent_async.state import to_iso
from xurrent_async.time_filter import second_filter

log = logging.getLogger(__name__)
Emit = Callable[[Event], Awaitable[None]]
_VERB = {"archive": "archived", "trash": "trashed"}


def removed_ids(records: list[Any], feed: str, kind: str) -> list[int]:
    """The ids of the `kind` records a feed page lists (other types and malformed entries skipped)."""
    verb = _VERB[feed]
    ids = []
    for entry in records:
        target = entry.get(kind) if isinstance(entry, dict) and entry.get(verb) == kind else None
        record_id = target.get("id") if isinstance(target, dict) else None
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            ids.append(record_id)
    return ids


def last_second(records: list[Any]) -> int | None:
    """The created_at second of a page's last entry with a readable one."""
    for entry in reversed(records):
        try:
            stamp = parse_timestamp(entry.get("created_at")) if isinstance(entry, dict) else None
        except ValueError:
            stamp = None
        if stamp is not None:
            return int(stamp.timestamp())
    return None


class FeedReader:
    def __init__(self, client: XurrentClient, per_page: int, emit: Emit, now: Callable[[], float] = time.time):
        self._client = client
        self._per_page = per_page
        self._emit = emit
        self._now = now

    async def read(self, resource: Resource, feed: str, lower: int | None) -> None:
        """Read `feed` from `lower` (None: from its beginning) to its end, emitting `Removed` per page."""
        assert resource.removed_as is not None
        try:
            end = await self._walk(resource, feed, resource.removed_as, lower)
        except ApiError as exc:
            if exc.status != 403:
                raise
            await self._emit(FeedRefused(resource.table, feed, exc.api_message))
            return
        await self._emit(Removed(resource.table, feed, [], end))
        log.info("%s: %s read up to %s", resource.table, feed, to_iso(end))

    async def _walk(self, resource: Resource, feed: str, kind: str, lower: int | None) -> int:
        """Returns the moment before which every entry has been read."""
        upper: int | None = None
        at, id_after = lower, None  # every entry before `at` has been read (and, by id, up to id_after)
        while True:
            start, capped, last_id = at, False, None
            async for page in self._pages(feed, at, id_after):
                if upper is None:
                    upper = int(page.server_date) if page.server_date is not None else int(self._now())
                second = last_second(page.records)
                if page.records and isinstance(page.records[-1], dict):
                    last_id = page.records[-1].get("id")
                if id_after is None and second is not None and (at is None or second > at):
                    at = second  # sorted by created_at: every earlier second is complete
                await self._emit(Removed(resource.table, feed, removed_ids(page.records, feed, kind), at))
                capped = page.throttled and page.next_url is None
            if id_after is not None and not capped:  # the crowded second is done: on past it
                at, id_after = (at or 0) + 1, None
            elif not capped:
                return max(upper or 0, at or 0)
            elif id_after is None and at is not None and (start is None or at > start):
                pass  # the cap ended the walk: go on from the last entry's second
            elif id_after is None and at is not None:
                id_after = 0  # a whole capped walk inside one second: that second by id, from its start
            elif isinstance(last_id, int):
                id_after = last_id  # on by id
            else:
                raise ApiError(None, f"/v1/{feed}", "the feed reached the record cap without usable entry ids")

    def _pages(self, feed: str, at: int | None, id_after: int | None) -> AsyncIterator[Page]:
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
