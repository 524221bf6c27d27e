"""The daemon never acts on a half-written spec tree: a change is read once the tree has been unchanged
for the settle time; an unreadable entry (dangling link, loop) is an error that keeps the last good
specs; removals wait one more window and are logged with the file and its size before and after.
Real `senderctl daemon` and `senderctl validate` processes, real emulator; tests wait on log events."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.daemon.conftest import QUICKSTART, ROOT

LINE = """---
apiVersion: senderctl/v1
kind: PhoneNumber
metadata: {name: line}
spec:
  workspace: acme-main
  select: {country: US, type: local}
  assignee: alice@acme.example
"""
SETTLE = ("--settle", "3s")


def specs_with_a_line(target: Path) -> Path:
    target.mkdir()
    shutil.copy(QUICKSTART / "organization.yaml", target)
    (target / "line.yaml").write_text(LINE)
    return target


def records(state_url: str) -> set[str]:
    from controller.state import StateStore

    with StateStore.open(state_url) as store:
        return set(store.records())


def test_validate_names_a_dangling_link_and_a_link_loop(tmp_path: Path) -> None:
    specs = specs_with_a_line(tmp_path / "specs")
    (specs / "gone.yaml").symlink_to(specs / "nowhere.yaml")
    (specs / "loop.yaml").symlink_to(specs / "loop.yaml")
    done = subprocess.run([sys.executable, "-m", "cli", "validate", str(specs)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{specs / 'gone.yaml'}:1:1" in done.stderr and "nowhere.yaml" in done.stderr
    assert f"{specs / 'loop.yaml'}:1:1" in done.stderr and "Traceback" not in done.stderr


def test_a_file_saved_in_two_writes_is_read_once_whole(tmp_path, emulator, daemons, sqlite_url) -> None:
    specs = specs_with_a_line(tmp_path / "specs")
    d = daemons(specs, sqlite_url, emulator.url, extra=SETTLE)
    d.wait_event("reconcile.done", timeout=60)
    assert "PhoneNumber/line" in records(sqlite_url)
    writes = emulator.writes()

    line = specs / "line.yaml"
    with line.open("w") as f:  # the first write: half of the file (an editor, `cat >`, scp)
        f.write(LINE[: LINE.index("spec:")])
    d.wait_event("specs.settling", timeout=30)
    # The half file is read while the window runs (and found invalid); that read must not be acted on.
    assert d.wait_event("specs.read_ahead", timeout=30)[0]["valid"] is False
    line.write_text(LINE)  # the rest, within the settle window
    d.wait_event("specs.settled", timeout=30)
    assert d.events("specs.invalid") == [] and d.events("specs.removals") == []
    assert [e["valid"] for e in d.events("specs.read_ahead")] == [False, True]  # read again, whole
    assert "PhoneNumber/line" in records(sqlite_url) and emulator.writes() == writes


def test_an_unreadable_entry_keeps_the_last_good_specs(tmp_path, emulator, daemons, sqlite_url) -> None:
    specs = specs_with_a_line(tmp_path / "specs")
    d = daemons(specs, sqlite_url, emulator.url, extra=SETTLE)
    d.wait_event("reconcile.done", timeout=60)
    # The line's file replaced by a link to where it no longer is: it must not read as "line removed".
    moved = tmp_path / "elsewhere.yaml"
    os.replace(specs / "line.yaml", moved)
    (specs / "line.yaml").symlink_to(tmp_path / "missing" / "line.yaml")
    invalid = d.wait_event("specs.invalid", timeout=30)[0]
    assert any("line.yaml" in e and "symbolic link" in e for e in invalid["errors"]), invalid
    assert d.events("specs.removals") == []
    d.wait_event("reconcile.done", timeout=30)  # a full reconcile keeps what the last good specs declare
    assert "PhoneNumber/line" in records(sqlite_url)


def test_a_removal_waits_a_window_and_is_logged_with_the_file_sizes(tmp_path, emulator, daemons,
                                                                   sqlite_url) -> None:
    specs = specs_with_a_line(tmp_path / "specs")
    d = daemons(specs, sqlite_url, emulator.url, extra=SETTLE)
    d.wait_event("reconcile.done", timeout=60)
    size = (specs / "line.yaml").stat().st_size
    (specs / "line.yaml").write_text("# emptied by mistake\n")
    removal = d.wait_event("specs.removals", timeout=30)[0]
    assert removal["level"] == "warning" and "PhoneNumber/line" in removal["addresses"]
    assert removal["files"] == [{"file": str(specs / "line.yaml"), "sizeBefore": size,
                                 "sizeAfter": len("# emptied by mistake\n"), "documents": 1}], removal
    d.wait_event("reconcile.done", count=2, timeout=60)
    assert "PhoneNumber/line" not in records(sqlite_url)  # forgotten (Orphan), once the window passed
