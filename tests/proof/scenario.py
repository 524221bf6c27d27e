"""The quick start's whole life, stage by stage, fault-free: the reference every faulted run must match."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.reconcile import crashpoints
from tests.proof.harness import (
    STAGES,
    apply_in_process,
    charges,
    cli_env,
    duplicates,
    pending_changes,
    senderctl,
    state_assignments,
    users_of,
    world_counts,
)
from tests.support import EmulatorAdmin, backdate_holdings

ARCHIVABLE = """---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata:
  name: spare-line
spec:
  workspace: acme-main
  select: {country: US, type: local}
  deletionPolicy: Archive
  protected: false
---
apiVersion: senderctl/v1
kind: NumberPool
metadata:
  name: spare-pool
spec:
  workspace: acme-main
  count: 2
  select: {country: US, type: local}
"""


def lifecycle_specs(quickstart: Path) -> tuple[Path, Path]:
    """The quick start plus one archivable number and a pool of two (bought with bob's number in one Bird
    call, once the 10DLC is active: a batch), and an edited copy for the last stage: the brand and a
    subscription updated, one subscription replaced and one removed, bob's channel removed and his number
    moved to carol, the spare number removed (archived: its subscription cancelled)."""
    import shutil

    base = quickstart.parent / "lifecycle"
    edited = quickstart.parent / "lifecycle-edited"
    shutil.copytree(quickstart, base)
    (base / "numbers.yaml").write_text((base / "numbers.yaml").read_text() + ARCHIVABLE)
    shutil.copytree(quickstart, edited)
    brand = edited / "brand.yaml"
    text = brand.read_text()
    assert "website: https://acme.example" in text, text
    brand.write_text(text.replace("website: https://acme.example", "website: https://www.acme.example"))
    numbers = (edited / "numbers.yaml").read_text()
    head, bob = numbers.split("name: bob-line", 1)
    bob = bob.replace("  campaign: acme-alerts\n", "").replace("bob@acme.example", "carol@acme.example")
    bob = bob.replace("  channelMessageType: transactional\n", "").replace("  channelName: Bob (Acme alerts)\n", "")
    (edited / "numbers.yaml").write_text(head + "name: bob-line" + bob)
    hooks = (edited / "webhooks.yaml").read_text().split("\n---\n")
    kept = []
    for doc in hooks:
        if "name: inbound-sms-alice" in doc:
            doc = doc.replace("/webhooks/bird", "/webhooks/bird?v=2")
        if "name: inbound-sms-bob" in doc or "name: outbound-sms-bob" in doc:
            continue  # bob's channel goes away, and the subscriptions filtered on it
        kept.append(doc)
    (edited / "webhooks.yaml").write_text("\n---\n".join(kept))
    return base, edited


def stage_specs(base: Path, edited: Path) -> list[Path]:
    return [base] * (len(STAGES) - 1) + [edited]


def billable_week(state_url: str) -> str:
    """Billing bills weeks that have ended: move the state's holdings a week back and bill that week."""
    return backdate_holdings(state_url)


@dataclass
class Reference:
    """Per stage: the crash points an apply reaches, what Bird holds after it, who holds which number."""

    points: list[list[str]] = field(default_factory=list)
    counts: list[dict[str, int]] = field(default_factory=list)
    charges: list[dict[str, int]] = field(default_factory=list)
    users: list[dict[str, set[str]]] = field(default_factory=list)
    billing_points: list[str] = field(default_factory=list)
    usage_rows: int = 0
    # Before each stage's apply: the state database's copy (the emulator keeps a snapshot "before-N").
    saved_states: list[Path] = field(default_factory=list)


def snapshot(emulator: EmulatorAdmin, state_url: str) -> tuple[dict[str, int], dict[str, int], dict[str, set[str]]]:
    return world_counts(emulator), charges(emulator), users_of(state_assignments(state_url))


