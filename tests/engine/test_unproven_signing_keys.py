"""A signing key senderctl cannot prove equal to Bird's (a subscription imported, or found on Bird and
adopted) is rotated on Bird to the spec's key at the next apply, and the plan says so. Real CLI process,
real emulator over HTTP; the emulator's own record of the key is read in process (Bird never returns it)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.engine.conftest import ACCESS_KEY, QUICKSTART, senderctl
from tests.support import ORGANIZATION, WORKSPACE

SUBSCRIPTION = """---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {name: inbound}
spec:
  workspace: acme-main
  service: channels
  event: sms.inbound
  url: http://127.0.0.1:9/hook
  signingKey: {fromEnv: HOOK_KEY}
  eventFilters: [{key: channelId, value: channel-1}]
"""
ROUTE = f"/organizations/{ORGANIZATION}/workspaces/{WORKSPACE}/webhook-subscriptions"


@pytest.fixture
def running() -> Iterator[object]:
    from controller.emulator.server import running_emulator

    with running_emulator() as emulator:
        yield emulator


def birds_key(running: object) -> list[str]:
    """The keys Bird holds for the workspace's subscriptions (never returned by its API)."""
    emulator = running.emulator  # type: ignore[attr-defined]
    with emulator.lock:
        return [s["signingKey"] for ws in emulator.workspaces.values() for s in ws.webhooks]


@pytest.mark.parametrize("adopted_by", ["import", "apply"])
def test_an_adopted_subscription_gets_the_specs_key_at_the_next_apply(running: object, state_url: str,
                                                                      tmp_path: Path, adopted_by: str) -> None:
    url = running.url  # type: ignore[attr-defined]
    # Subscribed by hand on Bird, with a key nobody wrote down.
    with httpx.Client(base_url=url, headers={"Authorization": f"AccessKey {ACCESS_KEY}"}) as bird:
        made = bird.post(ROUTE, json={"service": "channels", "event": "sms.inbound", "url": "http://127.0.0.1:9/hook",
                                      "signingKey": "lost-key", "eventFilters": [{"key": "channelId",
                                                                                   "value": "channel-1"}]})
        assert made.status_code < 300, made.text
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)
    (specs / "hook.yaml").write_text(SUBSCRIPTION)
    env = {"BIRD_API_URL": url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url, "HOOK_KEY": "spec-key",
           "NO_COLOR": "1"}

    first = senderctl(adopted_by, str(specs), *(["--auto-approve"] if adopted_by == "apply" else []), env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert birds_key(running) == ["lost-key"]
    planned = senderctl("plan", str(specs), "-o", "json", "--detailed-exitcode", env=env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    [change] = json.loads(planned.stdout)["changes"]
    assert (change["address"], change["action"]) == ("WebhookSubscription/inbound", "update")
    assert "rotate the signing key on Bird" in change["reason"] and "spec-key" not in planned.stdout

    applied = senderctl("apply", str(specs), "--auto-approve", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert birds_key(running) == ["spec-key"]
    again = senderctl("plan", str(specs), "--detailed-exitcode", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
