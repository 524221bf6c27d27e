"""`senderctl demo`: the quick start, end to end, against an embedded Bird emulator.

Serves the emulator on a free loopback port, applies examples/quickstart with a temporary state,
moves the emulator's clock through brand approval (1 h), campaign approval (7 days) and carrier
acknowledgement (15 min), re-applying after each, and prints the status of every resource.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import click

from controller.reconcile import engine
from controller.reconcile.engine import Settings

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
DEMO_KEY = "emulator-key"  # the emulator's default world access key (CONTRACT.md)
STEPS = (
    ("register the brand, request vetting, buy the first number, subscribe to webhooks", 0),
    ("brand approved and vetted (+1 hour): register the campaign", 3600 + 60),
    ("campaign approved (+7 days): buy the second number, install the SMS channels", 7 * 24 * 3600),
    ("carriers acknowledged the numbers (+15 minutes): subscribe to channel messages", 15 * 60 + 60),
)


def advance_clock(base_url: str, seconds: int) -> None:
    body = json.dumps({"seconds": seconds}).encode()
    request = urllib.request.Request(f"{base_url}/_emulator/clock/advance", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def run_demo(keep: str | None = None) -> int:

    if not QUICKSTART.is_dir():
        click.echo(f"error: the quick start specs are not at {QUICKSTART}; run the demo from a senderctl checkout",
                   err=True)
        return 1
    if keep and (Path(keep) / "state.db").exists():
        click.echo(f"error: --keep {keep} already holds a demo state ({Path(keep) / 'state.db'}) from an earlier run; "
                   "each demo starts a new emulator, so that state describes a Bird that no longer exists. Give a new "
                   "or empty directory, or delete that one", err=True)
        return 1
    if keep and Path(keep).exists() and not Path(keep).is_dir():
        click.echo(f"error: --keep {keep} is a file; give a directory for the demo state", err=True)
        return 1
    try:
        return _run(keep)
    except Exception as exc:
        from controller.operations.commands import report_failure

        return report_failure(exc)


def _run(keep: str | None) -> int:
    from controller.emulator.server import running_emulator

    started = time.monotonic()
    with running_emulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(keep or tmp)
        state_dir.mkdir(parents=True, exist_ok=True)
        environ = {**os.environ, "SENDERCTL_DEMO_SIGNING_KEY": "senderctl-demo-signing-key"}
        settings = Settings(state_url=f"sqlite:///{state_dir / 'state.db'}", bird_url=emulator.url,
                            access_key=DEMO_KEY, environ=environ)
        click.echo(f"Bird emulator on {emulator.url}; state in {state_dir}")
        paths = [str(QUICKSTART)]
        for n, (title, seconds) in enumerate(STEPS, 1):
            if seconds:
                advance_clock(emulator.url, seconds)
            click.echo(f"\n[{n}/{len(STEPS)}] {title}")
            outcome = engine.run(engine.apply(paths, settings, on_result=print_change))
            failed = outcome.report.failed
            if failed:
                for r in failed:
                    click.echo(f"  ✗ {r.error}", err=True)
                return 1
            final = outcome.final.plan if outcome.final else outcome.first_plan
            for w in final.waiting:
                click.echo(f"  … waiting: {w.address}: {w.reason}")
        click.echo("\nStatus:")
        lines = engine.run(engine.status(paths, settings))
        for line in lines:
            click.echo(f"  {line.text()}")
    elapsed = time.monotonic() - started
    ready = all(line.status == "Ready" for line in lines)
    click.echo(f"\n{'Every resource is Ready' if ready else 'Not everything converged'} ({elapsed:.1f} s).")
    return 0 if ready else 1


def print_change(result: engine.ChangeResult) -> None:
    mark = "✓" if result.ok else "✗"
    click.echo(f"  {mark} {result.change.action} {result.change.address}")
