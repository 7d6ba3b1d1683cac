"""Reading one window: its query's pages, mapped to rows and sent as `Rows`, until the query ends,
stops short of its window (the API's record cap, announced or seen in the count), runs long (half
the documented cap), or crosses the window's end (shortened by an idle slot's split).

The walk knows nothing of splitting or passes: its first page goes to the caller, which says what
the window is and whether it may be split while read (`ActiveWindow`); the outcome says whether
the walk stopped short, for the caller to go on from there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from xurrent_async.client import Page, XurrentClient
from xurrent_async.errors import ApiError
from xurrent_async.events import Event, Rows
from xurrent_async.extract.passes import StreamProgress
from xurrent_async.extract.plan import ActiveWindow, Order, replace_param
from xurrent_async.field_selection import FieldSelection
from xurrent_async.record_cap import cut_short, runs_long
from xurrent_async.resources import OFFSETLESS, Issue, Resource, RowMapper
from xurrent_async.state import Interval

Emit = Callable[[Event], Awaitable[None]]
# Told a walk's first page and its rows: returns the window it reads and, if any, its split view.
FirstPage = Callable[[Page, list[dict[str, Any]], Interval], Awaitable[tuple[Interval, ActiveWindow | None]]]


def param_value(url: str, name: str) -> str | None:
    """One query parameter of a URL (a Link), or None."""
    return next((v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == name), None)


async def query_pages(client: XurrentClient, fields: FieldSelection, resource: Resource,
                      params: dict[str, str]) -> AsyncIterator[Page]:
    """Every page of one query, following `Link rel="next"`; a 400 caused by `fields=` drops the
    refused fields (field_selection.py) and asks again (the same page: nothing was delivered from a
    refused request)."""
    url: str | None = client.url(resource.path)
    query: dict[str, str] | None = params

    async def probe(names: str) -> bool:
        """One record of this query with `fields=names`: accepted or refused (400)."""
        try:
            await client.get_page(client.url(resource.path), {**params, "per_page": "1", "fields": names})
        except ApiError as exc:
            if exc.status == 400:
                return False
            raise
        return True

    while url is not None:
        try:
            page = await client.get_page(url, query)
        except ApiError as exc:
            asked = query.get("fields") if query is not None else param_value(url, "fields")
            if not await fields.recover(resource.table, exc, asked, probe):
                raise
            names = fields.param(resource.table)
            if query is not None:
                query = {**query, "fields": names}
            else:  # a Link carries every parameter: replace the one that changed
                url = replace_param(url, "fields", names)
            continue
        yield page
        url, query = page.next_url, None


def before(rows: list[dict[str, Any]], timed: list[dict[str, Any]], upper: int) -> list[dict[str, Any]]:
    """The rows of an ordered page that belong before `upper` (and those whose time is unreadable),
    judged by their times as the walk's order sees them (`timed`, see `as_timed`)."""
    return [r for r, t in zip(rows, timed, strict=True) if (u := t["updated_at"]) is None or int(u.timestamp()) < upper]


def as_timed(rows: list[dict[str, Any]], problems: list[Issue]) -> list[dict[str, Any]]:
    """The rows as the walk's order and claims see them: an `updated_at` sent without an offset is
    stored (read as UTC) but is no evidence of where the walk is, since its zone is a guess."""
    guessed = {i.record_id for i in problems if i.field == "updated_at" and i.problem == OFFSETLESS}
    if not guessed:
        return rows
    return [{**r, "updated_at": None} if r["id"] in guessed else r for r in rows]


class WindowWalk:
    """One walk of a window. After `read`, `window` is the window it covered, `capped` whether it
    stopped short of it (the API's record cap, or a long walk), and `order` where it got to;
    `active` is its split view while read. `by_id`: a walk of one second, sorted by id.
    `long_walk`: the records a walk reads before it stops and goes on (half the API's cap)."""

    def __init__(self, table: str, mapper: RowMapper, emit: Emit, progress: StreamProgress,
                 window: Interval, by_id: bool, long_walk: int):
        self.table = table
        self.window = window
        self.by_id = by_id
        self.order = Order()
        self.capped = False
        self.total: int | None = None  # the records its first page reported
        self.read_records = 0
        self.active: ActiveWindow | None = None
        self._long_walk = long_walk
        self._mapper = mapper
        self._emit = emit
        self._progress = progress

    async def read(self, pages: AsyncIterator[Page], first_page: FirstPage) -> None:
        first = True
        async for page in pages:
            self._progress.requests += 1
            problems: list[Issue] = []
            rows = [self._mapper.map(record, problems) for record in page.records]
            timed = as_timed(rows, problems)
            if first:
                first = False
                self.total = page.total_entries
                self.window, self.active = await first_page(page, timed, self.window)
            self.order.observe(timed)
            self.read_records += len(page.records)
            if page.next_url is None:
                self.capped = cut_short(self.read_records, self.total, page.throttled)
            else:  # stopped here: it goes on from where it got to, as after a cap
                self.capped = runs_long(self.read_records, self._long_walk)
            crossed = self.active is not None and self.active.observe(len(rows), self.order)
            if crossed:
                assert self.active is not None
                self.capped = False
                if self.active.shortened():  # upserting the next window's rows twice only costs time
                    rows = before(rows, timed, self.active.upper)
            if rows:
                await self._emit(Rows(self.table, rows, problems, self._complete()))
            if crossed or self.capped:
                break

    def _complete(self) -> Interval | None:
        """The part of the window the checkpoints may now record as read."""
        lower, upper = self.window
        end = self.active.upper if self.active is not None else upper
        return self.order.complete(lower, end, by_id=self.by_id)

    def covered(self) -> Interval:
        """The window this walk covered: up to where a split shortened it."""
        return (self.window[0], self.active.upper) if self.active is not None else self.window
