"""`senderctl dump`: take over an existing Bird account. On an emulator world holding two organizations
with brands, vettings, campaigns, pools, channels and subscriptions (built through the Bird API by
applying specs), dump each organization, validate the files, import them into an empty state, and the
next plan creates nothing and buys nothing — all through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.ops.conftest import GLOBEX_ORG, SIGNING_ENV, Senderctl, converge
from tests.support import ORGANIZATION, EmulatorAdmin


def signing_variables(directory: Path) -> set[str]:
    names = set()
    for path in directory.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "WebhookSubscription":
                names.add(doc["spec"]["signingKey"]["fromEnv"])
    return names


def test_dump_then_import_then_plan_creates_and_buys_nothing(estate: Path, senderctl: Senderctl, bird: EmulatorAdmin,
                                                             tmp_path: Path) -> None:
    converge(senderctl, bird, estate)
    held = bird.state()
    assert len(held["numbers"]) == 5 and len(held["brands"]) == 2 and len(held["campaigns"]) == 2

    out = tmp_path / "taken-over"
    for org, name in ((ORGANIZATION, "acme"), (GLOBEX_ORG, "globex")):
        run = senderctl("dump", "--organization", org, "--out", out / name, "--name", name)
        assert run.exit_code == 0, run.output
        assert "export each subscription's key" in run.stdout
    files = sorted(p.name for p in (out / "acme").glob("*.yaml"))
    assert files[0] == "acme.yaml" and len(files) == 2, files  # the Organization, then one file per workspace
    text = next(p for p in (out / "acme").glob("*.yaml") if p.name != "acme.yaml").read_text()
    assert "# Bird never returns signing keys: export SIGNING_KEY_" in text
    assert "number: '+1" in text or 'number: "+1' in text
    assert "acme-signing-key" not in text and "globex-signing-key" not in text
    assert senderctl("validate", out).exit_code == 0

    # Dumping again gives the same names (stable), and never overwrites a directory of specs.
    again = senderctl("dump", "--organization", ORGANIZATION, "--out", tmp_path / "again", "--name", "acme")
    assert again.exit_code == 0
    assert sorted(p.read_text() for p in (tmp_path / "again").glob("*.yaml")) == \
        sorted(p.read_text() for p in (out / "acme").glob("*.yaml"))
    assert senderctl("dump", "--organization", ORGANIZATION, "--out", out / "acme").exit_code == 1

    keys = {variable: SIGNING_ENV["SENDERCTL_DEMO_SIGNING_KEY"] for variable in signing_variables(out / "acme")}
    keys |= {variable: SIGNING_ENV["GLOBEX_SIGNING_KEY"] for variable in signing_variables(out / "globex")}
    fresh = Senderctl(senderctl.bird_url, f"sqlite:///{tmp_path / 'fresh.db'}")
    bird.zero_requests()
    imported = fresh("import", out, "-o", "json", **keys)
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    assert report["failed"] == [], report["failed"]
    assert report["notOnBird"] == []
    # The Organizations (tenant terms, senderctl's own records) are adopted with everything on Bird.
    assert {"Organization/acme", "Organization/globex"} <= set(report["adopted"])
    assert len(report["adopted"]) >= 2 + 5 + 2 + 2 + 5

    # Bird never returns signing keys: the imported ones cannot be proven equal to Bird's, so the only
    # changes are the subscriptions' key rotations (free); nothing is created or bought.
    planned = fresh("plan", out, "-o", "json", "--detailed-exitcode", **keys)
    assert planned.exit_code == 2, planned.output
    plan = json.loads(planned.stdout)
    rotations = plan["changes"]
    assert rotations and {(c["address"].split("/")[0], c["action"]) for c in rotations} == {
        ("WebhookSubscription", "update")}, rotations
    assert all("rotate the signing key on Bird" in c["reason"] for c in rotations)
    assert plan["total_cost"] == {"currency": "USD", "monthly": "0", "weekly": "0", "one_time": "0"}
    assert plan["refusals"] == [] and plan["failed"] == []
    assert bird.write_routes() == {}, "dump, import and plan never write to Bird"
    applied = fresh("apply", out, "--auto-approve", **keys)
    assert applied.exit_code == 0, applied.output
    assert set(bird.write_routes()) == {"PATCH /organizations/{organizationId}/workspaces/{workspaceId}/"
                                        "webhook-subscriptions/{webhookSubscriptionId}"}, bird.write_routes()
    assert json.loads(fresh("plan", out, "-o", "json", **keys).stdout)["changes"] == []


def test_dump_of_an_unknown_organization_fails_clearly(senderctl: Senderctl, tmp_path: Path) -> None:
    run = senderctl("dump", "--organization", "99999999-9999-4999-8999-999999999999", "--out", tmp_path / "x")
    assert run.exit_code == 1 and "error:" in run.stderr and "Traceback" not in run.output
