"""Plans that agree with themselves, through the real `senderctl` process against the emulator: a fixed
REJECTED brand or campaign is waiting on its resubmission, not failed; an edit held by a PENDING review
never ends in "No changes"; pool members in number order; apply says what it forgot; status counts and
filters."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.engine.conftest import ACCESS_KEY, QUICKSTART, Emulator, senderctl

BRAND_REVIEW = 3600 + 60
FLOW_OLD = "and confirming their mobile number;"
FLOW_NEW = "and confirming their mobile number with a one-time code;"

POOL = """---
apiVersion: senderctl/v1
kind: NumberPool
metadata: {name: support}
spec:
  workspace: acme-main
  count: 12
  select: {country: US, type: local}
"""

LINE = """---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {name: line}
spec:
  workspace: acme-main
  select: {country: US, type: local}
"""


@pytest.fixture
def env(emulator: Emulator, state_url: str) -> dict[str, str]:
    return {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url, "NO_COLOR": "1"}


def run(*args: str, env: dict[str, str], codes: tuple[int, ...] = (0,)) -> tuple[str, str]:
    done = senderctl(*args, env=env)
    assert done.returncode in codes, (done.returncode, done.stdout, done.stderr)
    return done.stdout, done.stderr


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def decide(emulator: Emulator, kind: str, object_id: str, code: str) -> None:
    emulator.http.post("/_emulator/decide", json={"kind": kind, "id": object_id, "status": "REJECTED",
                                                  "rejection": {"code": code, "description": "fix it"}
                                                  }).raise_for_status()


def test_a_fixed_rejected_campaign_is_waiting_on_its_resubmission_not_failed(
        quickstart: Path, env: dict[str, str], emulator: Emulator) -> None:
    paths = str(quickstart)
    run("apply", paths, "--auto-approve", env=env)
    emulator.advance(BRAND_REVIEW)
    run("apply", paths, "--auto-approve", env=env)  # the campaign is registered, PENDING
    [campaign] = emulator.state()["campaigns"]
    decide(emulator, "campaign", campaign["id"], "CR4002")
    run("plan", paths, env=env, codes=(1,))  # rejected and not fixed: a failure CI must see

    edit(quickstart / "brand.yaml", FLOW_OLD, FLOW_NEW)
    text, _ = run("plan", paths, "--detailed-exitcode", env=env, codes=(2,))
    assert "Failed:" not in text and "update Campaign/acme-alerts" in text, text
    data = json.loads(run("plan", paths, "-o", "json", env=env)[0])
    assert data["failed"] == []
    [change] = [c for c in data["changes"] if c["address"] == "Campaign/acme-alerts"]
    assert change["action"] == "update" and "resubmit the REJECTED campaign" in change["reason"], change


def test_a_fixed_rejected_brand_is_waiting_on_its_resubmission_not_failed(
        quickstart: Path, env: dict[str, str], emulator: Emulator) -> None:
    paths = str(quickstart)
    run("apply", paths, "--auto-approve", env=env)
    [brand] = emulator.state()["brands"]
    decide(emulator, "brand", brand["id"], "BR101")
    edit(quickstart / "brand.yaml", "website: https://acme.example\n", "website: https://www.acme.example\n")
    text, _ = run("plan", paths, "--detailed-exitcode", env=env, codes=(2,))
    assert "Failed:" not in text and "update Brand/acme" in text, text


def test_an_edit_held_by_a_pending_review_says_what_it_waits_on(
        quickstart: Path, env: dict[str, str], emulator: Emulator) -> None:
    paths = str(quickstart)
    run("apply", paths, "--auto-approve", env=env)
    emulator.advance(BRAND_REVIEW)
    run("apply", paths, "--auto-approve", env=env)  # the campaign is PENDING review
    edit(quickstart / "brand.yaml", FLOW_OLD, FLOW_NEW)
    text, _ = run("plan", paths, "--detailed-exitcode", env=env)
    last = text.splitlines()[-1]
    assert "No changes. Bird and the records match the specs." not in text, text
    assert last.startswith("No changes can be applied now:") and "waiting on Bird" in last, last
    assert re.search(r"Campaign/acme-alerts — .*the change of messageFlow waits.*PENDING", text), text
    applied, _ = run("apply", paths, "--auto-approve", env=env)
    assert "match the specs" not in applied and "waiting: Campaign/acme-alerts" in applied, applied


def test_pool_members_are_listed_in_number_order(tmp_path: Path, env: dict[str, str]) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)
    edit(specs / "organization.yaml", "limit: 5", "limit: 20")
    (specs / "pool.yaml").write_text(POOL)
    data = json.loads(run("plan", str(specs), "-o", "json", env=env)[0])
    members = [a for a in [c["address"] for c in data["changes"]] + [w["address"] for w in data["waiting"]]
               if a.startswith("NumberPool/")]
    assert members == [f"NumberPool/support[{i}]" for i in range(12)], members
    listed, _ = run("status", str(specs), env=env)
    pool = [line.split(":")[0] for line in listed.splitlines() if line.startswith("NumberPool/")]
    assert pool == [f"NumberPool/support[{i}]" for i in range(12)], pool


def test_apply_prints_the_forget_lines_the_plan_listed(tmp_path: Path, env: dict[str, str]) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", specs)
    (specs / "line.yaml").write_text(LINE)
    run("apply", str(specs), "--auto-approve", env=env)
    (specs / "line.yaml").unlink()
    planned, _ = run("plan", str(specs), env=env)
    assert ". forget PhoneNumber/line" in planned, planned
    applied, _ = run("apply", str(specs), "--auto-approve", env=env)
    assert "✓ forget PhoneNumber/line" in applied.splitlines(), applied


def test_status_ends_with_a_summary_and_filters_what_is_not_ready(quickstart: Path, env: dict[str, str]) -> None:
    paths = str(quickstart)
    run("apply", paths, "--auto-approve", env=env)  # the brand is PENDING: most resources wait
    every, summary = run("status", paths, env=env)
    lines = every.splitlines()
    ready = [line for line in lines if line.split(": ")[1] == "Ready"]
    waiting = [line for line in lines if line.split(": ")[1] == "Waiting"]
    assert ready and waiting and len(ready) + len(waiting) == len(lines)
    assert summary.strip() == f"{len(lines)} resources: {len(ready)} Ready, {len(waiting)} Waiting, 0 Failed, 0 Paused"
    only, summary = run("status", paths, "--only", "not-ready", env=env)
    assert only.splitlines() == waiting
    assert summary.strip().endswith(f"({len(waiting)} listed)")
    as_json = json.loads(run("status", paths, "--only", "not-ready", "-o", "json", env=env)[0])
    assert [s["address"] for s in as_json] == [line.split(":")[0] for line in waiting]