def reference(emulator: EmulatorAdmin, specs: list[Path], workdir: Path) -> Reference:
    """Run every stage fault-free in process with the crash points listed (none fires)."""
    emulator.reset()
    state_url = f"sqlite:///{workdir / 'reference.db'}"
    ref = Reference()
    listing = workdir / "points.txt"
    saved = crashpoints.ARMED, crashpoints.LISTING
    crashpoints.ARMED, crashpoints.LISTING = True, str(listing)
    try:
        for n, seconds in enumerate(STAGES):
            if seconds:
                emulator.advance(seconds)
            emulator.snapshot(f"before-{n}")
            ref.saved_states.append(copy_state(state_url, workdir / f"before-{n}.db"))
            listing.unlink(missing_ok=True)
            apply_in_process(specs[n], emulator.url, state_url)
            ref.points.append(listing.read_text().splitlines() if listing.exists() else [])
            left = pending_changes(specs[n], emulator.url, state_url)
            assert left == [], f"stage {n} did not converge fault-free: {left}"
            counts, fees, users = snapshot(emulator, state_url)
            ref.counts.append(counts)
            ref.charges.append(fees)
            ref.users.append(users)
        listing.unlink(missing_ok=True)
        run = senderctl("billing", "run", "--week", billable_week(state_url),
                        env=cli_env(emulator.url, state_url, {crashpoints.LIST_ENV: str(listing)}))
        assert run.returncode == 0, run.stdout + run.stderr
        ref.billing_points = listing.read_text().splitlines()
    finally:
        crashpoints.ARMED, crashpoints.LISTING = saved
    ref.usage_rows = usage_rows(state_url)
    assert ref.usage_rows > 0
    return ref


def usage_rows(state_url: str) -> int:
    from controller.state import StateStore
    from controller.state import tenant_repo as repo

    with StateStore.open(state_url) as store, store.transaction() as tx:
        return len(repo.usage_logs(tx))


def occurrences(points: list[str]) -> list[tuple[str, int]]:
    """Each point with the how-many-th time it was reached in that run."""
    seen: Counter[str] = Counter()
    out = []
    for name in points:
        seen[name] += 1
        out.append((name, seen[name]))
    return out


def copy_state(state_url: str, target: Path) -> Path:
    """A consistent copy of a SQLite state (the backup API; an empty file when there is none yet)."""
    import sqlite3

    source = Path(state_url.removeprefix("sqlite:///"))
    target.unlink(missing_ok=True)
    if not source.exists():
        return target
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def reach_stage(emulator: EmulatorAdmin, ref: Reference, state_url: str, stage: int) -> None:
    """The world and the state as the fault-free run had them just before `stage`'s apply."""
    emulator.restore(f"before-{stage}")
    saved = ref.saved_states[stage]
    target = Path(state_url.removeprefix("sqlite:///"))
    target.unlink(missing_ok=True)
    if saved.exists():
        copy_state(f"sqlite:///{saved}", target)


def converge(specs: Path, emulator: EmulatorAdmin, state_url: str, reruns: int = 2) -> int:
    """Re-run apply until a plan has nothing left to do; the number of re-runs it took (fails past `reruns`)."""
    for n in range(1, reruns + 1):
        apply_in_process(specs, emulator.url, state_url)
        left = pending_changes(specs, emulator.url, state_url)
        if not left:
            return n
    raise AssertionError(f"not converged after {reruns} re-runs: still planned {left}")


def open_intents(state_url: str) -> list[str]:
    from controller.state import StateStore

    with StateStore.open(state_url) as store:
        return [f"{op.action} {op.address}" for op in store.open_operations()]


def check(emulator: EmulatorAdmin, state_url: str, ref: Reference, stage: int, where: str) -> list[str]:
    problems = []
    dups = {k: v for k, v in duplicates(emulator).items() if v}
    if dups:
        problems.append(f"{where}: duplicates on Bird {dups}")
    counts, fees, users = snapshot(emulator, state_url)
    intents = open_intents(state_url)
    if intents:
        problems.append(f"{where}: the journal still has open intents after converging: {intents}")
    if counts != ref.counts[stage]:
        problems.append(f"{where}: Bird holds {counts}, the fault-free run {ref.counts[stage]}")
    if fees != ref.charges[stage]:
        problems.append(f"{where}: Bird charged {fees}, the fault-free run {ref.charges[stage]}")
    if users != ref.users[stage]:
        problems.append(f"{where}: assignments {users}, the fault-free run {ref.users[stage]}")
    return problems


def summary(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
