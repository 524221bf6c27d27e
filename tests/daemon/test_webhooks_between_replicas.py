"""Bird's webhooks reach the replica that owns their organization, whichever replica Bird sends them to.

Two replicas on one PostgreSQL state share three organizations (pinned, so who owns which is known), and
every organization's webhook subscriptions point at a replica that does NOT own it. The 10DLC status events
(brand and campaign approved, the carriers' acknowledgement of each channel) and an inbound SMS per
organization all arrive at that replica: each organization's owner reconciles what they change (its 10DLC
becomes active, its channel is linked, once), the other replica reconciles and writes nothing of it, and
each inbound message is routed once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from controller.daemon.directory import REFRESH_SECONDS
from tests.daemon.conftest import Emulator, free_port, wait_until
from tests.daemon.test_fencing import organizations, parsed, tenants_world, workspace_id, writes

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

ORGS = ("org-1", "org-2", "org-3")
QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


@pytest.fixture
def three_tenants(tmp_path: Path) -> Iterator[Emulator]:
    from controller.emulator.server import running_emulator

    with running_emulator(str(tenants_world(tmp_path / "world.yaml", len(ORGS), stock=3))) as running:
        emu = Emulator(running.url)
        yield emu
        emu.http.close()


def tenant_specs(i: int, receiver_port: int) -> str:
    """Organization org-i: its brand and campaign (the quick start's, renamed), one number linked to the
    campaign, and its status and inbound subscriptions, delivered to the replica on `receiver_port`."""
    org = f"org-{i}"
    brand = (QUICKSTART / "brand.yaml").read_text().replace("acme-main", f"{org}-main") \
        .replace("name: acme-alerts", f"name: {org}-alerts").replace("brand: acme", f"brand: {org}") \
        .replace("name: acme\n", f"name: {org}\n")
    subscriptions = [("brand-status", "numbers", "10dlc.brand", ""), ("campaign-status", "numbers", "10dlc.campaign", ""),
                     ("channel-updates", "channels", "channel.updated", ""),
                     ("inbound", "channels", "sms.inbound", f"\n  eventFilters:\n    - {{key: channelId, phoneNumber: line-{i}}}")]
    hooks = "---\n".join(f"""apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: {org}-{name}}}
spec:
  workspace: {org}-main
  service: {service}
  event: {event}
  url: http://127.0.0.1:{receiver_port}/webhooks/bird
  signingKey: {{fromEnv: SENDERCTL_DEMO_SIGNING_KEY}}{filters}
""" for name, service, event, filters in subscriptions)
    number = f"""apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {{name: line-{i}}}
spec:
  workspace: {org}-main
  select: {{country: US, type: local}}
  campaign: {org}-alerts
  assignee: user@{org}.example
  channelMessageType: transactional
  channelName: Line {i}
