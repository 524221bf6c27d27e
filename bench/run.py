"""senderctl benchmarks: `python bench/run.py` prints every figure with the bound it is held to,
writes bench/results.json, and `--write-doc` puts the table in docs/PERFORMANCE.md.

The world is an emulator world file and generated specs (bench/world.py), served over real HTTP by a
`senderctl emulator` subprocess that enforces Bird's rate limits (50 GET/s and 500 POST/s per workspace).

  converge   W workspaces x N numbers through the 10DLC lifecycle (initial, brand approved, campaign
             approved, carriers acknowledged): applies per step, 'not in stock' failures, Bird calls, 429s,
             purchase calls (ceil(numbers/25) per workspace and step)
  noop-plan  `senderctl plan` of each converged world (sizes 1k, 3k, 10k by default): Bird calls against
             the lower bound sum(ceil(items/page)) over every collection read (Bird's largest page: 99,
             channels 1000, webhook subscriptions 100), wall time, peak RSS
  limits     apply where the write limit binds (2 workspaces, POST lowered to 20/s each), and paging at the
             GET limit: the share of the limit kept busy; 429s
  daemon     signed sms.inbound webhooks (Bird's documented payload) accepted and routed per second from one
             and from 8 concurrent connections, each routed exactly once; a signed status webhook ->
             targeted reconcile done, one changed spec file (a pulled commit, a file saved in place) -> first
             Bird write
  startup    `senderctl --help` and `validate`; what `plan` imports
  emulator   the emulator's CPU seconds per 1,000 requests it served (is it the bottleneck?)

Sizes: --sizes 1000,3000,10000 (numbers; 100 per workspace). --smoke runs a 1 % world (10 x 10).
Latency: --latency 150 runs every section (start-up excepted: it never calls Bird) at 0 ms and again with
the emulator answering each Bird call 150 ms (+- 10 %) later, as Bird does from a cloud region, and
compares the campaign-approved step's time at both (<= 1.5x).
Run it on a quiet machine: every figure is wall-clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import world as bench_world  # noqa: E402

PER_WORKSPACE = 100
STEPS = (("initial", 0), ("brand approved", 3600), ("campaign approved", 7 * 86400), ("carriers acknowledged", 900))


# --------------------------------------------------------------------------------------- processes


def senderctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


SETTLE_SECONDS = 2.0  # the daemon's default --settle, which the benchmark's daemon runs with


def bench_env(emulator_url: str, state_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "BIRD_API_URL": emulator_url, "BIRD_ACCESS_KEY": bench_world.ACCESS_KEY,
           "SENDERCTL_STATE": state_url, **bench_world.signing_environ(), "PYTHONPATH": str(ROOT)}
    env.update(extra)
    return env


# Runs the command given after the result file's path and writes its exit status, peak RSS (KiB) and CPU
# seconds there. The peak must be measured by a small parent: Linux counts the RSS of the process that
# forked a child into the child's ru_maxrss (recorded at exec), so a command started straight from this
# benchmark (hundreds of MB after a converge) reported this process's size, not its own.
MEASURE = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "seconds": seconds, "maxrss": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, out)
"""


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """Run a command; its wall time, exit code, peak RSS (MiB) and CPU seconds (measured by MEASURE)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as measured:
        proc = subprocess.run([sys.executable, "-c", MEASURE, measured.name, *cmd], env=env, cwd=cwd,
                              capture_output=True)
        usage = json.loads(Path(measured.name).read_text() or "null")
    if proc.returncode != 0 or usage is None:
        raise RuntimeError(f"could not measure {cmd}: {proc.stderr.decode()[-2000:]}")
    return {"seconds": usage["seconds"], "code": os.waitstatus_to_exitcode(usage["status"]), "rss_mib": usage["maxrss"] / 1024,
            "cpu": usage["cpu"], "stdout": proc.stdout.decode(), "stderr": proc.stderr.decode()}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """The CPU seconds of a process and its running children (the daemon's webhook receiving processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


@dataclass
class Emulator:
    world_file: Path
    proc: subprocess.Popen[str] | None = None
    url: str = ""

    def __enter__(self) -> Emulator:
        self.proc = subprocess.Popen(senderctl("emulator", "--world", str(self.world_file), "--port", "0"),
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"http://\S+", line)
        if not match:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        self.url = match.group(0)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)

    def admin(self, method: str, action: str, body: Any = None) -> Any:
        import httpx

        response = httpx.request(method, f"{self.url}/_emulator/{action}", json=body, timeout=600)
        response.raise_for_status()
        return response.json() if response.content else None

    def cpu(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------ figures


@dataclass
class Figure:
    name: str
    value: float | None
    bound: str  # e.g. "<= 3 s", "= 1.00", ">= 90 %", "report"
    unit: str = ""
    detail: str = ""

    @property
    def ok(self) -> bool | None:
        if self.value is None:
            return None
        match = re.match(r"(<=|>=|=)\s*([\d.]+)", self.bound)
        if not match:
            return None
        op, limit = match.group(1), float(match.group(2))
        return {"<=": self.value <= limit + 1e-9, ">=": self.value >= limit - 1e-9,
                "=": abs(self.value - limit) < 0.005}[op]


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)  # this latency's raw data (see at_latency)
    runs: dict[str, Any] = field(default_factory=dict)  # every latency's raw data, by "N ms"
    latency_ms: int = 0  # Bird's distance the figures being measured are at

    @property
    def latency(self) -> float:
        """Seconds each Bird answer is delayed (the emulator world files' `latency`)."""
        return self.latency_ms / 1000

    def at_latency(self, ms: int) -> None:
        self.latency_ms = ms
        self.raw = self.runs.setdefault(f"{ms} ms", {})

    def add(self, name: str, *args: Any, **kw: Any) -> None:
        figure = Figure(f"[{self.latency_ms} ms] {name}", *args, **kw)
        self.figures.append(figure)
        mark = {True: "ok", False: "MISSED", None: ""}[figure.ok]
        value = "n/a" if figure.value is None else f"{figure.value:.3g}"
        print(f"  {figure.name:<58} {value:>9} {figure.unit:<8} {figure.bound:<10} {mark:<6} {figure.detail}",
              flush=True)

    def table(self, ms: int | None = None) -> str:
        lines = ["| figure | value | bound | met | detail |", "|---|---|---|---|---|"]
        for f in self.figures:
            if ms is not None and not f.name.startswith(f"[{ms} ms] "):
                continue
            value = "n/a" if f.value is None else f"{f.value:.3g} {f.unit}".strip()
            met = {True: "yes", False: "**no**", None: ""}[f.ok]
            lines.append(f"| {f.name} | {value} | {f.bound} | {met} | {f.detail} |")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------- converge


