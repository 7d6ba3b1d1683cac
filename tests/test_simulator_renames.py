"""The simulator renames a referenced record as Xurrent does: every reference shows the new name,
and no referencing record's updated_at moves (only a full re-read can bring the new name to a copy)."""

from __future__ import annotations

import pytest

from xurrent_async.simulator import FakeClock, SimConfig, Simulator


@pytest.fixture
def sim() -> Simulator:
    return Simulator(SimConfig(records=400, seed=5), clock=FakeClock())


def referencing(sim: Simulator, collection: str, field: str, target_id: int) -> dict[int, dict]:
    return {rid: r for rid, r in sim.truth(collection).items()
            if isinstance(r.get(field), dict) and r[field]["id"] == target_id}


def test_a_renamed_team_shows_its_new_name_in_every_product_and_moves_no_updated_at(sim):
    before = sim.truth("products")
    team = next(r["support_team"] for r in before.values() if r["support_team"])
    sim.rename("teams", team["id"], "Renamed Team")
    after = referencing(sim, "products", "support_team", team["id"])
    assert after and all(r["support_team"]["name"] == "Renamed Team" for r in after.values())
    assert all(r["updated_at"] == before[rid]["updated_at"] for rid, r in after.items())
    assert all(r == before[rid] for rid, r in sim.truth("products").items() if rid not in after)


def test_a_renamed_organization_changes_itself_and_shows_its_new_name_as_a_parent(sim):
    before = sim.truth("organizations")
    parent_id = next(r["parent"]["id"] for r in before.values() if r["parent"])
    sim.clock.advance(3600)
    sim.rename("organizations", parent_id, "Renamed Parent")
    now = sim.truth("organizations")
    assert now[parent_id]["name"] == "Renamed Parent"
    assert now[parent_id]["updated_at"] != before[parent_id]["updated_at"]  # the organization itself changed
    children = referencing(sim, "organizations", "parent", parent_id)
    assert children and all(r["parent"]["name"] == "Renamed Parent" for r in children.values())
    assert all(r["updated_at"] == before[rid]["updated_at"] for rid, r in children.items())


def test_a_renamed_organization_shows_its_new_name_as_a_service_provider(sim):
    service = next(r["service"] for r in sim.truth("products").values() if r["service"] and r["service"]["provider"])
    sim.rename("organizations", service["provider"]["id"], "Renamed Provider")
    products = referencing(sim, "products", "service", service["id"])
    assert products and all(r["service"]["provider"]["name"] == "Renamed Provider" for r in products.values())


@pytest.mark.parametrize(("pool", "collection", "field", "key"), [
    ("people", "projects", "manager", "name"),
    ("services", "projects", "service", "name"),
    ("templates", "organizations", "order_template", "name"),
    ("ui_extensions", "products", "ui_extension", "title"),
])
def test_every_pool_of_targets_can_be_renamed(sim, pool, collection, field, key):
    target = next(r[field] for r in sim.truth(collection).values() if r.get(field))
    sim.rename(pool, target["id"], "New")
    assert all(r[field][key] == "New" for r in referencing(sim, collection, field, target["id"]).values())


def test_an_unknown_target_is_a_key_error(sim):
    with pytest.raises(KeyError):
        sim.rename("teams", 1, "x")
    with pytest.raises(KeyError):
        sim.rename("requests", 1, "x")


def test_with_rename_touches_references_every_referencing_record_changes_too():
    """The docs do not say whether a rename moves the referencing records' updated_at: both are played."""
    sim = Simulator(SimConfig(records=400, seed=5, rename_touches_references=True), clock=FakeClock())
    before = sim.truth("products")
    team = next(r["support_team"]["id"] for r in before.values() if r["support_team"])
    sim.clock.advance(3600)
    sim.rename("teams", team, "Renamed Team")
    after = sim.truth("products")
    moved = {rid for rid, r in after.items() if r["updated_at"] != before[rid]["updated_at"]}
    assert moved and moved == set(referencing(sim, "products", "support_team", team))
    assert all(after[rid]["name"] == before[rid]["name"] for rid in moved)  # no edit suffix: only the reference
