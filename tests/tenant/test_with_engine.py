"""The tenant views after a real apply of the quick start against the emulator, and inbound SMS delivered
by the emulator (signed, over HTTP) to a local receiver that verifies and routes it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from controller import tenant
from controller.reconcile.engine import Settings
from controller.state import StateStore
from controller.tenant import InvalidWebhook, MalformedWebhook
from tests.engine.conftest import SIGNING_ENV, Emulator, emulator, quickstart, settings  # noqa: F401
from tests.engine.test_apply_emulator import converge
from tests.support import backdate_holdings
from tests.tenant.conftest import senderctl_json

SIGNING_KEY = SIGNING_ENV["SENDERCTL_DEMO_SIGNING_KEY"]


class Receiver:
    """A minimal webhook endpoint: verify Bird's signature, route the message, answer like the daemon."""

    def __init__(self, store: StateStore) -> None:
        self.results: list[tenant.RouteResult] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    result = tenant.handle_inbound_webhook(
                        store, headers=dict(self.headers.items()), body=body, url=receiver.url,
                        signing_keys=[SIGNING_KEY], now=datetime.now(UTC))
                    receiver.results.append(result)
                    status = 200
                except InvalidWebhook:
                    status = 401
                except MalformedWebhook:
                    status = 400
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/bird"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def routed(self) -> list[tenant.RouteResult]:
        return [r for r in self.results if r.outcome != "ignored"]


@pytest.fixture
def receiver(state_url: str) -> Iterator[Receiver]:
    store = StateStore.open(state_url)
    r = Receiver(store)
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    store.close()


@pytest.mark.slow
def test_quickstart_numbers_config_inbound_and_billing(quickstart: Path, settings: Settings,  # noqa: F811
                                                       emulator: Emulator, receiver: Receiver,  # noqa: F811
                                                       state_url: str) -> None:
    webhooks = quickstart / "webhooks.yaml"
    webhooks.write_text(webhooks.read_text().replace("http://127.0.0.1:8080/webhooks/bird", receiver.url))
    converge([str(quickstart)], settings, emulator)

    numbers = {r["assignee"]: r for r in senderctl_json(state_url, "numbers", "list", "--org", "acme")}
    assert set(numbers) == {"alice@acme.example", "bob@acme.example"}
    alice, bob = numbers["alice@acme.example"]["number"], numbers["bob@acme.example"]["number"]
    bird_numbers = {n["number"]: n for n in emulator.state()["numbers"]}
    assert set(bird_numbers) == {alice, bob}
    for row in numbers.values():
        assert (row["workspace"], row["status"], row["weeklyPrice"], row["currency"]) == (
            "acme-main", "assigned", "2.99", "USD")
        assert row["monthlyPrice"] is not None
    assert senderctl_json(state_url, "numbers", "available", "--org", "acme") == []
    config = senderctl_json(state_url, "config", "--org", "acme")
    assert (config["enabled"], config["limit"], config["used"], config["tenDlcActive"]) == (True, 5, 2, True)
    assert senderctl_json(state_url, "numbers", "mine", "--org", "acme", "--user", "bob@acme.example")["number"] == bob

    blockers = senderctl_json(state_url, "numbers", "blockers", "--org", "acme", alice)["blockers"]
    assert any(b.startswith("assigned to alice@acme.example") for b in blockers)
    assert any(b.startswith("Channel/") and "still sends from" in b for b in blockers)

    for to, text in ((alice, "hi alice"), (bob, "hi bob"), (alice, "again, alice")):
        answer = emulator.http.post("/_emulator/inbound", json={"to": to, "from": "+12125550123", "text": text})
        assert answer.status_code < 300, answer.text
    assert [(r.outcome, r.user) for r in receiver.routed()] == [
        ("routed", "alice@acme.example"), ("routed", "bob@acme.example"), ("routed", "alice@acme.example")]
    with StateStore.open(state_url) as store:
        assert [m["text"] for m in tenant.inbox(store, "acme", "alice@acme.example")] == ["hi alice", "again, alice"]
        assert [m["text"] for m in tenant.inbox(store, "acme", "bob@acme.example")] == ["hi bob"]
    assert senderctl_json(state_url, "numbers", "unrouted") == []

    week = backdate_holdings(state_url)  # billing bills ended weeks only
    first = senderctl_json(state_url, "billing", "run", "--week", week)
    again = senderctl_json(state_url, "billing", "run", "--week", week)
    assert (first["written"], again["written"], again["alreadyBilled"]) == (2, 0, 2)
    with StateStore.open(state_url) as store:
        rows = tenant.usage_logs(store, week=week)
    assert sorted((r["number"], r["assignee"], r["amount"]) for r in rows) == sorted(
        [(alice, "alice@acme.example", "2.99"), (bob, "bob@acme.example", "2.99")])
    assert json.dumps(rows)  # plain JSON, money as decimal strings
