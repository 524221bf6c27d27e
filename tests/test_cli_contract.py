"""The CLI as a first-time user meets it: real `senderctl` processes against the emulator (CONTRACT.md)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import (  # noqa: F401 (emulator and quickstart are fixtures)
    ACCESS_KEY,
    ROOT,
    SIGNING_ENV,
    Emulator,
    emulator,
    quickstart,
    senderctl,
)


@pytest.fixture
def env(emulator: Emulator, sqlite_url: str) -> dict[str, str]:  # noqa: F811
    return {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": sqlite_url}


def test_plan_json_on_stdout_is_the_saved_plan_and_apply_accepts_it(
        quickstart: Path, env: dict[str, str], emulator: Emulator, tmp_path: Path) -> None:  # noqa: F811
    printed = senderctl("plan", str(quickstart), "-o", "json", "--out", str(tmp_path / "saved.json"), env=env)
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == json.loads((tmp_path / "saved.json").read_text())
    assert json.loads(printed.stdout)["paths"] == [str(quickstart)]
    redirected = tmp_path / "redirected.json"
    redirected.write_text(printed.stdout)  # `plan -o json > plan.json`, the shell way
    applied = senderctl("apply", "--plan", str(redirected), env=env)
    assert applied.returncode == 0, applied.stderr
    assert len(emulator.state()["brands"]) == 1


def test_a_saved_plan_without_paths_says_how_to_give_them(quickstart: Path, env: dict[str, str],  # noqa: F811
                                                         tmp_path: Path) -> None:
    printed = senderctl("plan", str(quickstart), "-o", "json", env=env)
    data = json.loads(printed.stdout)
    del data["paths"]
    (tmp_path / "plan.json").write_text(json.dumps(data))
    run = senderctl("apply", "--plan", str(tmp_path / "plan.json"), env=env)
    assert run.returncode == 1
    assert f"senderctl apply PATH... --plan {tmp_path / 'plan.json'}" in run.stderr


def test_a_file_that_is_not_a_plan_is_named_and_explained(quickstart: Path, env: dict[str, str]) -> None:  # noqa: F811
    run = senderctl("apply", "--plan", str(quickstart / "brand.yaml"), env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "cannot read saved plan" in run.stderr and "--out FILE" in run.stderr


def test_failed_resources_are_listed_once_per_line(quickstart: Path, env: dict[str, str]) -> None:  # noqa: F811
    unset = {**env, "SENDERCTL_DEMO_SIGNING_KEY": ""}
    text = senderctl("plan", str(quickstart), env=unset)
    assert text.returncode == 1
    assert text.stdout.count("SENDERCTL_DEMO_SIGNING_KEY is not set") == 7  # under Failed:, one per subscription
    assert "SENDERCTL_DEMO_SIGNING_KEY" not in text.stderr  # not repeated as one endless line
    assert "7 resource(s) failed" in text.stderr
    as_json = senderctl("plan", str(quickstart), "-o", "json", env=unset)
    assert as_json.returncode == 1
    failed_lines = [line for line in as_json.stderr.splitlines() if line.startswith("  WebhookSubscription/")]
    assert len(failed_lines) == 7 and all("SENDERCTL_DEMO_SIGNING_KEY" in line for line in failed_lines)
    assert len(json.loads(as_json.stdout)["failed"]) == 7


def test_numbers_mine_says_it_once(quickstart: Path, env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    # A saved plan buys alice's number before it can be assigned: it is the organization's default sender.
    assert senderctl("plan", str(quickstart), "--out", str(tmp_path / "plan.json"), env=env).returncode == 0
    assert senderctl("apply", "--plan", str(tmp_path / "plan.json"), env=env).returncode == 0
    run = senderctl("numbers", "mine", "--org", "acme", "--user", "nobody@acme.example", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("has no number of their own") == 1
    assert "sending from the organization's default number +1" in run.stdout


def test_every_change_in_the_plan_json_has_the_contract_keys(quickstart: Path, env: dict[str, str]) -> None:  # noqa: F811
    data = json.loads(senderctl("plan", str(quickstart), "-o", "json", env=env).stdout)
    assert {"format_version", "fingerprint", "changes", "waiting", "summary"} <= set(data)
    for change in data["changes"]:
        assert {"address", "action", "reason", "before", "after", "cost"} <= set(change), change["address"]
        assert set(change["cost"]) == {"currency", "monthly", "weekly", "one_time"}, change["address"]
    free = next(c for c in data["changes"] if c["address"].startswith("WebhookSubscription/"))
    assert free["cost"] == {"currency": "USD", "monthly": "0", "weekly": "0", "one_time": "0"}


@pytest.mark.parametrize("command", ["apply", "import"])
def test_a_negative_lock_timeout_is_a_usage_error(command: str, quickstart: Path, env: dict[str, str]) -> None:  # noqa: F811
    run = senderctl(command, str(quickstart), "--lock-timeout", "-1", env=env)
    assert run.returncode == 2 and "--lock-timeout" in run.stderr and "Traceback" not in run.stderr


def test_apply_of_a_saved_plan_names_what_became_possible(quickstart: Path, env: dict[str, str],  # noqa: F811
                                                          tmp_path: Path) -> None:
    assert senderctl("plan", str(quickstart), "--out", str(tmp_path / "plan.json"), env=env).returncode == 0
    run = senderctl("apply", "--plan", str(tmp_path / "plan.json"), env=env)
    assert run.returncode == 0, run.stderr
    hint = next(line for line in run.stdout.splitlines() if line.startswith("Now possible, not yet applied:"))
    assert "Assignment/alice-line" in hint and "apply again" in hint
    again = senderctl("apply", str(quickstart), "--auto-approve", env=env)
    assert again.returncode == 0 and "Now possible" not in again.stdout, again.stdout


def test_a_plan_that_cannot_be_saved_is_an_error_not_a_traceback(quickstart: Path, env: dict[str, str],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "plan.json"
    run = senderctl("plan", str(quickstart), "--out", str(target), env=env)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"cannot save the plan to {target}" in run.stderr


def read_terminal_until(fd: int, marker: bytes, timeout: float = 60) -> bytes:
    """Everything the process wrote to its terminal until `marker` (or the timeout, or its exit)."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the process closed its terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_approval_prompt_is_not_drawn_over_by_the_progress_display(
        quickstart: Path, env: dict[str, str], emulator: Emulator) -> None:  # noqa: F811
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "cli", "apply", str(quickstart)], stdin=child, stdout=child,
                               stderr=child, env={**os.environ, **SIGNING_ENV, **env}, cwd=str(ROOT))
    os.close(child)
    try:
        before_prompt = read_terminal_until(main, b"Apply these changes?")
        assert b"Apply these changes?" in before_prompt, before_prompt[-2000:]
        assert b"applying" not in before_prompt  # no spinner while the user reads the plan
        os.write(main, b"n\n")
        read_terminal_until(main, b"not approved")
        assert process.wait(timeout=30) == 3
    finally:
        process.kill()
        os.close(main)
    assert emulator.state()["brands"] == []
