"""`senderctl daemon --webhook-listen`: webhooks received by processes of their own, over real HTTP, on a
real SQLite file and a real PostgreSQL database, with the leader in the daemon's own process draining what they record."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from bench import run as bench
from controller.bird.signing import signed_headers
from tests.daemon.conftest import SIGNING_KEY, free_port, quickstart_copy, wait_until

pytestmark = pytest.mark.timeout(120)

BURST, SENDERS = 200, 8


def receivers_ready(d, wanted: int = 2) -> bool:
    ready = d.get("/readyz")
    return ready.status_code == 200 and ready.json()["webhookReceivers"]["alive"] == wanted


def campaign_events(count: int, run: str, url: str) -> list[bytes]:
    """Signed 10dlc.campaign deliveries, each its own event (request id, body), as raw HTTP/1.1 requests."""
    now, port = str(int(time.time())), url.split(":")[2].split("/")[0]
    requests = []
    for i in range(count):
        body = json.dumps({"service": "numbers", "event": "10dlc.campaign",
                           "payload": {"id": f"{run}-campaign-{i}", "status": "PENDING"}}).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(SIGNING_KEY, now, url, body, f"{run}-{i}").items())
        requests.append((f"POST /webhooks/bird HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
                         f"content-length: {len(body)}\r\n{head}\r\n").encode() + body)
    return requests


def send(port: int, requests: list[bytes], senders: int) -> list[int]:
    """The answers' statuses, from keep-alive connections each sending its share one after another."""
    statuses = asyncio.run(asyncio.wait_for(bench.send_concurrently(port, requests, senders), 60))
    return sorted(statuses.elements())


def inbox_rows(state_url: str, run: str) -> list[tuple[str, str]]:
    engine = sqlalchemy.create_engine(state_url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(sqlalchemy.text(
                "SELECT request_id, received_by FROM webhook_events WHERE request_id LIKE :run"), {"run": f"{run}-%"})]
    finally:
        engine.dispose()


def webhooks_counted(d) -> dict[tuple[str, str], float]:
    return {(s.labels["outcome"], s.labels["event"]): s.value
            for f in text_string_to_metric_families(d.get("/metrics").text) for s in f.samples
            if s.name == "senderctl_webhooks_total"}


def test_receivers_verify_record_and_hand_deliveries_to_the_leader(tmp_path, emulator, daemons, state_url):
    port, webhook_port = free_port(), free_port()
    specs = quickstart_copy(tmp_path / "specs", webhook_port)  # Bird's subscriptions point at the receivers
    d = daemons(specs, state_url, emulator.url, port=port,
                extra=("--webhook-listen", f"127.0.0.1:{webhook_port}", "--webhook-workers", "2"))
    d.wait_healthy()
    wait_until(lambda: receivers_ready(d), 40, "both webhook receivers ready")
    d.wait_event("reconcile.done", timeout=30)

    # Bird approves the brand: its signed 10dlc.brand goes to a receiver, and the leader acts on it.
    advanced = emulator.advance(3600 + 60)
    brand_hooks = [x for x in advanced["deliveries"] if x["event"] == "10dlc.brand"]
    assert brand_hooks and all(x["delivered"] and x["status"] == 200 for x in brand_hooks)
    wait_until(lambda: emulator.state()["campaigns"], 30, "the campaign the brand approval unblocks")
    accepted = d.wait_event("webhook.accepted", where=lambda e: e.get("role") == "receiver")[0]
    assert accepted["receiver"] in (0, 1)
    wait_until(lambda: webhooks_counted(d).get(("accepted", "10dlc.brand"), 0) >= 1, 10,
               "the receiver's count in the daemon's /metrics")

    # Concurrent senders: every delivery answered, each recorded once, by the receivers (not the daemon).
    url = f"http://127.0.0.1:{webhook_port}/webhooks/bird"
    statuses = send(webhook_port, campaign_events(BURST, "burst", url), SENDERS)
    assert statuses == [200] * BURST
    rows = inbox_rows(state_url, "burst")
    assert sorted(r for r, _ in rows) == sorted(f"burst-{i}" for i in range(BURST))
    daemon_identity = f"pid={d.proc.pid} "
    assert not [by for _, by in rows if by.startswith(daemon_identity)]
    replay = send(webhook_port, campaign_events(1, "burst", url), 1)
    assert replay == [200] and len(inbox_rows(state_url, "burst")) == BURST
    wait_until(lambda: webhooks_counted(d).get(("replay", "10dlc.campaign"), 0) >= 1, 10, "the replay counted")

    # The receivers' port serves the webhook and its health only; the API, /metrics and /ui stay on --listen.
    with httpx.Client(base_url=f"http://127.0.0.1:{webhook_port}", timeout=5) as receiver:
        assert receiver.get("/healthz").status_code == 200
        assert receiver.get("/metrics").status_code == 404
        assert receiver.get("/v1/organizations").status_code == 404
        assert receiver.post("/webhooks/bird", content=b"{}").status_code == 401

    # A receiver that dies is started again; deliveries meanwhile go to the other or wait in the backlog.
    worker = int(rows[0][1].split()[0].removeprefix("pid="))
    os.kill(worker, signal.SIGKILL)
    d.wait_event("receiver.exited", timeout=20)
    wait_until(lambda: receivers_ready(d), 40, "the receiver started again")
    assert send(webhook_port, campaign_events(20, "after", url), 4) == [200] * 20

    # SIGTERM stops the daemon and its receivers.
    pids = {int(by.split()[0].removeprefix("pid=")) for _, by in inbox_rows(state_url, "after")}
    code, _ = d.terminate()
    assert code == 0
    for pid in pids:
        wait_until(lambda pid=pid: gone(pid), 10, f"receiver {pid} gone")


