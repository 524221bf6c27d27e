"""A partial observation (a targeted reconcile read only some workspaces) is never taken for
"deleted on Bird": the pure planner changes and removes nothing in a workspace it did not read.
And the pure scoping decision: which workspaces a reconcile of some addresses reads."""

from __future__ import annotations

from pathlib import Path

from controller.daemon.routing import spec_edit
from controller.reconcile import engine
from controller.reconcile.desired import build_controls, desired_from_specs
from controller.reconcile.planner import UNREAD_REASON, compute_plan
from controller.reconcile.scope import workspaces_to_read
from controller.resources.base import RecordView, TenantView, World

ROOT = Path(__file__).resolve().parents[2]
ACME_WS = "22222222-2222-4222-8222-222222222222"
GLOBEX_WS = "6f2c1d4e-8a9b-4c3d-b1e2-0a9f8e7d6c5b"
INITECH_WS = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
SPECS = engine.load([str(ROOT / "examples" / "multi-org")])
DESIRED = desired_from_specs(SPECS, {"SENDERCTL_DEMO_SIGNING_KEY": "k", "GLOBEX_SIGNING_KEY": "k"})
REMOVALS = {"archive", "delete", "unassign"}


def removed_number(name: str, ws: str, org: str, number: str, policy: str = "Archive") -> RecordView:
    """A PhoneNumber the state remembers and the specs no longer declare (archivable, not protected)."""
    return RecordView(f"PhoneNumber/{name}", "PhoneNumber", f"id-{name}", "h",
                      {"deletionPolicy": policy, "protected": False},
                      {"workspaceId": ws, "organization": org, "number": number})


def partial_world(records: dict[str, RecordView], observed: frozenset[str]) -> World:
    world = World(records=records, observed_workspaces=observed,
                  tenant=TenantView(assignments={"+13125550100": "gina@globex.example", "+12125550100": "al@acme.example"},
                                    held_numbers={"+13125550100": "globex", "+12125550100": "acme"}))
    for ws in observed:
        world.numbers[ws], world.brands[ws], world.channels[ws] = [], [], []
    return world


def test_records_in_unread_workspaces_are_never_forgotten_archived_or_unassigned() -> None:
    records = {r.address: r for r in (removed_number("gone-globex", GLOBEX_WS, "globex", "+13125550100"),
                                      removed_number("gone-acme", ACME_WS, "acme", "+12125550100", "Orphan"))}
    world = partial_world(records, frozenset({ACME_WS}))
    plan = compute_plan(DESIRED, world, specs_fingerprint="f", controls=build_controls(SPECS, DESIRED))
    touched = {c.address for c in plan.changes} | set(plan.forget)
    assert "PhoneNumber/gone-globex" not in touched
    assert not [c for c in plan.changes if c.action in REMOVALS and c.address != "PhoneNumber/gone-acme"]
    assert {o.address: o.reason for o in plan.out_of_scope}["PhoneNumber/gone-globex"] == UNREAD_REASON
    assert "PhoneNumber/gone-acme" in plan.forget, "what was read is reconciled as usual"
    # Nothing of Globex or Initech is created or changed either: their workspaces were not read.
    assert not [c for c in plan.changes if c.address.split("/", 1)[1].startswith(("globex", "initech"))]


def test_a_full_observation_still_removes_what_the_specs_dropped() -> None:
    records = {"PhoneNumber/gone-globex": removed_number("gone-globex", GLOBEX_WS, "globex", "+13125550100")}
    world = partial_world(records, frozenset({ACME_WS, GLOBEX_WS, INITECH_WS}))
    world.observed_workspaces = None
    plan = compute_plan(DESIRED, world, specs_fingerprint="f", controls=build_controls(SPECS, DESIRED))
    assert ("PhoneNumber/gone-globex", "archive") in {(c.address, c.action) for c in plan.changes}


def test_workspaces_to_read_are_those_of_the_addresses_and_their_dependencies() -> None:
    assert workspaces_to_read(DESIRED, {}, {"PhoneNumber/acme-alice"}) == {ACME_WS}
    assert workspaces_to_read(DESIRED, {}, {"NumberPool/globex-agents[3]", "Campaign/acme-care"}) == {
        ACME_WS, GLOBEX_WS}
    # An Organization as a dependency adds none of its workspaces; reconciled itself, all of them.
    assert workspaces_to_read(DESIRED, {}, {"Organization/acme"}) == {ACME_WS}
    assert workspaces_to_read(DESIRED, {}, set()) == frozenset()


def test_workspaces_to_read_of_removed_resources_come_from_the_state() -> None:
    gone = removed_number("gone", INITECH_WS, "initech", "+1")
    campaign = RecordView("Campaign/old", "Campaign", "c1", "h", {}, {"brandId": "b1"})
    brand = RecordView("Brand/old", "Brand", "b1", "h", {}, {"workspaceId": GLOBEX_WS})
    records = {r.address: r for r in (gone, campaign, brand)}
    assert workspaces_to_read(DESIRED, records, {"PhoneNumber/gone"}) == {INITECH_WS}
    assert workspaces_to_read(DESIRED, records, {"Campaign/old"}) == {GLOBEX_WS}, "through its brand's record"
    # A record that does not say where it lives: every workspace must be read (None).
    nowhere = RecordView("Campaign/lost", "Campaign", "c2", "h", {}, {})
    assert workspaces_to_read(DESIRED, {"Campaign/lost": nowhere}, {"Campaign/lost"}) is None
    assert workspaces_to_read(DESIRED, records, {"Unknown/thing"}) == frozenset(), "nothing to read for it"


def test_spec_edit_names_what_was_added_changed_and_removed() -> None:
    alice = next(d for d in DESIRED if d.address == "PhoneNumber/acme-alice")
    moved = type(alice)(**{**alice.__dict__, "fields": {**alice.fields, "label": "x"}})
    new = [moved if d is alice else d for d in DESIRED if d.address != "PhoneNumber/acme-bob"]
    assert spec_edit(DESIRED, new) == ({"PhoneNumber/acme-alice"}, {"PhoneNumber/acme-bob"})
    assert spec_edit(DESIRED, DESIRED) == (set(), set())
