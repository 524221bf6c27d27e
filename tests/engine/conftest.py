"""Engine fixtures: a real emulator over HTTP, the quick start specs, settings for a real state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from controller.engine import Settings

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SIGNING_ENV = {"SENDERCTL_DEMO_SIGNING_KEY": "test-signing-key"}
ACCESS_KEY = "emulator-key"


class Emulator:
    """Admin API helpers over real HTTP (what a user's scripts would do)."""

    workspace = "22222222-2222-4222-8222-222222222222"  # the default world's

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def advance(self, seconds: int) -> Any:
        return self.http.post("/_emulator/clock/advance", json={"seconds": seconds}).raise_for_status().json()

    def state(self) -> dict[str, Any]:
        return self.http.get("/_emulator/state").raise_for_status().json()

    def requests(self) -> dict[str, Any]:
        return self.http.get("/_emulator/requests").raise_for_status().json()

    def reset_requests(self) -> None:
        self.http.delete("/_emulator/requests").raise_for_status()

    def fault(self, **fault: Any) -> None:
        self.http.post("/_emulator/faults", json=fault).raise_for_status()


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
