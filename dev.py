#!/usr/bin/env python3
"""One-command developer entry points that need nothing but Python 3.11+.

    python3 dev.py demo   # create .venv, install senderctl, run `senderctl demo`
    python3 dev.py test   # create .venv, install senderctl with test extras, run the whole suite

The virtualenv lives in .venv next to this file and is reused on later runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before the venv exists, on any Python
        sys.exit(f"senderctl needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    marker = VENV / f".installed-{extras or 'base'}"
    stamp = str((ROOT / "pyproject.toml").stat().st_mtime)
    if marker.exists() and marker.read_text() == stamp:
        return
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(BIN / "python"), "-m", "pip", "install", "-q", "-e", target], cwd=ROOT, check=True)
    marker.write_text(stamp)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "demo":
        ensure_venv("")
        return subprocess.run([str(BIN / "senderctl"), "demo", *argv[1:]], cwd=ROOT).returncode
    if command == "test":
        ensure_venv("test")
        return subprocess.run([str(BIN / "python"), "-m", "pytest", "-n", "auto", *argv[1:]], cwd=ROOT).returncode
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