"""
    return "---\n".join([organizations(i), brand, number, hooks])


def rows(state_url: str, sql: str) -> list[Any]:
    engine = create_engine(state_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_webhooks_sent_to_a_replica_that_does_not_own_their_organization_are_acted_on_once_by_the_owner(
        tmp_path, daemons, postgres_url, three_tenants):
    emulator = three_tenants
    port_a, port_b = free_port(), free_port()
    owner = {"org-1": "a", "org-2": "a", "org-3": "b"}
    receiver = {"org-1": port_b, "org-2": port_b, "org-3": port_a}  # never the owner
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    for i, org in enumerate(ORGS, start=1):
        (spec_dir / f"{org}.yaml").write_text(tenant_specs(i, receiver[org]))
    a = daemons(spec_dir, postgres_url, emulator.url, port=port_a,
                extra=("--lease-ttl", "3s", "--shard", "org-1", "--shard", "org-2"))
    b = daemons(spec_dir, postgres_url, emulator.url, port=port_b, extra=("--lease-ttl", "3s", "--shard", "org-3"))
    replica = {"a": a, "b": b}
    for d in (a, b):
        d.wait_healthy()
        d.wait_event("reconcile.done", timeout=90)
    assert sorted(a.get("/readyz").json()["organizations"]) == ["org-1", "org-2"]
    assert b.get("/readyz").json()["organizations"] == ["org-3"]

    emulator.advance(3600 + 60)  # the brands are approved: 10dlc.brand
    wait_until(lambda: len(emulator.state()["campaigns"]) == len(ORGS), 60, "every campaign registered")
    emulator.advance(7 * 24 * 3600)  # the campaigns are approved: 10dlc.campaign
    wait_until(lambda: len(emulator.state()["connectors"]) == len(ORGS), 60, "every number's SMS channel")
    emulator.advance(15 * 60 + 60)  # the carriers acknowledge each link: channel.updated
    wait_until(lambda: len(rows(postgres_url, "SELECT 1 FROM org_configs WHERE ten_dlc_active")) == len(ORGS), 60,
               "every organization's 10DLC active, with no resync")

    # Each number's channel-filtered sms.inbound subscription exists on Bird and in the state, and the
    # receiving replica may have read the state just before its owner recorded them: a replica reads
    # records another one wrote within its directory's refresh interval (a delivery before that is
    # refused, and Bird's retry brings it). Wait for all three, then for that interval.
    wait_until(lambda: len([s for s in emulator.state()["webhookSubscriptions"]
                            if s["event"] == "sms.inbound" and s.get("eventFilters")]) == len(ORGS),
               60, "every number's sms.inbound subscription on Bird")
    wait_until(lambda: len(rows(postgres_url, "SELECT 1 FROM resources WHERE kind = 'WebhookSubscription' "
                                              "AND address LIKE '%-inbound' AND bird_id IS NOT NULL")) == len(ORGS),
               60, "the owners' records of those subscriptions")
    time.sleep(REFRESH_SECONDS)
    numbers = {n["workspaceId"]: n["number"] for n in emulator.state()["numbers"]}
    for i, org in enumerate(ORGS, start=1):
        sent = emulator.http.post("/_emulator/inbound", json={"to": numbers[workspace_id(i)], "from": "+12025550100",
                                                              "text": f"hello {org}"}).raise_for_status().json()
        assert [d["status"] for d in sent["deliveries"]] == [200], (org, sent["deliveries"])
    wait_until(lambda: len(rows(postgres_url, "SELECT 1 FROM inbox_messages")) == len(ORGS), 60, "every SMS routed")

    # Every delivery went to a replica that does not own its organization, and each was recorded once.
    events = rows(postgres_url, "SELECT request_id, event, received_by, handled_at FROM webhook_events")
    assert {e for _, e, _, _ in events} >= {"10dlc.brand", "10dlc.campaign", "channel.updated", "sms.inbound"}
    assert len({r for r, _, _, _ in events}) == len(events) and all(h is not None for *_, h in events)
    # Each inbound SMS routed once, to its organization.
    routed = rows(postgres_url, "SELECT organization, count(*) FROM inbox_messages GROUP BY organization")
    assert sorted(routed) == [(org, 1) for org in ORGS]
    assert not rows(postgres_url, "SELECT 1 FROM unrouted_messages")

    # Acted on by the owner only: every Bird write of an organization names its owner, and the other replica
    # never planned a change of it.
    for w in writes(emulator):
        name, shard, _ = parsed(w["holder"])
        if shard in owner:
            assert name.endswith(f"/{replica[owner[shard]].proc.pid}"), (shard, w)
    for org in ORGS:
        other = replica["b" if owner[org] == "a" else "a"]
        for start in other.events("reconcile.start"):
            assert not any(org in address for address in start.get("addresses") or []), (org, start)
        mine = replica[owner[org]]
        assert any(e.get("scope") == "targeted" for e in mine.events("reconcile.start")
                   if any(org in a for a in e.get("addresses") or []))
    # One channel per number: nothing was linked twice by two replicas.
    assert len(emulator.state()["connectors"]) == len(ORGS)
