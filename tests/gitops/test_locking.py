"""State locking through the real CLI, on SQLite and PostgreSQL: a second apply waits up to
--lock-timeout and then fails naming the holder; a lock left by a SIGKILLed apply is stale and
taken over; `senderctl force-unlock` releases a lock whose holder hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.state import StateStore
from tests.gitops.conftest import Bird, Senderctl

HOLD_SECONDS = 4


def slow_bird(bird: Bird) -> None:
    """The next brand listing hangs a few seconds (then 504, and the client reads again): an apply
    that holds the lock that long."""
    bird.fault(method="GET", route="/workspaces/{workspaceId}/tcr-brands", effect="timeout",
               seconds=HOLD_SECONDS, times=1)


def wait_for_holder(state_url: str, pid: int, deadline: float = 60) -> str:
    store = StateStore.open(state_url)
    try:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            holder = store.lock_holder()
            if holder is not None and holder.pid == pid:
                return holder.describe()
            time.sleep(0.05)
        raise AssertionError(f"apply pid {pid} never took the lock")
    finally:
        store.close()


def holder_pid(state_url: str) -> int | None:
    store = StateStore.open(state_url)
    try:
        holder = store.lock_holder()
        return holder.pid if holder else None
    finally:
        store.close()


@contextmanager
def apply_in_background(senderctl: Senderctl, specs: Path) -> Iterator[subprocess.Popen]:
    process = senderctl.popen("apply", str(specs), "--auto-approve")
    try:
        yield process
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def test_a_second_apply_waits_then_fails_naming_the_holder(specs: Path, bird: Bird, senderctl: Senderctl,
                                                            state_url: str) -> None:
    slow_bird(bird)
    with apply_in_background(senderctl, specs) as first:
        wait_for_holder(state_url, first.pid)
        # Hold the first apply still while it has the lock, however slowly the others start up.
        os.kill(first.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            refused = senderctl("apply", str(specs), "--auto-approve", "--lock-timeout", "1")
            waited = time.monotonic() - started
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert f"locked by senderctl apply pid={first.pid}" in refused.stderr, refused.stderr
            assert "--lock-timeout" in refused.stderr and "force-unlock" in refused.stderr
            assert waited >= 1
            patient = senderctl.popen("apply", str(specs), "--auto-approve", "--lock-timeout", "120")
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=120) == 0, first.communicate()
        out, err = patient.communicate(timeout=120)
    assert patient.returncode == 0, out + err  # it waited for the first, then applied (nothing left to do)
    assert len(bird.state()["brands"]) == 1


def test_a_killed_apply_leaves_a_stale_lock_that_the_next_apply_takes_over(
        specs: Path, bird: Bird, senderctl: Senderctl, state_url: str) -> None:
    slow_bird(bird)
    with apply_in_background(senderctl, specs) as killed:
        wait_for_holder(state_url, killed.pid)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
    assert holder_pid(state_url) == killed.pid  # the record of the dead holder is left behind

    run = senderctl("apply", str(specs), "--auto-approve", "--lock-timeout", "0")
    assert run.returncode == 0, run.stdout + run.stderr
    assert holder_pid(state_url) is None


def test_force_unlock_releases_the_lock_of_a_hung_apply(specs: Path, bird: Bird, senderctl: Senderctl,
                                                         state_url: str) -> None:
    slow_bird(bird)
    with apply_in_background(senderctl, specs) as hung:
        wait_for_holder(state_url, hung.pid)
        os.kill(hung.pid, signal.SIGSTOP)  # alive but stuck: not stale, nobody may take its lock
        try:
            blocked = senderctl("apply", str(specs), "--auto-approve", "--lock-timeout", "0.5")
            assert blocked.returncode == 1 and f"pid={hung.pid}" in blocked.stderr, blocked.stdout + blocked.stderr

            unlocked = senderctl("force-unlock")
            assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
            assert "lock released" in unlocked.stdout
            assert holder_pid(state_url) is None
            run = senderctl("apply", str(specs), "--auto-approve", "--lock-timeout", "0")
            assert run.returncode == 0, run.stdout + run.stderr
        finally:
            os.kill(hung.pid, signal.SIGKILL)
