"""What every reliability test needs: senderctl as a subprocess or in process, the invariants, the counts.

The invariants (issue 12) are checked against the emulator's whole state and the state database after
every faulted run: no duplicate number, brand, vetting, campaign, connector or webhook subscription; the
assignments the specs declare, each held once; one usage row per number and week.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

from controller.reconcile import engine
from controller.reconcile.engine import Settings
from tests.support import ACCESS_KEY, EmulatorAdmin

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"
MULTI_ORG = ROOT / "examples" / "multi-org"
# Recognisable secrets: any of them found in an output or the state database is a leak.
SIGNING_KEY = "sk-proof-SIGNING-7f3a9c1e5b"
SECRETS_ENV = {
    "SENDERCTL_DEMO_SIGNING_KEY": SIGNING_KEY,
    "ACME_BIRD_SIGNING_KEY": SIGNING_KEY + "-acme",
    "GLOBEX_SIGNING_KEY": SIGNING_KEY + "-globex",
    "INITECH_SIGNING_KEY": SIGNING_KEY + "-initech",
}
REPORT = Path(os.environ.get("SENDERCTL_PROOF_REPORT", ROOT / "build" / "reliability.json"))
# The quick start's lifecycle: brand approval (1 h), campaign approval (7 days), carriers (15 min).
# The last stage (a minute later) edits the specs: updates, a replace, removals and an archive.
STAGES = (0, 3600 + 60, 7 * 24 * 3600, 15 * 60 + 60, 60)

KINDS = ("numbers", "brands", "vettings", "campaigns", "connectors", "webhookSubscriptions")


def natural_key(kind: str, item: Mapping[str, Any]) -> Any:
    """What makes two Bird objects the same thing bought or registered twice."""
    if kind == "numbers":
        return item.get("number")
    if kind == "brands":
        return (item.get("workspaceId"), item.get("ein"), item.get("companyName") or item.get("displayName"))
    if kind == "vettings":
        return (item.get("brandId"), item.get("class"), item.get("vettingProviderId"))
    if kind == "campaigns":
        return (item.get("brandId"), item.get("name"))
    if kind == "connectors":
        args = item.get("arguments") or item.get("args") or {}
        return (item.get("workspaceId"), json.dumps(args, sort_keys=True, default=str))
    if kind == "webhookSubscriptions":
        return (item.get("workspaceId"), item.get("event"), item.get("url"),
                json.dumps(item.get("eventFilters"), sort_keys=True, default=str))
    raise KeyError(kind)


def live(kind: str, items: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Objects that still count: a cancelled number or a deleted connector is not held."""
    out = []
    for item in items:
        status = str(item.get("status", "")).lower()
        if kind == "numbers" and status in ("cancelled", "canceled", "released"):
            continue
        if item.get("deletedAt") or status == "deleted":
            continue
        out.append(item)
    return out


def world_counts(emulator: EmulatorAdmin) -> dict[str, int]:
    state = emulator.state()
    return {kind: len(live(kind, state[kind])) for kind in KINDS}


def duplicates(emulator: EmulatorAdmin) -> dict[str, int]:
    """Objects held more than once, by natural key (0 everywhere is the only good answer)."""
    state = emulator.state()
    found = {}
    for kind in KINDS:
        keys = Counter(natural_key(kind, item) for item in live(kind, state[kind]))
        found[kind] = sum(n - 1 for n in keys.values() if n > 1)
    return found


def charges(emulator: EmulatorAdmin) -> dict[str, int]:
    """Fees and purchases Bird charged, by kind: a doubled registration shows here too."""
    return dict(Counter(c.get("kind") for c in emulator.state().get("charges", [])))


def private_specs(source: Path, target: Path) -> Path:
    """A copy of the example whose webhook URLs point at a loopback port nobody listens on (the examples'
    127.0.0.1:8080 may be another session's server on this shared machine)."""
    import shutil
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    shutil.copytree(source, target)
    for path in target.rglob("*.yaml"):
        path.write_text(path.read_text().replace("127.0.0.1:8080", f"127.0.0.1:{port}"))
    return target


def settings(emulator_url: str, state_url: str, **kw: Any) -> Settings:
    return Settings(state_url=state_url, bird_url=emulator_url, access_key=ACCESS_KEY,
                    environ={**os.environ, **SECRETS_ENV}, **kw)


