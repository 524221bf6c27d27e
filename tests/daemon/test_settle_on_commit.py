"""A spec tree that git wrote (a pull, a checkout) is acted on at once; a file written in place in the same
checkout still waits the settle window. `committed_tree` against real git repositories, and real
`senderctl daemon` processes on a git checkout of the specs."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from controller.daemon.settle import NOT_GIT, NOT_WHOLE, committed_tree, tree_snapshot
from tests.daemon.conftest import QUICKSTART
from tests.daemon.test_half_written_specs import LINE

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SECOND_LINE = LINE.replace("name: line", "name: second-line").replace("alice@", "bob@")


def git(where: Path, *args: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    done = subprocess.run(["git", "-C", str(where), "-c", "user.name=Spec Author", "-c", "user.email=a@example.com",
                           "-c", "init.defaultBranch=main", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False, env=environ)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def repository(where: Path, files: dict[str, str]) -> Path:
    """A git repository holding `files` in one commit."""
    where.mkdir(parents=True)
    git(where, "init", "-q")
    for name, text in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text)
    git(where, "add", "-A")
    git(where, "commit", "-q", "-m", "specs")
    return where


def whole(*paths: Path) -> str | None:
    names = tuple(str(p) for p in paths)
    return committed_tree(names, tree_snapshot(names)).commit


def head(where: Path) -> str:
    return git(where, "rev-parse", "HEAD")[:12]


# --- committed_tree ---------------------------------------------------------------------------------------
def test_a_clean_checkout_is_the_commit_it_holds(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo", {"specs/line.yaml": LINE, "README.md": "specs\n"})
    assert whole(repo / "specs") == head(repo)
    assert whole(repo / "specs" / "line.yaml") == head(repo)  # a single spec file given as the path
    (repo / "README.md").write_text("edited, not a spec\n")
    assert whole(repo / "specs") == head(repo)  # only the spec paths are asked about


@pytest.mark.parametrize("change", ["modified", "staged", "untracked", "ignored", "symlinked", "half-written"])
def test_a_spec_file_that_differs_from_the_commit_is_not_whole(tmp_path: Path, change: str) -> None:
    repo = repository(tmp_path / "repo", {"specs/line.yaml": LINE, ".gitignore": "specs/local-*.yaml\n"})
    specs = repo / "specs"
    if change == "modified":
        (specs / "line.yaml").write_text(LINE.replace("alice@", "carol@"))
    elif change == "staged":
        (specs / "line.yaml").write_text(LINE.replace("alice@", "carol@"))
        git(repo, "add", "-A")
    elif change == "untracked":
        (specs / "new.yaml").write_text(SECOND_LINE)
    elif change == "ignored":
        (specs / "local-line.yaml").write_text(SECOND_LINE)
    elif change == "symlinked":
        (tmp_path / "outside.yaml").write_text(SECOND_LINE)
        (specs / "linked.yaml").symlink_to(tmp_path / "outside.yaml")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "a link")  # committed: git vouches for the link, not its target
    else:
        (specs / "line.yaml").write_text(LINE[: LINE.index("spec:")])  # `cat >` caught half way
    assert whole(specs) is None
    names = (str(specs),)
    assert committed_tree(names, tree_snapshot(names)).worth_asking  # asked again while the window runs


def test_a_file_written_after_the_callers_snapshot_is_not_whole(tmp_path: Path) -> None:
    repo = repository(tmp_path / "repo", {"line.yaml": LINE})
    names = (str(repo),)
    before = tree_snapshot(names)
    (repo / "line.yaml").write_text(LINE + "# a second write\n")
    git(repo, "commit", "-q", "-am", "the second write, committed")
    assert committed_tree(names, before) == NOT_WHOLE  # clean now, but not the tree the caller saw still


def test_without_a_commit_a_repository_or_git_nothing_is_whole(tmp_path: Path, monkeypatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    (empty / "line.yaml").write_text(LINE)
    git(empty, "add", "-A")
    assert whole(empty) is None  # no commit yet

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "line.yaml").write_text(LINE)
    names = (str(plain),)
    assert committed_tree(names, tree_snapshot(names)) == NOT_GIT  # not a work tree: not asked again

    repo = repository(tmp_path / "repo", {"line.yaml": LINE})
    monkeypatch.setenv("GIT_DIR", str(empty / ".git"))  # another repository named by the environment: ignored
    assert whole(repo) == head(repo)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    names = (str(repo),)
    assert committed_tree(names, tree_snapshot(names)) == NOT_GIT


# --- the daemon --------------------------------------------------------------------------------------------
def checkout(tmp_path: Path) -> tuple[Path, Path]:
    """An author's repository of the quick start's organization and one line, and the daemon's clone."""
    files = {"organization.yaml": (QUICKSTART / "organization.yaml").read_text(), "line.yaml": LINE}
    author = repository(tmp_path / "author", files)
    specs = tmp_path / "specs"
    git(tmp_path, "clone", "-q", str(author), str(specs))
    return author, specs


