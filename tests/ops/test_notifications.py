"""`senderctl daemon --notify URL`: the real daemon posts signed JSON events to a local HTTP receiver
in the test — on condition changes (Waiting -> Ready, -> Failed with Bird's rejection code and
description) and on drift — retrying a receiver that fails, with the key never in its logs; without
SENDERCTL_NOTIFY_KEY it refuses to start. The Slack body is checked through a real HTTP delivery."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.bird.signing import verify
from tests.daemon.conftest import ROOT, Emulator, quickstart_copy, wait_until
from tests.daemon.conftest import daemons as daemons  # noqa: F401 - the fixture
from tests.daemon.conftest import emulator as emulator  # noqa: F401 - the fixture
from tests.support import ACCESS_KEY

NOTIFY_KEY = "notify-secret-key-123"


class Receiver:
    """A local HTTP server recording every POST; the first `fail_first` answers are 503."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                outer.received.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                failing = len(outer.received) <= outer.fail_first
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    yield r
    r.close()


def changed(receiver: Receiver, path: str, address: str, to: str) -> dict[str, Any] | None:
    return next((e for e in receiver.events(path) if e.get("type") == "condition.changed"
                 and e["address"] == address and e["to"] == to), None)


def test_daemon_notifies_signed_condition_changes_rejections_and_drift(tmp_path: Path, emulator: Emulator,  # noqa: F811
                                                                       daemons: Any, receiver: Receiver) -> None:  # noqa: F811
    from tests.daemon.conftest import free_port

    port = free_port()
    specs = quickstart_copy(tmp_path / "specs", port)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    d = daemons(specs, state, emulator.url, port=port, resync="4s",
                extra=("--notify", f"{receiver.url}/a", "--notify", f"{receiver.url}/b"),
                env={"SENDERCTL_NOTIFY_KEY": NOTIFY_KEY})
    d.wait_healthy()

    # The first reconcile: every resource gets its first condition; the first POST (503) was retried.
    waiting = wait_until(lambda: changed(receiver, "/a", "Brand/acme", "Waiting"), 60, "Brand/acme -> Waiting")
    assert waiting["from"] is None and "PENDING" in waiting["reason"]
    assert changed(receiver, "/b", "Brand/acme", "Waiting"), "every --notify URL gets every event"
    assert receiver.received[0]["path"] in ("/a", "/b") and len(receiver.received) > 2

    for r in receiver.received[1:]:  # signed as Bird signs webhooks, over the receiver's own URL
        verify(NOTIFY_KEY, r["headers"], f"{receiver.url}{r['path']}", r["body"], now=time.time())

    emulator.advance(3600)  # the brand is approved: Waiting -> Ready
    ready = wait_until(lambda: changed(receiver, "/a", "Brand/acme", "Ready"), 60, "Brand/acme -> Ready")
    assert ready["from"] == "Waiting"

    campaign = wait_until(lambda: emulator.state()["campaigns"], 60, "the campaign registered")[0]
    emulator.http.post("/_emulator/decide", json={
        "kind": "campaign", "id": campaign["id"], "status": "REJECTED",
        "rejection": {"code": "CR4001", "description": "Sample messages do not match the use case"}}).raise_for_status()
    failed = wait_until(lambda: changed(receiver, "/a", "Campaign/acme-alerts", "Failed"), 60,
                        "Campaign/acme-alerts -> Failed")
    assert failed["rejection"] == {"code": "CR4001", "description": "Sample messages do not match the use case"}

    subs = {s["event"]: s for s in emulator.state()["webhookSubscriptions"] if not s.get("eventFilters")}
    emulator.bird("DELETE", f"/organizations/{emulator.organization}/workspaces/{emulator.workspace}"
                  f"/webhook-subscriptions/{subs['channel.updated']['id']}")
    drift = wait_until(lambda: [e for e in receiver.events("/a") if e["type"] == "drift.found"], 60, "drift.found")
    assert {"address": "WebhookSubscription/channel-updates", "action": "create"}.items() <= drift[0]["changes"][0].items()

    metrics = d.get("/metrics").text
    assert 'senderctl_notifications_total{outcome="sent"}' in metrics
    assert 'senderctl_notifications_total{outcome="retried"} 1.0' in metrics
    assert "senderctl_paused_resources 0.0" in metrics
    code, _ = d.terminate()
    assert code == 0
    assert NOTIFY_KEY not in d.text()


