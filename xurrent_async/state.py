"""Per-stream incremental state, as checkpointed through the SDK.

```
{"format": 2, "source": {"account_id": "wdc", "host": "api.xurrent.com"},
 "streams": {"organizations": {"cursor": "2026-11-28T10:00:00Z",
                               "pass": {"lower": "...Z", "upper": "...Z", "done": [["...Z", "...Z"]]}},
             "projects": {"cursor": "...Z", "full_read": "...Z", "history_from": "...Z",
                          "removals": {"archive": "...Z", "trash": "...Z"}},
             "products": {"cursor": "...Z", "refused_fields": ["rate"]}}}
```
`source`: the account and API host the state was written for (never a credential): a state is
only valid for them. `cursor`: everything updated before it has been delivered. `pass`: the open
pass covering [lower, upper); `done` are its finished parts, merged: whole windows, and the part of
an open window read so far; `"full": true` when the pass re-reads every record rather than the
changes. The cursor moves to `upper` only when `done` covers the whole pass. `full_read`: the upper
bound of the last full pass (a periodic full re-read is due from it). `history_from`: where the
table's history begins, the lowest bound a full pass of it started from, set by its first sync
(`1970-01-01T00:00:00Z`: its oldest record); every later full pass starts there or earlier
(pass_plan.py). `removals`: per removal feed, every entry created before that moment has been read
and its delete sent. `refused_fields`: the declared fields the API refused in `fields=` (not asked
for until the stream's next full pass). `burst` (absent unless found): an earlier sync found that
the credentials share one burst window (counted per host, not per user), since when, and when it is
next re-checked (see BurstMemory). Times are whole seconds, written as UTC ISO strings so a person
can read the state; internally they are epoch seconds (ints). A state without `full_read` or
`removals` (older) reads the feeds from their beginning once; one without `history_from` re-reads
from the oldest record; one without `refused_fields` asks for every field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from xurrent_async.errors import StateMismatchError

FORMAT_VERSION = 2
log = logging.getLogger(__name__)

Interval = tuple[int, int]  # [start, end) in epoch seconds


def to_iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> int:
    value = text[:-1] + "+00:00" if text.endswith("Z") else text
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def merge(intervals: list[Interval], new: Interval) -> list[Interval]:
    """Add `new` to sorted, disjoint intervals, merging touching ones."""
    result: list[Interval] = []
    start, end = new
    placed = False
    for a, b in intervals:
        if b < start:
            result.append((a, b))
        elif end < a:
            if not placed:
                result.append((start, end))
                placed = True
            result.append((a, b))
        else:
            start, end = min(a, start), max(b, end)
    if not placed:
        result.append((start, end))
    return sorted(result)


def gaps(lower: int, upper: int, done: list[Interval]) -> list[Interval]:
    """The parts of [lower, upper) not covered by `done`."""
    result: list[Interval] = []
    at = lower
    for a, b in done:
        if b <= at:
            continue
        if a > at:
            result.append((at, min(a, upper)))
        at = max(at, b)
        if at >= upper:
            break
    if at < upper:
        result.append((at, upper))
    return [(a, b) for a, b in result if a < b]


@dataclass
class Pass:
    lower: int
    upper: int
    done: list[Interval] = field(default_factory=list)
    full: bool = False  # a re-read of every record, not of the changes since the cursor

    def complete(self) -> bool:
        return not gaps(self.lower, self.upper, self.done)


@dataclass
class StreamState:
    cursor: int | None = None
    open_pass: Pass | None = None
    full_read: int | None = None  # upper bound of the last full pass
    removals: dict[str, int] = field(default_factory=dict)  # feed -> every entry before it is read
    history_from: int | None = None  # where full passes start at the latest (0: oldest record); None: unknown
    refused_fields: list[str] = field(default_factory=list)  # declared fields the API refused in fields=

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"cursor": to_iso(self.cursor) if self.cursor is not None else None}
        if self.open_pass is not None:
            p = self.open_pass
            data["pass"] = {
                "lower": to_iso(p.lower),
                "upper": to_iso(p.upper),
                "done": [[to_iso(a), to_iso(b)] for a, b in p.done],
            }
            if p.full:
                data["pass"]["full"] = True
        if self.full_read is not None:
            data["full_read"] = to_iso(self.full_read)
        if self.history_from is not None:
            data["history_from"] = to_iso(self.history_from)
        if self.removals:
            data["removals"] = {feed: to_iso(at) for feed, at in sorted(self.removals.items())}
        if self.refused_fields:
            data["refused_fields"] = list(self.refused_fields)
        return data


# Xurrent's legacy 4me host names serve the same accounts as the new ones.
_LEGACY_DOMAINS = {"4me.com": "xurrent.com", "4me.qa": "xurrent.qa", "4me-demo.com": "xurrent-demo.com"}


@dataclass(frozen=True)
class Source:
    """Whose data a state describes: the account and the API host (no credential)."""

    account_id: str
    host: str

    def same_as(self, other: Source) -> bool:
        return self.account_id == other.account_id and _instance(self.host) == _instance(other.host)

    def __str__(self) -> str:
        return f"account '{self.account_id}' at {self.host}"


def _instance(host: str) -> str:
    host = host.lower().rstrip(".")
    for legacy, current in _LEGACY_DOMAINS.items():
        if host == legacy or host.endswith("." + legacy):
            return host[: len(host) - len(legacy)] + current
    return host


def mismatch_message(saved: Source, configured: Source) -> str:
    return (
        f"The saved state belongs to {saved}, but the configuration names {configured}. Its cursors "
        f"say what the warehouse already holds of {saved}: used for {configured} they would skip every "
        "older record, so nothing was read or written. To sync "
        f"{configured}, start over: locally run `fivetran reset --yes` (it deletes files/, the local "
        "warehouse and its state) or use another project folder; on Fivetran, run a full re-sync of the "
        f"connection, or create a new connection for it. To go on syncing {saved}, set account_id and "
        "the host (region, environment, base_url) back to it."
    )


@dataclass(frozen=True)
class BurstMemory:
    """What an earlier sync found about the burst limit, so that the next starts paced by it: the
    pool's credentials share one burst window (as if the limit were counted per host), found at
    `since`, to be re-checked from `recheck` on (pool.py and burst_scope.py decide both). Only this
    finding is kept: the default, a window per user, needs no memory."""

    since: int
    recheck: int

    def to_json(self) -> dict[str, str]:
        return {"counted": "per host", "since": to_iso(self.since), "recheck": to_iso(self.recheck)}


@dataclass
class SyncState:
    streams: dict[str, StreamState] = field(default_factory=dict)
    source: Source | None = None
    burst: BurstMemory | None = None

    def stream(self, name: str) -> StreamState:
        return self.streams.setdefault(name, StreamState())

    # -- changes, made by the consumer in checkpoint order ---------------------------------
    def start_pass(self, name: str, lower: int, upper: int, full: bool = False, history: int | None = None) -> None:
        """`history`: the history bound a full pass reads from, recorded with it (never narrowed)."""
        s = self.stream(name)
        s.open_pass = Pass(lower, upper, full=full)
        if history is not None:
            s.history_from = history if s.history_from is None else min(s.history_from, history)

    def window_done(self, name: str, window: Interval) -> None:
        p = self.stream(name).open_pass
        if p is None:
            raise RuntimeError(f"{name}: a window finished outside a pass")
        start, end = max(window[0], p.lower), min(window[1], p.upper)
        if start < end:
            p.done = merge(p.done, (start, end))

    def finish_pass(self, name: str) -> None:
        s = self.stream(name)
        if s.open_pass is None:
            return
        if not s.open_pass.complete():
            raise RuntimeError(f"{name}: the pass was declared finished with gaps left")
        s.cursor = s.open_pass.upper
        if s.open_pass.full:
            s.full_read = s.open_pass.upper
        s.open_pass = None

    def feed_read(self, name: str, feed: str, upto: int, held: bool = False) -> None:
        """Every entry of `feed` created before `upto` has been read and its deletes sent. `held`:
        an entry at `upto` could not be read, so the claim goes back to it if it was later."""
        s = self.stream(name)
        s.removals[feed] = upto if held else max(upto, s.removals.get(feed, upto))

    def bind(self, source: Source) -> bool:
        """Tie the state to `source` before any request. A state written for another account or
        host raises StateMismatchError; one without a source (an older version's) is adopted:
        returns True, and the next checkpoint records the source."""
        if self.source is None:
            self.source = source
            return True
        if not self.source.same_as(source):
            raise StateMismatchError(mismatch_message(self.source, source))
        return False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"format": FORMAT_VERSION}
        if self.source is not None:
            data["source"] = {"account_id": self.source.account_id, "host": self.source.host}
        data["streams"] = {n: s.to_json() for n, s in sorted(self.streams.items())}
        if self.burst is not None:
            data["burst"] = self.burst.to_json()
        return data

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Any, stream_names: tuple[str, ...]) -> SyncState:
        """Read a checkpointed state. Anything unreadable or from an unknown format starts that
        stream over (a full re-read is slow but never loses a record)."""
        state = cls()
        if not data:
            return state
        if not isinstance(data, dict):
            log.warning("The saved state is not an object; starting a full sync.")
            return state
        # Read whatever the format: a full re-read of another account into this warehouse would
        # be as wrong as skipping records.
        state.source = _read_source(data.get("source"))
        if "format" not in data:
            if "last_sync_time" in data:
                # Fivetran's original Xurrent example kept one cursor for all streams, taken from
                # an unsorted page: records before it may never have been delivered.
                log.warning(
                    "The saved state comes from the original Xurrent example (last_sync_time=%s), whose "
                    "cursor could skip records; re-reading everything once to be sure nothing is missing.",
                    data.get("last_sync_time"),
                )
            else:
                log.warning("The saved state has no format version; starting a full sync.")
            return state
        if data.get("format") != FORMAT_VERSION:
            log.warning("The saved state has format %r (this connector writes %s); starting a full sync.",
                        data.get("format"), FORMAT_VERSION)
            return state
        state.burst = _read_burst(data.get("burst"))
        streams = data.get("streams") or {}
        for name in stream_names:
            raw = streams.get(name) if isinstance(streams, dict) else None
            if raw is None:
                continue
            try:
                state.streams[name] = _read_stream(raw)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                log.warning("The saved state of %s is unreadable (%s); re-reading it in full.", name, exc)
        return state


def _read_source(raw: Any) -> Source | None:
    if raw is None:
        return None
    if isinstance(raw, dict) and isinstance(raw.get("account_id"), str) and isinstance(raw.get("host"), str):
        return Source(raw["account_id"], raw["host"])
    log.warning("The saved state's source is unreadable (%r); adopting it for this configuration.", raw)
    return None


def _read_burst(raw: Any) -> BurstMemory | None:
    """The remembered burst finding; anything unreadable is forgotten (the pool finds it again)."""
    if raw is None:
        return None
    try:
        return BurstMemory(from_iso(raw["since"]), from_iso(raw["recheck"]))
    except (TypeError, ValueError, KeyError, AttributeError):
        log.warning("The saved state's burst finding is unreadable (%r); the pool starts with a burst window "
                    "per credential.", raw)
        return None


def _read_stream(raw: dict[str, Any]) -> StreamState:
    cursor = from_iso(raw["cursor"]) if raw.get("cursor") else None
    open_pass = None
    if raw.get("pass"):
        p = raw["pass"]
        done: list[Interval] = []
        for a, b in p.get("done", []):
            done = merge(done, (from_iso(a), from_iso(b)))
        open_pass = Pass(from_iso(p["lower"]), from_iso(p["upper"]), done, full=p.get("full") is True)
        if open_pass.lower > open_pass.upper:
            raise ValueError("pass lower bound after its upper bound")
    full_read = from_iso(raw["full_read"]) if raw.get("full_read") else None
    history_from = from_iso(raw["history_from"]) if raw.get("history_from") else None
    removals = {str(feed): from_iso(at) for feed, at in (raw.get("removals") or {}).items()}
    refused = raw.get("refused_fields") or []
    if not isinstance(refused, list) or not all(isinstance(name, str) for name in refused):
        # Harmless to forget: every field is asked for, and a refusal is found again.
        log.warning("The saved state's refused_fields is unreadable (%r); asking for every field.", refused)
        refused = []
    return StreamState(cursor, open_pass, full_read, removals, history_from=history_from,
                       refused_fields=list(refused))
