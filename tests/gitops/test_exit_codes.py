"""Exit codes exactly as CONTRACT.md, through the real `senderctl` process: 0 ok, 1 error, 2 changes
(plan --detailed-exitcode), 3 refused. Refusals by the safety rails are in test_safety_rails.py."""

from __future__ import annotations

import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.gitops.conftest import QUICKSTART, Bird, Senderctl


def run_together(senderctl: Senderctl, *calls: tuple[tuple[str, ...], dict[str, str]]) -> list[subprocess.CompletedProcess]:
    """Independent commands at once: the machine waits on Bird retries, not on each other."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: senderctl(*call[0], env=call[1]), calls))


def test_detailed_exitcode_says_whether_there_are_changes(bird: Bird, sqlite_senderctl: Senderctl,
                                                          tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)  # the organization and its workspace: no approvals

    saved = tmp_path / "plan.json"
    changes, plain = run_together(
        sqlite_senderctl,
        (("plan", str(specs), "-o", "markdown", "--out", str(saved), "--detailed-exitcode"), {}),
        (("plan", str(specs)), {}),
    )
    assert changes.returncode == 2, changes.stdout + changes.stderr
    assert plain.returncode == 0, plain.stderr  # without the flag, changes are not an error
    # What CI posts on the pull request: the summary first; the file saved beside it is the JSON plan.
    assert changes.stdout.startswith("### senderctl plan\n\n> **Note: the state"), changes.stdout[:200]  # empty
    assert "holds no records" in changes.stdout.split("\n")[2] and "\n\n**Plan: 1 to create," in changes.stdout
    assert {"create": 1, "adopt": 1}.items() <= json.loads(saved.read_text())["summary"].items()
    sqlite_senderctl.apply(str(specs))
    none = sqlite_senderctl("plan", str(specs), "--detailed-exitcode", "-o", "json")
    assert none.returncode == 0, none.stdout + none.stderr
    assert json.loads(none.stdout)["changes"] == []


def test_errors_exit_1_with_a_message_and_no_traceback(specs: Path, bird: Bird, sqlite_senderctl: Senderctl,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(specs, broken)
    (broken / "campaign.yaml").write_text("apiVersion: senderctl/v1\nkind: Campaign\nmetadata: {name: extra}\n"
                                          "spec: {brand: nowhere}\n")
    no_key = {"BIRD_ACCESS_KEY": ""}
    wrong_key = {"BIRD_ACCESS_KEY": "not-the-key"}
    unreachable = {"BIRD_API_URL": "http://127.0.0.1:1"}  # nothing listens on port 1
    runs = run_together(
        sqlite_senderctl,
        (("plan", str(broken)), {}),
        (("apply", str(broken), "--auto-approve"), {}),
        (("plan", str(specs)), no_key),
        (("apply", str(specs), "--auto-approve"), no_key),
        (("plan", str(specs), "-o", "json"), wrong_key),
        (("plan", str(specs)), unreachable),
    )
    for run in runs:
        assert run.returncode == 1, (run.args, run.stdout, run.stderr)
        assert "Traceback" not in run.stderr, run.stderr
    invalid_plan, invalid_apply, no_key_plan, no_key_apply, wrong_key_plan, unreachable_plan = runs
    for run in (invalid_plan, invalid_apply):
        assert f"{broken / 'campaign.yaml'}:4:7: Campaign/extra: spec.name:" in run.stderr, run.stderr
    for run in (no_key_plan, no_key_apply):
        assert "BIRD_ACCESS_KEY is not set" in run.stderr
    assert "401" in wrong_key_plan.stderr and "BIRD_ACCESS_KEY" in wrong_key_plan.stderr
    # Bird could not be read: the run stops, nothing is planned from what looked like an empty list.
    assert wrong_key_plan.stdout == "", wrong_key_plan.stdout
    assert "not-the-key" not in wrong_key_plan.stdout + wrong_key_plan.stderr
    assert "could not connect" in unreachable_plan.stderr and "Check the Bird URL" in unreachable_plan.stderr
    assert bird.state()["brands"] == [] and bird.state()["webhookSubscriptions"] == []
