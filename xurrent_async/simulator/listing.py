"""The bodies and headers of GET /v1/<collection> (a page) and GET /v1/<collection>/<id>.

Pages are JSON arrays with X-Pagination-* headers and, unless it is the last page, a
`Link: <url>; rel="next"` that keeps every query parameter and replaces `search_after`. A query can
page through at most `record_cap` records: the page that reaches the cap has no next link, and
X-Pagination-Throttled says so (on every page of such a query, only that page, or none, per config);
X-Pagination-Total-Entries counts every match, or at most the cap (`total_entries`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode

from .query import FieldFilter, FieldsError, QueryError, encode_cursor, parse_query
from .removals import feed_page
from .responses import json_body
from .search import sort_values
from .server import Simulator


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0  # records in the body


def list_page(sim: Simulator, collection: str, query_items: Iterable[tuple[str, str]], link_base: str) -> Answer:
    """One page of `collection`; `link_base` is what next links start with (".../v1")."""
    cfg, ds = sim.config, sim.dataset
    items = list(query_items)
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    try:
        renderer = ds.renderers[collection]
        withdrawn = cfg.withdrawn_fields.get(collection, ())
        known = tuple(name for name in renderer.all_fields if name not in withdrawn)
        detail_only = (*renderer.detail_fields, *cfg.refused_fields.get(collection, ()))
        query = parse_query(params, known, cfg.per_page_default, cfg.per_page_max, detail_only, ds.fractional)
    except QueryError as exc:
        message = cfg.fields_error_message if isinstance(exc, FieldsError) and cfg.fields_error_message else str(exc)
        return Answer(400, json_body({"message": message}))
    hidden = ds.hidden(collection)
    filters = query.filters
    if hidden:  # archived and trashed projects leave the list
        id_filter = filters.get("id", FieldFilter())
        filters = {**filters, "id": replace(id_filter, exclude=id_filter.exclude | hidden)}
    served = query.cursor.served if query.cursor else 0
    cap = cfg.record_cap
    fields = tuple(name for name in ds.list_fields(collection, query.fields) if name not in withdrawn)
    with ds.lock:
        data = ds.collections[collection]
        page = ds.searcher.search(
            data, filters, query.sort, query.cursor.key if query.cursor else None,
            max(0, min(query.per_page, cap - served)), (tuple(sorted(filters.items())), query.sort),
        )
        records = [ds.render(collection, pos, fields) for pos in page.positions]
        last_key = sort_values(data, query.sort, page.positions[-1]) if page.positions else None
    reached = served + len(records)
    per_page = query.per_page
    total = min(page.total, cap) if cfg.total_entries == "capped" else page.total
    headers = {
        "X-Pagination-Per-Page": str(per_page),
        "X-Pagination-Current-Page": str(served // per_page + 1),  # counted through the cursor
        "X-Pagination-Total-Pages": str(math.ceil(total / per_page)),
        "X-Pagination-Total-Entries": str(total),
    }
    capped = reached >= cap and page.more  # the cap cut the walk short here
    if page.total > cap and (cfg.throttled_header == "all" or (cfg.throttled_header == "last" and capped)):
        headers["X-Pagination-Throttled"] = "true"
    if page.more and not capped and last_key is not None:
        pairs = [(k, v) for k, v in items if k != "search_after"]
        pairs.append(("search_after", encode_cursor(reached, last_key, query.sort)))
        url = f"{link_base}/{collection}?{urlencode(pairs, quote_via=quote, safe=',:')}"
        headers["Link"] = f'<{url}>; rel="next"'
    return Answer(200, json_body(records), headers, len(records))


def removal_feed(sim: Simulator, feed: str, query_items: Iterable[tuple[str, str]], link_base: str) -> Answer:
    cfg, ds = sim.config, sim.dataset
    with ds.lock:
        answer = feed_page(ds.removals, feed, query_items, link_base, ds.fmt, cfg.per_page_default,
                           cfg.per_page_max, cfg.record_cap, cfg.throttled_header, cfg.total_entries,
                           with_reference=cfg.feed_references == "always")
    return Answer(answer.status, answer.body, answer.headers, answer.records)


def one_entry(sim: Simulator, feed: str, entry_id: str, link_base: str) -> Answer:
    """GET /v1/archive/<id> (or trash): one entry, with its typed reference unless `feed_references`
    is "never"."""
    ds = sim.dataset
    with ds.lock:
        entry = ds.removals.feeds[feed].get(int(entry_id)) if entry_id.isdigit() else None
        if entry is None:
            return Answer(404, json_body({"message": "Not found"}))
        record = ds.removals.render(feed, entry, ds.fmt, link_base,
                                    with_reference=sim.config.feed_references != "never")
    return Answer(200, json_body(record), records=1)


def one_record(sim: Simulator, collection: str, record_id: str) -> Answer:
    ds = sim.dataset
    with ds.lock:
        pos = ds.collections[collection].position(int(record_id)) if record_id.isdigit() else None
        if pos is None or int(record_id) in ds.hidden(collection):
            return Answer(404, json_body({"message": "Not found"}))
        return Answer(200, json_body(ds.render(collection, pos)), records=1)
