"""Operations fixtures: an emulator world with two organizations (acme, globex) over real HTTP, their
specs (the quick start and a globex with a pool), and the real CLI run in-process (CliRunner)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from cli import cli
from tests.support import ACCESS_KEY, ORGANIZATION, WORKSPACE, EmulatorAdmin

ROOT = Path(__file__).resolve().parents[2]
GLOBEX_ORG = "3b0b6a0e-5d43-4c1e-9a57-2f1d7c8e9a10"
GLOBEX_WORKSPACE = "6f2c1d4e-8a9b-4c3d-b1e2-0a9f8e7d6c5b"
SIGNING_ENV = {"SENDERCTL_DEMO_SIGNING_KEY": "acme-signing-key", "GLOBEX_SIGNING_KEY": "globex-signing-key"}

WORLD = {
    "organizations": [
        {"id": ORGANIZATION, "resellers": [{"id": "33333333-3333-4333-8333-333333333333", "status": "ACTIVE"}],
         "stock": [{"country": "US", "type": "local", "count": 200}],
         "workspaces": [{"id": WORKSPACE, "wallet": "5000.00"}]},
        {"id": GLOBEX_ORG, "stock": [{"country": "US", "type": "local", "count": 60, "prefix": "+1312"}],
         "workspaces": [{"id": GLOBEX_WORKSPACE, "wallet": "5000.00"}]},
    ],
    "accessKeys": [{"key": ACCESS_KEY, "organizations": [ORGANIZATION, GLOBEX_ORG]}],
}


@pytest.fixture
def world_file(tmp_path: Path) -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(WORLD))
    return path


@pytest.fixture
def bird(world_file: Path) -> Iterator[EmulatorAdmin]:
    from controller.emulator.server import running_emulator

    with running_emulator(str(world_file)) as running:
        admin = EmulatorAdmin(running.url)
        yield admin
        admin.close()


@pytest.fixture
def estate(tmp_path: Path) -> Path:
    """specs/acme (the quick start) and specs/globex (a brand, a campaign, a pool of 3, two subscriptions)."""
    root = tmp_path / "specs"
    shutil.copytree(ROOT / "examples" / "quickstart", root / "acme")
    (root / "globex").mkdir()
    text = (ROOT / "examples" / "multi-org" / "globex.yaml").read_text().replace("count: 20", "count: 3")
    (root / "globex" / "globex.yaml").write_text(text)
    return root


@dataclass
class Senderctl:
    """The real CLI, in this process, against the emulator and one state database."""

    bird_url: str
    state_url: str

    def env(self, **extra: str) -> dict[str, str]:
        return {"BIRD_API_URL": self.bird_url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": self.state_url,
                **SIGNING_ENV, **extra}

    def __call__(self, *args: str | Path, **env: str) -> Result:
        result = CliRunner().invoke(cli, [str(a) for a in args], env=self.env(**env), catch_exceptions=False)
        return result


@pytest.fixture
def senderctl(bird: EmulatorAdmin, state_url: str) -> Senderctl:
    return Senderctl(bird.url, state_url)


def converge(senderctl: Senderctl, bird: EmulatorAdmin, *paths: Path) -> None:
    """Apply through brand approval, campaign approval and carrier acknowledgement."""
    for step in (3600, 7 * 24 * 3600, 900, 0):
        done = senderctl("apply", *paths, "--auto-approve")
        assert done.exit_code == 0, done.output
        if step:
            bird.advance(step)
    settled = senderctl("plan", *paths, "--detailed-exitcode")
    assert settled.exit_code == 0, settled.output
