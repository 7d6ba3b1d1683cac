"""What the simulator's records look like, how they change, and the headers that carry the clock."""

from __future__ import annotations

import base64
import json
import random
import re
import time
import tracemalloc
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from email.utils import formatdate, parsedate_to_datetime

import pytest

from tests.conftest import HEADERS, unlimited
from xurrent_async.simulator import (
    COLLECTIONS,
    FakeClock,
    SimulatorThread,
    SystemClock,
    running_simulator,
)
from xurrent_async.simulator.records import RENDERERS
from xurrent_async.simulator.timefmt import TimestampFormatter, parse_iso

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
TYPES = {"organizations": "Organization", "products": "Product", "projects": "Project"}
# The documented enumerations (xurrent-api contract), legacy depreciation methods included.
ENUMS = {
    "rule_set": {"physical_asset", "logical_asset_with_financial_data", "logical_asset_without_financial_data",
                 "server", "software", "software_distribution_package", "license_certificate"},
    "depreciation_method": {None, "not_depreciated", "double_declining_balance", "reducing_balance",
                            "straight_line", "sum_of_the_years_digits", "na_cost_is_zero", "na_leased",
                            "na_not_capitalized"},
    "status": {"registered", "in_progress", "progress_halted", "completed"},
    "justification": {None, "compliance", "correction", "expansion", "improvement", "maintenance", "move",
                      "removal", "replacement"},
    "completion_reason": {None, "withdrawn", "rejected", "abandoned", "partial", "complete"},
}
DIRECTORY = {"id": "sim-directory", "name": "Sim Directory — Hôtel \"Central\""}
JSON_KINDS = {str, int, float, bool, type(None), list, dict}



def zulu(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).timestamp()



def check_ref(ref: object, kind: str) -> None:
    if ref is None:
        return
    # The display property is `name`, or `subject` for templates (docs: Data Types → References).
    display = "subject" if kind.endswith("Template") else "name"
    assert isinstance(ref, dict) and isinstance(ref["id"], int) and isinstance(ref[display], str)
    assert set(ref) & {"name", "subject"} == {display}
    assert base64.b64decode(ref["nodeID"] + "==").decode() == f"gid://xurrent/{kind}/{ref['id']}"
    # `account` only on a reference into another account; never the account being read.
    assert ref.get("account", DIRECTORY) == DIRECTORY
    if kind == "Service":
        assert ref["localized_name"] == ref["name"]
        provider = ref["provider"]
        assert isinstance(provider["id"], int) and isinstance(provider["name"], str)
        assert provider.get("account", DIRECTORY) == DIRECTORY


