"""Outages: the emulator stopped in the middle of an apply, and this test's own PostgreSQL database
losing every connection mid-apply (pg_terminate_backend on our database only: what a server restart
looks like to the client; the shared server itself is never restarted). The apply ends with a clear
message and exit 1 (or finishes), never a traceback; the next run finishes the job, nothing twice."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from controller.emulator.app import create_app
from controller.emulator.server import KEEP_ALIVE_SECONDS
from tests.proof.harness import (
    apply_in_process,
    cli_env,
    duplicates,
    pending_changes,
    record,
    start_cli,
    wait_cli,
    world_counts,
)
from tests.support import EmulatorAdmin

pytestmark = pytest.mark.slow
NUMBERS_BUY = "/workspaces/{workspaceId}/numbers-long-code"  # Bird "Buy a Number"


class RestartableEmulator:
    """One emulator app (its objects survive) served, stopped and served again on one port."""

    def __init__(self) -> None:
        self.app = create_app()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(self.app, log_level="critical", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=0, timeout_keep_alive=KEEP_ALIVE_SECONDS)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.server.force_exit = True
        self.thread.join(10)


@pytest.fixture
def restartable() -> Iterator[RestartableEmulator]:
    emulator = RestartableEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def held_purchases(admin: EmulatorAdmin) -> int:
    return admin.request_counts()["byRoute"].get(f"POST {NUMBERS_BUY}", 0)


def assert_clear_failure(code: int, output: str) -> None:
    assert "Traceback" not in output, output[-3000:]
    assert code in (0, 1), (code, output[-2000:])
    if code == 1:
        assert "error" in output.lower(), output[-2000:]


def test_the_emulator_stopped_mid_apply(restartable: RestartableEmulator, quickstart: Path, sqlite_url: str) -> None:
    admin = EmulatorAdmin(restartable.url)
    # The purchase hangs (then would answer 504): Bird goes away while the apply waits for it.
    admin.fault(method="POST", route=NUMBERS_BUY, effect="timeout", seconds=5)
    started = start_cli("apply", str(quickstart), "--auto-approve", env=cli_env(restartable.url, sqlite_url))
    wait_for(lambda: held_purchases(admin) >= 1, 120, "the apply's purchase")
    admin.close()
    restartable.stop()
    code, output = wait_cli(started)
    assert code == 1, output[-2000:]
    assert_clear_failure(code, output)
    restartable.start()
    admin = EmulatorAdmin(restartable.url)
    admin.http.delete("/_emulator/faults")
    apply_in_process(quickstart, restartable.url, sqlite_url)
    if pending_changes(quickstart, restartable.url, sqlite_url):
        apply_in_process(quickstart, restartable.url, sqlite_url)
    assert pending_changes(quickstart, restartable.url, sqlite_url) == []
    assert not any(duplicates(admin).values()) and world_counts(admin)["numbers"] == 1
    record("outage_emulator", exit_code=code, message=output.strip().splitlines()[-1][:200], duplicates_found=0)
    admin.close()


def terminate_backends(postgres_url: str) -> int:
    """End every connection to this test's database (and only it)."""
    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL

    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_postgresql_connections_lost_mid_apply(restartable: RestartableEmulator, quickstart: Path,
                                               postgres_url: str) -> None:
    admin = EmulatorAdmin(restartable.url)
    admin.fault(method="POST", route=NUMBERS_BUY, effect="commit-then-fail", times=1)
    admin.fault(method="POST", route="/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions",
                effect="timeout", seconds=3, times=1)
    started = start_cli("apply", str(quickstart), "--auto-approve", env=cli_env(restartable.url, postgres_url))
    wait_for(lambda: admin.request_counts()["byRoute"].get(
        "POST /organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions", 0) >= 1, 120,
        "the apply's first subscription")
    ended = terminate_backends(postgres_url)
    code, output = wait_cli(started)
    assert_clear_failure(code, output)
    admin.http.delete("/_emulator/faults")
    for _ in range(2):
        apply_in_process(quickstart, restartable.url, postgres_url)
        if not pending_changes(quickstart, restartable.url, postgres_url):
            break
    assert pending_changes(quickstart, restartable.url, postgres_url) == []
    assert not any(duplicates(admin).values()) and world_counts(admin)["numbers"] == 1
    record("outage_postgresql", connections_ended=ended, exit_code=code,
           message=output.strip().splitlines()[-1][:200] if output.strip() else "", duplicates_found=0)
    admin.close()
