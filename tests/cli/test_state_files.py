"""The state file as users get it wrong: a directory that does not exist, a 0-byte or corrupted file, a
read-only file or directory. Every command gives one clear error line (exit 1), never a traceback and
never a new, empty database that would plan every number to be bought again; read-only commands work
on a read-only state; a plan on an empty state says so in its first line."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Senderctl
from tests.gitops.conftest import Bird, converge

READS = [["plan", "{specs}"], ["status", "{specs}"], ["state", "list"], ["state", "show", "Brand/acme"],
         ["numbers", "list", "--org", "acme"], ["numbers", "available", "--org", "acme"],
         ["config", "--org", "acme"]]
WRITES = [["apply", "{specs}", "--auto-approve"], ["import", "{specs}"], ["state", "rm", "Brand/acme"],
          ["state", "mv", "Brand/acme", "Brand/other"], ["billing", "run", "--week", "2026-W10"],
          ["force-unlock", "0123456789ab"]]


def commands(specs: Path, which: list[list[str]]) -> list[list[str]]:
    return [[a.replace("{specs}", str(specs)) for a in args] for args in which]


def sqlite(path: Path) -> dict[str, str]:
    return {"SENDERCTL_STATE": f"sqlite:///{path}"}


def test_a_state_in_a_directory_that_does_not_exist_is_an_error(specs: Path, bird: Bird, sqlite_cli: Senderctl,
                                                                 tmp_path: Path) -> None:
    state = tmp_path / "no-such-dir" / "state.db"
    for args in commands(specs, READS + WRITES):
        run = sqlite_cli(*args, env=sqlite(state))
        assert run.code == 1, (args, run)
        assert f"the directory {state.parent} does not exist" in run.err, (args, run)
    assert not state.parent.exists()
    assert bird.writes() == {}


@pytest.mark.parametrize("content", [b"", b"this is not a database\n" * 100, b"SQLite format 3\x00" + b"\x07" * 9000],
                         ids=["empty", "garbage", "corrupted-pages"])
def test_an_empty_or_corrupted_state_file_is_a_clear_error_for_every_command(
        content: bytes, specs: Path, bird: Bird, sqlite_cli: Senderctl, tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(content)
    for args in commands(specs, READS + WRITES):
        run = sqlite_cli(*args, env=sqlite(state))
        assert run.code == 1, (args, run)
        assert run.err.startswith("error: ") and len(run.err.strip().splitlines()) == 1, (args, run)
        assert "empty (0 bytes)" in run.err if not content else "corrupt" in run.err, (args, run)
        assert "database server" not in run.err
    assert state.read_bytes() == content  # nothing made it a new database
    assert bird.writes() == {}


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Paths made read-only with `chattr +i` (root ignores file modes, not the immutable flag)."""
    made: list[Path] = []
    yield made
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], check=False)


def make_read_only(path: Path, immutable: list[Path]) -> None:
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True, check=False) \
        if shutil.which("chattr") else None
    if done is None or done.returncode != 0:
        pytest.skip(f"cannot make {path} read-only here (chattr +i): {done.stderr if done else 'no chattr'}")
    immutable.append(path)


@pytest.mark.parametrize("what", ["file", "directory"])
def test_read_commands_work_on_a_read_only_state(what: str, specs: Path, bird: Bird, sqlite_cli: Senderctl,
                                                 tmp_path: Path, immutable: list[Path]) -> None:
    state = tmp_path / "ro" / "state.db"
    state.parent.mkdir()
    converge(specs, bird, f"sqlite:///{state}")
    for leftover in state.parent.glob("state.db-*"):  # a clean shutdown leaves no WAL files behind
        leftover.unlink()
    make_read_only(state, immutable)
    if what == "directory":
        make_read_only(state.parent, immutable)
    for args in commands(specs, READS):
        run = sqlite_cli(*args, env=sqlite(state))
        assert run.code == 0, (args, run)
    for args in commands(specs, WRITES[:3]):
        run = sqlite_cli(*args, env=sqlite(state))
        assert run.code == 1, (args, run)
        assert "writable" in run.err and "database server" not in run.err, (args, run)


def test_a_plan_on_an_empty_state_says_so_in_its_first_line(specs: Path, bird: Bird, cli: Senderctl,
                                                            state_url: str) -> None:
    first = cli("plan", str(specs))
    assert first.code == 0, first
    assert first.out.splitlines()[0].startswith("Note: the state") and "holds no records" in first.out.splitlines()[0]
    assert "senderctl import" in first.out.splitlines()[0]
    as_json = cli("plan", str(specs), "-o", "json")
    assert as_json.out.startswith("{") and "holds no records" in as_json.err
    converge(specs, bird, state_url)
    again = cli("plan", str(specs))
    assert "holds no records" not in again.out, again