async def test_records_have_the_documented_shapes() -> None:
    end = 1_767_225_600
    async with running_simulator(unlimited(records=600, data_end=end)) as sim:
        truth = {name: sim.truth(name) for name in COLLECTIONS}
    nulls = total = 0
    offsets = set()
    for name, records in truth.items():
        renderer = RENDERERS[name]
        assert len(records) == 600
        for record_id, r in records.items():
            assert [k for k in r if k != "account"] == list(renderer.all_fields) and r["id"] == record_id
            assert r.get("account", DIRECTORY) == DIRECTORY
            assert base64.b64decode(r["nodeID"] + "==").decode() == f"gid://xurrent/{TYPES[name]}/{record_id}"
            for field in ("created_at", "updated_at", "completion_target_at", "completed_at"):
                if r.get(field) is not None:
                    assert TIMESTAMP.fullmatch(r[field]), r[field]
                    offsets.add(r[field][-6:])
            assert epoch(r["created_at"]) <= epoch(r["updated_at"]) < end
            assert r["sourceID"] is None or isinstance(r["sourceID"], str)
            for field, allowed in ENUMS.items():
                if field in r:
                    assert r[field] in allowed
            for field in ("parent", "business_unit_organization", "financial_owner", "supplier", "customer"):
                check_ref(r.get(field), "Organization")
            for field in ("manager", "substitute", "workflow_manager"):
                check_ref(r.get(field), "Person")
            check_ref(r.get("service"), "Service")
            check_ref(r.get("support_team"), "Team")
            check_ref(r.get("work_hours"), "Calendar")
            check_ref(r.get("order_template"), "RequestTemplate")
            check_ref(r.get("workflow_template"), "WorkflowTemplate")
            extension = r["ui_extension"]
            assert extension is None or (isinstance(extension["id"], int) and isinstance(extension["title"], str))
            custom = r["custom_fields"]
            assert custom is None or all(set(c) == {"id", "value"} and isinstance(c["id"], str) for c in custom)
            for text in ("program", "risk_level", "category", "time_zone"):
                assert r.get(text) is None or isinstance(r[text], str)  # account-defined texts, not references
            nullable = [k for k in renderer.all_fields if k not in ("id", "nodeID", "created_at", "updated_at")]
            nulls += sum(r[k] is None for k in nullable if not isinstance(r[k], bool))
            total += len(nullable)
        if name == "products":
            for money in ("salvage_value", "rate"):  # decimals come as strings
                assert all(r[money] is None or re.fullmatch(r"\d+\.\d\d", r[money]) for r in records.values())
            assert all(isinstance(r["category"], str) and isinstance(r["disabled"], bool) for r in records.values())
        if name == "projects":
            for r in records.values():
                done = r["status"] == "completed"
                assert (r["completed_at"] is not None) == done == (r["completion_reason"] is not None)
                assert isinstance(r["time_zone"], str)
        if name == "organizations":
            remarks = [r["remarks"] for r in records.values() if r["remarks"]]
            assert any("\n" in x for x in remarks) and any(not x.isascii() for x in remarks)
            assert any("account" in r for r in records.values())  # the directory account's organizations
        # Every JSON kind among custom field values, text with quotes and non-ASCII, references.
        values = [c["value"] for r in records.values() for c in r["custom_fields"] or []]
        assert {type(v) for v in values} == JSON_KINDS, name
        assert any(isinstance(v, dict) and "nodeID" in v for v in values)
        assert any(isinstance(v, str) and not v.isascii() for v in values)
        assert any(isinstance(v, str) and '"' in v for v in values)
        refs = [v for r in records.values() for v in r.values() if isinstance(v, dict) and "nodeID" in v]
        assert any("account" in v for v in refs), name
    assert 0.1 < nulls / total < 0.4
    assert offsets == {"-05:00", "-04:00"}  # the account offset and its "summer" offset


@pytest.mark.parametrize("offset", [-300, 0, 330])
def test_timestamps_use_the_account_offset_and_its_summer_shift(offset: int) -> None:
    fmt = TimestampFormatter(offset)
    winter, summer = timezone(timedelta(minutes=offset)), timezone(timedelta(minutes=offset + 60))
    rng = random.Random(offset)
    for _ in range(3_000):
        t = rng.randrange(0, 4_102_444_800)
        zone = summer if 4 <= datetime.fromtimestamp(t, winter).month <= 10 else winter
        assert fmt.format(t) == datetime.fromtimestamp(t, zone).isoformat()
        assert parse_iso(fmt.format(t)) == t


async def test_truth_equals_what_get_returns_and_lists_honour_fields(session) -> None:
    async with running_simulator(unlimited(records=150)) as sim:
        for name in COLLECTIONS:
            truth = sim.truth(name)
            for record_id in list(truth)[::15]:
                async with session.get(f"{sim.base_url}/{name}/{record_id}") as r:
                    assert r.status == 200 and await r.json() == truth[record_id]
            async with session.get(f"{sim.base_url}/{name}?per_page=100") as r:
                page = await r.json()
            default = RENDERERS[name].default_fields
            assert all([k for k in rec if k != "account"] == list(default) for rec in page)
            assert all(rec == {k: truth[rec["id"]][k] for k in (*default, "account") if k in truth[rec["id"]]}
                       for rec in page)
            asked = ",".join(["updated_at", *RENDERERS[name].all_fields[3:6]])
            async with session.get(f"{sim.base_url}/{name}?per_page=100&fields={asked}") as r:
                page = await r.json()
            expected = {"id", "nodeID", "updated_at", *RENDERERS[name].all_fields[3:6]}
            assert all(set(rec) - {"account"} == expected for rec in page)
            assert all(rec == {k: truth[rec["id"]][k] for k in rec} for rec in page)
        # As strict as the docs: an unknown name, or one a list cannot return, is a 400.
        for name, fields, message in (("products", "name,nope,brand,worse", "Unknown fields: nope, worse"),
                                      ("projects", "subject,note", "Fields not available in a collection: note"),
                                      ("organizations", "name,addresses", "Fields not available in a collection")):
            async with session.get(f"{sim.base_url}/{name}?fields={fields}") as r:
                assert r.status == 400 and (await r.json())["message"].startswith(message), await r.text()
        truth = sim.truth("products")
        next(iter(truth.values()))["name"] = "changed by the caller"
        assert sim.truth("products") != truth  # callers get copies
        assert sim.stats.records_served == 3 * (10 + 100 + 100) and sim.stats.pages_served == 6


