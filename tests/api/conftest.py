"""Platform API fixtures: the emulator over real HTTP, a state converged from the quick start specs
(10DLC active), `senderctl daemon` processes serving the API, tokens made with the CLI."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.daemon.conftest import Daemon, free_port
from tests.support import ACCESS_KEY, WORKSPACE, EmulatorAdmin

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
APPROVAL_STEPS = (0, 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60)
ORG = "acme"


def write_specs(target: Path, *, limit: int = 5, enabled: bool = True) -> Path:
    """The quick start's organization, brand, campaign and two numbers (alice, bob), without its
    webhook subscriptions (nothing here receives them)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("brand.yaml", "numbers.yaml"):
        shutil.copy(QUICKSTART / name, target / name)
    org = (QUICKSTART / "organization.yaml").read_text()
    org = org.replace("limit: 5", f"limit: {limit}").replace("enabled: true ", f"enabled: {str(enabled).lower()} ")
    (target / "organization.yaml").write_text(org)
    return target


def settings_for(state_url: str, bird_url: str) -> Any:
    from controller.reconcile.engine import Settings

    return Settings(state_url=state_url, bird_url=bird_url, access_key=ACCESS_KEY, environ=dict(os.environ))


def apply_specs(specs: Path, state_url: str, bird_url: str, **kw: Any) -> Any:
    from controller.reconcile import engine

    outcome = asyncio.run(engine.apply([str(specs)], settings_for(state_url, bird_url), **kw))
    assert not outcome.report.failed, [r.error for r in outcome.report.failed]
    return outcome


def converge(specs: Path, state_url: str, emulator: EmulatorAdmin) -> None:
    """Every approval granted: brand, campaign, carriers; the organization's 10DLC is active."""
    for seconds in APPROVAL_STEPS:
        if seconds:
            emulator.advance(seconds)
        apply_specs(specs, state_url, emulator.url)


def senderctl(*args: str, state_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cli", *args, "--state", state_url], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if check:
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def make_token(state_url: str, user: str, role: str, *extra: str) -> str:
    out = senderctl("tokens", "create", "--org", ORG, "--user", user, "--role", role, *extra, state_url=state_url)
    lines = out.stdout.splitlines()
    assert len(lines) == 1, out.stdout  # the token alone on its line
    return lines[0]


@dataclass
class World:
    emulator: EmulatorAdmin
    state_url: str
    specs: Path
    workdir: Path
    daemons: list[Daemon] = field(default_factory=list)

    def start_daemon(self, *, extra_env: dict[str, str] | None = None, health_details: str = "loopback") -> Daemon:
        daemon = Daemon(self.specs, self.state_url, self.emulator.url, self.workdir, port=free_port(), resync="1h",
                        env=extra_env, health_details=health_details)
        self.daemons.append(daemon)
        daemon.wait_healthy()
        return daemon

    @property
    def daemon(self) -> Daemon:
        return self.daemons[0]

    def client(self, token: str | None, daemon: Daemon | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=(daemon or self.daemon).url, headers=headers, timeout=30)

    def store(self) -> Any:
        from controller.state import StateStore

        return StateStore.open(self.state_url)

    def close(self) -> None:
        for d in self.daemons:
            d.close()


def build_world(tmp: Path, state_url: str, *, limit: int = 5, enabled: bool = True,
                daemon: bool = True) -> Iterator[World]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        emulator = EmulatorAdmin(running.url)
        specs = write_specs(tmp / "specs", limit=limit, enabled=enabled)
        converge(specs, state_url, emulator)
        world = World(emulator, state_url, specs, tmp)
        try:
            if daemon:
                world.start_daemon()
            yield world
        finally:
            world.close()
            emulator.close()


@pytest.fixture
def world_factory(tmp_path: Path) -> Iterator[Callable[..., World]]:
    """build(state_url, limit=, enabled=, daemon=) -> a converged World; everything stopped at the end."""
    stack: list[Iterator[World]] = []

    def build(state_url: str | None = None, **kw: Any) -> World:
        where = tmp_path / f"world{len(stack)}"
        where.mkdir()
        url = state_url or f"sqlite:///{where / 'state.db'}"
        gen = build_world(where, url, **kw)
        stack.append(gen)
        return next(gen)

    yield build
    for gen in reversed(stack):
        gen.close()


WORKSPACE_UUID = WORKSPACE
