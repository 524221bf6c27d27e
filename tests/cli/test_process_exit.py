"""A `senderctl` process ends without the interpreter's teardown (cli.end_without_teardown) once its
command has: what it wrote must still arrive whole, its exit status must be the command's, and the exit
handlers registered before it ends (here: a temporary directory's cleanup) must still run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def senderctl(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def with_command(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `senderctl extra` through cli.main, `extra` being a command made of `body`."""
    script = "import sys, tempfile\nimport cli\n\n@cli.cli.command('extra')\ndef extra() -> None:\n" + \
        textwrap.indent(textwrap.dedent(body), "    ") + "\n\nsys.argv = ['senderctl', 'extra']\ncli.main()\n"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_output_left_in_the_buffers_arrives_whole(tmp_path: Path) -> None:
    """Piped standard output is written 8 KiB at a time: what a command writes without flushing (click.echo
    flushes; print does not) is still in the buffer when it ends."""
    done = with_command("print('x' * 100_000)\nprint('the end', end='')\nsys.stderr.write('warned')", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x" * 100_000 + "\nthe end" and done.stderr == "warned"
    assert json.loads(senderctl("schema").stdout)["$id"] == "urn:senderctl:spec:v1"


def test_exit_statuses_are_the_commands(tmp_path: Path) -> None:
    assert senderctl("validate", str(tmp_path / "missing")).returncode == 2  # usage
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: senderctl/v1\nkind: Nonsense\nmetadata: {name: x}\n")
    invalid = senderctl("validate", str(bad))
    assert invalid.returncode == 1 and "bad.yaml" in invalid.stderr, invalid


def test_exit_handlers_run_before_the_process_ends(tmp_path: Path) -> None:
    """A command that leaves a temporary directory to the interpreter's exit handlers: it is removed."""
    marker = tmp_path / "made.txt"
    done = with_command(f"""
        kept = tempfile.TemporaryDirectory()  # removed by weakref.finalize's exit handler
        open({str(marker)!r}, "w").write(kept.name)
        sys.modules["__main__"].kept = kept
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    assert not Path(marker.read_text()).exists()


def test_a_command_that_ends_in_an_error_keeps_its_status(tmp_path: Path) -> None:
    assert with_command("raise SystemExit(3)", tmp_path).returncode == 3
    crashed = with_command("raise RuntimeError('boom')", tmp_path)  # no status: the interpreter's own exit
    assert crashed.returncode == 1 and "RuntimeError: boom" in crashed.stderr
