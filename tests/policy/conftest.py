"""Policies through the CLI: the emulator over real HTTP, senderctl in process (tests/cli's fixtures)."""

from tests.cli.conftest import cli, sqlite_cli  # noqa: F401 (fixtures)
from tests.gitops.conftest import bird, shared_bird, specs  # noqa: F401 (fixtures)
