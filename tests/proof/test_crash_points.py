"""SIGKILL at every crash point of the journal and the state store (controller/reconcile/crashpoints.py), then the
emulator's commit-then-fail on every write route: at most two re-runs converge, nothing is held twice,
no assignment is lost or doubled, no usage row is written twice.

One fault-free run through the CLI lists the points each stage reaches (SENDERCTL_CRASH_LIST); each
point is then tried once on a fresh world (/_emulator/reset) and a fresh SQLite state, reached
fault-free in process, with the killed `senderctl apply` (or daemon) as a real subprocess.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.bird import routes
from controller.reconcile import crashpoints
from tests.proof import scenario
from tests.proof.harness import (
    ACCESS_KEY,
    QUICKSTART,
    ROOT,
    STAGES,
    apply_in_process,
    cli_env,
    forked_cli,
    private_specs,
    record,
    senderctl,
    usage_duplicates,
)
from tests.support import EmulatorAdmin

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorAdmin]:
    """One emulator for the module's tests, reset before every run."""
    from controller.emulator.server import running_emulator

    with running_emulator() as running:
        admin = EmulatorAdmin(running.url)
        yield admin
        admin.close()


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The spec directory each stage applies (the last one edited)."""
    quickstart = private_specs(QUICKSTART, tmp_path_factory.mktemp("specs") / "quickstart")
    return scenario.stage_specs(*scenario.lifecycle_specs(quickstart))


@pytest.fixture(scope="module")
def ref(emulator: EmulatorAdmin, specs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> scenario.Reference:
    return scenario.reference(emulator, specs, tmp_path_factory.mktemp("reference"))


def points_to_try(ref: scenario.Reference) -> list[tuple[int, str, int]]:
    """Every point of every stage, tried at the first stage that reaches it; the Bird writes also the
    second time they happen in one run (a second purchase, a second subscription)."""
    chosen: list[tuple[int, str, int]] = []
    seen: set[tuple[str, int]] = set()
    for stage, points in enumerate(ref.points):
        for name, nth in scenario.occurrences(points):
            if nth > (2 if name.startswith("bird-write") else 1):
                continue
            if (name, nth) not in seen:
                seen.add((name, nth))
                chosen.append((stage, name, nth))
    return chosen


def test_sigkill_at_every_crash_point(emulator: EmulatorAdmin, specs: list[Path], ref: scenario.Reference,
        tmp_path: Path) -> None:
    points = points_to_try(ref)
    names = {name for _, name, _ in points}
    assert len(points) >= 30 and len(names) >= 20, points
    problems: list[str] = []
    reruns_needed = []
    for n, (stage, name, nth) in enumerate(points):
        state_url = f"sqlite:///{tmp_path / f'crash-{n}.db'}"
        scenario.reach_stage(emulator, ref, state_url, stage)
        code, output = forked_cli("apply", str(specs[stage]), "--auto-approve", "--allow-archive",
                                  env=cli_env(emulator.url, state_url), crash_at=f"{name}:{nth}")
        where = f"SIGKILL at {name}:{nth} (stage {stage})"
        if code != -signal.SIGKILL:
            problems.append(f"{where}: apply exited {code} instead of dying:\n{output[-800:]}")
            continue
        try:
            reruns_needed.append(scenario.converge(specs[stage], emulator, state_url))
        except AssertionError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += scenario.check(emulator, state_url, ref, stage, where)
    # Billing: killed right after its one transaction commits, then run again.
    billing = [p for p in dict.fromkeys(ref.billing_points) if p.startswith("commit:run_billing")]
    assert billing, ref.billing_points
    for name in billing:
        state_url = f"sqlite:///{tmp_path / 'billing.db'}"
        scenario.reach_stage(emulator, ref, state_url, len(STAGES) - 1)
        apply_in_process(specs[-1], emulator.url, state_url)
        week = scenario.billable_week(state_url)
        killed = senderctl("billing", "run", "--week", week,
                           env=cli_env(emulator.url, state_url, {crashpoints.CRASH_ENV: name}))
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        again = senderctl("billing", "run", "--week", week, env=cli_env(emulator.url, state_url))
        assert again.returncode == 0, again.stderr
        if usage_duplicates(state_url) or scenario.usage_rows(state_url) != ref.usage_rows:
            problems.append(f"billing killed at {name}: {scenario.usage_rows(state_url)} usage rows, "
                            f"{ref.usage_rows} expected")
    record("crash_points_apply", points_tried=len(points) + len(billing), distinct_point_names=len(names) + len(billing),
           max_reruns_to_converge=max(reruns_needed, default=0), problems=len(problems), duplicates_found=sum(
               1 for p in problems if "duplicates" in p))
    assert not problems, "\n".join(problems)


def test_sigkill_daemon_reconcile_at_every_bird_write(emulator: EmulatorAdmin, specs: list[Path],
                                                      ref: scenario.Reference, tmp_path: Path) -> None:
    """The daemon's reconcile goes through the same journal: killed after each kind of Bird write."""
    chosen = [(stage, name, nth) for stage, name, nth in points_to_try(ref)
              if name.startswith("bird-write:") and nth == 1]
    assert len(chosen) >= 6, chosen
    problems: list[str] = []
    for n, (stage, name, nth) in enumerate(chosen):
        state_url = f"sqlite:///{tmp_path / f'daemon-{n}.db'}"
        scenario.reach_stage(emulator, ref, state_url, stage)
        code, log = run_daemon_until_killed(specs[stage], emulator.url, state_url, f"{name}:{nth}", tmp_path)
        where = f"daemon SIGKILLed at {name} (stage {stage})"
        if code != -signal.SIGKILL:
            problems.append(f"{where}: exited {code} instead of dying:\n{log[-1500:]}")
            continue
        try:
            scenario.converge(specs[stage], emulator, state_url)
        except AssertionError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += scenario.check(emulator, state_url, ref, stage, where)
    record("crash_points_daemon", points_tried=len(chosen), problems=len(problems))
    assert not problems, "\n".join(problems)