def test_a_pulled_commit_is_acted_on_without_the_settle_window(tmp_path, emulator, daemons, sqlite_url) -> None:
    author, specs = checkout(tmp_path)
    # A window far longer than the waits below: only the commit can end it in time.
    d = daemons(specs, sqlite_url, emulator.url, extra=("--settle", "120s"))
    d.wait_event("reconcile.done", timeout=60)
    (author / "line.yaml").write_text(LINE.replace("alice@", "carol@"))
    git(author, "commit", "-q", "-am", "the line moves to carol")
    git(specs, "pull", "-q", "--ff-only")
    settled = d.wait_event("specs.settled", timeout=30)[0]
    assert settled["commit"] == head(specs)
    d.wait_event("change.applied", timeout=30,
                 where=lambda e: e["address"] == "Assignment/line" and "carol@" in e["reason"])


def test_a_file_written_in_place_in_a_checkout_still_waits_the_window(tmp_path, emulator, daemons,
                                                                     sqlite_url) -> None:
    _, specs = checkout(tmp_path)
    d = daemons(specs, sqlite_url, emulator.url, extra=("--settle", "3s"))
    d.wait_event("reconcile.done", timeout=60)
    line = specs / "line.yaml"
    with line.open("w") as f:  # half of the file: it differs from the commit, so git does not vouch for it
        f.write(LINE[: LINE.index("spec:")])
    assert d.wait_event("specs.read_ahead", timeout=30)[0]["valid"] is False
    line.write_text(LINE.replace("alice@", "carol@"))  # the rest, still not the commit's
    written = line.stat().st_mtime
    settled = d.wait_event("specs.settled", timeout=30)[0]
    assert "commit" not in settled
    # The window counts from the last write (a lower bound: a slow machine only makes it later).
    assert datetime.fromisoformat(settled["ts"]).timestamp() >= written + 3 - 0.01
    assert d.events("specs.removals") == []


def test_no_act_on_commit_waits_the_window_for_a_pull_too(tmp_path, emulator, daemons, sqlite_url) -> None:
    author, specs = checkout(tmp_path)
    d = daemons(specs, sqlite_url, emulator.url, extra=("--settle", "3s", "--no-act-on-commit"))
    d.wait_event("reconcile.done", timeout=60)
    (author / "second-line.yaml").write_text(SECOND_LINE)
    git(author, "add", "-A")
    git(author, "commit", "-q", "-m", "a line for bob")
    git(specs, "pull", "-q", "--ff-only")
    pulled = max(os.stat(p).st_mtime for p in specs.glob("*.yaml"))
    settled = d.wait_event("specs.settled", timeout=30)[0]
    assert "commit" not in settled
    assert datetime.fromisoformat(settled["ts"]).timestamp() >= pulled + 3 - 0.01