async def test_touch_and_set_updated_at(session) -> None:
    clock = FakeClock(1_800_000_000.7)
    async with running_simulator(unlimited(records=40), clock=clock) as sim:
        first, second = sim.ids("projects")[:2]
        before = sim.truth("projects")
        sim.touch("projects", [first])
        sim.touch("projects", [first])
        sim.set_updated_at("projects", [second], 1_700_000_000)
        after = sim.truth("projects")
        assert epoch(after[first]["updated_at"]) == 1_800_000_000
        assert after[first]["subject"] == before[first]["subject"] + " (edit 2)"
        assert epoch(after[second]["updated_at"]) == 1_700_000_000
        assert after[second]["subject"] == before[second]["subject"]
        async with session.get(f"{sim.base_url}/projects?updated_at=>={zulu(1_800_000_000)}") as r:
            assert [rec["id"] for rec in await r.json()] == [first]
        with pytest.raises(KeyError):
            sim.touch("projects", [1])
        with pytest.raises(KeyError):
            sim.truth("requests")


async def test_changes_per_second_change_records_as_the_clock_moves(session) -> None:
    clock = FakeClock(1_800_000_000.0)
    async with running_simulator(unlimited(records=1_000, changes_per_second=0.01), clock=clock) as sim:
        recent = f"{sim.base_url}/organizations?per_page=100&updated_at=>={zulu(1_800_000_000)}"
        async with session.get(recent) as r:
            assert await r.json() == []
        clock.advance(10)
        async with session.get(recent) as r:
            changed = await r.json()
        truth = sim.truth("products")
    assert 90 <= len(changed) <= 100  # 1% of 1,000 a second for 10 s (a record may change twice)
    assert all(epoch(rec["updated_at"]) == 1_800_000_010 and "(edit " in rec["name"] for rec in changed)
    assert 90 <= sum("(edit " in rec["name"] for rec in truth.values()) <= 100  # every collection


async def test_the_date_header_follows_the_simulator_clock(session) -> None:
    clock = FakeClock(1_800_000_000.9)
    async with running_simulator(unlimited(records=5), clock=clock) as sim:
        async with session.get(f"{sim.base_url}/products") as r:
            assert r.headers["Date"] == formatdate(1_800_000_000, usegmt=True)
        async with session.get(f"{sim.base_url}/products", headers={"Authorization": "Bearer x"}) as r:
            assert r.status == 401 and r.headers["Date"] == formatdate(1_800_000_000, usegmt=True)
    async with running_simulator(unlimited(records=5), clock=SystemClock(skew_seconds=7200)) as sim:
        async with session.get(f"{sim.base_url}/products") as r:
            assert abs(parsedate_to_datetime(r.headers["Date"]).timestamp() - (time.time() + 7200)) < 5


async def test_request_ids_content_type_and_gzip(session) -> None:
    async with running_simulator(unlimited(records=100)) as sim:
        ids = set()
        for encoding, expected in (("gzip, deflate", "gzip"), ("deflate", "deflate"), ("identity", None)):
            async with session.get(f"{sim.base_url}/products?per_page=100",
                                   headers={"Accept-Encoding": encoding}) as r:
                assert r.headers.get("Content-Encoding") == expected
                assert r.headers["Content-Type"] == "application/json; charset=utf-8"
                assert len(await r.json()) == 100
                ids.add(r.headers["X-Request-Id"])
        assert len(ids) == 3


