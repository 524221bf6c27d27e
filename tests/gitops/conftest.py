"""GitOps acceptance fixtures: one emulator per worker (reset per test), the real `senderctl`
process, a private copy of examples/quickstart, and a real state database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import ACCESS_KEY, WORKSPACE, EmulatorAdmin
from tests.support import ORGANIZATION as ORG

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
SIGNING_KEY = "gitops-signing-key"
# Brand review (1 h), campaign approval (7 days), carrier acknowledgement (15 min), with margins.
APPROVAL_STEPS = (3600 + 60, 7 * 24 * 3600, 15 * 60 + 60)


class Bird(EmulatorAdmin):
    """The emulator over real HTTP: Bird's API with the access key, and the admin API."""

    def requests(self) -> dict[str, int]:
        return self.request_counts()["byRoute"]

    def writes(self) -> dict[str, int]:
        return self.write_routes()

    def subscriptions_path(self) -> str:
        return f"/organizations/{ORG}/workspaces/{WORKSPACE}/webhook-subscriptions"


@pytest.fixture(scope="session")
def shared_bird() -> Iterator[Bird]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        bird = Bird(running.url)
        yield bird
        bird.http.close()


@pytest.fixture
def bird(shared_bird: Bird) -> Bird:
    """The worker's emulator, back at its starting world (clock, objects, faults, counts)."""
    shared_bird.reset()
    return shared_bird


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A private copy of examples/quickstart that a test may edit."""
    target = tmp_path / "specs"
    shutil.copytree(QUICKSTART, target)
    return target


@dataclass
class Senderctl:
    """Runs `python -m cli` as a user's shell or CI job would."""

    env: dict[str, str]
    cwd: Path
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        self.calls.append(list(args))
        return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env or {})}, cwd=str(self.cwd), stdin=subprocess.DEVNULL)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, cwd=str(self.cwd), stdin=subprocess.DEVNULL)

    def plan_json(self, *paths: str) -> dict[str, Any]:
        run = self("plan", *paths, "-o", "json")
        assert run.returncode in (0, 3), run.stderr
        return json.loads(run.stdout)

    def apply(self, *args: str) -> subprocess.CompletedProcess:
        run = self("apply", *args, "--auto-approve")
        assert run.returncode == 0, run.stdout + run.stderr
        return run


@pytest.fixture(scope="session")
def bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the many short `senderctl` processes share compiled modules (outside the work tree)."""
    return tmp_path_factory.mktemp("pycache")


def cli_env(bird_url: str, state_url: str, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BIRD_", "SENDERCTL_")) and k != "PYTHONDONTWRITEBYTECODE"}
    # Each process would otherwise compile every module again: a sixth of its start-up.
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = str(ROOT)
    return {**env, "BIRD_API_URL": bird_url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url,
            "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY, "NO_COLOR": "1"}


@pytest.fixture
def senderctl(bird: Bird, state_url: str, tmp_path: Path, bytecode_cache: Path) -> Senderctl:
    return Senderctl(cli_env(bird.url, state_url, bytecode_cache), tmp_path)


@pytest.fixture
def sqlite_senderctl(bird: Bird, sqlite_url: str, tmp_path: Path, bytecode_cache: Path) -> Senderctl:
    """For tests whose subject does not depend on the state backend (one run is enough)."""
    return Senderctl(cli_env(bird.url, sqlite_url, bytecode_cache), tmp_path)


def setup_apply(specs: Path, bird: Bird, state_url: str) -> Any:
    """apply in process, for setting a scene (not the subject of a test): no interpreter start-up."""
    from controller.reconcile import engine
    from controller.reconcile.engine import Settings

    settings = Settings(state_url=state_url, bird_url=bird.url, access_key=ACCESS_KEY,
                        environ={**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY})
    outcome = asyncio.run(engine.apply([str(specs)], settings))
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    return outcome


def converge(specs: Path, bird: Bird, state_url: str) -> None:
    """Bring Bird to the specs (every approval granted), in process: setup, not the subject."""
    for seconds in (0, *APPROVAL_STEPS):
        if seconds:
            bird.advance(seconds)
        outcome = setup_apply(specs, bird, state_url)
    assert outcome.final is not None and not outcome.final.plan.changes and not outcome.final.plan.waiting, (
        outcome.final.plan.to_json() if outcome.final else None)


def changes_of(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in plan["changes"]}
