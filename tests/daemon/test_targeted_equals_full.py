"""Targeted = full: hypothesis drives random sequences of Bird events (approvals, rejections, the carriers'
acknowledgements, decisions reversed on Bird) and spec edits through the daemon's targeted path, and after
each step a full reconcile has nothing left to do and sees every resource as the targeted one left it.

The daemon's path, in-process (a daemon process per example would take minutes): Bird's signed webhooks
are received over HTTP from the emulator, mapped to addresses with the daemon's routing (`affected`, the
Bird id index of the last observation), spec edits with its `spec_edit` (a removal or a changed annotation
is a full reconcile there too), and reconciled with `engine.apply` given that scope, the `only` filter and
the warm world cache, exactly as controller/daemon/service.py does. The daemon's extra re-check of what
the last plan left waiting is left out: the scope alone must be enough.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.daemon.routing import affected, dependents, event_of, id_index, spec_edit
from controller.daemon.specview import SpecView, load_view
from controller.reconcile import engine
from tests.support import ACCESS_KEY, EmulatorAdmin

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SIGNING = {"SENDERCTL_DEMO_SIGNING_KEY": "test-signing-key"}
VETTING_SUBSCRIPTION = """---
apiVersion: senderctl/v1
kind: WebhookSubscription
metadata: {name: vetting-status}
spec:
  workspace: acme-main
  service: numbers
  event: 10dlc.vetting
  url: URL
  signingKey: {fromEnv: SENDERCTL_DEMO_SIGNING_KEY}
"""
CAROL = """---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {name: carol-line}
spec:
  workspace: acme-main
  select: {country: US, type: local}
  campaign: acme-alerts
  assignee: carol@acme.example
  channelMessageType: transactional
  channelName: Carol (Acme alerts)
"""


class Receiver:
    """Bird's webhooks, as the emulator delivers them (signed, over HTTP), kept in arrival order."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        lock = threading.Lock()
        self.received, self.lock = received, lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with lock:
                    received.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/bird"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            out, self.received[:] = list(self.received), []
        return out


@pytest.fixture(scope="module")
def bird() -> Iterator[tuple[EmulatorAdmin, Receiver]]:
    from controller.emulator.server import running_emulator

    receiver = Receiver()
    with running_emulator() as running:
        emulator = EmulatorAdmin(running.url)
        try:
            yield emulator, receiver
        finally:
            emulator.close()
            receiver.server.shutdown()


