"""Through the SDK's own runner, against the strict simulator with real record shapes: a full sync
killed mid-pass and rerun through faults, then incremental syncs, with a record cap that forces
splits, records edited during a sync, and projects archived, trashed, restored (both kinds: with
and without a new updated_at) and erased before, during and between syncs. After the last sync the
warehouse equals the source on every column (custom_fields compared as JSON), every removed project
that reached the warehouse is marked deleted and no other row is, and the log warns about nothing
the docs document. Every moment is an event: the simulator's first answer to a collection, or its
page hold; never a time."""

from __future__ import annotations

import json
import random
import signal
from collections.abc import Callable
from typing import Any

import pytest

from tests.reliability.helpers import configuration, sim_config
from tests.reliability.sdk_checks import assert_no_secrets, claims_delivered, equal_to_source
from tests.sdk_harness import make_project, run_debug, saved_state, warehouse
from xurrent_async.simulator import COLLECTIONS, FaultConfig, SimulatorThread
from xurrent_async.state import to_iso

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
RUN_TIMEOUT = 240
RECORDS = {"organizations": 1_200, "products": 1_200, "projects": 3_000}
TUNING = {"checkpoint_seconds": 0.5, "backoff_base_seconds": 0.01, "backoff_max_seconds": 0.05}
DAY = 86_400


def once_at(sim, collection: str, action: Callable[[], None]) -> None:
    """Run `action` just before the simulator answers its next request for `collection`."""
    done: list[bool] = []

    def hook(asked: str, query: Any) -> None:
        if asked == collection and not done:
            done.append(True)
            action()

    sim.before_serving = hook


def removed_everywhere(sim) -> set[int]:
    removed = sim.removed()
    return removed["archive"] | removed["trash"] | removed["erased"]


def check_warehouse(sim, project) -> int:
    problems, compared = equal_to_source(sim, project)
    assert problems == [], "\n".join(problems)
    deleted = {table: {rid for rid, row in warehouse(project, table).items() if row["_fivetran_deleted"]}
               for table in COLLECTIONS}
    held = set(warehouse(project, "projects"))
    assert deleted["projects"] == removed_everywhere(sim) & held, "deleted rows are not the removed projects"
    assert deleted["organizations"] == deleted["products"] == set()
    return compared


def no_value_warnings(output: str) -> None:
    bad = [line for line in output.splitlines() if "WARNING" in line and ("value" in line or "field" in line)]
    assert bad == [], bad[:5]


def test_fidelity_and_removals_through_kills_faults_and_edits(tmp_path):
    rng = random.Random(71)
    config = sim_config(records=RECORDS, record_cap=900, latency=0.005, seed=71, restore_touches_updated_at=True)
    with SimulatorThread(config) as sim:
        project = make_project(tmp_path, copy_package=True, tuning=TUNING)
        settings = configuration(sim, max_concurrency="4", retry_attempts="10", projects_full_resync_days="7")
        projects = sorted(sim.truth("projects"))
        archived_before, trashed_before = projects[:40], projects[40:60]
        sim.archive(archived_before)
        sim.trash(trashed_before[:10])
        sim.trash(archived_before[:10])  # from the archive to the trash

        # Sync 1: edits and removals during it, then killed while the projects pass is held open.
        edited = {t: rng.sample(sim.ids(t), 40) for t in ("organizations", "products")}

        def during_first_sync() -> None:
            for table, ids in edited.items():
                sim.touch(table, ids)
            sim.archive(projects[100:105])
            sim.restore(archived_before[30:35])  # restored (with a new updated_at) while the sync runs

        once_at(sim, "products", during_first_sync)
        try:
            with sim.hold_after(4, "projects") as hold:
                killed = run_debug(project, settings, timeout=RUN_TIMEOUT,
                                   kill_when=lambda lines: hold.holding.is_set() and bool(saved_state(project)))
        finally:
            sim.before_serving = None
        assert killed.killed and killed.returncode == -signal.SIGKILL, killed.output[-3000:]
        assert_no_secrets(project, killed, sim)
        problems, _ = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)

        # The rerun goes through 5xx pages from a proxy and resets, and completes the first sync.
        sim.config.faults = FaultConfig(html_5xx=0.05, reset=0.02)
        rerun = run_debug(project, settings, timeout=RUN_TIMEOUT)
        sim.config.faults = FaultConfig()
        assert rerun.returncode == 0, rerun.output[-3000:]
        assert sim.stats.faults.get("html_5xx", 0) > 0
        no_value_warnings(killed.output + rerun.output)
        # Records changed during the pass come with the next one (they fall at or after its upper
        # bound): the next sync must bring them; what the state claims is in the warehouse now.
        problems, _ = claims_delivered(sim, project)
        assert problems == [], "\n".join(problems)

        # Between syncs: more removals, restores of both kinds, erasures, edits.
        sim.trash(projects[200:205])
        sim.trash(archived_before[10:12])
        sim.erase(trashed_before[:5])
        sim.restore(archived_before[24:26])  # with a new updated_at: the next pass reads them
        held_then_archived = projects[500:505]  # read live by sync 1
        sim.archive(held_then_archived)
        read_then_archived = rng.sample([p for p in projects[300:500] if p not in removed_everywhere(sim)], 5)
        sim.touch("projects", read_then_archived + projects[400:420])

        # Sync 2 (incremental): projects read live in its pass are archived before its feeds are read.
        once_at(sim, "archive", lambda: sim.archive(read_then_archived))
        second = run_debug(project, settings, timeout=RUN_TIMEOUT)
        sim.before_serving = None
        assert second.returncode == 0, second.output[-3000:]
        rows = warehouse(project, "projects")
        assert all(rows[p]["_fivetran_deleted"] for p in read_then_archived + held_then_archived)
        assert not any(rows[p]["_fivetran_deleted"] for p in archived_before[24:26])  # restored, re-read
        check_warehouse(sim, project)  # the edits during sync 1 included

        # Restores that keep updated_at: the changes alone can never see them.
        quiet = held_then_archived[:3] + archived_before[20:24]
        sim.config.restore_touches_updated_at = False
        sim.restore(quiet)
        incremental = run_debug(project, settings, timeout=RUN_TIMEOUT)
        assert incremental.returncode == 0, incremental.output[-3000:]
        rows = warehouse(project, "projects")
        assert all(rows[p]["_fivetran_deleted"] for p in held_then_archived[:3])
        assert not set(archived_before[20:24]) & set(rows)

        # A week later by the state's record, the full re-read brings them back.
        state = saved_state(project)
        state["streams"]["projects"]["full_read"] = to_iso(int(sim.clock.now()) - 8 * DAY)
        (project / "files" / "state.json").write_text(json.dumps(state))
        third = run_debug(project, settings, timeout=RUN_TIMEOUT)
        assert third.returncode == 0, third.output[-3000:]
        assert "a full re-read (every 7 day(s)" in third.output
        rows = warehouse(project, "projects")
        assert not any(rows[p]["_fivetran_deleted"] for p in quiet)
        for run in (second, incremental, third):
            assert_no_secrets(project, run, sim)
        no_value_warnings(second.output + incremental.output + third.output)
        compared = check_warehouse(sim, project)
        print(f"{compared:,} records equal on every column; {len(removed_everywhere(sim))} projects removed, "
              f"deleted rows as expected; kill {killed.seconds:.1f} s in, rerun {rerun.seconds:.1f} s with "
              f"{sim.stats.faults} faults")
