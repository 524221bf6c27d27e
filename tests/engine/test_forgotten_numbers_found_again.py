"""Forgotten numbers are found again before anything is bought.

A number the organization owns on Bird that no record manages — forgotten by an Orphan removal,
or bought by anyone — and that matches a selection (workspace, selection, campaign link) is adopted
before any purchase, whatever the state holds; the plan names it and who forgot it. A pool lowered
and raised again, or a document deleted and restored, ends with the numbers it had, not new ones.
When the organization's limit is full of forgotten numbers, the refusal says so."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from controller.state import StateStore
from tests.engine.conftest import ACCESS_KEY, QUICKSTART, Emulator, senderctl
from tests.engine.test_apply_emulator import APPROVAL_STEPS

POOL = """\
apiVersion: senderctl/v1
kind: NumberPool
metadata:
  name: support-pool
spec:
  workspace: acme-main
  count: {count}
  select: {{country: US, type: local}}
  campaign: acme-alerts
"""

EXTRA = """\
---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata:
  name: extra-line
spec:
  workspace: acme-main
  select: {country: US, type: tollfree}
"""


def pool_specs(tmp_path: Path, count: int, limit: int = 8) -> Path:
    specs = tmp_path / "pool-specs"
    specs.mkdir(exist_ok=True)
    shutil.copy(QUICKSTART / "brand.yaml", specs / "brand.yaml")
    org = (QUICKSTART / "organization.yaml").read_text()
    (specs / "organization.yaml").write_text(org.replace("limit: 5", f"limit: {limit}"))
    (specs / "pool.yaml").write_text(POOL.format(count=count))
    return specs


def env_for(emulator: Emulator, state_url: str) -> dict[str, str]:
    return {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url}


def apply(specs: Path, env: dict[str, str], *flags: str) -> str:
    run = senderctl("apply", str(specs), "--auto-approve", *flags, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def converge(specs: Path, env: dict[str, str], emulator: Emulator) -> None:
    for seconds in APPROVAL_STEPS:
        if seconds:
            emulator.advance(seconds)
        apply(specs, env)


def numbers_on_bird(emulator: Emulator) -> set[str]:
    return {n["number"] for n in emulator.state()["numbers"]}


def bird_ids_held(state_url: str) -> list[str]:
    with StateStore.open(state_url) as store:
        return [r.bird_id for r in store.records().values() if r.kind in ("PhoneNumber", "NumberPool") and r.bird_id]


def test_a_pool_lowered_then_raised_adopts_its_forgotten_numbers(
        tmp_path: Path, emulator: Emulator, state_url: str) -> None:
    env = env_for(emulator, state_url)
    specs = pool_specs(tmp_path, 5)
    converge(specs, env, emulator)
    five = numbers_on_bird(emulator)
    assert len(five) == 5

    pool_specs(tmp_path, 2)
    apply(specs, env)
    assert len(bird_ids_held(state_url)) == 2
    assert numbers_on_bird(emulator) == five  # Orphan: forgotten, still owned and billed on Bird
    listed = senderctl("numbers", "list", "--org", "acme", env=env)
    assert listed.returncode == 0 and listed.stdout.count("forgotten by NumberPool/support-pool[") == 3, listed.stdout

    pool_specs(tmp_path, 5)
    plan = senderctl("plan", str(specs), env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    text = plan.stdout
    assert "create" not in re.sub(r"\d+ to create", "", text), text
    for i in (2, 3, 4):
        assert re.search(rf"= adopt NumberPool/support-pool\[{i}\]\n\s+reason: \+1\d+ \(forgotten by "
                         rf"NumberPool/support-pool\[{i}\] on \d{{4}}-\d\d-\d\d\)", text), text
    apply(specs, env)
    assert numbers_on_bird(emulator) == five  # 5 on Bird, not 8
    held = bird_ids_held(state_url)
    assert len(held) == len(set(held)) == 5
    final = senderctl("plan", str(specs), "--detailed-exitcode", env=env)
    assert final.returncode == 0, final.stdout + final.stderr


def test_a_deleted_and_restored_phone_number_gets_its_number_back(
        quickstart: Path, emulator: Emulator, state_url: str) -> None:
    env = env_for(emulator, state_url)
    converge(quickstart, env, emulator)
    before = numbers_on_bird(emulator)
    assert len(before) == 2
    numbers = quickstart / "numbers.yaml"
    original = numbers.read_text()
    hooks = quickstart / "webhooks.yaml"
    original_hooks = hooks.read_text()
    numbers.write_text(original.split("---\n", 1)[0])  # bob-line deleted
    hooks.write_text("---\n".join(d for d in original_hooks.split("---\n") if "bob-line" not in d))
    apply(quickstart, env)

    numbers.write_text(original)  # restored, as by a revert
    hooks.write_text(original_hooks)
    out = apply(quickstart, env)
    assert "forgotten by PhoneNumber/bob-line" in out or "adopt PhoneNumber/bob-line" in out, out
    assert numbers_on_bird(emulator) == before
    final = senderctl("plan", str(quickstart), "--detailed-exitcode", env=env)
    assert final.returncode == 0, final.stdout + final.stderr


def test_a_new_state_adopts_forgotten_numbers_without_import(
        tmp_path: Path, emulator: Emulator, sqlite_url: str) -> None:
    """Numbers the organization holds that no state knows (a lost state, bought by anyone) are adopted by
    a plain apply, before any purchase."""
    env = env_for(emulator, sqlite_url)
    specs = pool_specs(tmp_path, 3)
    converge(specs, env, emulator)
    three = numbers_on_bird(emulator)
    env["SENDERCTL_STATE"] = f"sqlite:///{tmp_path / 'other.db'}"
    converge(specs, env, emulator)
    assert numbers_on_bird(emulator) == three


@pytest.mark.parametrize("count", [2])
def test_a_limit_full_of_forgotten_numbers_says_so(
        tmp_path: Path, emulator: Emulator, state_url: str, count: int) -> None:
    env = env_for(emulator, state_url)
    specs = pool_specs(tmp_path, 5, limit=5)
    converge(specs, env, emulator)
    pool_specs(tmp_path, count, limit=5)
    apply(specs, env)
    (specs / "pool.yaml").write_text(POOL.format(count=count) + EXTRA)  # a number no forgotten one matches
    refused = senderctl("plan", str(specs), env=env)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    text = " ".join(refused.stdout.split())
    assert "3 of them forgotten" in text and "senderctl state" in text, text
    assert "remove numbers from the specs" not in text, text
