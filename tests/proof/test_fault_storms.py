"""Seeded fault storms over examples/multi-org in an emulator world holding its three organizations:
20 % 5xx on reads, commit-then-fail and 429 bursts on writes, slow gateway timeouts. The applies go
on until they converge; the invariants then hold as after a fault-free run, and Bird received at most
3x the requests of the fault-free run (counted by the emulator, faulted requests included)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.bird import BirdError
from tests.proof.harness import (
    MULTI_ORG,
    STAGES,
    apply_in_process,
    charges,
    duplicates,
    pending_changes,
    private_specs,
    record,
    state_assignments,
    users_of,
    world_counts,
)
from tests.support import EmulatorAdmin

WORLD = Path(__file__).with_name("multi-org-world.yaml")
# One seed in the suite (a storm injects about 100 faults); SENDERCTL_STORM_SEEDS=7,1201,... runs more.
SEEDS = tuple(int(s) for s in os.environ.get("SENDERCTL_STORM_SEEDS", "7").split(","))
LIFECYCLE = STAGES[:4]  # brand approval, campaign approval, carriers (no spec edits here)
ATTEMPTS_PER_STAGE = 5


def storm(emulator: EmulatorAdmin) -> int:
    """The faults, first match wins per request; returns how many rules were injected."""
    rules = [
        {"method": "POST", "effect": "commit-then-fail", "probability": 0.1},
        {"method": "POST", "effect": "commit-then-fail", "probability": 0.05, "drop": True},
        {"method": "PATCH", "effect": "commit-then-fail", "probability": 0.1},
        {"method": "DELETE", "effect": "commit-then-fail", "probability": 0.1},
        {"method": "POST", "effect": "rate-limit", "probability": 0.1, "retryAfter": 0},
        {"method": "GET", "effect": "status", "status": 503, "probability": 0.12},
        {"method": "GET", "effect": "status", "status": 500, "probability": 0.05},
        {"method": "GET", "effect": "status", "status": 502, "probability": 0.03},
        {"method": "GET", "effect": "timeout", "seconds": 0.2, "probability": 0.02},
        {"method": "POST", "effect": "timeout", "seconds": 0.2, "probability": 0.03},
    ]
    for rule in rules:
        emulator.fault(**rule)
    return len(rules)


@pytest.fixture(params=SEEDS, ids=lambda s: f"seed-{s}")
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[EmulatorAdmin, int]]:
    from controller.emulator.server import running_emulator

    with running_emulator(str(WORLD), seed=request.param) as running:
        admin = EmulatorAdmin(running.url)
        yield admin, request.param
        admin.close()


def run_lifecycle(emulator: EmulatorAdmin, specs: Path, state_url: str, *, faults: bool) -> dict[str, int]:
    """Every stage applied until a plan has nothing left; returns applies and requests made."""
    applies = injected = 0
    for seconds in LIFECYCLE:
        if seconds:
            emulator.advance(seconds)
        for _ in range(ATTEMPTS_PER_STAGE):
            if faults:
                storm(emulator)
            applies += 1
            try:
                apply_in_process(specs, emulator.url, state_url)
            except BirdError:
                # A read faulted on every one of its attempts: this apply failed (as `senderctl apply` exits 1)
                # and the next one goes on. Which request draws which fault depends on the order concurrent
                # requests reach the emulator, so a seed does not fix where this happens.
                assert faults, "an apply failed without any fault injected"
            injected += sum(f["applied"] for f in emulator.http.get("/_emulator/faults").json()["faults"])
            emulator.http.delete("/_emulator/faults").raise_for_status()
            if not pending_changes(specs, emulator.url, state_url):
                break
        else:
            raise AssertionError(f"not converged after {ATTEMPTS_PER_STAGE} applies under the storm")
    return {"applies": applies, "requests": emulator.request_counts()["total"], "faults": injected}


@pytest.mark.slow
def test_a_seeded_storm_converges_without_duplicates_within_3x_the_calls(
        seeded: tuple[EmulatorAdmin, int], tmp_path: Path) -> None:
    seeded, seed = seeded
    specs = private_specs(MULTI_ORG, tmp_path / "multi-org")
    calm = run_lifecycle(seeded, specs, f"sqlite:///{tmp_path / 'calm.db'}", faults=False)
    expected = world_counts(seeded), charges(seeded), users_of(state_assignments(f"sqlite:///{tmp_path / 'calm.db'}"))
    assert all(v == 0 for v in duplicates(seeded).values())

    seeded.reset()
    state_url = f"sqlite:///{tmp_path / 'storm.db'}"
    stormy = run_lifecycle(seeded, specs, state_url, faults=True)
    dups = duplicates(seeded)
    assert all(v == 0 for v in dups.values()), dups
    got = world_counts(seeded), charges(seeded), users_of(state_assignments(state_url))
    assert got == expected
    ratio = stormy["requests"] / calm["requests"]
    record(f"fault_storm_seed_{seed}", calm_requests=calm["requests"], storm_requests=stormy["requests"],
           ratio=round(ratio, 2), storm_applies=stormy["applies"], faults_injected=stormy["faults"],
           duplicates_found=0)
    assert ratio <= 3, f"{stormy['requests']} Bird requests under the storm, {calm['requests']} without"
