"""`python -m xurrent_async.simulator`: serve a simulator on 127.0.0.1 until Ctrl-C.

Example: python -m xurrent_async.simulator --port 8080 --records 10000 --fault html_5xx=0.1 --fault reset=0.03
Three users of one token each (their quotas are their own):
         python -m xurrent_async.simulator --token tok-a --token tok-b --token tok-c
Two tokens of one user (they share its quota): --token tok-a --token tok-b --user alice=tok-a,tok-b
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import Sequence

from .clock import SystemClock
from .config import COLLECTIONS, FaultConfig, SimConfig
from .records import TEMPLATE_DISPLAYS
from .runner import serving
from .server import Simulator

_FAULT_FIELDS = {f.name: f for f in dataclasses.fields(FaultConfig)}


def _fault(text: str) -> tuple[str, float | int | bool]:
    name, sep, value = text.partition("=")
    if not sep or name not in _FAULT_FIELDS:
        raise argparse.ArgumentTypeError(f"expected KIND=VALUE with KIND one of {', '.join(_FAULT_FIELDS)}")
    kind = type(_FAULT_FIELDS[name].default)
    try:
        if kind is bool:
            return name, value.lower() in ("1", "true", "yes", "on")
        parsed = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a {kind.__name__}") from None
    if name not in ("stall_seconds", "retry_after_seconds") and not 0 <= parsed <= 1:
        raise argparse.ArgumentTypeError(f"{name}: a probability between 0 and 1, got {value}")
    return name, parsed


def _limit(text: str) -> int | None:
    value = int(text)
    return None if value == 0 else value


def _user(text: str) -> tuple[str, tuple[str, ...]]:
    name, sep, owned = text.partition("=")
    credentials = tuple(c.strip() for c in owned.split(",") if c.strip())
    if not sep or not name.strip() or not credentials:
        raise argparse.ArgumentTypeError("expected USER=CREDENTIAL[,CREDENTIAL...] (personal tokens or client ids)")
    return name.strip(), credentials


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share between 0 and 1, got {text}")
    return value


def _collection_field(text: str) -> tuple[str, str]:
    collection, sep, name = text.partition(".")
    if not sep or collection not in COLLECTIONS or not name:
        raise argparse.ArgumentTypeError(f"expected COLLECTION.FIELD with COLLECTION one of {', '.join(COLLECTIONS)}")
    return collection, name


def _outage(text: str) -> tuple[float, float]:
    down, sep, every = text.partition("/")
    try:
        pair = (float(down), float(every))
    except ValueError:
        pair = (-1.0, 0.0)
    if not sep or not 0 <= pair[0] <= pair[1] or pair[1] <= 0:
        raise argparse.ArgumentTypeError("expected DOWN/EVERY in seconds, DOWN at most EVERY, e.g. 18/20")
    return pair


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m xurrent_async.simulator", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: any free port)")
    p.add_argument("--records", type=int, default=10_000, help="records per collection")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=0.0, help="added to every response")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="plus uniform(0, jitter)")
    p.add_argument("--token", action="append", default=[], metavar="TOKEN",
                   help="a personal access token, repeatable (default: sim-token)")
    p.add_argument("--user", type=_user, action="append", default=[], metavar="USER=CRED,CRED",
                   help="a user owning these tokens or client ids, repeatable; they share its limits "
                        "(an unlisted credential is a user of its own)")
    p.add_argument("--burst-limit", type=_limit, default=20, help="requests per burst window; 0: off")
    p.add_argument("--burst-seconds", type=float, default=2.0)
    p.add_argument("--burst-scope", choices=("user", "token", "host"), default="user",
                   help="what one burst window counts: a user's requests, each access token's, or every "
                        "request from one client address (all users together)")
    p.add_argument("--other-integration-rps", type=float, default=0.0, metavar="RATE",
                   help="another integration of every user spends RATE requests/s of the user's hourly quota")
    p.add_argument("--hourly-limit", type=_limit, default=3600, help="requests per hour window per user; 0: off")
    p.add_argument("--hour-seconds", type=float, default=3600.0, help="length of the 'hour' window")
    p.add_argument("--record-cap", type=int, default=100_000, help="records one query can page through")
    p.add_argument("--throttled-header", choices=("all", "last", "none"), default="all",
                   help="X-Pagination-Throttled on every page of a query over the record cap, on the capped "
                        "page only, or never (the walk just ends short of its Total-Entries)")
    p.add_argument("--total-entries", choices=("exact", "capped"), default="exact",
                   help="X-Pagination-Total-Entries counts every match, or at most the record cap")
    p.add_argument("--timestamp-precision", choices=("second", "fractional"), default="second",
                   help="how timestamps are stored and compared: whole seconds, or with a fraction (printed "
                        "truncated to the second; filters and sorting at the fraction)")
    p.add_argument("--bulk-update", type=int, default=0, metavar="N",
                   help="N products and projects (half each) updated within one minute, an hour before the data ends")
    p.add_argument("--fault", type=_fault, action="append", default=[], metavar="KIND=VALUE",
                   help=f"fault switch, repeatable; KIND: {', '.join(_FAULT_FIELDS)}")
    p.add_argument("--changes-per-second", type=float, default=0.0,
                   help="share of each collection's records changed per second")
    p.add_argument("--clock-skew-seconds", type=float, default=0.0, help="server clock = local clock + skew")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="OAuth access token lifetime in seconds")
    docs = p.add_argument_group("where the docs are silent: the other answers (defaults: what the docs show)")
    docs.add_argument("--template-display", choices=TEMPLATE_DISPLAYS, default="subject",
                      help="the display property of request and workflow template references")
    docs.add_argument("--loose-values", type=_share, default=0.0, metavar="SHARE",
                      help="share of records with timestamps without an offset (yyyy-mm-ddThh:mm[:ss], UTC) and "
                           "ids as strings of digits")
    docs.add_argument("--refuse-field", type=_collection_field, action="append", default=[],
                      metavar="COLLECTION.FIELD", help="a documented field a list refuses in fields= (repeatable)")
    docs.add_argument("--fields-error-message", default=None, metavar="TEXT",
                      help="the message of every 400 about fields= (e.g. one that names no field)")
    docs.add_argument("--no-feeds", action="store_true", help="no /archive and /trash: both answer 404")
    docs.add_argument("--feed-references", choices=("always", "single", "never"), default="always",
                      help="which feed entries carry the typed reference (\"project\": {...}): in lists and "
                           "GET /<feed>/<id>, only GET /<feed>/<id>, or neither")
    p.add_argument("--token-outage", type=_outage, default=None, metavar="DOWN/EVERY",
                   help="POST /token answers 503 for the first DOWN seconds of every EVERY seconds, e.g. 18/20")
    return p


def config_from(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        records=args.records,
        tokens=tuple(args.token) or SimConfig().tokens,
        users=dict(args.user),
        burst_scope=args.burst_scope,
        other_integration_per_second=args.other_integration_rps,
        seed=args.seed,
        latency=args.latency_ms / 1000,
        latency_jitter=args.jitter_ms / 1000,
        burst_limit=args.burst_limit,
        burst_seconds=args.burst_seconds,
        hourly_limit=args.hourly_limit,
        hour_seconds=args.hour_seconds,
        record_cap=args.record_cap,
        throttled_header=args.throttled_header,
        total_entries=args.total_entries,
        timestamp_precision=args.timestamp_precision,
        bulk_update=args.bulk_update,
        faults=FaultConfig(**dict(args.fault)),
        changes_per_second=args.changes_per_second,
        token_ttl_seconds=args.token_ttl,
        template_display=args.template_display,
        loose_values=args.loose_values,
        refused_fields=_refused(args.refuse_field),
        fields_error_message=args.fields_error_message,
        feeds_missing=args.no_feeds,
        feed_references=args.feed_references,
        token_outage=args.token_outage,
    )


def _refused(pairs: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    refused: dict[str, tuple[str, ...]] = {}
    for collection, name in pairs:
        refused[collection] = (*refused.get(collection, ()), name)
    return refused


async def serve(config: SimConfig, port: int, skew: float) -> None:
    async with serving(Simulator(config, clock=SystemClock(skew)), port) as sim:
        announce(sim, config)
        await asyncio.Event().wait()


def announce(sim: Simulator, config: SimConfig) -> None:
    client_id, secret = next(iter(config.oauth_clients.items()), ("-", "-"))
    token = config.tokens[0] if config.tokens else "-"
    tokens = "\n".join(f"  personal token  {t}" if config.user_of(t) == t else
                       f"  personal token of {config.user_of(t)}  {t}" for t in config.tokens)
    print(
        f"Xurrent simulator: {config.records} records in each of {', '.join(COLLECTIONS)}\n"
        f"  base URL        {sim.base_url}\n"
        f"  token URL       {sim.token_url}\n"
        f"{tokens}\n"
        f"  account         {config.account_id}\n"
        f"  OAuth client    {client_id} / secret {secret}\n"
        f"  try: curl -H 'Authorization: Bearer {token}' -H 'X-Xurrent-Account: {config.account_id}' "
        f"-i '{sim.base_url}/organizations?per_page=100'\n"
        "Ctrl-C stops it.",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
        asyncio.run(serve(config_from(args), args.port, args.clock_skew_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