def apply_in_process(specs: Path, emulator_url: str, state_url: str,
                     environ: Mapping[str, str] | None = None) -> engine.ApplyOutcome:
    run = settings(emulator_url, state_url)
    if environ:
        run.environ = {**(run.environ or {}), **environ}
    return asyncio.run(engine.apply([str(specs)], run, allow_archive=True))


def pending_changes(specs: Path, emulator_url: str, state_url: str) -> list[str]:
    """What a plan would still do: [] when the apply converged."""
    computed = asyncio.run(engine.plan([str(specs)], settings(emulator_url, state_url)))
    return [f"{c.action} {c.address}" for c in computed.plan.changes]


def cli_env(emulator_url: str, state_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENDERCTL_CRASH")}
    env.update(SECRETS_ENV)
    env.update({"BIRD_API_URL": emulator_url, "BIRD_ACCESS_KEY": ACCESS_KEY, "SENDERCTL_STATE": state_url,
                "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def senderctl(*args: str, env: Mapping[str, str], timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(env), cwd=str(cwd or ROOT), stdin=subprocess.DEVNULL)


def assert_no_traceback(run: subprocess.CompletedProcess, what: str) -> None:
    text = (run.stdout or "") + (run.stderr or "")
    assert "Traceback (most recent call last)" not in text, f"{what}: a traceback reached the user:\n{text[-3000:]}"


def state_assignments(state_url: str) -> dict[str, dict[str, str]]:
    """org -> {number: user} of the active assignments; raises when a number or a user holds two."""
    from controller.state import StateStore
    from controller.state import tenant_repo as repo

    with StateStore.open(state_url) as store, store.transaction() as tx:
        rows = repo.active_assignments(tx)
        out: dict[str, dict[str, str]] = {}
        numbers = Counter(r.number for r in rows)
        users = Counter((r.organization, r.user) for r in rows)
        doubled = [n for n, k in numbers.items() if k > 1] + [f"{o}/{u}" for (o, u), k in users.items() if k > 1]
        assert not doubled, f"doubled assignments: {doubled}"
        for r in rows:
            out.setdefault(r.organization, {})[r.number] = r.user
        return out


def usage_duplicates(state_url: str) -> int:
    from controller.state import StateStore
    from controller.state import tenant_repo as repo

    with StateStore.open(state_url) as store, store.transaction() as tx:
        rows = repo.usage_logs(tx)
        keys = Counter((r.event_type, r.number, r.week) for r in rows)
        return sum(n - 1 for n in keys.values() if n > 1)


def users_of(assignments: Mapping[str, Mapping[str, str]]) -> dict[str, set[str]]:
    return {org: set(by_number.values()) for org, by_number in assignments.items()}


def record(section: str, **counts: Any) -> None:
    """Add this test's counts to the reliability report (build/reliability.json; docs/RELIABILITY.md)."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(REPORT) + ".lock"):
        data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        data[section] = counts
        REPORT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def forked_cli(*args: str, env: Mapping[str, str], crash_at: str | None = None,
               timeout: float = 300) -> tuple[int, str]:
    """`senderctl ARGS` in a forked child process: the real CLI (click, renderers, exit codes) without a
    Python start-up, which a machine shared by eight sessions cannot afford per crash point. With
    `crash_at`, the child arms that crash point. Returns the exit status (negative: killed by that signal)
    and what it printed (stdout and stderr)."""
    return wait_cli(start_cli(*args, env=env, crash_at=crash_at), timeout)


def start_cli(*args: str, env: Mapping[str, str], crash_at: str | None = None) -> tuple[int, str, str]:
    """Fork `senderctl ARGS`; returns (pid, output file, what it runs) for wait_cli."""
    import tempfile

    out_fd, out_path = tempfile.mkstemp(prefix="senderctl-", suffix=".out")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child's whole life
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            os.environ.clear()
            os.environ.update(env)
            from controller.reconcile import crashpoints

            crashpoints.TARGET = crashpoints._parse(crash_at)
            crashpoints.ARMED = crashpoints.TARGET is not None or crashpoints.LISTING is not None
            crashpoints._reached.clear()
            from cli import cli

            try:
                cli.main(list(args), prog_name="senderctl", standalone_mode=True)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 71
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(out_fd)
    return pid, out_path, " ".join(args)


def wait_cli(started: tuple[int, str, str], timeout: float = 300) -> tuple[int, str]:
    import signal
    import time

    pid, out_path, what = started
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"senderctl {what} did not finish in {timeout} s")
        time.sleep(0.02)
    text = Path(out_path).read_text(errors="replace")
    os.unlink(out_path)
    return (-os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)), text
