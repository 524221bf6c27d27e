"""`senderctl drift`: read-only, only what changed on Bird outside senderctl (Bird against the last
applied record, not against the specs), exit 0 none / 2 drift, -o json, and
senderctl.io/ignore-drift silencing known differences — through the real CLI against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ops.conftest import Senderctl
from tests.support import EmulatorAdmin

SUBSCRIPTIONS = f"/organizations/{EmulatorAdmin.organization}/workspaces/{EmulatorAdmin.workspace}/webhook-subscriptions"


def edit_bird_by_hand(bird: EmulatorAdmin) -> None:
    state = bird.state()
    subs = {s["event"]: s for s in state["webhookSubscriptions"] if not s.get("eventFilters")}
    bird.bird("PATCH", f"{SUBSCRIPTIONS}/{subs['10dlc.brand']['id']}", {"url": "http://127.0.0.1:9999/someone-else"})
    bird.bird("DELETE", f"{SUBSCRIPTIONS}/{subs['10dlc.campaign']['id']}")
    (brand,) = state["brands"]
    bird.bird("PATCH", f"/workspaces/{bird.workspace}/tcr-brands/{brand['id']}", {"website": "https://evil.example"})


def test_drift_reports_only_changes_made_on_bird_outside_senderctl(estate: Path, senderctl: Senderctl,
                                                                   bird: EmulatorAdmin) -> None:
    specs = estate / "acme"
    assert senderctl("apply", specs, "--auto-approve").exit_code == 0
    clean = senderctl("drift", specs)
    assert clean.exit_code == 0, clean.output
    assert "No drift" in clean.stdout

    # A spec edited but not applied is a pending change, not drift.
    brand_file = specs / "brand.yaml"
    brand_file.write_text(brand_file.read_text().replace("https://acme.example", "https://new.acme.example"))
    assert senderctl("drift", specs).exit_code == 0

    edit_bird_by_hand(bird)
    bird.zero_requests()
    found = senderctl("drift", specs, "-o", "json")
    assert found.exit_code == 2, found.output
    report = json.loads(found.stdout)
    drifted = {d["address"]: d for d in report["drift"]}
    assert set(drifted) == {"Brand/acme", "WebhookSubscription/brand-status", "WebhookSubscription/campaign-status"}
    assert drifted["Brand/acme"]["fields"] == [{"path": "website", "applied": "https://acme.example",
                                                "bird": "https://evil.example"}]
    assert drifted["WebhookSubscription/brand-status"]["fields"][0]["bird"] == "http://127.0.0.1:9999/someone-else"
    assert drifted["WebhookSubscription/campaign-status"]["what"] == "deleted"
    assert report["summary"]["changed"] == 2 and report["summary"]["deleted"] == 1
    assert bird.write_routes() == {}, "drift is read-only"

    text = senderctl("drift", specs)
    assert text.exit_code == 2
    assert "~ Brand/acme: changed on Bird outside senderctl" in text.stdout
    assert 'website: "https://acme.example" (last applied) -> "https://evil.example" (on Bird)' in text.stdout
    assert "acme-signing-key" not in text.stdout + found.stdout

    # Known drift is silenced per document.
    brand_file.write_text(brand_file.read_text().replace(
        "metadata:\n  name: acme\n", 'metadata:\n  name: acme\n  annotations: {senderctl.io/ignore-drift: "website,phone"}\n', 1))
    assert senderctl("validate", specs).exit_code == 0
    quiet = json.loads(senderctl("drift", specs, "-o", "json").stdout)
    assert "Brand/acme" not in {d["address"] for d in quiet["drift"]}


def test_ignore_drift_must_list_field_names(estate: Path, senderctl: Senderctl) -> None:
    brand_file = estate / "acme" / "brand.yaml"
    brand_file.write_text(brand_file.read_text().replace(
        "metadata:\n  name: acme\n", 'metadata:\n  name: acme\n  annotations: {senderctl.io/ignore-drift: "web site!"}\n', 1))
    run = senderctl("validate", estate)
    assert run.exit_code == 1 and "senderctl.io/ignore-drift" in run.stderr and f"{brand_file}:" in run.stderr
