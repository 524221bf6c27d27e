"""Tried again as a new user would (issue 11): the README's quick start through the real `senderctl`
process against the emulator over HTTP, then the ordinary mistakes — the state deleted, a mistyped
--state, a 0-byte state.db, a PhoneNumber renamed, a channel renamed — and the emulator ends
holding exactly what the specs declare: 0 duplicate numbers, brands, campaigns, connectors or
subscriptions, and nothing charged twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.engine.conftest import ACCESS_KEY, QUICKSTART, Emulator, senderctl
from tests.engine.test_apply_emulator import APPROVAL_STEPS
from tests.engine.test_fresh_state_never_rebuys import duplicates, holdings

# What examples/quickstart declares.
DECLARED = {"numbers": 2, "brands": 1, "vettings": 1, "campaigns": 1, "connectors": 2, "webhookSubscriptions": 7}


def apply_until_ready(specs: Path, env: dict[str, str], emulator: Emulator, steps: tuple[int, ...] = (0,)) -> None:
    for seconds in steps:
        if seconds:
            emulator.advance(seconds)
        run = senderctl("apply", str(specs), "--auto-approve", env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Traceback" not in run.stderr


def assert_exactly_declared(emulator: Emulator, charged: dict[str, object]) -> None:
    held = holdings(emulator)
    assert {k: held[k] for k in DECLARED} == DECLARED, held
    assert not any(duplicates(emulator).values()), duplicates(emulator)
    assert (held["charges"], held["balance"]) == (charged["charges"], charged["balance"])


def test_the_quick_start_then_the_usual_mistakes_leave_exactly_the_specs_on_bird(
        tmp_path: Path, emulator: Emulator) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(QUICKSTART, specs)  # cp -r examples/quickstart specs
    state = tmp_path / "state.db"
    env = {"BIRD_API_URL": emulator.url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": f"sqlite:///{state}"}
    assert senderctl("validate", str(specs), env=env).returncode == 0
    planned = senderctl("plan", str(specs), "--out", str(tmp_path / "plan.json"), env=env)
    assert planned.returncode == 0, planned.stderr
    applied = senderctl("apply", "--plan", str(tmp_path / "plan.json"), env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    apply_until_ready(specs, env, emulator, APPROVAL_STEPS)
    status = senderctl("status", str(specs), env=env)
    assert status.returncode == 0 and all(line.endswith(": Ready") for line in status.stdout.splitlines()
                                          if not line.startswith("  can send: ")), status.stdout
    charged = holdings(emulator)
    assert_exactly_declared(emulator, charged)

    # 1. The state is deleted (a fresh checkout, a cleaned working directory).
    state.unlink()
    apply_until_ready(specs, env, emulator)
    assert_exactly_declared(emulator, charged)

    # 2. A mistyped --state: a new database beside the real one.
    mistyped = {**env, "SENDERCTL_STATE": f"sqlite:///{tmp_path / 'sate.db'}"}
    apply_until_ready(specs, mistyped, emulator)
    assert_exactly_declared(emulator, charged)

    # 3. A 0-byte state.db (a failed copy, `> state.db`): refused as a lost state, nothing written; once
    #    the user deletes it as the message says, the next apply adopts what Bird holds.
    state.write_bytes(b"")
    refused = senderctl("apply", str(specs), "--auto-approve", env=env)
    assert refused.returncode == 1 and "is empty (0 bytes)" in refused.stderr, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr and state.read_bytes() == b""
    assert_exactly_declared(emulator, charged)
    state.unlink()
    apply_until_ready(specs, env, emulator)
    assert_exactly_declared(emulator, charged)

    # 4. A PhoneNumber renamed, nothing else changed.
    numbers = specs / "numbers.yaml"
    numbers.write_text(numbers.read_text().replace("name: alice-line", "name: alice-phone"))
    hooks = specs / "webhooks.yaml"
    hooks.write_text(hooks.read_text().replace("phoneNumber: alice-line", "phoneNumber: alice-phone"))
    connectors = {c["id"] for c in emulator.state()["connectors"]}
    apply_until_ready(specs, env, emulator)
    assert {c["id"] for c in emulator.state()["connectors"]} == connectors
    assert_exactly_declared(emulator, charged)

    # 5. A channel renamed: Bird cannot rename a connector, so it is recreated (one per number).
    numbers.write_text(numbers.read_text().replace("channelName: Bob (Acme alerts)", "channelName: Bob's alerts"))
    plan = senderctl("plan", str(specs), env=env)
    assert "No changes" not in plan.stdout and "replace" in plan.stdout, plan.stdout
    apply_until_ready(specs, env, emulator, (0, 15 * 60 + 60))
    assert "Bob's alerts" in {c["name"] for c in emulator.state()["connectors"]}
    assert_exactly_declared(emulator, charged)
    final = senderctl("plan", str(specs), "--detailed-exitcode", env=env)
    assert final.returncode == 0, final.stdout
