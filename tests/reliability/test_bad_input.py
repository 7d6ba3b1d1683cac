"""Bad input gets a clear error and nothing is lost (the "Nothing lost" invariant, README:
Architecture): invalid configurations fail before any request, naming the key; unusable responses
fail the sync naming the path without a checkpoint claiming what was not delivered; bad values
inside a record are warned about by record id while the record is still delivered."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

import connector
from tests.fakes import RecordingSink
from tests.reliability.helpers import (
    CLIENT_SECRET,
    FAST,
    STEPPED,
    TOKEN,
    FlipSink,
    assert_no_worker_left,
    call_within,
    claimed_intervals,
    configuration,
    early_claims,
    settings_for,
    sim_config,
    sink_differences,
    truths,
    updated_second,
)
from xurrent_async.errors import ApiError, ConfigurationError, RecordError
from xurrent_async.simulator import REMOVE, FaultConfig, SimulatorThread
from xurrent_async.sync import run_sync

pytestmark = pytest.mark.reliability
UNSET = object()  # in a case below: remove the key


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(sim_config(records=50)) as simulator:
        yield simulator


# (name, changes to a valid personal-token configuration, the key the error must name,
#  text the message must also contain). Every configuration keeps base_url on the simulator unless
# base_url is the point, so that a configuration wrongly accepted would show up as a request.
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("account_id missing", {"account_id": UNSET}, "account_id", "missing"),
    ("account_id empty", {"account_id": ""}, "account_id", "empty"),
    ("account_id blank", {"account_id": "   "}, "account_id", "whitespace"),
    ("account_id placeholder", {"account_id": "<YOUR_ACCOUNT_ID>"}, "account_id", "placeholder"),
    ("account_id with a space", {"account_id": "sim account"}, "account_id", "spaces"),
    ("no credentials at all", {"oauth_token": UNSET}, "oauth_token", "required"),
    ("token placeholder", {"oauth_token": "<YOUR_XURRENT_API_TOKEN>"}, "oauth_token", "placeholder"),
    ("token with a newline (header injection)", {"oauth_token": TOKEN + "\nX-Evil: 1"}, "oauth_token", "control"),
    ("both auth modes", {"client_id": "cid", "client_secret": CLIENT_SECRET}, "oauth_token", "use one"),
    ("client_id without secret", {"oauth_token": UNSET, "client_id": "cid"}, "client_secret", "both"),
    ("client_secret without id", {"oauth_token": UNSET, "client_secret": CLIENT_SECRET}, "client_id", "both"),
    ("token and half an OAuth client", {"client_secret": CLIENT_SECRET}, "client_id", "both"),
    ("region unknown", {"region": "mars"}, "region", "allowed global, au, uk, ch, us"),
    ("environment unknown", {"environment": "staging"}, "environment", "allowed production, qa, demo"),
    ("region with demo", {"region": "au", "environment": "demo"}, "region", "only the global region"),
    ("base_url plain http to a remote host", {"base_url": "http://api.xurrent.com/v1"}, "base_url", "https"),
    ("base_url not http(s)", {"base_url": "ftp://127.0.0.1/v1"}, "base_url", "absolute http(s) URL"),
    ("base_url not a URL", {"base_url": "api.xurrent.com"}, "base_url", "absolute http(s) URL"),
    ("base_url with credentials", {"base_url": "https://me:pw@api.xurrent.com/v1"}, "base_url", "password"),
    ("base_url with a query", {"base_url": "https://api.xurrent.com/v1?token=x"}, "base_url", "query"),
    ("oauth_token_url plain http to a remote host",
     {"oauth_token": UNSET, "client_id": "cid", "client_secret": CLIENT_SECRET,
      "oauth_token_url": "http://oauth.xurrent.com/token"}, "oauth_token_url", "https"),
    ("page size 0", {"max_records_per_page": "0"}, "max_records_per_page", "allowed 1–100"),
    ("page size 101", {"max_records_per_page": "101"}, "max_records_per_page", "allowed 1–100"),
    ("timeout below 10", {"request_timeout_seconds": "9"}, "request_timeout_seconds", "allowed 10–300"),
    ("timeout above 300", {"request_timeout_seconds": "301"}, "request_timeout_seconds", "allowed 10–300"),
    ("retries 0", {"retry_attempts": "0"}, "retry_attempts", "allowed 1–10"),
    ("retries in words", {"retry_attempts": "three"}, "retry_attempts", "not a whole number"),
    ("concurrency 65", {"max_concurrency": "65"}, "max_concurrency", "allowed 1–64"),
    ("quota 0", {"rate_limit_per_hour": "0"}, "rate_limit_per_hour", "allowed 1–1,000,000"),
    ("quota with underscores", {"rate_limit_per_hour": "1_000"}, "rate_limit_per_hour", "not a whole number"),
    ("burst 10001", {"burst_limit": "10001"}, "burst_limit", "allowed 1–10,000"),
    ("lookback negative", {"lookback_minutes": "-1"}, "lookback_minutes", "allowed 1–1,440"),
    ("history 366 days", {"initial_sync_days": "366"}, "initial_sync_days", "allowed 1–365"),
    ("history fractional", {"initial_sync_days": "1.5"}, "initial_sync_days", "not a whole number"),
    ("sync frequency 25 h", {"sync_frequency_hours": "25"}, "sync_frequency_hours", "allowed 1–24"),
    ("huge number", {"max_concurrency": "9" * 40}, "max_concurrency", "out of range"),
    ("incremental yes", {"enable_incremental_sync": "yes"}, "enable_incremental_sync", "true or false"),
    ("a list instead of text", {"max_concurrency": [8]}, "max_concurrency", "expected a text value"),
    ("null instead of text", {"account_id": None}, "account_id", "expected a text value"),
    ("an object instead of text", {"base_url": {"url": "x"}}, "base_url", "expected a text value"),
    ("a float instead of text", {"retry_attempts": 2.5}, "retry_attempts", "expected a text value"),
    ("a boolean as a token", {"oauth_token": True}, "oauth_token", "boolean"),
]


def test_the_table_has_at_least_25_bad_configurations():
    assert len(CASES) >= 25


@pytest.mark.parametrize(("changes", "key", "detail"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_configuration_fails_update_naming_the_key_before_any_request(sim, monkeypatch, changes, key, detail):
    config = configuration(sim)
    for name, value in changes.items():
        if value is UNSET:
            config.pop(name, None)
        else:
            config[name] = value
    reached: list[Any] = []
    monkeypatch.setattr(connector, "run_sync", lambda *args, **kwargs: reached.append(args))
    sim.reset_stats()
    outcome = call_within(10, connector.update, config, {})
    error = outcome.error
    assert isinstance(error, ConfigurationError), f"{changes}: {error!r}"
    message = str(error)
    problem = next((p for p in error.problems if p.startswith(key + ":")), None)
    assert problem is not None, f"no problem names {key!r}: {message}"
    assert detail in problem, f"{key}: {problem!r} does not say {detail!r}"
    assert TOKEN not in message and CLIENT_SECRET not in message and "pw@" not in message
    assert not reached and sim.stats.requests == 0 and sim.stats.token_requests == 0


def test_a_bad_configuration_lists_every_problem_at_once(sim):
    config = configuration(sim, max_concurrency="0", retry_attempts="x", region="mars")
    del config["account_id"]
    outcome = call_within(10, connector.update, config, {})
    assert isinstance(outcome.error, ConfigurationError)
    named = {p.split(":")[0] for p in outcome.error.problems}
    assert {"account_id", "max_concurrency", "retry_attempts", "region"} <= named


# -- unusable responses ----------------------------------------------------------------------------
def _seconds(truth):
    return {t: {rid: updated_second(r) for rid, r in records.items()} for t, records in truth.items()}


@pytest.mark.parametrize("from_start", [True, False], ids=["from-the-first-request", "mid-sync"])
def test_an_object_instead_of_a_list_fails_naming_the_path_and_claims_nothing_undelivered(from_start):
    with SimulatorThread(sim_config(records=2_000, latency=0.002, seed=31)) as sim:
        truth = truths(sim)

        def flip() -> None:
            sim.config.faults = FaultConfig(not_a_list=1.0)

        if from_start:
            flip()
        # Mid-sync: switched on at the first checkpoint that claims a finished window.
        sink = FlipSink((lambda: None) if from_start else flip)
        settings = settings_for(sim, retry_attempts="2", max_concurrency="2")
        failed = call_within(60, run_sync, settings, None, sink, tuning=STEPPED)
        summary = (f"not_a_list {'from the start' if from_start else 'mid-sync'}: failed after {failed.seconds:.1f} s, "
                   f"{len(sink.checkpoints)} checkpoints (switched on at checkpoint, rows: {sink.flipped_at}); "
                   f"injected {dict(sim.stats.faults)}")
        print(summary)
        assert from_start or sink.flipped_at is not None, summary
        assert isinstance(failed.error, ApiError), f"{summary}: {failed.error!r}"
        assert re.search(r"HTTP 200 from Xurrent for /v1/(organizations|products|projects): expected a JSON array "
                         r"of records, got dict \(gave up after 3 attempts\)", str(failed.error)), str(failed.error)
        assert failed.seconds < 30
        assert_no_worker_left()
        early, _ = early_claims(sink.ops, _seconds(truth))
        assert early == [], "\n".join(early)
        if from_start:
            # Nothing was read: no checkpoint may claim anything.
            assert all(claimed_intervals(s) == [] for c in sink.checkpoints for s in c["streams"].values())
        sim.config.faults = FaultConfig()
        resumed = call_within(60, run_sync, settings_for(sim), sink.checkpoints[-1] if sink.checkpoints else None,
                              sink, tuning=FAST)
        assert resumed.error is None, repr(resumed.error)
        assert sink_differences(truth, sink) == []


def test_a_record_without_an_id_fails_the_sync_and_no_checkpoint_claims_its_window():
    with SimulatorThread(sim_config(records=3_000, latency=0.002, seed=32)) as sim:
        # The newest product: its window is read late, after other windows were checkpointed.
        products = sim.truth("products")
        broken = max(products, key=lambda rid: (updated_second(products[rid]), rid))
        broken_second = updated_second(products[broken])
        truth = truths(sim)
        sim.corrupt("products", broken, {"id": REMOVE})
        sink = RecordingSink()
        # Two slots take windows in the order they were planned, so the broken record's window (the
        # last of products) starts after two others ended; checkpoints by rows save those first.
        failed = call_within(60, run_sync, settings_for(sim, max_concurrency="2"), None, sink, tuning=STEPPED)
        summary = f"no id: failed after {failed.seconds:.1f} s, {len(sink.checkpoints)} checkpoints: {failed.error!r}"
        print(summary)
        assert isinstance(failed.error, RecordError), summary
        assert "products: a record has no usable id" in str(failed.error), summary
        assert failed.seconds < 30, summary
        assert_no_worker_left()
        for state in sink.checkpoints:
            for a, b in claimed_intervals(state["streams"].get("products", {})):
                assert not a <= broken_second < b, f"a checkpoint claims the broken record's second: {state}"
        early, claims = early_claims(sink.ops, _seconds(truth))
        assert early == [] and claims > 0, "\n".join(early)  # windows were claimed, the broken one's not
        # Healed, the next sync resumes and completes.
        sim.corrupt("products", broken, None)
        resumed = call_within(60, run_sync, settings_for(sim), sink.checkpoints[-1] if sink.checkpoints else None,
                              sink, tuning=FAST)
        assert resumed.error is None, repr(resumed.error)
        assert sink_differences(truth, sink) == []


# (collection, patch, text the warning must contain)
BAD_VALUES: list[tuple[str, dict[str, Any], str]] = [
    ("projects", {"updated_at": "2026-13-45T99:99:99Z"}, "updated_at is an unparseable timestamp"),
    ("projects", {"created_at": "yesterday"}, "created_at is an unparseable timestamp"),
    ("organizations", {"created_at": "2026-01-01T00:00:00"}, "created_at is a timestamp without a UTC offset"),
    ("projects", {"status": "on_fire"}, "status has an undocumented value 'on_fire'"),
    ("products", {"rule_set": "quantum"}, "rule_set has an undocumented value 'quantum'"),
    ("products", {"depreciation_method": "vibes"}, "depreciation_method has an undocumented value 'vibes'"),
    ("organizations", {"disabled": "yes"}, "disabled is not true/false"),
    ("products", {"useful_life": "ten"}, "useful_life is not an integer"),
    ("products", {"salvage_value": "NaN"}, "salvage_value is not a finite decimal"),
    ("organizations", {"manager": "Bob"}, "manager is not a reference object"),
    ("projects", {"custom_fields": [{"id": "x", "value": "kept as sent"}]}, ""),  # any JSON: no problem
]


def test_bad_values_are_warned_by_record_id_and_the_records_still_delivered(caplog):
    with SimulatorThread(sim_config(records=1_000, seed=33)) as sim:
        broken: list[tuple[str, int, str]] = []
        for n, (table, patch, text) in enumerate(BAD_VALUES):
            record_id = sim.ids(table)[100 + 37 * n]
            sim.corrupt(table, record_id, patch)
            broken.append((table, record_id, text))
        sink = RecordingSink()
        with caplog.at_level(logging.WARNING, logger="xurrent_async"):
            outcome = call_within(60, run_sync, settings_for(sim), None, sink, tuning=FAST)
        assert outcome.error is None, repr(outcome.error)
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        for table, record_id, text in broken:
            said = [w for w in warnings if f"{table} id {record_id}:" in w or f"{table} id {record_id} " in w]
            if not text:
                assert said == [], said
                continue
            assert any(text in w for w in said), f"{table} id {record_id}: no warning saying {text!r} in {said}"
            assert record_id in sink.rows[table], f"{table} id {record_id} was not delivered"
        rows = {(t, rid): sink.rows[t][rid] for t, rid, _ in broken}
        assert rows[("projects", broken[3][1])]["status"] == "on_fire"  # kept as sent: it is data
        assert rows[("projects", broken[0][1])]["updated_at"] is None  # unusable: null, never ""
        assert rows[("organizations", broken[9][1])]["manager_name"] == "Bob"  # kept where a name goes
        # Every other value of every record, the broken ones included, is what the source says.
        assert sink_differences(truths(sim), sink) == []
        assert_no_worker_left()
