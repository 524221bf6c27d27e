"""Engine fixtures: a real emulator over HTTP, the quick start specs, settings for a real state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controller.reconcile.engine import Settings
from tests.support import ACCESS_KEY, EmulatorAdmin

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SIGNING_ENV = {"SENDERCTL_DEMO_SIGNING_KEY": "test-signing-key"}


class Emulator(EmulatorAdmin):
    def requests(self) -> dict[str, Any]:
        return self.request_counts()

    def reset_requests(self) -> None:
        self.zero_requests()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        emu = Emulator(running.url)
        yield emu
        emu.http.close()


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    """A private copy, so a test may edit specs without touching the example."""
    target = tmp_path / "specs"
    shutil.copytree(QUICKSTART, target)
    return target


@pytest.fixture
def settings(emulator: Emulator, state_url: str) -> Settings:
    return Settings(state_url=state_url, bird_url=emulator.url, access_key=ACCESS_KEY,
                    environ={**os.environ, **SIGNING_ENV})


def senderctl(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **SIGNING_ENV, **env}, cwd=str(cwd or ROOT), stdin=subprocess.DEVNULL)
