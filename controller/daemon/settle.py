"""When a changed spec tree is whole enough to act on.

A file saved in two writes (an editor, `cat >`, scp) must never be read half-written, so the daemon acts
on an edited tree only once it has been still for a settle window (`--settle`, 2 s by default).

A tree brought by git (a pull, a checkout, a reset) needs no such wait: once git is done, every spec
file is exactly what a commit holds. `committed_tree` asks git whether that is so; a file written in
place, staged, untracked, ignored or still being written differs from the commit, so it still waits
the window. The git check runs only where git is installed and the specs are in a work tree.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

from controller.daemon.specview import SpecsRejected, SpecView

Snapshot = tuple[tuple[str, int, int], ...]

# How often a settling tree is asked whether it matches a git commit (seconds), and for how long git is
# asked before the files are read ahead too (in a git work tree).
COMMIT_POLL_SECONDS = 0.05
COMMIT_GRACE_SECONDS = 0.5
# A git that does not answer in this long is taken as "no": the window is waited out.
GIT_TIMEOUT_SECONDS = 5.0
# Environment variables that would point git at another repository or index than the specs' own.
GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                 "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")


def watch_targets(paths: tuple[str, ...]) -> tuple[set[Path], set[Path]]:
    """Directories to watch recursively, and single files (watched through their directory, so an
    editor's write-to-temp-and-rename is seen)."""
    roots, files = set(), set()
    for raw in paths:
        p = Path(raw).resolve()
        (roots if p.is_dir() else files).add(p)
    return roots, files


@dataclasses.dataclass(frozen=True)
class Preloaded:
    """The spec files as read while a settle window ran, with the tree's snapshot taken before the read;
    with neither a view nor a rejection, nothing usable was read: the caller reads the files itself."""

    snapshot: Snapshot
    loaded: SpecView | None = None
    rejected: SpecsRejected | None = None

    def view(self) -> SpecView | None:
        if self.rejected is not None:
            raise self.rejected
        return self.loaded


def tree_snapshot(paths: tuple[str, ...]) -> Snapshot:
    """(path, size, mtime in ns) of every spec file, and the problems reading the tree: equal snapshots a
    settle window apart mean nobody is writing."""
    from specs.loader import spec_files

    files, errors = spec_files(paths)
    out = []
    for path in files:
        try:
            st = os.stat(path)
            out.append((path, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((path, -1, -1))
    return tuple(out) + tuple((str(e), -2, -2) for e in errors)


def settle_wait(snapshot: Snapshot, now: float, settle: float) -> float:
    """How long to wait before the snapshot may be taken as settled: until its newest file is `settle`
    seconds old (the watcher's own delay already counts), never more than `settle` (a file dated in the
    future), the whole window when a file cannot be read."""
    mtimes = [mtime for _, _, mtime in snapshot]
    if not mtimes or min(mtimes) < 0:
        return settle
    return min(settle, max(0.0, max(mtimes) / 1e9 + settle - now))


def changed_within(snapshot: Snapshot, now: float, seconds: float) -> bool:
    """Whether a spec file of the snapshot was written in the last `seconds` (or cannot be read)."""
    return any(mtime < 0 or mtime / 1e9 > now - seconds for _, _, mtime in snapshot)


class TreeCommit(NamedTuple):
    """What git says of the spec tree: the commit its files match exactly (None: they do not, or git
    cannot tell), and whether asking again may change that (False: no git, or not a work tree)."""

    commit: str | None
    worth_asking: bool


NOT_GIT = TreeCommit(None, False)
NOT_WHOLE = TreeCommit(None, True)


def committed_tree(paths: tuple[str, ...], snapshot: Snapshot) -> TreeCommit:
    """Whether every spec file is exactly what the checked-out commit holds, and was so while git looked:
    the tree must still be `snapshot` afterwards (taken by the caller before asking).

    Not whole: a file modified, staged, untracked or ignored by git; a git operation half done (its index
    or HEAD not yet moved); a spec file reached through a symbolic link (git vouches for the link, not
    for what it points to); a tree that cannot be read."""
    git = shutil.which("git")
    if git is None or not snapshot or any(size < 0 for _, size, _ in snapshot):
        return NOT_GIT if git is None else NOT_WHOLE
    if any(os.path.realpath(path) != os.path.abspath(path) for path, _, _ in snapshot):
        return NOT_WHOLE
    commits: set[str] = set()
    for raw in paths:
        where = Path(raw).absolute()
        directory, pathspec = (where, ".") if where.is_dir() else (where.parent, where.name)
        answer = _git_status(git, directory, pathspec)
        if answer is None:
            return NOT_GIT
        if answer.commit is None:
            return answer
        commits.add(answer.commit)
    if tree_snapshot(paths) != snapshot:
        return NOT_WHOLE  # written while git looked
    return TreeCommit(",".join(sorted(commits)), True)


def _git_status(git: str, directory: Path, pathspec: str) -> TreeCommit | None:
    """`git status` of one spec path: its commit when nothing differs from it (None: not a work tree)."""
    environ = {k: v for k, v in os.environ.items() if k not in GIT_REDIRECTS}
    environ["GIT_OPTIONAL_LOCKS"] = "0"  # only look: never take the index lock a running pull needs
    command = [git, "-c", "core.fsmonitor=false", "-C", str(directory), "status", "--porcelain=v2", "--branch",
               "-z", "--untracked-files=all", "--ignored=matching", "--", pathspec]
    try:
        done = subprocess.run(command, capture_output=True, timeout=GIT_TIMEOUT_SECONDS, env=environ,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return NOT_WHOLE
    if done.returncode != 0:
        # Not a work tree (128), or a repository git refuses to read (another owner: safe.directory).
        return None
    commit = None
    for entry in done.stdout.decode("utf-8", "replace").split("\0"):
        if entry.startswith("# branch.oid "):
            commit = entry.removeprefix("# branch.oid ").strip()
        elif entry and not entry.startswith("# "):
            return NOT_WHOLE  # a path that differs from the commit (or is not in it)
    if commit is None or not commit or commit == "(initial)":
        return NOT_WHOLE
    return TreeCommit(commit[:12], True)
