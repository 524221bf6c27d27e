"""The lock files every machine installs from match pyproject.toml (the check `.ci/run` makes)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _check_lock(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "dev.py", "check-lock"], cwd=tree, capture_output=True, text=True)


def test_committed_locks_match_pyproject() -> None:
    out = _check_lock(ROOT)
    assert out.returncode == 0, out.stderr


def test_a_dependency_added_without_relocking_is_caught(tmp_path: Path) -> None:
    for name in ("dev.py", "pyproject.toml", "requirements.lock", "requirements-test.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"pyyaml>=6",', '"pyyaml>=6",\n  "left-pad>=1",', 1))
    out = _check_lock(tmp_path)
    assert out.returncode == 1
    assert "requirements.lock was not resolved from the current pyproject.toml" in out.stderr
    assert "python3 dev.py lock" in out.stderr


def test_every_pin_carries_a_hash() -> None:
    for lock in ("requirements.lock", "requirements-test.lock"):
        pins = [line for line in (ROOT / lock).read_text().splitlines() if "==" in line and not line.startswith(" ")]
        assert pins, lock
        assert all(line.rstrip().endswith("\\") for line in pins), f"{lock}: a pin without --hash lines"