def run_daemon_until_killed(specs: Path, bird_url: str, state_url: str, point: str, workdir: Path,
                            timeout: float = 60) -> tuple[int | None, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = workdir / f"daemon-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "daemon", str(specs), "--listen", f"127.0.0.1:{port}", "--resync", "1h",
             "--state", state_url, "--bird-url", bird_url, "--allow-archive"],
            cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=cli_env(bird_url, state_url, {crashpoints.CRASH_ENV: point, "BIRD_ACCESS_KEY": ACCESS_KEY}))
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if "reconcile.done" in log.read_text(errors="replace"):
                break  # the reconcile ended without reaching the point: reported below
            time.sleep(0.1)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return None, log.read_text(errors="replace")
    return proc.returncode, log.read_text(errors="replace")


WRITE_ROUTES = [r for r in routes.ROUTES if r.method != "GET"]


def test_commit_then_fail_on_every_write_route(emulator: EmulatorAdmin, specs: list[Path], ref: scenario.Reference,
        tmp_path: Path) -> None:
    """Bird keeps the write and loses the answer (a 502, or the connection dropped): the apply fails or
    adopts, the next runs converge, nothing is held twice."""
    used = used_write_routes(emulator, specs, tmp_path)
    problems: list[str] = []
    tried = 0
    for route_key, stage in sorted(used.items()):
        route = routes.BY_KEY[route_key]
        for drop in (False, True):
            tried += 1
            state_url = f"sqlite:///{tmp_path / f'ctf-{tried}.db'}"
            scenario.reach_stage(emulator, ref, state_url, stage)
            emulator.fault(method=route.method, route=route.path, effect="commit-then-fail", times=1, drop=drop)
            code, output = forked_cli("apply", str(specs[stage]), "--auto-approve", "--allow-archive",
                                      env=cli_env(emulator.url, state_url))
            where = f"commit-then-fail{' (dropped)' if drop else ''} on {route_key} (stage {stage})"
            if "Traceback" in output or code not in (0, 1):
                problems.append(f"{where}: exit {code}:\n{output[-1500:]}")
                continue
            emulator.http.delete("/_emulator/faults").raise_for_status()
            try:
                scenario.converge(specs[stage], emulator, state_url)
            except AssertionError as exc:
                problems.append(f"{where}: {exc}")
                continue
            problems += scenario.check(emulator, state_url, ref, stage, where)
    unused = sorted(r.key for r in WRITE_ROUTES if r.key not in used)
    record("commit_then_fail", routes_faulted=len(used), faults_injected=tried, problems=len(problems),
           write_routes_not_used_by_senderctl_here=unused)
    assert len(used) >= 6, used
    assert not problems, "\n".join(problems)


def used_write_routes(emulator: EmulatorAdmin, specs: list[Path], workdir: Path) -> dict[str, int]:
    """Each write route the quick start uses, with the first stage that uses it."""
    emulator.reset()
    state_url = f"sqlite:///{workdir / 'routes.db'}"
    first: dict[str, int] = {}
    for stage, seconds in enumerate(STAGES):
        if seconds:
            emulator.advance(seconds)
        emulator.zero_requests()
        apply_in_process(specs[stage], emulator.url, state_url)
        for key in emulator.write_routes():
            first.setdefault(key, stage)
    return first