class Call(NamedTuple):
    at: float  # time.monotonic() when Bird answered (or the request failed)
    method: str
    status: int | None
    route: str


class CallLog:
    """Every Bird response the engine's client saw (its on_response hook): time, method, status, and the
    purchases (Bird "Buy a Number" calls) by their count only: every call sent, a lost answer (no status) too,
    so one adopted after its answer timed out is not missing from the count; 429s are not calls Bird acted on."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.purchases = 0

    def __call__(self, method: str, route: str, status: int | None, request_id: str | None) -> None:
        self.calls.append(Call(time.monotonic(), method, status, route))
        if (method, route) == ("POST", PURCHASE_ROUTE) and status != 429:
            self.purchases += 1

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls

    def take_purchases(self) -> int:
        purchases, self.purchases = self.purchases, 0
        return purchases


PURCHASE_ROUTE = "/workspaces/{workspaceId}/numbers-long-code"
BUY_BATCH = 25  # Bird "Buy a Number": up to 25 stock items per call


def engine_settings(emulator: Emulator, state_url: str, log: CallLog, **kw: Any) -> Any:
    from controller.reconcile import engine

    return engine.Settings(state_url=state_url, bird_url=emulator.url, access_key=bench_world.ACCESS_KEY,
                           environ=bench_world.signing_environ(), on_bird_response=log, **kw)


def not_in_stock(outcome: Any) -> int:
    texts = [r.error or "" for r in outcome.report.results if not r.ok]
    if outcome.final is not None:
        texts += [f.reason for f in outcome.final.plan.failed]
    return sum("stock" in t for t in texts)


async def converge(emulator: Emulator, specs: Path, state_url: str, log: CallLog,
                   **settings: Any) -> list[dict[str, Any]]:
    """Each lifecycle step: move the emulator's clock, apply until nothing is left to do (at most 5)."""
    from controller.reconcile import engine

    steps = []
    for name, seconds in STEPS:
        if seconds:
            emulator.admin("POST", "clock/advance", {"seconds": seconds})
        applies, missing, started, calls = 0, 0, time.perf_counter(), []
        owned_before = owned_per_workspace(emulator)
        log.take_purchases()
        left: list[str] = []
        while applies < 5:
            applies += 1
            outcome = await engine.apply([str(specs)], engine_settings(emulator, state_url, log, **settings))
            calls += log.take()
            missing += not_in_stock(outcome)
            final = outcome.final.plan if outcome.final else outcome.first_plan
            if not final.has_changes and not outcome.report.failed:
                break
            # Why another apply was needed: the first failures, and what the plan still wanted.
            left.extend(r.error or "" for r in outcome.report.failed[:3])
            left.extend(f"still planned: {c.action} {c.address}" for c in final.changes[:3])
        elapsed = time.perf_counter() - started
        methods = Counter(c.method for c in calls)
        limited = sum(1 for c in calls if c.status == 429)
        writes = sorted(c.at for c in calls if c.method != "GET" and c.status != 429)
        bought = owned_per_workspace(emulator) - owned_before
        steps.append({"step": name, "applies": applies, "seconds": elapsed, "not_in_stock": missing,
                      "calls": len(calls), "by_method": dict(methods), "rate_limited": limited,
                      "writes": len(writes), "writes_per_second": rate(writes), "left_after_apply": left[:6],
                      "numbers_bought": sum(bought.values()), "purchase_calls": log.take_purchases(),
                      "purchase_bound": sum(-(-n // BUY_BATCH) for n in bought.values()),
                      # Each 429: when in the step (s), and the route; with the writes answered in the second
                      # before it, to tell a burst (an event loop that sent late) from steady pacing.
                      "rejected": [{"at": round(r.at - calls[0].at, 3), "method": r.method, "route": r.route,
                                    "writes_in_second_before": sum(1 for c in calls
                                                                   if c.method != "GET" and r.at - 1 <= c.at < r.at)}
                                   for r in calls if r.status == 429]})
    return steps


def owned_per_workspace(emulator: Emulator) -> Counter[str]:
    return Counter(n["workspaceId"] for n in emulator.admin("GET", "state")["numbers"])


def add_purchases(results: Results, label: str, steps: list[dict[str, Any]]) -> None:
    """Numbers are bought 25 per Bird call: per step, ceil(numbers bought / 25) calls per workspace."""
    calls, bound = sum(s["purchase_calls"] for s in steps), sum(s["purchase_bound"] for s in steps)
    results.add(f"{label}: purchase calls / sum(ceil(numbers/25)) per workspace", calls / max(1, bound), "= 1.00",
                detail=f"{calls} calls for {sum(s['numbers_bought'] for s in steps)} numbers")


def rate(times: list[float]) -> float | None:
    """Steady requests per second from first to last (None below 10 requests)."""
    if len(times) < 10 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


# Bird's largest page per list a plan reads: 99, but "Get workspace channels" takes 1000 and "List webhook
# subscriptions" 100 (controller.bird.client.PAGE_SIZES).
PAGE = {"numbers": 99, "brands": 99, "campaigns": 99, "vettings": 99, "channels": 1000, "subscriptions": 100}


def lower_bound_calls(state: dict[str, Any], workspace_ids: list[str]) -> int:
    """sum(ceil(items/page)) (at least 1 per list) over every collection a plan of these workspaces reads, at
    Bird's largest page for each list. The SMS connectors are read on their channels (a channel carries its
    connectorId, number and campaign): no connector list is needed."""
    def pages(n: int, collection: str) -> int:
        return max(1, -(-n // PAGE[collection]))

    per_ws: dict[str, Counter[str]] = {ws: Counter() for ws in workspace_ids}
    for number in state["numbers"]:
        per_ws.setdefault(number["workspaceId"], Counter())["numbers"] += 1
    for channel in state["channels"]:
        ws = channel.get("workspaceId")
        if ws in per_ws:
            per_ws[ws]["channels"] += 1
    brands_by_ws: dict[str, list[str]] = {}
    for brand in state["brands"]:
        brands_by_ws.setdefault(brand["workspaceId"], []).append(brand["id"])
    per_brand: Counter[tuple[str, str]] = Counter()
    for campaign in state["campaigns"]:
        per_brand[(campaign.get("brandId"), "campaigns")] += 1
    for vetting in state["vettings"]:
        per_brand[(vetting.get("brandId"), "vettings")] += 1
    subs: Counter[str] = Counter(s.get("workspaceId") for s in state["webhookSubscriptions"])
    total = 0
    for ws in workspace_ids:
        total += pages(per_ws[ws]["numbers"], "numbers") + pages(per_ws[ws]["channels"], "channels")
        total += pages(len(brands_by_ws.get(ws, [])), "brands")
        for brand in brands_by_ws.get(ws, []):
            total += pages(per_brand[(brand, "campaigns")], "campaigns") + pages(per_brand[(brand, "vettings")],
                                                                                 "vettings")
        total += pages(subs[ws], "subscriptions")
    return total


def noop_plan(emulator: Emulator, specs: Path, state_url: str, workspaces: int, runs: int = 3) -> dict[str, Any]:
    env = bench_env(emulator.url, state_url)
    best: dict[str, Any] | None = None
    for _ in range(runs):
        emulator.admin("DELETE", "requests")
        result = run_measured(senderctl("plan", str(specs), "--detailed-exitcode"), env)
        result["calls"] = emulator.admin("GET", "requests")["total"]
        if result["code"] != 0:
            raise RuntimeError(f"the no-op plan is not a no-op (exit {result['code']}):\n{result['stdout'][-2000:]}"
                               f"\n{result['stderr'][-2000:]}")
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    state = emulator.admin("GET", "state")
    best["lower_bound"] = lower_bound_calls(state, [bench_world.workspace_id(i) for i in range(workspaces)])
    best.pop("stdout")
    best.pop("stderr")
    return best


def bench_size(results: Results, numbers: int, tmp: Path, *, smoke: bool) -> None:
    workspaces = max(1, numbers // PER_WORKSPACE)
    per_ws = numbers // workspaces
    label = f"{workspaces} x {per_ws}"
    print(f"\n== {label} ({workspaces * per_ws} numbers)", flush=True)
    base = tmp / f"size-{numbers}-{results.latency_ms}ms"
    base.mkdir()
    world_file = bench_world.write_world(base / "world.yaml", workspaces, per_ws, latency=results.latency)
    specs = bench_world.write_specs(base / "specs", workspaces, per_ws)
    state_url = f"sqlite:///{base / 'state.db'}"
    log = CallLog()
    with Emulator(world_file) as emulator:
        cpu0 = emulator.cpu()
        served0 = emulator.admin("GET", "requests")["total"]
        steps = asyncio.run(converge(emulator, specs, state_url, log))
        served = emulator.admin("GET", "requests")["total"] - served0
        emulator_cpu = emulator.cpu() - cpu0
        results.raw[f"converge {label}"] = steps
        for s in steps:
            results.add(f"converge {label}: applies, step '{s['step']}'", s["applies"], "= 1",
                        detail=f"{s['seconds']:.1f} s, {s['calls']} Bird calls ({s['writes']} writes"
                               + (f", {s['writes_per_second']:.0f} writes/s" if s["writes_per_second"] else "")
                               + ")" + (f"; left: {s['left_after_apply'][0][:140]}" if s["left_after_apply"] else ""))
        calls = sum(s["calls"] for s in steps)
        limited = sum(s["rate_limited"] for s in steps)
        results.add(f"converge {label}: 'not in stock' failures", sum(s["not_in_stock"] for s in steps), "= 0")
        add_purchases(results, f"converge {label}", steps)
        results.add(f"converge {label}: 429s / Bird calls", 100 * limited / max(1, calls), "<= 1 %", "%",
                    f"{limited} of {calls}, every one waited out")
        results.add(f"converge {label}: emulator CPU per 1,000 requests", 1000 * emulator_cpu / max(1, served),
                    "report", "s", f"{served} requests, {emulator_cpu:.1f} CPU s")
        if smoke:
            return
        plan = noop_plan(emulator, specs, state_url, workspaces)
        results.raw[f"noop-plan {label}"] = plan
        results.add(f"no-op plan {label}: Bird calls / sum(ceil(items/page))", plan["calls"] / plan["lower_bound"],
                    "= 1.00", detail=f"{plan['calls']} calls, bound {plan['lower_bound']}")
        bound = "<= 3" if numbers >= 10_000 else "report"
        results.add(f"no-op plan {label}: wall", plan["seconds"], bound, "s", f"{plan['cpu']:.2f} CPU s")
        results.add(f"no-op plan {label}: peak RSS", plan["rss_mib"], "<= 300" if numbers >= 10_000 else "report",
                    "MiB")
        results.raw.setdefault("noop", []).append({"numbers": numbers, **plan})


def linear_growth(results: Results) -> None:
    runs = results.raw.get("noop", [])
    if len(runs) < 2:
        return
    small, big = runs[0], runs[-1]
    per_small, per_big = small["seconds"] / small["numbers"], big["seconds"] / big["numbers"]
    results.add(f"no-op plan: wall per number, {big['numbers']} vs {small['numbers']}", per_big / per_small,
                "<= 1.2", "x", "linear: the larger world costs no more per number ("
                + ", ".join(f"{r['numbers']}: {r['seconds']:.2f} s" for r in runs) + ")")


# ------------------------------------------------------------------------------------------- limits


# Two workspaces at a lowered 20 POST/s each: the limits, not the latency nor our CPU, bind (40 writes/s in
# all, which a machine shared with other work still sustains), and one workspace's waiting writes must not
# hold up the other's.
LIMIT_WORKSPACES = 2
LIMIT_NUMBERS = 300  # per workspace: ~600 writes in the campaign-approved step, 15 s at the limits
LOWERED_POST_LIMIT = 20  # POST/s per workspace


def bench_limits(results: Results, tmp: Path) -> None:
    """Where the limit is the bottleneck: workspaces whose writes are limited to 20 POST/s each, so that
    at any latency the limit binds (at 150 ms, 2 x 20 writes/s need 6 requests in flight)."""
    from controller.reconcile import engine  # noqa: F401 - imported before timing

    workspaces, post_limit = LIMIT_WORKSPACES, LOWERED_POST_LIMIT
    print(f"\n== rate limits ({workspaces} workspaces x {LIMIT_NUMBERS} numbers, POST limited to {post_limit}/s per "
          f"workspace, GET 50/s; {results.latency_ms} ms)", flush=True)
    base = tmp / f"limits-{results.latency_ms}ms"
    base.mkdir()
    world_file = bench_world.write_world(base / "world.yaml", workspaces, LIMIT_NUMBERS, latency=results.latency,
                                         rate_limits={"GET": 50, "POST": post_limit})
    specs = bench_world.write_specs(base / "specs", workspaces, LIMIT_NUMBERS)
    state_url = f"sqlite:///{base / 'state.db'}"
    log = CallLog()
    with Emulator(world_file) as emulator:
        steps = asyncio.run(converge(emulator, specs, state_url, log, bird_post_rate=post_limit))
        campaign = next(s for s in steps if s["step"] == "campaign approved")
        busy = (campaign["writes_per_second"] or 0) / (post_limit * workspaces)
        results.add(f"apply at {post_limit} POST/s per workspace: share of the limit kept busy", 100 * busy,
                    ">= 90 %", "%", f"{campaign['writes']} writes in {workspaces} workspaces at "
                    f"{campaign['writes_per_second'] or 0:.1f}/s (limit {post_limit * workspaces}/s)")
        calls = sum(s["calls"] for s in steps)
        limited = sum(s["rate_limited"] for s in steps)
        where = "; ".join(f"{r['method']} {r['route']} at {r['at']} s ({r['writes_in_second_before']} writes answered "
                          "in the second before)" for s in steps for r in s["rejected"])
        results.add("apply at the limit: 429s / Bird calls", 100 * limited / max(1, calls), "<= 1 %", "%",
                    f"{limited} of {calls}, every one waited out" + (f": {where}" if where else ""))
        results.raw["limits"] = steps
    # GET: page through a workspace of 3,000 numbers at 50 GET/s, by several readers at once: one list is
    # read one page per round trip (each page names the next), so at 150 ms one reader makes at most 6.7
    # GETs a second and the limit binds only across lists, as in a plan.
    world_file = bench_world.write_world(base / "world-get.yaml", 1, 0, owned=3000, latency=results.latency)
    with Emulator(world_file) as emulator:
        times = asyncio.run(page_numbers(emulator.url, bench_world.workspace_id(0), readers=PAGING_READERS))
    get_rate = rate(times) or 0
    results.add(f"paging at the 50 GET/s limit ({PAGING_READERS} lists at once): share of the limit kept busy",
                100 * get_rate / 50, ">= 90 %", "%", f"{len(times)} pages at {get_rate:.1f}/s")


PAGING_READERS = 10


async def page_numbers(url: str, ws: str, readers: int = 1) -> list[float]:
    from controller.bird import BirdClient

    log = CallLog()

    async def read() -> None:
        async for _ in client.list_numbers(ws):
            pass

    async with BirdClient(url, bench_world.ACCESS_KEY, on_response=log) as client:
        await asyncio.gather(*(client.list_numbers(ws).__anext__() for _ in range(5)))  # spend the burst
        log.take()
        await asyncio.gather(*(read() for _ in range(readers)))
    return sorted(t for t, _, s in log.calls if s == 200)


# ------------------------------------------------------------------------------------------- daemon


class DaemonProcess:
    def __init__(self, specs: Path, env: dict[str, str], port: int, *options: str) -> None:
        self.port = port
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self.proc = subprocess.Popen(senderctl("daemon", str(specs), "--listen", f"127.0.0.1:{port}",
                                               "--resync", "1h", *options), env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append((time.monotonic(), json.loads(line)))

    def wait_for(self, predicate: Any, after: float, timeout: float = 600) -> float | None:
        deadline = time.monotonic() + timeout
        checked = 0  # lines before this index were checked already (the list only grows)
        while time.monotonic() < deadline:
            lines = self.lines[checked:]
            checked += len(lines)
            for at, line in lines:
                if at >= after and predicate(line):
                    return at
            time.sleep(0.01)
        return None

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


def event_name(line: dict[str, Any]) -> str:
    return str(line.get("event") or line.get("msg") or "")


def inbound_body(i: int, channel: dict[str, Any], run: str = "bench") -> bytes:
    """Bird's documented sms.inbound (docs.bird.com/api/channels-api/supported-channels/programmable-sms/
    receiving-messages): the channel and its connector, never the receiving number."""
    return json.dumps({"service": "channels", "event": "sms.inbound", "payload": {
        "id": f"{run}-message-{i}", "channelId": channel["id"],
        "sender": {"contact": {"id": "bench-contact", "identifierKey": "phonenumber", "identifierValue": "+12025550199"}},
        "receiver": {"connector": {"id": channel["connectorId"]}}, "body": {"type": "text", "text": {"text": f"hi {i}"}},
        "parts": [{"platformReference": f"bench-{i}"}], "status": "delivered", "direction": "incoming",
        "lastStatusAt": "2026-12-01T00:00:00.000Z", "createdAt": "2026-12-01T00:00:00.000Z",
        "updatedAt": "2026-12-01T00:00:00.000Z"}}).encode()


def post_signed(http: Any, url: str, body: bytes, request_id: str, key: str) -> int:
    from controller.bird.signing import signed_headers

    headers = signed_headers(key, str(int(time.time())), url, body, request_id)
    return int(http.post(url, content=body, headers={**headers, "content-type": "application/json"}).status_code)


def signed_requests(port: int, channels: list[dict[str, Any]], count: int, run: str) -> list[bytes]:
    """`count` complete HTTP/1.1 requests, signed before the clock starts (the senders only write bytes)."""
    from controller.bird.signing import signed_headers

    url = f"http://127.0.0.1:{port}/webhooks/bird"
    out = []
    for i in range(count):
        channel = channels[i % len(channels)]
        body = inbound_body(i, channel, run)
        key = bench_world.key_of_workspace(channel["workspaceId"])  # each workspace signs with its own key
        headers = signed_headers(key, str(int(time.time())), url, body, f"{run}-{i}")
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        out.append((f"POST /webhooks/bird HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(body)}\r\n{head}\r\n").encode() + body)
    return out


async def send_concurrently(port: int, requests: list[bytes], senders: int) -> Counter[int]:
    """Each sender a keep-alive connection sending its share one after another (as a Bird delivery worker
    would); the answers' status codes. Raw sockets: the load generator must cost far less than the daemon."""
    statuses: Counter[int] = Counter()

    async def sender(share: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in share:
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                statuses[int(status_line.split()[1])] += 1
        finally:
            writer.close()

    await asyncio.gather(*(sender(requests[k::senders]) for k in range(senders)))
    return statuses


def inbox_count(state_url: str, run: str) -> tuple[int, int]:
    """(inbound messages routed to a user or kept unrouted for this run, distinct message ids among them)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(state_url)
    try:
        with engine.connect() as connection:
            counts = [connection.execute(sqlalchemy.text(
                f"SELECT count(*), count(DISTINCT message_id) FROM {table} WHERE message_id LIKE :run"),
                {"run": f"{run}-message-%"}).one() for table in ("inbox_messages", "unrouted_messages")]
    finally:
        engine.dispose()
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def bench_inbound_rate(results: Results, daemon: DaemonProcess, state_url: str, channels: list[dict[str, Any]],
                       count: int, senders: int, port: int | None = None, where: str = "") -> None:
    """Signed sms.inbound (Bird's documented payload) from `senders` concurrent connections to `port` (the
    daemon's --listen by default): accepted per second, and routed per second until every one is in an
    inbox, each exactly once."""
    port = port or daemon.port
    run = f"rate{senders}{'w' if where else ''}"
    requests = signed_requests(port, channels, count, run)
    cpu0 = tree_cpu_seconds(daemon.proc.pid)
    began = time.monotonic()
    statuses = asyncio.run(send_concurrently(port, requests, senders))
    accepted_in = time.monotonic() - began
    deadline = time.monotonic() + 300
    while (routed := inbox_count(state_url, run))[0] < count and time.monotonic() < deadline:
        time.sleep(0.05)
    routed_in = time.monotonic() - began
    cpu = tree_cpu_seconds(daemon.proc.pid) - cpu0
    # The bound is for 8 or more concurrent senders (Bird delivers in parallel) to the daemon's webhook
    # receivers (--webhook-listen: receiving there uses more than one core). One sender waits for each answer
    # before it sends the next, and the daemon's own process receives on one core: those are reported.
    bound = ">= 2000" if senders >= 8 and where else "report"
    label = f"{senders} senders{', ' + where if where else ''}"
    results.add(f"daemon: signed sms.inbound accepted per second ({label})", count / accepted_in,
                bound, "/s", f"{count} of Bird's documented payload, {dict(statuses)}, "
                f"daemon CPU {100 * cpu / max(routed_in, 1e-9):.0f} %")
    results.add(f"daemon: the same routed per second, each exactly once ({label})",
                count / routed_in if routed == (count, count) else None, bound, "/s",
                f"routed {routed[0]} rows, {routed[1]} distinct of {count}")
    # Each routed exactly once: a lost one or a duplicate moves this off 1.00.
    results.add(f"daemon: the same routed, rows / sent ({label})",
                (routed[1] if routed[0] == routed[1] else routed[0]) / count, "= 1", "",
                "a duplicate counts twice, a lost one not at all")


PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR")
# Sample only the thread holding the GIL: in a process bound by its GIL, that is where the time goes.
PROFILE_GIL = os.environ.get("BENCH_PROFILE_GIL") == "1"


@contextlib.contextmanager
def profiled(pid: int, name: str):  # type: ignore[no-untyped-def]
    """With BENCH_PROFILE_DIR set and py-spy installed: sample the process while the block runs and write
    its collapsed stacks (flamegraph.pl / speedscope input) to DIR/NAME.txt."""
    import shutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not PROFILE_DIR or not Path(spy).exists():
        yield
        return
    out = Path(PROFILE_DIR) / f"{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--nonblocking",
                             *(["--gil"] if PROFILE_GIL else []), "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)  # attached before the clock starts
        yield
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes what it sampled and exits
        proc.wait(30)
        print(f"  (profile written to {out})", flush=True)


# Receiving processes on --webhook-listen (SENDERCTL_BENCH_WEBHOOK_WORKERS to compare counts).
WEBHOOK_WORKERS = int(os.environ.get("SENDERCTL_BENCH_WEBHOOK_WORKERS", "2"))


def wait_until_answers(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


class GitCheckout:
    """The daemon's spec directory as a git checkout, and an author's clone beside it: an edit is committed
    by the author and reaches the daemon as a pull, as GitOps brings it."""

    def __init__(self, specs: Path) -> None:
        self.specs, self.author = specs, specs.parent / "author"
        self.git(specs, "init", "-q")
        self.git(specs, "add", "-A")
        self.git(specs, "commit", "-q", "-m", "converged")
        self.git(specs.parent, "clone", "-q", str(specs), str(self.author))

    @staticmethod
    def git(where: Path, *args: str) -> None:
        subprocess.run(["git", "-C", str(where), "-c", "user.name=bench", "-c", "user.email=bench@example.com",
                        "-c", "init.defaultBranch=main", *args], check=True, capture_output=True, timeout=60)

    def commit(self, name: str, text: str) -> None:
        (self.author / name).write_text(text)
        self.git(self.author, "commit", "-q", "-am", f"{name}: one more number")

    def pull(self) -> None:
        self.git(self.specs, "pull", "-q", "--ff-only", str(self.author), "HEAD")


def bench_daemon(results: Results, tmp: Path, workspaces: int, count: int) -> None:
    import httpx

    print(f"\n== daemon ({workspaces} x {PER_WORKSPACE}, converged)", flush=True)
    base = tmp / f"daemon-{results.latency_ms}ms"
    base.mkdir()
    world_file = bench_world.write_world(base / "world.yaml", workspaces, PER_WORKSPACE, latency=results.latency)
    # A key per workspace, as tenants have: a delivery must cost its own workspace's HMACs, not one per tenant.
    specs = bench_world.write_specs(base / "specs", workspaces, PER_WORKSPACE, own_keys=True)
    state_url = f"sqlite:///{base / 'state.db'}"
    with Emulator(world_file) as emulator:
        asyncio.run(converge(emulator, specs, state_url, CallLog()))
        checkout = GitCheckout(specs)
        channels = emulator.admin("GET", "state")["channels"]
        port, webhook_port = free_port(), free_port()
        daemon = DaemonProcess(specs, bench_env(emulator.url, state_url), port, "--webhook-listen",
                               f"127.0.0.1:{webhook_port}", "--webhook-workers", str(WEBHOOK_WORKERS))
        try:
            started = time.monotonic()
            ready = daemon.wait_for(lambda line: event_name(line) == "reconcile.done", started)
            if ready is None:
                raise RuntimeError("the daemon never finished its first reconcile")
            url = f"http://127.0.0.1:{port}/webhooks/bird"
            bench_inbound_rate(results, daemon, state_url, channels, min(count, 1000), senders=1)
            with profiled(daemon.proc.pid, f"daemon-inbound-8-{results.latency_ms}ms"):
                bench_inbound_rate(results, daemon, state_url, channels, count, senders=8)
            # The same on --webhook-listen, received by processes of their own.
            wait_until_answers(f"http://127.0.0.1:{webhook_port}/healthz")
            bench_inbound_rate(results, daemon, state_url, channels, count, senders=8, port=webhook_port,
                               where=f"--webhook-listen, {WEBHOOK_WORKERS} workers")
            # A signed status webhook for one channel -> targeted reconcile done.
            channel = next(c for c in emulator.admin("GET", "state")["channels"])
            body = json.dumps({"service": "channels", "event": "channel.updated",
                               "payload": {"id": channel["id"], "status": channel.get("status")}}).encode()
            with httpx.Client(timeout=30) as http:
                sent = time.monotonic()
                post_signed(http, url, body, "bench-status", bench_world.key_of_workspace(channel["workspaceId"]))
            done_at = daemon.wait_for(lambda line: event_name(line) == "reconcile.done"
                                      and line.get("scope") == "targeted", sent, timeout=60)
            results.add("daemon: signed webhook -> targeted reconcile done", None if done_at is None else done_at - sent,
                        "<= 1", "s")
            # One changed spec file -> plan, first Bird write: as GitOps brings it (a pulled commit: git wrote
            # the files whole, so no settle window), then saved in place (the 2 s window guards a file saved
            # in two writes, so it counts).
            with profiled(daemon.proc.pid, f"daemon-saves-{results.latency_ms}ms"):
                pulled = [save_one_number(daemon, emulator, specs / "ws-000.yaml", checkout) for _ in range(5)]
            first_writes, p95 = first_writes_p95(pulled)
            results.add("daemon: commit pulled (one spec file changed) -> first Bird write, p95", p95, "<= 2", "s",
                        ", ".join(f"{t:.2f}" for t in first_writes))
            planned = sorted(s["planned"] for s in pulled if s["planned"] is not None)
            median = planned[len(planned) // 2] if planned else None
            # (Reported: it includes the pull and the read of the specs, which an in-place save's window hides.)
            results.add("daemon: commit pulled -> targeted plan computed (warm cache)", median, "report", "s",
                        "median of " + ", ".join(f"{t:.2f}" for t in planned) + "; per save: "
                        + "; ".join(f"{s['workspaces_read']} workspaces read, {s['gets']} GETs, "
                                    f"{s['cpu']:.2f} daemon CPU s" for s in pulled[:2]) + " ...")
            saves = [save_one_number(daemon, emulator, specs / "ws-002.yaml") for _ in range(5)]
            first_writes, p95 = first_writes_p95(saves)
            results.add("daemon: spec saved in place -> first Bird write, p95 (2 s settle window included)", p95,
                        f"<= {SETTLE_SECONDS + 2:g}", "s", ", ".join(f"{t:.2f}" for t in first_writes))
            results.raw["daemon"] = {"pulled": pulled, "saves": saves}
        finally:
            daemon.stop()
        bench_short_settle(results, emulator, specs, state_url)


# A daemon may be told to act sooner on an edit: --settle 500ms reads a file once it has been still for
# half a second (a file written in pieces further apart than that can then be read half-written, which
# the default 2 s window guards against; removals still wait one window more).
SHORT_SETTLE = 0.5


def bench_short_settle(results: Results, emulator: Emulator, specs: Path, state_url: str) -> None:
    """Saved -> first Bird write with `--settle 500ms`: the same five saves as with the default window."""
    daemon = DaemonProcess(specs, bench_env(emulator.url, state_url), free_port(), "--settle",
                           f"{int(SHORT_SETTLE * 1000)}ms")
    try:
        if daemon.wait_for(lambda line: event_name(line) == "reconcile.done", time.monotonic() - 1) is None:
            raise RuntimeError("the daemon never finished its first reconcile")
        saves = [save_one_number(daemon, emulator, specs / "ws-001.yaml") for _ in range(5)]
        first_writes, p95 = first_writes_p95(saves)
        results.add(f"daemon --settle {int(SHORT_SETTLE * 1000)}ms: spec saved -> first Bird write, p95", p95,
                    "<= 2", "s", ", ".join(f"{t:.2f}" for t in first_writes))
        results.raw["daemon"]["short_settle_saves"] = saves
    finally:
        daemon.stop()


def first_writes_p95(saves: list[dict[str, Any]]) -> tuple[list[float], float | None]:
    """The saves' times to their first Bird write, sorted, and their 95th percentile (None: no write)."""
    first_writes = sorted(s["first_write"] for s in saves if s["first_write"] is not None)
    return first_writes, first_writes[max(0, int(round(0.95 * len(first_writes))) - 1)] if first_writes else None


def save_one_number(daemon: DaemonProcess, emulator: Emulator, target: Path,
                    checkout: GitCheckout | None = None) -> dict[str, Any]:
    """One more number in the file's first pool, written in place or (with a checkout) committed by an
    author and pulled: landed -> plan computed (reconcile.planned) and -> first Bird write; the reconcile's
    Bird reads (GETs), workspaces read and daemon CPU seconds until it is done."""
    text = re.sub(r"count: (\d+)", lambda m: f"count: {int(m.group(1)) + 1}", target.read_text(), count=1)
    if checkout is not None:
        checkout.commit(target.name, text)
    emulator.admin("DELETE", "requests")
    cpu0 = cpu_seconds(daemon.proc.pid)
    saved = time.monotonic()
    if checkout is not None:
        checkout.pull()
    else:
        target.write_text(text)
    planned_at = daemon.wait_for(lambda line: event_name(line) == "reconcile.planned", saved, timeout=120)
    wrote = daemon.wait_for(lambda line: event_name(line) == "change.applied", saved, timeout=120)
    daemon.wait_for(lambda line: event_name(line) == "reconcile.done", saved, timeout=300)
    cpu = cpu_seconds(daemon.proc.pid) - cpu0
    routes = emulator.admin("GET", "requests")["byRoute"]
    plan_line = next((line for at, line in daemon.lines if at >= saved and event_name(line) == "reconcile.planned"),
                     {})
    return {"planned": None if planned_at is None else planned_at - saved,
            "first_write": None if wrote is None else wrote - saved,
            "scope": plan_line.get("scope"), "workspaces_read": plan_line.get("workspaces_read"),
            "plan_seconds": plan_line.get("seconds"), "cpu": cpu,
            "gets": sum(n for r, n in routes.items() if r.startswith("GET "))}


# ------------------------------------------------------------------------------------------ startup


def compile_bytecode() -> None:
    """senderctl's modules compiled to bytecode, as `pip install` leaves them: a checkout run with
    PYTHONDONTWRITEBYTECODE (CI images often set it) would otherwise compile every module at every
    start, and the start-up figures would measure the compiler."""
    import compileall

    for tree in ("controller", "specs"):
        compileall.compile_dir(str(ROOT / tree), quiet=1)
    compileall.compile_file(str(ROOT / "cli.py"), quiet=1)


def bench_startup(results: Results, tmp: Path) -> None:
    print("\n== start-up", flush=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, args in (("--help", ["--help"]), ("validate", ["validate", str(ROOT / "examples" / "quickstart")])):
        runs = sorted(run_measured(senderctl(*args), env)["seconds"] for _ in range(5))
        results.add(f"start-up: senderctl {name}", runs[len(runs) // 2], "<= 0.3", "s", "median of 5")
    imported = subprocess.run([sys.executable, "-X", "importtime", "-c", "import cli; import controller.operations.commands"],
                              env=env, capture_output=True, text=True).stderr
    # plan reads the state, so sqlalchemy is its own; migrations, servers and file watching are not.
    heavy = [m for m in ("alembic", "uvicorn", "starlette", "prometheus_client", "watchfiles",
                         "controller.emulator", "controller.daemon") if re.search(rf"\| +{re.escape(m)}$", imported, re.M)]
    results.add("start-up: plan's modules that plan does not use", len(heavy), "= 0", "",
                ", ".join(heavy) or "none of the daemon, emulator or migrations")


# ---------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,3000,10000", help="numbers per world (100 per workspace)")
    parser.add_argument("--only", default="converge,limits,daemon,startup",
                        help="comma-separated: converge (with noop-plan), limits, daemon, startup")
    parser.add_argument("--smoke", action="store_true", help="a 1 %% world (10 x 10): call counts only")
    parser.add_argument("--daemon-workspaces", type=int, default=100, help="the daemon's world: W x 100 numbers")
    parser.add_argument("--webhooks", type=int, default=10000, help="sms.inbound webhooks the daemon is sent")
    parser.add_argument("--latency", type=int, action="append", default=[], metavar="MS",
                        help="also run every figure with Bird this many ms away per call (the emulator "
                             "delays each answer; 10 %% jitter); repeatable. 0 ms always runs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    parser.add_argument("--write-doc", action="store_true", help="put the table into docs/PERFORMANCE.md")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = Results()
    compile_bytecode()  # every senderctl process below starts as an installed one does
    # The engine runs in this process for the converge and limit figures: with the garbage collector
    # tuned as `senderctl` tunes it (cli.main), and collected between sections, so that a section does
    # not pay for the objects an earlier one left behind.
    from cli import tune_garbage_collector

    tune_garbage_collector()
    print(f"{'figure':<60} {'value':>9} {'unit':<8} {'bound':<10} met", flush=True)
    latencies = sorted({0, *args.latency})
    with tempfile.TemporaryDirectory(prefix="senderctl-bench-") as raw_tmp:
        tmp = Path(raw_tmp)
        for ms in latencies:
            results.at_latency(ms)
            print(f"\n===== Bird at {ms} ms per call (load {os.getloadavg()[0]:.1f})", flush=True)
            load_before = os.getloadavg()[0]
            run_sections(results, tmp, args, only)
            results.raw["load"] = [load_before, os.getloadavg()[0]]
        results.at_latency(0)
        if "startup" in only and not args.smoke:
            bench_startup(results, tmp)
        for ms in latencies[1:]:
            compare_latency(results, ms)
    document = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                "latencies_ms": latencies, "figures": [{**vars(f), "ok": f.ok} for f in results.figures],
                "raw": results.runs}
    Path(args.out).write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")
    if args.write_doc:
        write_doc(results, document, latencies)
    return 0 if all(f.ok is not False for f in results.figures) else 1


def run_sections(results: Results, tmp: Path, args: argparse.Namespace, only: set[str]) -> None:
    """Every section but start-up (which never calls Bird), at the results' current latency."""
    if "converge" in only:
        sizes = [100] if args.smoke else [int(s) for s in args.sizes.split(",")]
        for numbers in sizes:
            if args.smoke:
                smoke_size(results, tmp)
            else:
                bench_size(results, numbers, tmp, smoke=False)
        linear_growth(results)
    if "limits" in only and not args.smoke:
        gc.collect()
        bench_limits(results, tmp)
    if "daemon" in only and not args.smoke:
        gc.collect()
        bench_daemon(results, tmp, args.daemon_workspaces, args.webhooks)
    gc.collect()


def compare_latency(results: Results, ms: int) -> None:
    """The campaign-approved step (the one with the most writes) at `ms` against the loopback: within
    1.5x of its time there, for the largest world measured at both."""
    near, far = results.runs.get("0 ms", {}), results.runs.get(f"{ms} ms", {})
    labels = [k for k in far if k.startswith("converge ") and k in near]
    if not labels:
        return
    label = labels[-1]

    def seconds(steps: list[dict[str, Any]]) -> float:
        return next(s["seconds"] for s in steps if s["step"] == "campaign approved")

    results.at_latency(ms)
    at_far, at_near = seconds(far[label]), seconds(near[label])
    results.add(f"{label}: campaign-approved step vs the loopback", at_far / at_near, "<= 1.5", "x",
                f"{at_far:.1f} s at {ms} ms, {at_near:.1f} s at 0 ms")
    results.at_latency(0)


def smoke_size(results: Results, tmp: Path) -> None:
    """10 workspaces x 10 numbers: converge and check the call-count ratio of a no-op plan."""
    base = tmp / f"smoke-{results.latency_ms}ms"
    base.mkdir()
    world_file = bench_world.write_world(base / "world.yaml", 10, 10, latency=results.latency)
    specs = bench_world.write_specs(base / "specs", 10, 10)
    state_url = f"sqlite:///{base / 'state.db'}"
    with Emulator(world_file) as emulator:
        steps = asyncio.run(converge(emulator, specs, state_url, CallLog()))
        for s in steps:
            results.add(f"smoke 10 x 10: applies, step '{s['step']}'", s["applies"], "= 1")
        results.add("smoke 10 x 10: 'not in stock' failures", sum(s["not_in_stock"] for s in steps), "= 0")
        add_purchases(results, "smoke 10 x 10", steps)
        plan = noop_plan(emulator, specs, state_url, 10, runs=1)
        results.add("smoke 10 x 10: no-op plan Bird calls / sum(ceil(items/page))", plan["calls"] / plan["lower_bound"],
                    "= 1.00", detail=f"{plan['calls']} calls")
        results.raw["smoke"] = {"steps": steps, "plan": plan}


def machine() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, " \
           f"load {os.getloadavg()[0]:.1f}"


def write_doc(results: Results, document: dict[str, Any], latencies: list[int]) -> None:
    path = ROOT / "docs" / "PERFORMANCE.md"
    text = path.read_text() if path.exists() else "# Performance\n\n<!-- bench:start -->\n<!-- bench:end -->\n"
    command = " ".join(["python bench/run.py", *sys.argv[1:]])
    loads = {ms: document["raw"].get(f"{ms} ms", {}).get("load") or [] for ms in latencies}
    tables = "\n\n".join(f"### Bird at {ms} ms per call\n\nLoad average (1 min) "
                          + " -> ".join(f"{load:.1f}" for load in loads[ms]) + f" during this part.\n\n"
                          f"{results.table(ms)}" for ms in latencies)
    table = (f"<!-- bench:start -->\nLast run: {document['when']} ({document['machine']}), "
             f"`{command}`.\n\n{tables}\n<!-- bench:end -->")
    text = re.sub(r"<!-- bench:start -->.*<!-- bench:end -->", lambda _: table, text, flags=re.S)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
