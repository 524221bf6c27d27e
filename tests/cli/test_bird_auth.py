"""Bird's 401/403 stop the run: plan, status, import, apply and daemon start end with exit 1 before any
state write, naming the key's problem and never the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controller.state import StateStore
from tests.cli.conftest import Senderctl, environment
from tests.gitops.conftest import ROOT, Bird

WRONG_KEY = "wrong-key-4f1c9e"


def state_is_untouched(state_url: str) -> None:
    store = StateStore.open(state_url)
    try:
        assert store.records() == {} and store.conditions() == {}
        assert store.operations() == []
    finally:
        store.close()


@pytest.mark.parametrize("command", [["plan"], ["status"], ["import"], ["apply", "--auto-approve"]])
def test_a_wrong_key_stops_every_command_before_any_write(command: list[str], specs: Path, bird: Bird,
                                                          cli: Senderctl, state_url: str) -> None:
    run = cli(command[0], str(specs), *command[1:], env={"BIRD_ACCESS_KEY": WRONG_KEY})
    assert run.code == 1, run
    assert "Bird rejected the access key (401" in run.err and "BIRD_ACCESS_KEY is wrong" in run.err, run
    assert "0 adopted" not in run.out and "Waiting" not in run.out, run
    assert WRONG_KEY not in run.out + run.err
    assert bird.writes() == {}
    state_is_untouched(state_url)


def test_a_key_without_permission_stops_plan_and_apply(specs: Path, bird: Bird, cli: Senderctl,
                                                       state_url: str) -> None:
    bird.fault(method="GET", route="/organizations/{organizationId}/workspaces/{workspaceId}/webhook-subscriptions",
               effect="status", status=403, times=10)
    for command in (["plan"], ["apply", "--auto-approve"]):
        run = cli(command[0], str(specs), *command[1:])
        assert run.code == 1, run
        assert "the access key is not allowed to do this (403" in run.err, run
    assert bird.writes() == {}
    state_is_untouched(state_url)


def test_the_daemon_does_not_start_with_a_wrong_key(specs: Path, bird: Bird, sqlite_url: str,
                                                    tmp_path: Path) -> None:
    env = {**environment(bird.url, sqlite_url), "BIRD_ACCESS_KEY": WRONG_KEY, "PYTHONPATH": str(ROOT),
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "cli", "daemon", str(specs), "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, stdin=subprocess.DEVNULL)
    assert run.returncode == 1, run
    assert "Bird rejected the access key (401" in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert WRONG_KEY not in run.stdout + run.stderr
    assert bird.writes() == {}
