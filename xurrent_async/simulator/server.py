"""The Simulator: configuration, clock, data and counters of one server, and the helpers tests use
to inspect and change the data while it runs. What serves it over HTTP is runner.py (which builds
app.py's handlers around it): this module imports neither."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

from .auth import TokenStore
from .clock import Clock, SystemClock
from .config import COLLECTIONS, SimConfig
from .dataset import Dataset
from .faults import FaultInjector
from .holds import Hold
from .limits import Caller, Limits, RateLimiter
from .records import Record
from .stats import SimStats

HOST = "127.0.0.1"  # never anything else: the simulator is for local use only


class Simulator:
    def __init__(self, config: SimConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.dataset = Dataset(self.config, self.clock.now())
        self.tokens = TokenStore()
        self.limiter = RateLimiter()
        self.faults = FaultInjector(self.config.seed)
        self.jitter = random.Random(self.config.seed)
        self.stats = SimStats()
        self.holds: list[Hold] = []
        # What the latency is measured and waited with: a test may put a fake pair here to follow a
        # request on its way in and out without waiting (the clock above is the server's date).
        self.monotonic: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.port: int | None = None  # set by runner.py while it serves
        # Called (in the simulator's thread) with the collection and query of each authenticated
        # request about to be answered, after faults: tests change data at an exact moment with it.
        self.before_serving: Callable[[str, Mapping[str, str]], None] | None = None
        # Called (in the simulator's thread) at each POST /token, before anything else: e.g. a test
        # moves a FakeClock on, so that an outage of the token endpoint passes by requests, not time.
        self.on_token_request: Callable[[], None] | None = None

    @property
    def origin(self) -> str:
        if self.port is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    @property
    def token_url(self) -> str:
        return f"{self.origin}/token"

    def limits(self) -> Limits:
        c = self.config
        return Limits(c.hourly_limit, c.hour_seconds, c.burst_limit, c.burst_seconds, c.other_integration_per_second)

    def caller(self, access_token: str, address: str = HOST) -> tuple[Caller, str]:
        """Whom a valid access token's requests count against, and the credential that holds it
        (the personal token itself, or the OAuth client an access token was issued to). `address`:
        where the request came from, the key of the burst window under `burst_scope="host"`."""
        credential = self.tokens.client_of(access_token) or access_token
        user = self.config.user_of(credential)
        burst_key = {"token": f"token:{access_token}", "host": f"host:{address}"}.get(self.config.burst_scope,
                                                                                     f"user:{user}")
        return Caller(user, burst_key), credential

    # -- helpers for tests (safe from any thread) ----------------------------------------------
    def reset_stats(self) -> None:
        self.stats = SimStats()

    def truth(self, collection: str) -> dict[int, Record]:
        """Every record now held, all fields, exactly as GET /v1/<collection>/<id> returns it."""
        _check(collection)
        return self.dataset.truth(collection)

    def ids(self, collection: str) -> list[int]:
        """Every id of the collection, removed projects included."""
        _check(collection)
        return list(self.dataset.collections[collection].ids)

    def touch(self, collection: str, ids: Iterable[int], at: float | None = None) -> None:
        """Change records: updated_at := `at` (default: clock now), whole second, and the name or
        subject gains an " (edit N)" suffix."""
        _check(collection)
        self.dataset.change(collection, ids, self.clock.now() if at is None else at, edit=True)

    def set_updated_at(self, collection: str, ids: Iterable[int], at: float) -> None:
        """Move records onto one updated_at second without other changes (boundary and cap tests)."""
        _check(collection)
        self.dataset.change(collection, ids, at, edit=False)

    def rename(self, target: str, target_id: int, name: str, at: float | None = None) -> None:
        """Rename a record that others reference: every reference to it (a product's `support_team`,
        an organization's `parent`, a service's `provider`, …) shows the new name at once, and no
        referencing record's updated_at moves, so only a full re-read brings the new
        name to their copies (unless `config.rename_touches_references`: the docs do not say).
        `target`: "organizations" (the organization itself changes: its updated_at becomes `at`,
        default now), or a pool of targets that are not synced: "people", "teams", "services",
        "calendars", "templates", "workflow_templates", or "ui_extensions" (whose `title` changes)."""
        self.dataset.rename(target, target_id, name, self.clock.now() if at is None else at,
                            touch_references=self.config.rename_touches_references)

    def bulk_update(self, count: int, at: float | None = None, seconds: int = 60,
                    collections: Iterable[str] = ("products", "projects")) -> dict[str, list[int]]:
        """A bulk import or mass edit: `count` records, shared among `collections`, updated (with an
        " (edit N)" suffix) at times spread evenly over `seconds` seconds from `at` (default: the
        clock `seconds` ago), so each of those seconds holds about count/seconds of them. Returns
        the ids per collection."""
        names = tuple(collections)
        for name in names:
            _check(name)
        start = int(self.clock.now() - seconds if at is None else at)
        return self.dataset.bulk_update(count, start, seconds, names)

    # -- removals: archive, trash, restore, erase (projects only, as in Xurrent) ----------------
    def archive(self, ids: Iterable[int], at: float | None = None) -> None:
        """Archive live projects: they leave /projects and appear in /archive (created_at = `at`)."""
        self.dataset.remove("archive", ids, self.clock.now() if at is None else at)

    def trash(self, ids: Iterable[int], at: float | None = None) -> None:
        """Trash live or archived projects (an archived one moves from /archive to /trash)."""
        self.dataset.remove("trash", ids, self.clock.now() if at is None else at)

    def restore(self, ids: Iterable[int]) -> None:
        """Bring archived or trashed projects back into /projects; their updated_at becomes now when
        `config.restore_touches_updated_at` (unconfirmed for the real API)."""
        self.dataset.restore(ids, self.clock.now(), self.config.restore_touches_updated_at)

    def erase(self, ids: Iterable[int]) -> None:
        """Erase trashed projects for good (Xurrent does it 28 days after they reach the trash)."""
        self.dataset.erase(ids)

    def removed(self) -> dict[str, set[int]]:
        """Project ids now in each feed, and those erased."""
        with self.dataset.lock:
            r = self.dataset.removals
            out: dict[str, set[int]] = {"archive": set(), "trash": set(), "erased": set(r.erased)}
            for project_id, (feed, _) in r.where.items():
                out[feed].add(project_id)
            return out

    def corrupt(self, collection: str, record_id: int, patch: dict[str, object] | None) -> None:
        """Serve a record broken: every list page and GET (and `truth`) shows it with `patch` laid
        over it (values are JSON values); a patch value of `REMOVE` deletes that key. E.g. `{"id": REMOVE}`,
        `{"updated_at": "yesterday"}`, `{"status": "on_fire"}`. Its place in filters and sort order
        stays that of the unpatched record. `patch=None` heals the record."""
        _check(collection)
        self.dataset.corrupt(collection, record_id, patch)

    def hold_after(self, pages: int, collection: str | None = None) -> Hold:
        """Serve `pages` more list pages (of `collection`, or of any), then hold every later request
        (of `collection`, or of any) at its arrival until `release()`; see holds.py. Use it as
        `with sim.hold_after(n) as hold:` so that it is released whatever happens."""
        if collection is not None:
            _check(collection)
        hold = Hold(pages, collection)
        self.holds = [h for h in self.holds if not h.released.is_set()] + [hold]
        return hold

    def issued_tokens(self) -> list[str]:
        """The OAuth access tokens handed out so far (the latest 10,000), e.g. to check that none
        leaked into logs or files."""
        return self.tokens.issued()

    def issue_token(self, ttl: float | None = None, client_id: str | None = None) -> str:
        """An OAuth access token, as POST /token would hand out (to `client_id`), without a request."""
        return self.tokens.issue(self.clock.now(), self.config.token_ttl_seconds if ttl is None else ttl, client_id)


def _check(collection: str) -> None:
    if collection not in COLLECTIONS:
        raise KeyError(f"unknown collection {collection!r}; expected one of {', '.join(COLLECTIONS)}")
