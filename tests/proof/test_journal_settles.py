"""An update killed after Bird accepted it leaves an intent; once the resource is Ready with nothing
left to do, the next apply closes it (found by the crash-point matrix: it stayed open forever)."""

from __future__ import annotations

import signal
from pathlib import Path

from controller.reconcile import crashpoints
from tests.proof.harness import apply_in_process, cli_env, pending_changes, senderctl
from tests.proof.scenario import open_intents
from tests.support import EmulatorAdmin


def test_an_update_killed_after_bird_accepted_it_is_settled_by_the_next_apply(
        emulator: EmulatorAdmin, quickstart: Path, tmp_path: Path) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    apply_in_process(quickstart, emulator.url, state_url)
    brand = quickstart / "brand.yaml"
    brand.write_text(brand.read_text().replace("website: https://acme.example", "website: https://www.acme.example"))
    killed = senderctl("apply", str(quickstart), "--auto-approve",
                       env=cli_env(emulator.url, state_url, {crashpoints.CRASH_ENV: "bird-write:update:Brand"}))
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert open_intents(state_url) == ["update Brand/acme"]
    apply_in_process(quickstart, emulator.url, state_url)
    assert pending_changes(quickstart, emulator.url, state_url) == []
    assert open_intents(state_url) == []
