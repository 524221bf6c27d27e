"""CLI edge cases in process (click's CliRunner) against the emulator over real HTTP, on a real SQLite
file and a real PostgreSQL database. Tests that need signals use real processes (tests/gitops)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.gitops.conftest import SIGNING_KEY, Bird, bird, shared_bird, specs  # noqa: F401 (fixtures)
from tests.support import ACCESS_KEY

# The exit codes every command keeps to (README "Exit codes"): anything else is a defect.
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 130}


@dataclass
class Run:
    """One senderctl command run in process, as a shell would run it (stdout and stderr apart)."""

    result: Result

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def out(self) -> str:
        return self.result.stdout

    @property
    def err(self) -> str:
        return self.result.stderr

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def invoke(args: list[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    from cli import cli

    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(cli, args, env=env, catch_exceptions=True)
    finally:
        os.chdir(old)
    run = Run(result)
    # An exception that escaped the command is what a user would see as a traceback.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        raise AssertionError(f"senderctl {' '.join(args)} raised (a user would see a traceback):\n{trace}\n{run}")
    return run


Senderctl = Callable[..., Run]


def environment(bird_url: str, state_url: str) -> dict[str, str]:
    return {"BIRD_API_URL": bird_url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url,
            "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY, "NO_COLOR": "1"}


@pytest.fixture
def cli(bird: Bird, state_url: str, tmp_path: Path) -> Senderctl:  # noqa: F811
    """senderctl in process on the test's state (SQLite and PostgreSQL): cli("plan", path, env={...})."""
    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        return invoke(list(args), {**environment(bird.url, state_url), **(env or {})}, cwd=tmp_path)
    return run


@pytest.fixture
def sqlite_cli(bird: Bird, sqlite_url: str, tmp_path: Path) -> Senderctl:  # noqa: F811
    def run(*args: str, env: dict[str, str] | None = None) -> Run:
        return invoke(list(args), {**environment(bird.url, sqlite_url), **(env or {})}, cwd=tmp_path)
    return run
