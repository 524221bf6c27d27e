"""Recognisable access and signing keys are searched in every output senderctl makes — text, JSON and
Markdown plans, the saved plan file, apply, status, import, the tenant views, billing, state list/show,
the daemon's log — and in every column of every table of the state database, on SQLite and on
PostgreSQL: 0 occurrences. The signing key is rotated mid-way, so the old and the new key both pass
through an update."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proof.harness import QUICKSTART, ROOT, STAGES, private_specs, record, senderctl

ACCESS_KEY = "ak-proof-ACCESS-5f1e2d9c"
OLD_KEY = "sk-proof-OLDSIGNING-a41b"
NEW_KEY = "sk-proof-NEWSIGNING-c93d"
NOTIFY_KEY = "nk-proof-NOTIFY-77e0"
SECRETS = (ACCESS_KEY, OLD_KEY, NEW_KEY, NOTIFY_KEY)


@pytest.fixture
def keyed_emulator() -> Iterator[str]:
    from controller.emulator.server import running_emulator
    from controller.emulator.world import World

    world = World.from_dict({
        "organizations": [{"id": "11111111-1111-4111-8111-111111111111",
                           "resellers": [{"id": "33333333-3333-4333-8333-333333333333", "status": "ACTIVE"}],
                           "stock": [{"country": "US", "type": "local", "count": 50}],
                           "workspaces": [{"id": "22222222-2222-4222-8222-222222222222", "wallet": "1000.00"}]}],
        "accessKeys": [{"key": ACCESS_KEY, "organizations": ["11111111-1111-4111-8111-111111111111"]}]})
    with running_emulator(world=world) as running:
        yield running.url


def env_for(url: str, state_url: str, key: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDERCTL_CRASH")}
    env.update({"BIRD_API_URL": url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url,
                "SENDERCTL_DEMO_SIGNING_KEY": key})
    return env


def advance(url: str, seconds: int) -> None:
    import httpx

    httpx.post(f"{url}/_emulator/clock/advance", json={"seconds": seconds}, timeout=30).raise_for_status()


def database_text(state_url: str) -> str:
    """Every value of every column of every table, as text."""
    from sqlalchemy import MetaData, create_engine, select

    engine = create_engine(state_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        assert len(meta.tables) >= 5, sorted(meta.tables)
        parts = []
        with engine.connect() as conn:
            for table in meta.sorted_tables:
                for row in conn.execute(select(table)):
                    parts.append(f"{table.name}: " + " | ".join(map(str, row)))
        return "\n".join(parts)
    finally:
        engine.dispose()


def test_no_key_in_any_output_or_anywhere_in_the_state(keyed_emulator: str, state_url: str, tmp_path: Path) -> None:
    url = keyed_emulator
    specs = private_specs(QUICKSTART, tmp_path / "specs")
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, key: str = OLD_KEY, expect: tuple[int, ...] = (0,)) -> None:
        """The real CLI (click's command tree, renderers, exit codes) in process: a machine shared by
        eight sessions cannot afford a Python start-up per command."""
        from click.testing import CliRunner

        from cli import cli

        result = CliRunner().invoke(cli, list(args), env=env_for(url, state_url, key), catch_exceptions=False)
        assert result.exit_code in expect, (name, result.exit_code, result.output[-2000:])
        outputs[name] = result.output

    run("validate", "validate", str(specs))
    run("plan text", "plan", str(specs))
    run("plan json", "plan", str(specs), "-o", "json", "--out", str(tmp_path / "plan.json"))
    run("plan markdown", "plan", str(specs), "-o", "markdown")
    run("apply saved plan", "apply", "--plan", str(tmp_path / "plan.json"))
    run("show plan", "show", str(tmp_path / "plan.json"), "-o", "markdown")
    for n, seconds in enumerate(STAGES[1:4], start=1):
        advance(url, seconds)
        run(f"apply {n}", "apply", str(specs), "--auto-approve")
    # The signing key is rotated: every subscription is updated with the new one.
    run("plan rotated", "plan", str(specs), "-o", "json", key=NEW_KEY)
    run("apply rotated", "apply", str(specs), "--auto-approve", key=NEW_KEY)
    run("status", "status", str(specs), key=NEW_KEY)
    run("status json", "status", str(specs), "-o", "json", key=NEW_KEY)
    run("import", "import", str(specs), key=NEW_KEY)
    run("numbers list", "numbers", "list", "--org", "acme", "-o", "json")
    run("config", "config", "--org", "acme", "-o", "json")
    run("billing", "billing", "run", "--week", "2026-W48", "-o", "json")
    run("state list", "state", "list", "-o", "json")
    for address in ("WebhookSubscription/inbound-sms-alice", "Brand/acme"):
        run(f"state show {address}", "state", "show", address, "-o", "json")
    # A key Bird refuses (through a real process: logs and all): the error must not echo it.
    bad = senderctl("plan", str(specs), env={**env_for(url, state_url, NEW_KEY), "BIRD_ACCESS_KEY": ACCESS_KEY + "x"})
    outputs["refused key"] = bad.stdout + bad.stderr
    if state_url.startswith("sqlite"):
        outputs["daemon log"], payloads = daemon_log(specs, url, state_url, tmp_path)
        assert payloads, "the daemon sent no notification to search"
        outputs.update({f"notification {n}": p for n, p in enumerate(payloads)})
    files = {p.name: p.read_text(errors="replace") for p in tmp_path.rglob("*.json")}
    found = [(name, secret) for name, text in {**outputs, **files}.items() for secret in SECRETS if secret in text]
    stored = database_text(state_url)
    found += [("state database", secret) for secret in SECRETS if secret in stored]
    assert "acme" in stored and "WebhookSubscription/inbound-sms-alice" in stored  # the scan did read the tables
    backend = state_url.split(":", 1)[0].split("+", 1)[0]
    record(f"secrets_{backend}", outputs_searched=len(outputs) + len(files), database_rows_searched=stored.count("\n") + 1,
           secrets_found=len(found))
    assert not found, found


class Notifications:
    """A loopback receiver for the daemon's --notify: every body and header it was sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.append(str(dict(self.headers)) + "\n" + body.decode("utf-8", "replace"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def daemon_log(specs: Path, url: str, state_url: str, workdir: Path) -> tuple[str, list[str]]:
    """The daemon's JSON log over a reconcile and a refused webhook, and the notifications it sent."""
    import httpx

    notifications = Notifications()
    # A condition changes (Bird rejects the campaign, with its code): the daemon notifies that.
    campaign = httpx.get(f"{url}/_emulator/state", timeout=30).json()["campaigns"][0]["id"]
    httpx.post(f"{url}/_emulator/decide", timeout=30, json={
        "kind": "campaign", "id": campaign, "status": "REJECTED",
        "rejection": {"code": "CR4001", "description": "proof: rejected to make a notification"}}).raise_for_status()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = workdir / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "daemon", str(specs), "--listen", f"127.0.0.1:{port}", "--resync", "1h",
             "--state", state_url, "--bird-url", url, "--notify", notifications.url], cwd=str(ROOT),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**env_for(url, state_url, NEW_KEY), "SENDERCTL_NOTIFY_KEY": NOTIFY_KEY})
        try:
            deadline = time.monotonic() + 60
            while "reconcile.done" not in log.read_text(errors="replace"):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
            body = json.dumps({"event": "10dlc.brand", "payload": {"id": "x"}}).encode()
            httpx.post(f"http://127.0.0.1:{port}/webhooks/bird", content=body,
                       headers={"messagebird-signature": "bad", "messagebird-request-timestamp": str(int(time.time()))})
            deadline = time.monotonic() + 30
            while not notifications.received and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(20)
            notifications.close()
    return log.read_text(errors="replace"), list(notifications.received)
