"""Ghost campaigns end to end: the emulator sends `sms.outbound` for a message a channel sends, the daemon
counts it per channel in the state, and a campaign whose channels stay silent for 60 days (the emulator's
clock) is flagged by `status`, `costs` and /metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from controller.state import StateStore
from controller.state.traffic import channel_traffic
from tests.daemon.conftest import ROOT, free_port, quickstart_copy, wait_until
from tests.support import ACCESS_KEY

DAY = 24 * 3600


def senderctl(*args: str, state_url: str, bird_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=str(ROOT), capture_output=True, text=True,
                          env={**os.environ, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url,
                               "BIRD_API_URL": bird_url, "SENDERCTL_DEMO_SIGNING_KEY": "test-signing-key"},
                          timeout=120)


def traffic(state_url: str) -> dict:
    with StateStore.open(state_url) as store:
        return channel_traffic(store.engine)


def channel_of(state_url: str, address: str) -> tuple[str, str]:
    with StateStore.open(state_url) as store:
        records = store.records()
    number = records[address].data["number"]
    channel = next(r.data["channelId"] for r in records.values() if r.kind == "Channel" and r.data.get("number") == number)
    return number, channel


def subscriptions_recorded(state_url: str, *names: str) -> bool:
    with StateStore.open(state_url) as store:
        records = store.records()
    return all((r := records.get(f"WebhookSubscription/{name}")) is not None and r.bird_id for name in names)


def ghost_gauge(daemon) -> float | None:
    for family in text_string_to_metric_families(daemon.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "senderctl_campaign_ghost" and sample.labels["campaign"] == "acme-alerts":
                return sample.value
    return None


def test_outbound_sms_are_counted_and_a_campaign_silent_for_60_days_is_flagged(
        tmp_path: Path, emulator, daemons, sqlite_url) -> None:
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port, resync="3s")
    d.wait_event("reconcile.done", timeout=60)
    emulator.advance(3600 + 60)  # brand approved
    wait_until(lambda: emulator.state()["campaigns"], 60, "the campaign")
    emulator.advance(7 * DAY)  # campaign approved: the numbers' channels follow
    wait_until(lambda: len(emulator.state()["connectors"]) == 2, 60, "both SMS channels")
    emulator.advance(15 * 60 + 60)  # carriers acknowledge: channels active, the channel-filtered subscriptions
    wait_until(lambda: len([s for s in emulator.state()["webhookSubscriptions"]
                            if s["event"] == "sms.outbound" and s.get("eventFilters")]) == 2,
               60, "the sms.outbound subscriptions of both channels")
    # The daemon verifies a delivery with the key of a subscription it has recorded: wait for the records,
    # not only for Bird's side (a delivery in between is refused, as a forged one would be).
    wait_until(lambda: subscriptions_recorded(sqlite_url, "outbound-sms-alice", "outbound-sms-bob"), 60,
               "the daemon's records of both sms.outbound subscriptions")

    alice, alice_channel = channel_of(sqlite_url, "PhoneNumber/alice-line")
    sent = emulator.http.post("/_emulator/outbound", json={"from": alice, "to": "+12025550199",
                                                           "text": "Acme: your code is 123456. Reply STOP to opt out."})
    sent.raise_for_status()
    assert [x["event"] for x in sent.json()["deliveries"] if x["delivered"]] == ["sms.outbound"], json.dumps(sent.json()["deliveries"])
    counted = wait_until(lambda: traffic(sqlite_url).get(alice_channel), 30, "the outbound SMS counted")
    assert counted.outbound_count == 1
    assert counted.last_outbound_at.isoformat().startswith(sent.json()["message"]["createdAt"][:19])

    status = senderctl("status", str(specs), state_url=sqlite_url, bird_url=emulator.url)
    assert status.returncode == 0 and "ghost campaign" not in status.stdout, status
    wait_until(lambda: ghost_gauge(d) == 0, 60, "the campaign's ghost gauge at 0")

    emulator.advance(61 * DAY)  # two months without another message
    status = senderctl("status", str(specs), state_url=sqlite_url, bird_url=emulator.url)
    assert status.returncode == 0, status
    lines = status.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Campaign/acme-alerts: "))
    day = counted.last_outbound_at.date().isoformat()
    assert lines[at + 1].startswith(f"  ghost campaign: no outbound SMS since {day}"), status.stdout
    assert "deactivate it" in lines[at + 1] and "$250" in lines[at + 1]
    [as_json] = [s for s in json.loads(senderctl("status", str(specs), "-o", "json", state_url=sqlite_url,
                                                 bird_url=emulator.url).stdout)
                 if s["address"] == "Campaign/acme-alerts"]
    assert as_json["ghost"]["outboundCounted"] == 1 and as_json["ghost"]["lastOutbound"].startswith(day)

    costs = senderctl("costs", "-o", "json", state_url=sqlite_url, bird_url=emulator.url)
    [org] = json.loads(costs.stdout)["organizations"]
    [campaign] = org["workspaces"][0]["campaigns"]
    assert campaign["ghost"] is True and campaign["monthlyAtRisk"] == "10" and campaign["fineAtRisk"] == "250"
    assert org["ghostCampaigns"] == [campaign["name"]] and org["monthlyAtRisk"] == "10"
    text = senderctl("costs", state_url=sqlite_url, bird_url=emulator.url).stdout
    assert "GHOST, 10.00/month at risk: no outbound SMS since" in text and "Ghost campaigns: 1" in text
    wait_until(lambda: ghost_gauge(d) == 1, 60, "the campaign's ghost gauge at 1")

    # One more message from the other channel: no longer a ghost.
    bob, _ = channel_of(sqlite_url, "PhoneNumber/bob-line")
    emulator.http.post("/_emulator/outbound", json={"from": bob, "to": "+12025550199", "text": "Acme: hello"}
                       ).raise_for_status()
    wait_until(lambda: sum(t.outbound_count for t in traffic(sqlite_url).values()) == 2, 30, "the second count")
    status = senderctl("status", str(specs), state_url=sqlite_url, bird_url=emulator.url)
    assert "ghost campaign" not in status.stdout, status.stdout
    wait_until(lambda: ghost_gauge(d) == 0, 60, "the campaign's ghost gauge back at 0")
