"""Where the Xurrent docs are silent, the simulator plays the other answer, and a full and an
incremental sync through the SDK's own runner (`fivetran debug`) still leave the warehouse equal to
the source on every column. Switches that do not interfere share one simulator: template references
shown by `name`, values in loose shapes (offset-less timestamps, ids as digits), a field a list
refuses with a message that names nothing, and feed entries without their typed reference (read
alone); then a server whose archive fails and then turns out missing; then feed entries that name
no project anywhere. The column comparison maps the source with the connector's own mapper, so each
switch is also checked on its own terms, independently of it."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest

from tests.reliability.helpers import configuration, sim_config
from tests.reliability.sdk_checks import assert_no_secrets
from tests.sdk_harness import Run, differences, make_project, run_debug, saved_state, warehouse
from xurrent_async.simulator import COLLECTIONS, SimulatorThread
from xurrent_async.state import from_iso

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RUN_TIMEOUT = 180
RECORDS = {"organizations": 400, "products": 400, "projects": 600}
TUNING = {"checkpoint_seconds": 0.5, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}
TEMPLATES = (("organizations", "order_template"), ("products", "workflow_template"))


def ok(run: Run) -> Run:
    assert run.returncode == 0, run.output[-3000:]
    return run


def removed(sim) -> set[int]:
    gone = sim.removed()
    return gone["archive"] | gone["trash"] | gone["erased"]


def compare(sim, project, *, blank: dict[str, tuple[str, ...]] | None = None,
            removed_live: bool = False) -> int:
    """The warehouse against the source, every column. `blank`: columns of fields the API refuses in
    lists, null in the warehouse by design. `removed_live`: the removal feeds could not say what is
    removed, so removed projects the warehouse holds are still live rows (with their last values).
    Returns the rows compared."""
    compared = 0
    for table in COLLECTIONS:
        truth = sim.truth(table)
        for record in truth.values():
            for name in (blank or {}).get(table, ()):
                record[name] = None
        landed = warehouse(project, table)
        if table == "projects":
            deleted = {rid for rid, row in landed.items() if row["_fivetran_deleted"]}
            held_removed = removed(sim) & set(landed)
            assert deleted == (set() if removed_live else held_removed), "deleted rows are not the removed projects"
            if removed_live:
                landed = {rid: row for rid, row in landed.items() if rid not in held_removed}
        assert differences(truth, landed, table) == [], table
        compared += len(truth)
    return compared


def check_template_names(sim, project) -> int:
    """Template names as the source shows them (subject, or name), never null where a template is set."""
    checked = 0
    for table, field in TEMPLATES:
        landed = warehouse(project, table)
        for rid, record in sim.truth(table).items():
            ref = record[field]
            if ref is not None:
                assert landed[rid][f"{field}_name"] == (ref.get("subject") or ref.get("name")), (table, rid)
                checked += 1
    assert checked
    return checked


def check_loose_values(sim, project) -> int:
    """Records served with offset-less timestamps and ids as digits: read as UTC, ids as numbers."""
    checked = 0
    for table in COLLECTIONS:
        landed = warehouse(project, table)
        for rid, record in sim.truth(table).items():
            if not isinstance(record["id"], str):
                continue
            row = landed[int(record["id"])]
            shown = datetime.fromisoformat(record["updated_at"]).replace(tzinfo=timezone.utc)
            assert row["updated_at"] == shown and row["created_at"] is not None, (table, rid)
            if isinstance(record.get("manager"), dict):
                assert row["manager_id"] == int(record["manager"]["id"])
            checked += 1
    assert checked
    return checked


def edit_and_remove(sim, rng: random.Random, count: int = 5, at: int | None = None) -> None:
    """Changes for the incremental sync: edits in every table, projects archived and trashed (at
    `at`, default the server's clock now)."""
    for table in COLLECTIONS:
        sim.touch(table, rng.sample(sim.ids(table), 20))
    live = sorted(set(sim.truth("projects")))
    sim.archive(live[:count], at=at)
    sim.trash(live[count:count + 2], at=at)


def test_template_names_loose_values_a_refused_field_and_feed_entries_read_alone(tmp_path):
    rng = random.Random(5)
    config = sim_config(records=RECORDS, seed=5, record_cap=300, template_display="name", loose_values=0.15,
                        refused_fields={"products": ("rate",)}, fields_error_message="Bad Request",
                        feed_references="single", other_feed_entries=10)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = configuration(sim, max_records_per_page="50")
        live = sorted(sim.truth("projects"))
        sim.archive(live[:4])
        first = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        state = saved_state(project)
        assert state["streams"]["products"]["refused_fields"] == ["rate"]
        assert first.output.count("refused the field(s) rate") == 1 and "Bad Request" in first.output
        edit_and_remove(sim, rng)
        sim.clock.skew_seconds += 2
        sim.reset_stats()
        second = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        assert sim.stats.by_status.get(400, 0) == 0  # the refusal was remembered: no probe, no 400
        assert "not asking for the field(s) rate" in second.output
        assert "without a UTC offset" in first.output + second.output
        rows = compare(sim, project, blank={"products": ("rate",)})
        templates = check_template_names(sim, project)
        loose = check_loose_values(sim, project)
        assert all(row["rate"] is None for row in warehouse(project, "products").values())
        assert len(removed(sim) & set(warehouse(project, "projects"))) >= 5  # deletes through entries read alone
        for run in (first, second):
            assert_no_secrets(project, run, sim)
        print(f"{rows:,} rows equal on every column; {templates} template names, {loose} loose records checked")


def test_a_failing_then_missing_archive_never_holds_the_tables_hostage(tmp_path):
    rng = random.Random(6)
    config = sim_config(records=RECORDS, seed=6, template_display="both")
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = configuration(sim, retry_attempts="1")
        sim.archive(sorted(sim.truth("projects"))[:3])

        def archive_down(collection: str, query: Any) -> None:
            if collection == "archive":
                raise RuntimeError("the archive is down")  # a 500, every attempt

        sim.before_serving = archive_down
        failed = run_debug(project, settings, timeout=RUN_TIMEOUT)
        sim.before_serving = None
        assert failed.returncode != 0 and "/v1/archive" in failed.output, failed.output[-3000:]
        saved = saved_state(project)["streams"]
        assert saved["projects"]["cursor"], saved  # the pass was saved before its feeds were read
        # The server turns out to have no feeds at all (404): a warning, and the sync succeeds.
        sim.config.feeds_missing = True
        edit_and_remove(sim, rng)
        sim.clock.skew_seconds += 2
        sim.reset_stats()
        second = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        assert sim.stats.requests_by_collection["projects"] == 1  # the changes, not the pass again
        assert second.output.count("answered 404 for /v1/") == 1
        edit_and_remove(sim, rng)
        sim.clock.skew_seconds += 2
        third = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        assert "removals" not in saved_state(project)["streams"]["projects"]
        rows = compare(sim, project, removed_live=True)
        check_template_names(sim, project)
        for run in (failed, second, third):
            assert_no_secrets(project, run, sim)
        print(f"{rows:,} rows equal on every column; {len(removed(sim))} removed projects stay live (no feeds)")


def test_feed_entries_that_name_no_project_are_warned_about_and_never_claimed(tmp_path):
    rng = random.Random(7)
    config = sim_config(records=RECORDS, seed=7, feed_references="never", other_feed_entries=10)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = configuration(sim)
        archived_at = int(sim.clock.now())
        sim.archive(sorted(sim.truth("projects"))[:3], at=archived_at)
        sim.clock.skew_seconds += 2  # the sync starts in a later second than the archive
        first = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        assert "3 entries of /v1/archive of type project named no usable project id" in first.output
        # The archive's claim stops at the first entry it could not read; the trash had none.
        feeds = saved_state(project)["streams"]["projects"]["removals"]
        assert from_iso(feeds["archive"]) == archived_at < from_iso(feeds["trash"])
        sim.clock.skew_seconds += 2
        trashed_at = int(sim.clock.now())
        edit_and_remove(sim, rng, count=2, at=trashed_at)
        sim.clock.skew_seconds += 2
        second = ok(run_debug(project, settings, timeout=RUN_TIMEOUT))
        feeds = saved_state(project)["streams"]["projects"]["removals"]
        assert from_iso(feeds["archive"]) == archived_at and from_iso(feeds["trash"]) == trashed_at
        assert "5 entries of /v1/archive" in second.output and "2 entries of /v1/trash" in second.output
        rows = compare(sim, project, removed_live=True)
        check_template_names(sim, project)  # the docs-strict default: subject
        for run in (first, second):
            assert_no_secrets(project, run, sim)
        print(f"{rows:,} rows equal on every column; {len(removed(sim))} removed projects unnamed, never claimed")
