"""Reliability fixtures: one emulator per test (reset between runs), private copies of the examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proof.harness import MULTI_ORG, QUICKSTART, private_specs
from tests.support import EmulatorAdmin


@pytest.fixture
def emulator() -> Iterator[EmulatorAdmin]:
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        admin = EmulatorAdmin(running.url)
        yield admin
        admin.close()


@pytest.fixture
def quickstart(tmp_path: Path) -> Path:
    return private_specs(QUICKSTART, tmp_path / "quickstart")


@pytest.fixture
def multi_org(tmp_path: Path) -> Path:
    return private_specs(MULTI_ORG, tmp_path / "multi-org")
