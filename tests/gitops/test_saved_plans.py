"""Saved plans through the real CLI: `plan --out` then `apply --plan` does exactly that plan, and a
plan the specs or Bird moved away from is refused with exit 3, saying what moved."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.gitops.conftest import Bird, Senderctl


def applied(stdout: str) -> set[tuple[str, str]]:
    """(action, address) of every change apply reported as done."""
    return {(m[1], m[2]) for m in re.finditer(r"^✓ (\w+) (\S+)$", stdout, re.MULTILINE)}


def planned(plan_file: Path) -> set[tuple[str, str]]:
    return {(c["action"], c["address"]) for c in json.loads(plan_file.read_text())["changes"]}


def test_a_saved_plan_applies_exactly_its_changes_and_is_refused_once_bird_moved(
        specs: Path, bird: Bird, senderctl: Senderctl, tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    run = senderctl("plan", str(specs), "--out", str(first), "--detailed-exitcode")
    assert run.returncode == 2, run.stderr
    wanted = planned(first)
    assert ("create", "Brand/acme") in wanted and ("create", "PhoneNumber/alice-line") in wanted
    assert "gitops-signing-key" not in first.read_text()

    bird.zero_requests()
    done = senderctl("apply", "--plan", str(first))  # a reviewed plan needs no --auto-approve
    assert done.returncode == 0, done.stdout + done.stderr
    assert applied(done.stdout) == wanted
    state = bird.state()
    bought = sum(1 for action, address in wanted if action == "create" and address.startswith("PhoneNumber/"))
    assert len(state["brands"]) == 1 and len(state["numbers"]) == bought >= 1
    assert state["campaigns"] == [] and state["connectors"] == []  # waiting: not in the saved plan
    # One Bird write per planned Bird change: nothing beyond the plan.
    writes = bird.writes()
    assert writes.get("POST /workspaces/{workspaceId}/tcr-brands") == 1, writes
    # Numbers are bought as stock items, up to 25 per call.
    assert writes.get("POST /workspaces/{workspaceId}/numbers-long-code") == -(-bought // 25), writes

    second = tmp_path / "second.json"
    assert senderctl("plan", str(specs), "--out", str(second)).returncode == 0
    bird.advance(3600 + 60)  # the brand is approved: the campaign can now be registered
    bird.zero_requests()
    stale = senderctl("apply", "--plan", str(second))
    assert stale.returncode == 3, stale.stdout + stale.stderr
    assert "saved plan is stale: Bird or the state changed" in stale.stderr
    assert "newly needed: create Campaign/acme-alerts" in stale.stderr
    assert "senderctl plan" in stale.stderr  # how to fix it
    assert bird.writes() == {}
    replayed = senderctl("apply", "--plan", str(first))  # a plan already applied is stale too
    assert replayed.returncode == 3 and "saved plan is stale" in replayed.stderr
    assert bird.writes() == {}


def test_a_plan_saved_before_the_specs_changed_is_refused_naming_what_moved(
        specs: Path, bird: Bird, sqlite_senderctl: Senderctl, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert sqlite_senderctl("plan", str(specs), "--out", str(plan_file)).returncode == 0
    hooks = specs / "webhooks.yaml"
    documents = hooks.read_text().split("---\n")
    # campaign-status is gone; brand-status keeps its action (create) with another URL: still a
    # change the reviewer never saw.
    documents = [d.replace("127.0.0.1:8080", "127.0.0.1:9090") if "name: brand-status" in d else d
                 for d in documents if "name: campaign-status" not in d]
    hooks.write_text("---\n".join(documents))

    run = sqlite_senderctl("apply", "--plan", str(plan_file))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "saved plan is stale: the specs changed" in run.stderr
    assert "now planned differently: create WebhookSubscription/brand-status" in run.stderr, run.stderr
    assert "no longer planned: create WebhookSubscription/campaign-status" in run.stderr, run.stderr
    assert bird.writes() == {}