class Estate:
    """One example's specs, state and the daemon's warm world cache."""

    def __init__(self, work: Path, emulator: EmulatorAdmin, receiver: Receiver) -> None:
        self.specs = work / "specs"
        shutil.copytree(QUICKSTART, self.specs)
        hooks = self.specs / "webhooks.yaml"
        hooks.write_text(hooks.read_text().replace("http://127.0.0.1:8080/webhooks/bird", receiver.url)
                         + VETTING_SUBSCRIPTION.replace("URL", receiver.url))
        self.emulator, self.receiver = emulator, receiver
        self.settings = engine.Settings(state_url=f"sqlite:///{work / 'state.db'}", bird_url=emulator.url,
                                        access_key=ACCESS_KEY, environ={**os.environ, **SIGNING})
        self.cache = engine.WorldCache()
        self.view: SpecView = self.load()
        self.journal: list[str] = []

    def load(self) -> SpecView:
        return load_view([str(self.specs)], self.settings.environ)

    def reconcile(self, keys: set[str] | None) -> None:
        """The daemon's Daemon.reconcile: None is a full reconcile; otherwise the keys and what they affect."""
        view = self.view
        covered = None if keys is None else dependents(view.desired, keys)
        self.journal.append("full" if covered is None else f"targeted {sorted(covered)}")
        try:
            asyncio.run(engine.apply(
                [str(self.specs)], self.settings, specs=view.specs,
                only=None if covered is None else (lambda c: c.address in covered),
                owner="senderctl daemon", scope=None if covered is None else frozenset(covered), cache=self.cache,
                expanded=engine.Expanded(view.specs, view.desired, view.fingerprint)))
        except engine.Refused as exc:  # the daemon logs it and acts on nothing; so does the full check below
            self.journal.append(f"refused: {exc}")

    def webhooks(self) -> None:
        """Each received webhook, handled as the daemon's inbox does (Daemon.handle), one reconcile each."""
        for body in self.receiver.take():
            found = event_of(body)
            assert found is not None, body
            name, payload = found
            records = self.cache.world.records if self.cache.world is not None else {}
            addresses = affected(name, payload, id_index(records), self.view.desired)
            self.journal.append(f"webhook {name} {payload.get('status') or payload.get('channelStatus') or ''}")
            if addresses:
                self.reconcile(addresses)

    def edit(self, change: str) -> None:
        """A spec edit, as the daemon's watcher takes it (Daemon.enqueue_edit)."""
        org, numbers = self.specs / "organization.yaml", self.specs / "numbers.yaml"
        if change == "add carol":
            if "carol-line" in numbers.read_text():
                return
            numbers.write_text(numbers.read_text() + CAROL)
        elif change.startswith("limit "):
            text = org.read_text()
            current = text.split("limit: ", 1)[1].split()[0]
            org.write_text(text.replace(f"limit: {current}", f"limit: {change.split()[1]}", 1))
        elif change == "bob to dave":
            numbers.write_text(numbers.read_text().replace("assignee: bob@acme.example", "assignee: dave@acme.example"))
        self.journal.append(f"edit {change}")
        previous, self.view = self.view, self.load()
        changed, removed = spec_edit(previous.desired, self.view.desired)
        if removed:
            self.reconcile(None)
        elif changed:
            self.reconcile(changed)

    def decide(self, kind: str, status: str) -> None:
        items = {"brand": "brands", "vetting": "vettings", "campaign": "campaigns"}[kind]
        found = self.emulator.state()[items]
        if not found:
            return
        self.journal.append(f"bird: {kind} {status}")
        self.emulator.http.post("/_emulator/decide", json={"kind": kind, "id": found[0]["id"], "status": status}
                                ).raise_for_status()

    def advance(self, seconds: int) -> None:
        self.journal.append(f"bird: clock +{seconds} s")
        self.emulator.advance(seconds)

    def full_plan(self) -> engine.Computed:
        return asyncio.run(engine.plan([str(self.specs)], self.settings))

    def conditions(self) -> dict[str, tuple[str, str]]:
        from controller.state import StateStore

        with StateStore.open(self.settings.state_url) as store:
            return {a: (c.status, c.reason) for a, c in store.conditions().items()}


def full_conditions(computed: engine.Computed) -> dict[str, tuple[str, str]]:
    p = computed.plan
    out = {a: ("Ready", "") for a in p.ready}
    out.update({w.address: ("Waiting", w.reason) for w in p.waiting})
    out.update({f.address: ("Failed", f.reason) for f in p.failed})
    return out


STEPS = st.one_of(
    st.tuples(st.just("decide"), st.sampled_from(["brand", "vetting", "campaign"]),
              st.sampled_from(["APPROVED", "REJECTED"])),
    st.tuples(st.just("advance"), st.sampled_from([3600 + 60, 7 * 24 * 3600, 15 * 60 + 60])),
    st.tuples(st.just("edit"), st.sampled_from(["add carol", "limit 3", "limit 5", "bob to dave"])),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          derandomize=True)
@given(steps=st.lists(STEPS, min_size=2, max_size=7))
def test_a_targeted_reconcile_leaves_what_a_full_one_would(steps, bird, tmp_path_factory):
    emulator, receiver = bird
    emulator.reset()
    receiver.take()
    estate = Estate(tmp_path_factory.mktemp("estate"), emulator, receiver)
    estate.reconcile(None)  # the daemon starts with a full reconcile
    estate.webhooks()
    for step in steps:
        if step[0] == "decide":
            estate.decide(step[1], step[2])
        elif step[0] == "advance":
            estate.advance(step[1])
        else:
            estate.edit(step[1])
        estate.webhooks()
        estate.webhooks()  # what the reconciles just did may have made Bird send more (channel.created)
        full = estate.full_plan()
        story = "\n  ".join(estate.journal)
        assert [f"{c.action} {c.address}" for c in full.plan.changes] == [], \
            f"a full reconcile would still change this after:\n  {story}"
        remembered = estate.conditions()
        differing = {a: (remembered.get(a), seen) for a, seen in full_conditions(full).items()
                     if remembered.get(a) != seen}
        assert not differing, f"the conditions differ from a full reconcile's after:\n  {story}\n{differing}"