def test_notify_without_a_key_refuses_to_start(tmp_path: Path, emulator: Emulator) -> None:  # noqa: F811
    run = subprocess.run(
        [sys.executable, "-m", "cli", "daemon", str(ROOT / "examples" / "quickstart"), "--listen", "127.0.0.1:0",
         "--state", f"sqlite:///{tmp_path / 's.db'}", "--bird-url", emulator.url, "--notify", "http://127.0.0.1:9/x"],
        cwd=str(ROOT), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_DEMO_SIGNING_KEY": "k"})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "--notify needs SENDERCTL_NOTIFY_KEY" in run.stderr
    assert not (tmp_path / "s.db").exists()


def test_slack_format_posts_a_text_body(receiver: Receiver) -> None:
    from controller.daemon.notify import Notifier

    notifier = Notifier([f"{receiver.url}/slack"], NOTIFY_KEY, "slack", backoff=0.01)
    item = {"type": "condition.changed", "address": "Brand/acme", "from": "Waiting", "to": "Failed",
            "reason": "brand acme was REJECTED", "rejection": {"code": "B100", "description": "EIN mismatch"}}

    async def send() -> bool:
        async with httpx.AsyncClient() as client:
            return await notifier.deliver(client, f"{receiver.url}/slack", item)

    assert asyncio.run(send())  # after one 503
    body = receiver.events("/slack")[-1]
    assert set(body) == {"text"}
    assert "Brand/acme" in body["text"] and "Waiting → Failed" in body["text"] and "B100: EIN mismatch" in body["text"]
    assert NOTIFY_KEY not in repr(notifier)


SOLO = """apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {name: solo}
spec:
  workspace: acme-main
  select: {country: US, type: local}
  deletionPolicy: Archive      # protected (the default): removing it from the specs is refused
"""
PAUSED_HOOK = """apiVersion: senderctl/v1
kind: WebhookSubscription
metadata:
  name: brand-status
  annotations: {senderctl.io/paused: "true"}
spec:
  workspace: acme-main
  service: numbers
  event: 10dlc.brand
  url: http://127.0.0.1:9/never
  signingKey: {fromEnv: SENDERCTL_DEMO_SIGNING_KEY}
"""


def test_daemon_notifies_a_refused_plan_and_counts_paused_resources(tmp_path: Path, emulator: Emulator,  # noqa: F811
                                                                    daemons: Any, receiver: Receiver) -> None:  # noqa: F811
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "organization.yaml").write_text((ROOT / "examples" / "quickstart" / "organization.yaml").read_text())
    (specs / "solo.yaml").write_text(SOLO)
    (specs / "hook.yaml").write_text(PAUSED_HOOK)
    d = daemons(specs, f"sqlite:///{tmp_path / 'state.db'}", emulator.url, resync="1h",
                extra=("--notify", f"{receiver.url}/ops", "--notify-format", "slack"),
                env={"SENDERCTL_NOTIFY_KEY": NOTIFY_KEY})
    d.wait_healthy()
    wait_until(lambda: emulator.state()["numbers"], 60, "the number bought")
    wait_until(lambda: "senderctl_paused_resources 1.0" in d.get("/metrics").text, 30, "one paused resource")
    assert emulator.state()["webhookSubscriptions"] == []

    (specs / "solo.yaml").unlink()  # a protected number removed from the specs: apply is refused
    refused = wait_until(lambda: [e for e in receiver.events("/ops") if "plan refused" in e["text"]], 60,
                         "a plan.refused notification")
    assert "PhoneNumber/solo" in refused[0]["text"] and "protected" in refused[0]["text"]
    assert len(emulator.state()["numbers"]) == 1
