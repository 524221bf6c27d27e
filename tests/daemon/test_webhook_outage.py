"""A daemon outage while inbound SMS arrive: Bird (the emulator, over real HTTP) retries every undelivered
sms.inbound with its first timestamp and request id; the restarted daemon (the real Daemon and HTTP app
served by uvicorn on a real port, whose clock follows the emulator's) routes each message exactly once.
A delivery Bird gives up on is listed by `senderctl webhooks failed` and counted in /metrics."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from controller import tenant
from controller.daemon.config import DaemonOptions
from controller.daemon.http import create_app
from controller.daemon.metrics import Metrics
from controller.daemon.service import Daemon
from controller.emulator import policy
from controller.emulator.server import running_emulator
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.state.leader import open_leadership
from tests.engine.conftest import QUICKSTART, SIGNING_ENV
from tests.engine.test_apply_emulator import converge
from tests.proof.harness import cli_env, senderctl
from tests.support import ACCESS_KEY, EmulatorAdmin

ALICE, BOB = "alice@acme.example", "bob@acme.example"
WAIT = 120.0  # generous: the machine is shared; nothing here depends on its speed


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


class ServedDaemon:
    """One daemon: the Daemon object and its HTTP app on a real port, in a thread with its own loop."""

    def __init__(self, specs: Path, state_url: str, bird_url: str, port: int, clock: Callable[[], float]) -> None:
        options = DaemonOptions(paths=(str(specs),), state_url=state_url, bird_url=bird_url,
                                listen=f"127.0.0.1:{port}", resync=3600)
        settings = Settings(state_url=state_url, bird_url=bird_url, access_key=ACCESS_KEY,
                            environ={**os.environ, **SIGNING_ENV})
        self.leadership = open_leadership(state_url)
        self.store = StateStore.open(state_url)
        self.leadership.attach(self.store.engine)
        self.daemon = Daemon(options, settings, self.store, self.leadership, Metrics())
        self.daemon.listen_port = port
        self.daemon.clock = clock
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.daemon), log_config=None, lifespan="off"))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started and self.daemon.last_reconcile, "the daemon's first reconcile")

    async def main(self) -> None:
        await self.daemon.reload_specs("startup")
        http = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        try:
            await self.daemon.run()
        finally:
            self.server.should_exit = True
            await http

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.daemon.stop)
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        self.sock.close()
        self.leadership.release()
        self.store.close()


@pytest.fixture
def estate(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[Path, Any, int]]:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    specs = tmp_path / "specs"
    import shutil

    shutil.copytree(QUICKSTART, specs)
    hooks = specs / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{number}"))
    with running_emulator() as running:
        admin = EmulatorAdmin(running.url)
        settings = Settings(state_url=sqlite_url, bird_url=running.url, access_key=ACCESS_KEY,
                            environ={**os.environ, **SIGNING_ENV})
        converge([str(specs)], settings, admin)
        yield specs, running, number
        admin.http.close()


def numbers_of(emulator: Any) -> dict[str, str]:
    """user -> number, from the emulator's channels (the quick start names each line after its user)."""
    return {f"{c['name'].split('-')[0]}@acme.example": c["identifier"] for c in emulator.dump()["channels"]}


def test_a_30_minute_outage_loses_nothing_and_routes_each_message_once(estate: tuple[Path, Any, int],
                                                                       sqlite_url: str) -> None:
    specs, running, port = estate
    emulator = running.emulator
    started = emulator.clock.now

    def bird_time() -> float:  # the daemon's clock moves as the emulator's does
        return time.time() + (emulator.clock.now - started)

    by_user = {c["identifier"]: c for c in emulator.dump()["channels"]}
    alice, bob = sorted(by_user)
    admin = EmulatorAdmin(running.url)

    def text(to: str, body: str) -> dict[str, Any]:
        return admin.http.post("/_emulator/inbound", json={"to": to, "from": "+12025550199", "text": body}).json()

    first = ServedDaemon(specs, sqlite_url, running.url, port, bird_time)
    try:
        assert text(alice, "before")["deliveries"][0]["delivered"] is True
        wait_until(lambda: len(tenant.inbox(first.store, "acme")) == 1, "the first message routed")
    finally:
        first.stop()

    sent = []
    for minute in range(0, 30, 5):  # the daemon is down for 30 minutes of Bird's clock
        answer = text(alice if minute % 10 else bob, f"during {minute}")
        assert [d["delivered"] for d in answer["deliveries"]] == [False]
        sent.append(answer["message"]["id"])
        admin.advance(300)
    second = ServedDaemon(specs, sqlite_url, running.url, port, bird_time)
    try:
        admin.advance(policy.WEBHOOK_RETRY_INTERVALS[-1])  # Bird's next retries fall in here
        wait_until(lambda: len(tenant.inbox(second.store, "acme")) == 1 + len(sent), "every message routed")
        inbox = tenant.inbox(second.store, "acme")
        ids = [m["messageId"] for m in inbox]
        assert sorted(ids[1:]) == sorted(sent) and len(set(ids)) == len(ids), "each message exactly once"
        assert {m["user"] for m in inbox} == {ALICE, BOB} and tenant.unrouted(second.store) == []
        retried = [d for d in emulator.dump()["deliveries"] if d["event"] == "sms.inbound" and d["attempt"] > 1
                   and d["delivered"]]
        assert len(retried) == len(sent)
        admin.advance(sum(policy.WEBHOOK_RETRY_INTERVALS))  # nothing is sent again, nothing routed twice
        assert len(tenant.inbox(second.store, "acme")) == 1 + len(sent)
    finally:
        second.stop()

    env = cli_env(running.url, sqlite_url)
    before = senderctl("webhooks", "failed", "-o", "json", env=env)
    # (the quick start's status events sent while no daemon ran, during the convergence above, are there)
    assert before.returncode in (0, 2) and all(a["address"] != "WebhookSubscription/inbound-sms-bob"
                                                for a in json.loads(before.stdout)), before.stderr

    # Down for longer than Bird retries: Bird gives up, and the operator is told which delivery.
    lost = text(bob, "after eight hours")
    admin.advance(sum(policy.WEBHOOK_RETRY_INTERVALS) + 60)
    listed = senderctl("webhooks", "failed", "-o", "json", env=env)
    assert listed.returncode == 2, listed.stderr
    (gave_up,) = [a for a in json.loads(listed.stdout) if a not in json.loads(before.stdout)]
    assert gave_up["requestId"] == lost["deliveries"][0]["requestId"]
    assert gave_up["address"] == "WebhookSubscription/inbound-sms-bob"
    assert gave_up["attempts"] == len(policy.WEBHOOK_RETRY_INTERVALS) + 1
    shown = senderctl("webhooks", "failed", env=env)
    assert gave_up["requestId"] in shown.stdout and "Bird gave up on" in shown.stdout and shown.returncode == 2
    third = ServedDaemon(specs, sqlite_url, running.url, port, bird_time)
    try:
        asyncio.run_coroutine_threadsafe(third.daemon.count_abandoned(), third.loop).result(WAIT)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        expected = len(json.loads(listed.stdout))
        assert f"senderctl_webhook_deliveries_abandoned {float(expected)}" in metrics
    finally:
        third.stop()
