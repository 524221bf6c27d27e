"""A spec edit in one workspace's file: the daemon reads and changes that workspace only (warm cache).

A real `senderctl daemon` process against the emulator over HTTP, in the benchmark's world of one
organization with three workspaces (one spec file each). The emulator counts requests per workspace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import world as bench_world
from controller.emulator.server import running_emulator
from tests.daemon.conftest import Emulator

pytestmark = pytest.mark.timeout(120)

WORKSPACES = 3
EXTRA_SUBSCRIPTION = f"""---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {{name: created-001}}
spec:
  workspace: ws-001
  service: channels
  event: channel.created
  url: http://127.0.0.1:9/webhooks/bird
  signingKey: {{fromEnv: {bench_world.SIGNING_ENV}}}
"""


def read_workspaces(counts: dict[str, Any]) -> set[str]:
    """The workspaces read (Bird-wide reference lists, such as the TCR verticals a brand's registration is
    checked against, belong to none)."""
    return {ws for ws, routes in counts["byWorkspace"].items() if ws and any(r.startswith("GET ") for r in routes)}


def outside(state: dict[str, Any], ws: str) -> dict[str, list[Any]]:
    """Every Bird collection of the emulator, without what lives in workspace `ws`."""
    return {name: sorted(repr(item) for item in items if item.get("workspaceId") != ws)
            for name, items in state.items() if isinstance(items, list) and items and isinstance(items[0], dict)}


def test_one_changed_file_reads_and_changes_only_its_workspace(tmp_path: Path, daemons, sqlite_url):
    world_file = bench_world.write_world(tmp_path / "world.yaml", WORKSPACES, 2)
    specs = bench_world.write_specs(tmp_path / "specs", WORKSPACES, 2)
    ws1 = bench_world.workspace_id(1)
    with running_emulator(str(world_file)) as running:
        emulator = Emulator(running.url)
        d = daemons(specs, sqlite_url, running.url,
                    env={"BIRD_ACCESS_KEY": bench_world.ACCESS_KEY, bench_world.SIGNING_ENV: "k"})
        d.wait_event("reconcile.done", timeout=60, where=lambda e: e.get("scope") == "full")
        assert read_workspaces(emulator.requests()) == {bench_world.workspace_id(i) for i in range(WORKSPACES)}, \
            "the first reconcile is full: it reads every workspace"
        before = outside(emulator.state(), ws1)
        emulator.zero_requests()

        seen, applied_before = len(d.events("reconcile.done")), len(d.events("change.applied"))
        target = specs / "ws-001.yaml"
        target.write_text(target.read_text() + EXTRA_SUBSCRIPTION)
        start = d.wait_event("reconcile.start", timeout=60,
                             where=lambda e: "the spec files changed" in e.get("reasons", []))[0]
        assert start["scope"] == "targeted" and start["addresses"] == ["WebhookSubscription/created-001"]
        done = d.wait_event("reconcile.done", timeout=60, count=seen + 1)[seen]
        assert done["scope"] == "targeted" and done["outcome"] == "ok", done
        planned = [e for e in d.events("reconcile.planned") if e["scope"] == "targeted"]
        assert planned and planned[0]["workspaces_read"] == 1

        counts = emulator.requests()
        assert set(counts["byWorkspace"]) == {ws1}, "only the edited file's workspace was read or written"
        assert any("/numbers" in r for r in counts["byWorkspace"][ws1]), "its collections were read afresh"
        applied = d.events("change.applied")[applied_before:]
        assert [e["address"] for e in applied] == ["WebhookSubscription/created-001"]
        assert outside(emulator.state(), ws1) == before, "nothing changed on Bird outside the workspace"
        made = [s for s in emulator.state()["webhookSubscriptions"] if s["event"] == "channel.created"]
        assert [s.get("workspaceId") for s in made] == [ws1]