def test_simulator_thread_serves_synchronous_callers() -> None:
    with SimulatorThread(unlimited(records=30)) as sim:
        request = urllib.request.Request(f"{sim.base_url}/products?per_page=100", headers=HEADERS)
        with urllib.request.urlopen(request, timeout=10) as r:
            first = json.loads(r.read())
        assert len(first) == 30
        sim.touch("products", [first[0]["id"]])  # from this (the main) thread
        with urllib.request.urlopen(request, timeout=10) as r:
            again = json.loads(r.read())
        assert again[-1]["id"] == first[0]["id"] and again[-1]["name"].endswith(" (edit 1)")
        url = sim.base_url
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(urllib.request.Request(f"{url}/products", headers=HEADERS), timeout=2)


async def test_a_million_records_per_collection_stay_small(session, record_property) -> None:
    tracemalloc.start()
    try:
        async with running_simulator(unlimited(records=1_000_000)) as sim:
            for name in COLLECTIONS:
                fields = ",".join(RENDERERS[name].all_fields)
                url: str | None = f"{sim.base_url}/{name}?per_page=100&fields={fields}"
                for _ in range(3):
                    assert url is not None
                    async with session.get(url) as r:
                        assert len(await r.json()) == 100
                        assert r.headers["X-Pagination-Total-Entries"] == "1000000"
                        url = str(r.links["next"]["url"])
                window = "updated_at=>=2025-01-01T00:00:00Z<=2025-01-31T23:59:59Z&per_page=100"
                async with session.get(f"{sim.base_url}/{name}?{window}") as r:
                    assert r.status == 200 and len(await r.json()) == 100
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    record_property("peak_traced_mb", round(peak / 1e6, 2))
    print(f"\n3 x 1,000,000 records, 12 pages served: peak traced memory {peak / 1e6:.2f} MB")
    assert peak < 150e6


@pytest.mark.parametrize(("display", "keys"), [("subject", {"subject"}), ("name", {"name"}),
                                               ("both", {"subject", "name"})])
def test_template_references_carry_the_display_property_the_switch_names(display, keys) -> None:
    with SimulatorThread(unlimited(records=300, template_display=display)) as sim:
        refs = [r[field] for table, field in (("organizations", "order_template"), ("products", "workflow_template"))
                for r in sim.truth(table).values() if r[field] is not None]
    assert refs and all(set(ref) & {"name", "subject"} == keys for ref in refs)


def test_loose_values_serve_offset_less_utc_timestamps_and_digit_ids_on_a_fixed_share() -> None:
    # One data_end for both: data generated up to each one's own "now" could differ by a second.
    config = unlimited(records=400, loose_values=0.25, data_end=1_767_225_600)
    with SimulatorThread(config) as sim, SimulatorThread(unlimited(records=400, data_end=1_767_225_600)) as strict:
        loose, exact = sim.truth("projects"), strict.truth("projects")
        assert sim.truth("projects") == loose  # the same records on every request
    chosen = [rid for rid, r in loose.items() if isinstance(r["id"], str)]
    assert 50 < len(chosen) < 150
    forms = set()
    for rid in chosen:
        r, e = loose[rid], exact[rid]
        assert r["id"] == str(rid)
        for field in ("created_at", "updated_at", "completed_at"):
            if e[field] is None:
                continue
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", r[field]), r[field]
            forms.add(len(r[field]))
            utc = datetime.fromisoformat(e[field]).astimezone(timezone.utc).replace(tzinfo=None)
            assert datetime.fromisoformat(r[field]) == utc.replace(second=utc.second if len(r[field]) > 16 else 0)
        if e["manager"] is not None:
            assert r["manager"] == {**e["manager"], "id": str(e["manager"]["id"])}
    assert forms == {16, 19}  # both documented forms: yyyy-mm-ddThh:mm and …:ss
    assert all(loose[rid] == exact[rid] for rid in loose if rid not in chosen)
