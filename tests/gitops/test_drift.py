"""Drift for every kind that can drift on Bird, through the real CLI on SQLite and PostgreSQL: a
webhook URL edited, a subscription deleted, a connector removed, a brand field edited — each made
with Bird's own API and the access key, as a person outside senderctl would. The plan labels each
as drift, a plan saved before is stale, and apply restores the specs."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.gitops.conftest import WORKSPACE, Bird, Senderctl, changes_of, converge

SPEC_URL = "http://127.0.0.1:8080/webhooks/bird"


def edit_bird_by_hand(bird: Bird) -> dict[str, str]:
    """Four changes outside senderctl; returns the ids touched."""
    state = bird.state()
    subs = {s["event"]: s for s in state["webhookSubscriptions"] if not s.get("eventFilters")}
    bird.bird("PATCH", f"{bird.subscriptions_path()}/{subs['10dlc.brand']['id']}",
              {"url": "http://127.0.0.1:9999/someone-else"})
    bird.bird("DELETE", f"{bird.subscriptions_path()}/{subs['10dlc.campaign']['id']}")
    alice = next(n for n in state["numbers"] if n["id"] in {c["arguments"]["phoneNumberId"] for c in state["connectors"]})
    connector = next(c for c in state["connectors"] if c["arguments"]["phoneNumberId"] == alice["id"])
    bird.bird("DELETE", f"/workspaces/{WORKSPACE}/connectors/{connector['id']}")
    (brand,) = state["brands"]
    bird.bird("PATCH", f"/workspaces/{WORKSPACE}/tcr-brands/{brand['id']}", {"website": "https://evil.example"})
    return {"connector": connector["id"], "number": alice["id"]}


def test_drift_is_labelled_in_the_plan_and_apply_restores_the_specs(specs: Path, bird: Bird, senderctl: Senderctl,
                                                                     state_url: str, tmp_path: Path) -> None:
    converge(specs, bird, state_url)
    saved = tmp_path / "saved.json"
    clean = senderctl("plan", str(specs), "--out", str(saved), "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    touched = edit_bird_by_hand(bird)

    with ThreadPoolExecutor(max_workers=3) as pool:
        stale, as_json, as_text = pool.map(lambda args: senderctl(*args), [
            ("apply", "--plan", str(saved)),
            ("plan", str(specs), "-o", "json", "--detailed-exitcode"),
            ("plan", str(specs)),
        ])
    assert stale.returncode == 3, stale.stdout + stale.stderr
    assert "saved plan is stale: Bird or the state changed" in stale.stderr
    assert "newly needed: update WebhookSubscription/brand-status" in stale.stderr

    assert as_json.returncode == 2, as_json.stdout + as_json.stderr
    changes = changes_of(json.loads(as_json.stdout))
    drifted = {address: c["action"] for address, c in changes.items() if c.get("drift")}
    assert drifted == {
        "WebhookSubscription/brand-status": "update",
        "WebhookSubscription/campaign-status": "create",
        "Channel/alice-line": "create",
        "Brand/acme": "update",
    }, changes
    brand_fields = {f["path"]: (f["before"], f["after"]) for f in changes["Brand/acme"]["fields"]}
    assert brand_fields["website"] == ("https://evil.example", "https://acme.example")
    assert "drift: changed on Bird outside senderctl" in as_text.stdout, as_text.stdout

    done = senderctl("apply", str(specs), "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    state = bird.state()
    urls = {s["event"]: s["url"] for s in state["webhookSubscriptions"] if not s.get("eventFilters")}
    assert urls == {"10dlc.brand": SPEC_URL, "10dlc.campaign": SPEC_URL, "channel.updated": SPEC_URL}
    assert len(state["webhookSubscriptions"]) == 7
    relinked = [c for c in state["connectors"] if c["arguments"]["phoneNumberId"] == touched["number"]]
    assert len(relinked) == 1 and relinked[0]["id"] != touched["connector"]
    assert state["brands"][0]["website"] == "https://acme.example"
    # alice's inbound/outbound subscriptions now filter on her new channel.
    new_channel = relinked[0]["channel"]["channelId"] if relinked[0].get("channel") else relinked[0].get("channelId")
    filtered = [s for s in state["webhookSubscriptions"] if s.get("eventFilters")]
    assert sum(1 for s in filtered if {"key": "channelId", "value": new_channel} in s["eventFilters"]) == 2

    bird.advance(15 * 60 + 60)  # carriers acknowledge the new link
    converged = senderctl("plan", str(specs), "--detailed-exitcode")
    assert converged.returncode == 0, converged.stdout + converged.stderr
