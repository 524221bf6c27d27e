#!/usr/bin/env python3
"""One-command developer entry points that need nothing but Python 3.11+.

    python3 dev.py demo         # create .venv, install senderctl, run `senderctl demo`
    python3 dev.py test         # create .venv, install senderctl with test extras, run the whole suite
    python3 dev.py lock         # re-resolve requirements*.lock after editing pyproject.toml (needs uv)
    python3 dev.py check-lock   # exit 1 when the lock files do not match pyproject.toml

The virtualenv lives in .venv next to this file and is reused on later runs. Installs come from the
committed lock files (exact versions, hashes checked), so every machine tests the same releases;
pyproject.toml keeps the ranges users install senderctl with.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
# extras -> lock file; the runtime lock is resolved within the test lock, so both pin the same versions.
LOCKS = {"test": ROOT / "requirements-test.lock", "": ROOT / "requirements.lock"}
STAMP_PREFIX = "# pyproject-requirements-sha256: "


def requirements_digest(extras: str) -> str:
    """A digest of what pyproject.toml asks for (runtime deps, plus the extra's), the lock's input."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "extra": sorted(project.get("optional-dependencies", {}).get(extras, [])) if extras else [],
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def lock_problems(extras: str) -> list[str]:
    lock = LOCKS[extras]
    if not lock.exists():
        return [f"{lock.name} is missing: run `python3 dev.py lock`"]
    text = lock.read_text()
    stamp = next((line[len(STAMP_PREFIX):].strip() for line in text.splitlines() if line.startswith(STAMP_PREFIX)), "")
    if stamp != requirements_digest(extras):
        return [f"{lock.name} was not resolved from the current pyproject.toml: run `python3 dev.py lock`"]
    return []


def uv() -> list[str]:
    """uv resolves the locks; it is a developer tool, fetched into .venv only when `lock` runs."""
    ensure_plain_venv()
    if not (BIN / "uv").exists():
        subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-q", "uv"], check=True)
    return [str(BIN / "uv")]


def write_lock(extras: str, extra_args: list[str]) -> None:
    lock = LOCKS[extras]
    command = [*uv(), "pip", "compile", "pyproject.toml", "--universal", "--python-version", "3.11",
               "--generate-hashes", "--no-header", *extra_args]
    resolved = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    header = (
        f"# Exact versions senderctl is tested with{' (with the test extras)' if extras else ''}.\n"
        "# Do not edit: change pyproject.toml, then run `python3 dev.py lock`.\n"
        f"{STAMP_PREFIX}{requirements_digest(extras)}\n"
    )
    lock.write_text(header + resolved)


def lock(argv: list[str]) -> int:
    # `--upgrade` moves every pin to the newest release the ranges allow; without it pins stay put.
    upgrade = ["--upgrade"] if "--upgrade" in argv else []
    test_lock = LOCKS["test"]
    pinned = [] if upgrade or not test_lock.exists() else ["--constraint", str(test_lock)]
    write_lock("test", ["--extra", "test", *upgrade, *pinned])
    write_lock("", ["--constraint", str(test_lock)])
    print(f"wrote {LOCKS['test'].name} and {LOCKS[''].name}")
    return 0


def check_lock() -> int:
    problems = [problem for extras in LOCKS for problem in lock_problems(extras)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def ensure_plain_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before the venv exists, on any Python
        sys.exit(f"senderctl needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)


def ensure_venv(extras: str) -> None:
    ensure_plain_venv()
    problems = lock_problems(extras)
    if problems:
        sys.exit("\n".join(problems))
    lock_file = LOCKS[extras]
    marker = VENV / f".installed-{extras or 'base'}"
    stamp = hashlib.sha256(lock_file.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == stamp:
        return
    pip = [str(BIN / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--require-hashes", "-r", str(lock_file)], cwd=ROOT, check=True)
    subprocess.run([*pip, "--no-deps", "-e", "."], cwd=ROOT, check=True)
    marker.write_text(stamp)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "demo":
        ensure_venv("")
        return subprocess.run([str(BIN / "senderctl"), "demo", *argv[1:]], cwd=ROOT).returncode
    if command == "test":
        ensure_venv("test")
        return subprocess.run([str(BIN / "python"), "-m", "pytest", "-n", "auto", *argv[1:]], cwd=ROOT).returncode
    if command == "lock":
        return lock(argv[1:])
    if command == "check-lock":
        return check_lock()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
