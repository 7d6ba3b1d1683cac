"""What a worker times besides run_sync: the original example's approach (one request in flight,
stream after stream), and concurrent page walks through the connector's client or bare aiohttp."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from .results import BenchError
from .sizes import ACCOUNT, ORIGINAL_PER_PAGE, TOKEN

if TYPE_CHECKING:
    import aiohttp

# Heavy imports (aiohttp, the connector's modules) happen inside functions: a worker process then
# loads only what its job needs, so its peak RSS is the sync's, not the bench's.


class CountingSink:
    """A destination that only counts: what is measured is the connector, not a database."""

    def __init__(self) -> None:
        self.rows = 0
        self.checkpoints = 0

    def upsert(self, table: str, row: dict[str, Any]) -> None:
        self.rows += 1

    def delete(self, table: str, keys: dict[str, Any]) -> None:
        pass

    def checkpoint(self, state: dict[str, Any]) -> None:
        self.checkpoints += 1


API_HEADERS = {"Authorization": f"Bearer {TOKEN}", "X-Xurrent-Account": ACCOUNT,
               "Accept": "application/json", "Accept-Encoding": "gzip, deflate"}  # as the connector sends


async def follow_links(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> AsyncIterator[bytes]:
    """Every page body of one query, one request at a time, following Link rel="next"; a 429 waits
    for Retry-After and asks again."""
    next_url: str | None = url
    query: dict[str, str] | None = params
    while next_url is not None:
        async with session.get(next_url, params=query) as response:
            body = await response.read()
            if response.status == 429:
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status != 200:
                raise BenchError(f"HTTP {response.status} from {response.url.path}")
            link = response.links.get("next")
        next_url, query = (str(link["url"]), None) if link else (None, None)
        yield body


async def original_extract(base_url: str, sink: CountingSink, per_page: int = ORIGINAL_PER_PAGE) -> None:
    """What Fivetran's original Xurrent example did, minus its bugs: stream after stream, one
    request in flight, `per_page` records a page, upserting each record and checkpointing each page.

    Fair on purpose: one keep-alive aiohttp session with gzip (the original opened a connection per
    `requests.get`), the connector's `fields=` list and RowMapper (same rows, same bytes per record),
    and Link pagination (the original's `page=N` would work the same or cost one more request per
    stream). A 429 waits for Retry-After, as the original did."""
    import aiohttp

    from xurrent_async.resources import RESOURCES, RowMapper

    async with aiohttp.ClientSession(headers=API_HEADERS, timeout=aiohttp.ClientTimeout(total=30)) as session:
        for resource in RESOURCES:
            mapper = RowMapper(resource)
            count = 0
            params = {"per_page": str(per_page), "fields": resource.api_fields}
            async for body in follow_links(session, f"{base_url.rstrip('/')}/{resource.path}", params):
                problems: list[str] = []
                for record in json.loads(body):
                    sink.upsert(resource.table, mapper.map(record, problems))
                    count += 1
                    if count % per_page == 0:
                        sink.checkpoint({"last_processed_page": count // per_page})
            sink.checkpoint({"done": resource.table})


def walk_params(table: str, first: int, after: int, per_page: int) -> dict[str, str]:
    from xurrent_async.resources import BY_TABLE

    return {"per_page": str(per_page), "fields": BY_TABLE[table].api_fields, "sort": "id",
            "id": f">={first}<={after - 1}"}  # [first, after) in a documented range form


async def concurrent_walks(config: dict[str, str], walks: Sequence[tuple[str, int, int]], per_page: int,
                           *, bare: bool = False) -> int:
    """Walk each (collection, first id, id after last) slice to its end, all at once. Through the
    connector's own client (session, auth, governor, retries, Link pages) and RowMapper; or, with
    `bare`, through a plain aiohttp session that only parses the JSON: what this machine and the
    simulator allow, for reference. Returns the records read."""
    import aiohttp

    from xurrent_async.resources import BY_TABLE, RowMapper
    from xurrent_async.session import open_client
    from xurrent_async.settings import parse_settings

    settings, _ = parse_settings(config)
    if bare:
        connector = aiohttp.TCPConnector(limit=settings.max_concurrency + 2)  # as open_client sizes its pool
        async with aiohttp.ClientSession(connector=connector, headers=API_HEADERS) as session:
            async def bare_walk(table: str, first: int, after: int) -> int:
                url = f"{settings.base_url.rstrip('/')}/{table}"
                return sum([len(json.loads(body)) async for body in
                            follow_links(session, url, walk_params(table, first, after, per_page))])

            return sum(await asyncio.gather(*(bare_walk(*w) for w in walks)))

    async with open_client(settings) as client:
        async def walk(table: str, first: int, after: int) -> int:
            mapper = RowMapper(BY_TABLE[table])
            records = 0
            async for page in client.pages(table, walk_params(table, first, after, per_page)):
                problems: list[str] = []
                records += len([mapper.map(record, problems) for record in page.records])
            return records

        return sum(await asyncio.gather(*(walk(*w) for w in walks)))
