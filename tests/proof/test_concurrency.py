"""Concurrency: two applies at once, an apply while the daemon reconciles, billing from 4 processes,
two daemons on one PostgreSQL, and applies on two databases of one PostgreSQL server (their apply
locks are independent). Every run ends with the invariants: nothing on Bird twice, one usage row per
number and week, the assignments the specs declare."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.proof.harness import (
    ACCESS_KEY,
    ROOT,
    STAGES,
    apply_in_process,
    cli_env,
    duplicates,
    forked_cli,
    pending_changes,
    record,
    start_cli,
    state_assignments,
    usage_duplicates,
    users_of,
    wait_cli,
    world_counts,
)
from tests.support import EmulatorAdmin, backdate_holdings

pytestmark = pytest.mark.slow


def no_duplicates(emulator: EmulatorAdmin) -> None:
    found = {k: v for k, v in duplicates(emulator).items() if v}
    assert not found, found


def test_two_applies_at_once_buy_once(emulator: EmulatorAdmin, quickstart: Path, state_url: str) -> None:
    env = cli_env(emulator.url, state_url)
    runs = [start_cli("apply", str(quickstart), "--auto-approve", "--lock-timeout", "120", env=env) for _ in range(2)]
    results = [wait_cli(r) for r in runs]
    assert [code for code, _ in results] == [0, 0], results
    no_duplicates(emulator)
    assert world_counts(emulator)["numbers"] == 1 and world_counts(emulator)["brands"] == 1
    assert pending_changes(quickstart, emulator.url, state_url) == []


def test_without_waiting_the_second_apply_is_told_the_state_is_locked(emulator: EmulatorAdmin, quickstart: Path,
                                                                      state_url: str) -> None:
    from controller.state import StateStore

    env = cli_env(emulator.url, state_url)
    with StateStore.open(state_url) as store, store.apply_lock("a test holding the lock"):
        code, output = forked_cli("apply", str(quickstart), "--auto-approve", env=env)
    assert code == 1 and "locked" in output and "Traceback" not in output, output
    assert emulator.write_routes() == {}


def test_billing_from_four_processes_writes_each_row_once(emulator: EmulatorAdmin, quickstart: Path,
                                                          state_url: str) -> None:
    for seconds in STAGES[:4]:
        if seconds:
            emulator.advance(seconds)
        apply_in_process(quickstart, emulator.url, state_url)
    week = backdate_holdings(state_url)  # billing bills ended weeks: the numbers were bought "a week ago"
    env = cli_env(emulator.url, state_url)
    runs = [start_cli("billing", "run", "--week", week, env=env) for _ in range(4)]
    results = [wait_cli(r) for r in runs]
    assert all(code == 0 for code, _ in results), results
    from controller.state import StateStore
    from controller.state import tenant_repo as repo

    with StateStore.open(state_url) as store, store.transaction() as tx:
        rows = repo.usage_logs(tx, week=week)
    assert usage_duplicates(state_url) == 0
    assert len(rows) == world_counts(emulator)["numbers"] == 2
    record(f"concurrency_billing_{state_url.split(':')[0].split('+')[0]}", processes=4, usage_rows=len(rows),
           duplicates_found=0)


def daemon(specs: Path, state_url: str, bird_url: str, log: Path) -> subprocess.Popen:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "daemon", str(specs), "--listen", f"127.0.0.1:{port}", "--resync", "2s",
         "--state", state_url, "--bird-url", bird_url], cwd=str(ROOT), stdin=subprocess.DEVNULL,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env=cli_env(bird_url, state_url, {"BIRD_ACCESS_KEY": ACCESS_KEY}))


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_apply_while_the_daemon_reconciles(emulator: EmulatorAdmin, quickstart: Path, sqlite_url: str,
                                           tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    proc = daemon(quickstart, sqlite_url, emulator.url, log)
    try:
        wait_for(lambda: "reconcile.start" in log.read_text(errors="replace"), 60, "the daemon's reconcile")
        code, output = forked_cli("apply", str(quickstart), "--auto-approve", "--lock-timeout", "120",
                                  env=cli_env(emulator.url, sqlite_url))
        assert code == 0, output
        emulator.advance(STAGES[1])
        code, output = forked_cli("apply", str(quickstart), "--auto-approve", "--lock-timeout", "120",
                                  env=cli_env(emulator.url, sqlite_url))
        assert code == 0, output
        time.sleep(3)  # a resync of the daemon's in between
    finally:
        stop(proc)
    assert "Traceback" not in log.read_text(errors="replace")
    no_duplicates(emulator)
    counts = world_counts(emulator)
    assert counts["brands"] == 1 and counts["numbers"] == 1 and counts["campaigns"] == 1, counts


@pytest.mark.postgres
def test_two_daemons_on_one_postgresql_register_everything_once(emulator: EmulatorAdmin, quickstart: Path,
                                                               postgres_url: str, tmp_path: Path) -> None:
    logs = [tmp_path / "d1.log", tmp_path / "d2.log"]
    procs = [daemon(quickstart, postgres_url, emulator.url, log) for log in logs]
    try:
        wait_for(lambda: any("reconcile.done" in log.read_text(errors="replace") for log in logs), 90,
                 "a reconcile of the leader")
        emulator.advance(STAGES[1])
        time.sleep(6)  # resyncs every 2 s: the leader creates the campaign
    finally:
        for proc in procs:
            stop(proc)
    texts = [log.read_text(errors="replace") for log in logs]
    assert all("Traceback" not in text for text in texts)
    assert sum("reconcile.done" in text for text in texts) >= 1
    no_duplicates(emulator)
    counts = world_counts(emulator)
    assert counts["brands"] == 1 and counts["numbers"] == 1, counts
    assert users_of(state_assignments(postgres_url)) == {"acme": {"alice@acme.example"}}


@pytest.mark.postgres
def test_applies_on_two_databases_of_one_server_lock_independently(emulator: EmulatorAdmin, quickstart: Path,
                                                                   postgres_url: str, postgres_url_2: str) -> None:
    from controller.state import StateStore

    other = postgres_url_2
    with StateStore.open(postgres_url) as store, store.apply_lock("a test holding database one"):
        code, output = forked_cli("apply", str(quickstart), "--auto-approve", env=cli_env(emulator.url, other))
        assert code == 0, f"an apply on another database waited for this one's lock:\n{output}"
        code, output = forked_cli("apply", str(quickstart), "--auto-approve", env=cli_env(emulator.url, postgres_url))
        assert code == 1 and "locked" in output, output