def gone(pid: int) -> bool:
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def test_webhook_listen_must_differ_from_listen():
    from cli import cli

    result = CliRunner().invoke(cli, ["daemon", "specs", "--listen", "127.0.0.1:8080",
                                      "--webhook-listen", "127.0.0.1:8080"])
    assert result.exit_code == 2
    assert "a port of their own" in result.output


def test_webhook_workers_needs_a_count_of_at_least_one():
    from cli import cli

    result = CliRunner().invoke(cli, ["daemon", "specs", "--webhook-listen", "127.0.0.1:8081", "--webhook-workers", "0"])
    assert result.exit_code == 2
    assert "--webhook-workers" in result.output


def test_webhook_workers_without_an_address_is_refused():
    from cli import cli

    result = CliRunner().invoke(cli, ["daemon", "specs", "--webhook-workers", "4"])
    assert result.exit_code == 2
    assert "add --webhook-listen" in result.output


def children() -> set[int]:
    """This process's child processes (the receivers a pool started here)."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_receivers_that_ctrl_c_ends_with_the_daemon_are_not_started_again(anyio_backend, sqlite_url, caplog):
    """Ctrl-C reaches the receivers as it reaches the daemon; they may exit before the daemon stops them
    (a reconcile in flight holds its shutdown). That is no failure to log, nor a reason to start them again."""
    from controller.daemon.config import DaemonOptions
    from controller.daemon.main import bind
    from controller.daemon.receivers import ReceiverPool
    from controller.state import StateStore
    from tests.daemon.conftest import QUICKSTART

    StateStore.open(sqlite_url).close()
    sock = bind("127.0.0.1", 0, flag="--webhook-listen")
    options = DaemonOptions(paths=(str(QUICKSTART),), state_url=sqlite_url, bird_url="http://127.0.0.1:9",
                            webhook_listen=f"127.0.0.1:{sock.getsockname()[1]}",
                            extra_environ={"BIRD_ACCESS_KEY": "unused", "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY})
    stopping = asyncio.Event()
    before = children()
    pool = ReceiverPool(options, sock, stopping=stopping, on_recorded=lambda: None, on_counts=lambda *_: None)
    running = asyncio.create_task(pool.run())
    try:
        for _ in range(600):
            if pool.alive == 2:
                break
            await asyncio.sleep(0.1)
        assert pool.alive == 2
        workers = children() - before
        stopping.set()  # the daemon's own SIGINT handler
        for pid in workers:
            os.kill(pid, signal.SIGINT)  # the terminal's Ctrl-C, to the whole process group
        await asyncio.wait_for(running, 30)  # every worker gone, none started again
        assert not [r for r in caplog.records if getattr(r, "event", "") == "receiver.exited"]
        assert not children() - before
    finally:
        await pool.stop()
        await asyncio.gather(running, return_exceptions=True)
        sock.close()
