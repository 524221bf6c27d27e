"""Part of an estate and hands-off resources, through the real CLI against the emulator:
--target / --org plan and apply only those resources and their dependencies; a plan over a subset of
the spec files leaves the other Organizations' records alone and lists them as out of scope; a
senderctl.io/paused annotation stops every Bird write for a document (or a whole Organization)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ops.conftest import GLOBEX_WORKSPACE, Senderctl
from tests.support import WORKSPACE, EmulatorAdmin


def plan_json(senderctl: Senderctl, *args: str | Path) -> dict:
    run = senderctl("plan", *args, "-o", "json")
    assert run.exit_code in (0, 2), run.output
    return json.loads(run.stdout)


def addresses(plan: dict) -> set[str]:
    return {c["address"] for c in plan["changes"]}


def pause(path: Path, name: str) -> None:
    """Add the paused annotation to the document `metadata:\\n  name: NAME` in path."""
    text = path.read_text()
    marker = f"metadata:\n  name: {name}\n"
    assert marker in text, f"{name} not in {path}"
    path.write_text(text.replace(marker, marker + '  annotations: {senderctl.io/paused: "true"}\n', 1))


def bird_writes(bird: EmulatorAdmin, workspace: str) -> int:
    return sum(n for route, n in bird.request_counts()["byRoute"].items()
               if not route.startswith("GET ") and "{workspaceId}" in route) if workspace else 0


def test_target_plans_and_applies_only_the_target_and_what_it_depends_on(estate: Path, senderctl: Senderctl,
                                                                         bird: EmulatorAdmin) -> None:
    planned = plan_json(senderctl, estate, "--target", "PhoneNumber/alice-line")
    # The document's campaign link (its Channel) depends on the campaign, and so on the brand.
    assert addresses(planned) == {"Organization/acme", "Workspace/acme-main", "PhoneNumber/alice-line", "Brand/acme"}
    assert planned["scope"] == {"targets": ["PhoneNumber/alice-line"], "orgs": []}
    left_out = {o["address"]: o["reason"] for o in planned["out_of_scope"]}
    assert {"NumberPool/globex-agents[0]", "Brand/globex", "WebhookSubscription/brand-status"} <= set(left_out)
    assert "not a --target" in left_out["Brand/globex"]

    text = senderctl("plan", estate, "--target", "PhoneNumber/alice-line")
    assert "Out of scope (left alone):" in text.stdout and "Brand/globex" in text.stdout

    done = senderctl("apply", estate, "--target", "PhoneNumber/alice-line", "--auto-approve")
    assert done.exit_code == 0, done.output
    world = bird.state()
    assert len(world["numbers"]) == 1 and world["webhookSubscriptions"] == []
    assert [b["companyName"] for b in world["brands"]] == ["Acme Inc."]

    # A saved targeted plan keeps its scope: apply --plan acts on the target only.
    saved = estate.parent / "bob.json"
    assert senderctl("plan", estate, "--target", "WebhookSubscription/brand-status", "--out", saved).exit_code == 0
    assert senderctl("apply", "--plan", saved).exit_code == 0
    world = bird.state()
    assert [s["event"] for s in world["webhookSubscriptions"]] == ["10dlc.brand"] and len(world["numbers"]) == 1


def test_unknown_target_or_org_is_an_error_naming_it(estate: Path, senderctl: Senderctl) -> None:
    run = senderctl("plan", estate, "--target", "PhoneNumber/nobody")
    assert run.exit_code == 1 and "--target PhoneNumber/nobody: no such resource" in run.stderr
    run = senderctl("plan", estate, "--org", "initech")
    assert run.exit_code == 1 and "--org initech: no such Organization" in run.stderr


def test_org_applies_one_organization_only(estate: Path, senderctl: Senderctl, bird: EmulatorAdmin) -> None:
    done = senderctl("apply", estate, "--org", "globex", "--auto-approve")
    assert done.exit_code == 0, done.output
    world = bird.state()
    assert [b["companyName"] for b in world["brands"]] == ["Globex Corporation"]
    assert {n["workspaceId"] for n in world["numbers"]} == {GLOBEX_WORKSPACE}
    rest = plan_json(senderctl, estate)
    assert not [a for a in addresses(rest) if "globex" in a and not a.startswith(("Campaign/", "Channel/"))]
    assert "Brand/acme" in addresses(rest)


def test_a_subset_of_the_specs_never_forgets_or_removes_other_organizations(estate: Path, senderctl: Senderctl,
                                                                           bird: EmulatorAdmin) -> None:
    assert senderctl("apply", estate, "--auto-approve").exit_code == 0
    subscriptions = len(bird.state()["webhookSubscriptions"])
    assert subscriptions >= 5

    planned = plan_json(senderctl, estate / "acme")
    assert not [a for a in planned["forget"] if "globex" in a]
    assert not [c for c in planned["changes"] if "globex" in c["address"]]
    left_out = {o["address"]: o["reason"] for o in planned["out_of_scope"]}
    assert {"Organization/globex", "Workspace/globex-main", "Brand/globex",
            "WebhookSubscription/globex-brand-status"} <= set(left_out)
    assert "Organization globex, which these specs do not declare" in left_out["Brand/globex"]
    markdown = senderctl("plan", estate / "acme", "-o", "markdown")
    assert "#### Out of scope" in markdown.stdout and "Workspace/globex-main" in markdown.stdout

    assert senderctl("apply", estate / "acme", "--auto-approve").exit_code == 0
    assert len(bird.state()["webhookSubscriptions"]) == subscriptions
    again = plan_json(senderctl, estate)  # nothing of globex was forgotten: no adoption, no new purchase
    assert not [c for c in again["changes"] if "globex" in c["address"] and c["action"] in ("create", "adopt")]


def test_paused_documents_and_organizations_get_no_bird_write(estate: Path, senderctl: Senderctl,
                                                              bird: EmulatorAdmin) -> None:
    pause(estate / "globex" / "globex.yaml", "globex")  # the Organization: everything it holds
    pause(estate / "acme" / "numbers.yaml", "alice-line")
    saved = estate.parent / "before.json"
    planned = plan_json(senderctl, estate, "--out", saved)
    assert not [a for a in addresses(planned) if "globex" in a or "alice-line" in a]
    assert {"Brand/globex", "NumberPool/globex-agents[0]", "PhoneNumber/alice-line", "Channel/alice-line",
            "Assignment/alice-line", "Organization/globex"} <= set(planned["paused"])
    assert "Paused:" in senderctl("plan", estate).stdout

    bird.zero_requests()
    assert senderctl("apply", estate, "--auto-approve").exit_code == 0
    world = bird.state()
    assert [b["companyName"] for b in world["brands"]] == ["Acme Inc."]
    assert {n["workspaceId"] for n in world["numbers"]} == {WORKSPACE} and len(world["numbers"]) == 1
    status = senderctl("status", estate)
    assert status.exit_code == 0, status.output
    assert "PhoneNumber/alice-line: Paused" in status.stdout and "Brand/globex: Paused" in status.stdout
    assert "PhoneNumber/bob-line: Ready" in status.stdout

    # Un-pausing makes the next plan carry on where it stopped; a plan saved while paused is stale.
    text = (estate / "acme" / "numbers.yaml").read_text()
    (estate / "acme" / "numbers.yaml").write_text(text.replace('  annotations: {senderctl.io/paused: "true"}\n', ""))
    resumed = plan_json(senderctl, estate)
    assert "PhoneNumber/alice-line" not in resumed["paused"]
    # bob-line took the organization's first number; alice's now waits for 10DLC like any second one.
    assert "PhoneNumber/alice-line" in {w["address"] for w in resumed["waiting"]}
    stale = senderctl("apply", "--plan", saved)
    assert stale.exit_code == 3 and "saved plan is stale" in stale.stderr


def test_paused_annotation_must_say_true_or_false(estate: Path, senderctl: Senderctl) -> None:
    path = estate / "acme" / "numbers.yaml"
    path.write_text(path.read_text().replace("metadata:\n  name: bob-line\n",
                                             "metadata:\n  name: bob-line\n  annotations: {senderctl.io/paused: yes}\n"))
    run = senderctl("validate", estate)
    assert run.exit_code == 1
    assert f"{path}:" in run.stderr and "PhoneNumber/bob-line: metadata.annotations.senderctl.io/paused" in run.stderr
