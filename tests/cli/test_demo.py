"""The README's first command: `senderctl demo` converges the quick start on an embedded emulator, from the
checkout's examples (found relative to the package, wherever the module that runs it lives)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_converges_the_quick_start() -> None:
    run = subprocess.run([sys.executable, "-m", "cli", "demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=240, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Every resource is Ready" in run.stdout, run.stdout + run.stderr


def readme_step_by_step() -> list[str]:
    """The shell lines of the README's step-by-step quick start (the block after "step by step")."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index("step by step"):]
    block = block[block.index("```sh\n") + len("```sh\n"):]
    return [line.split("#", 1)[0].strip() for line in block[:block.index("```")].splitlines()]


def test_the_step_by_step_quick_start_writes_nothing_over_the_checkout() -> None:
    """Run from a checkout, as the README says: copying the quick start to a directory the checkout already
    has (specs/ is the spec language's package) would mix YAML into the source."""
    copies = [line.split() for line in readme_step_by_step() if line.startswith("cp ")]
    assert copies, "the README's step-by-step quick start no longer copies the examples"
    for copy in copies:
        target = ROOT / copy[-1]
        assert not target.exists(), f"the README copies the quick start into {copy[-1]}/, which the checkout has"
