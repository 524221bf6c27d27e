"""Targeted reconciles include what their changes affect: right after the carriers' webhook, with no
resync, the organization's 10DLC is active and the platform API buys a number for it.

A real `senderctl daemon` process against the emulator over HTTP, on the quick start specs (whose
webhook subscriptions point at the daemon): every approval arrives as Bird's signed webhook.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest

from tests.daemon.conftest import ROOT, free_port, quickstart_copy, wait_until

pytestmark = pytest.mark.timeout(120)


def senderctl(*args: str, state_url: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", *args, "--state", state_url], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def test_after_the_carriers_webhook_10dlc_is_active_and_the_api_buys_without_a_resync(
        tmp_path, emulator, daemons, sqlite_url):
    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    d = daemons(specs, sqlite_url, emulator.url, port=port, resync="1h")
    d.wait_event("reconcile.done", timeout=60)

    emulator.advance(3600 + 60)  # the brand is approved: 10dlc.brand
    wait_until(lambda: emulator.state()["campaigns"], 30, "the campaign registered")
    emulator.advance(7 * 24 * 3600)  # the campaign is approved: 10dlc.campaign
    wait_until(lambda: len(emulator.state()["connectors"]) == 2, 30, "both SMS channels")
    emulator.advance(15 * 60 + 60)  # the carriers acknowledge both links: channel.updated
    wait_until(lambda: d.get("/readyz").json()["lastReconcile"].get("waiting") == {}, 30, "nothing left waiting")
    starts = d.events("reconcile.start")
    assert [s["scope"] for s in starts].count("full") == 1, "no resync ran: the webhooks did everything"

    config = json.loads(senderctl("config", "--org", "acme", "-o", "json", state_url=sqlite_url).stdout)
    assert config["tenDlcActive"] is True
    assert "10DLC active:  yes" in senderctl("config", "--org", "acme", state_url=sqlite_url).stdout

    token = senderctl("tokens", "create", "--org", "acme", "--user", "carol@acme.example", "--role", "member",
                      "--scopes", "phones:read,phones:write", state_url=sqlite_url).stdout.strip()
    with httpx.Client(base_url=d.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        bought = api.post("/v1/sms/phone-numbers/purchase", json={"country": "US"})
    assert bought.status_code == 201, bought.text
    assert bought.json()["number"] in {n["number"] for n in emulator.state()["numbers"]}
    assert [s["scope"] for s in d.events("reconcile.start")].count("full") == 1
