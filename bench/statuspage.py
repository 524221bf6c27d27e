"""The status page and the plan's picture at size: `python bench/statuspage.py`.

  markdown   the Markdown plan (the pull-request comment) of the largest plan over W x 100 numbers (default
             30 x 100, when the campaigns are approved and every number is bought): its length against GitHub's 65,536 characters, that it holds
             the plan's picture, and the size of the full plan JSON (the artifact)
  ui         a daemon on a converged W x 100 world (default 100 x 100: 10,000 numbers and channels):
             time to the first byte of GET /ui (and of a filtered view, and a brand's timeline) from a
             warm daemon, against 300 ms; and the first request after a reconcile (the page's data built
             again from the state)

The world and specs are bench/world.py's, served by a `senderctl emulator` subprocess (bench/run.py).
Run it on a quiet machine: the figures are wall-clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run as bench  # noqa: E402
from bench import world as bench_world  # noqa: E402

GITHUB_COMMENT_LIMIT = 65_536
FIRST_BYTE_BOUND = 0.3


def largest_plan(base: Path, workspaces: int) -> Any:
    """The largest plan of the bench world's lifecycle: once the campaigns are approved, every number is
    bought at once (the brands are registered and approved by two applies first)."""
    from controller.reconcile import engine

    base.mkdir(parents=True, exist_ok=True)
    world_file = bench_world.write_world(base / "world.yaml", workspaces, bench.PER_WORKSPACE)
    specs = bench_world.write_specs(base / "specs", workspaces, bench.PER_WORKSPACE)
    state_url = f"sqlite:///{base / 'state.db'}"
    with bench.Emulator(world_file) as emulator:
        asyncio.run(engine.apply([str(specs)], bench.engine_settings(emulator, state_url, bench.CallLog())))
        emulator.admin("POST", "clock/advance", {"seconds": 3600})
        asyncio.run(engine.apply([str(specs)], bench.engine_settings(emulator, state_url, bench.CallLog())))
        emulator.admin("POST", "clock/advance", {"seconds": 7 * 86400})
        return asyncio.run(engine.plan([str(specs)], bench.engine_settings(emulator, state_url, bench.CallLog())))


def bench_markdown(results: bench.Results, tmp: Path, workspaces: int) -> None:
    from controller.render import render_json, render_markdown

    print(f"\n== markdown plan ({workspaces} x {bench.PER_WORKSPACE}, campaigns just approved)", flush=True)
    computed = largest_plan(tmp / "markdown", workspaces)
    started = time.perf_counter()
    markdown = render_markdown(computed.plan)
    seconds = time.perf_counter() - started
    artifact = render_json(computed.plan)
    (ROOT / "build").mkdir(exist_ok=True)
    (ROOT / "build" / "bench-plan.md").write_text(markdown)  # to look at
    results.add("markdown plan: characters", len(markdown), f"<= {GITHUB_COMMENT_LIMIT}", "chars",
                f"{len(computed.plan.changes)} changes, {len(computed.plan.waiting)} waiting; rendered in "
                f"{seconds:.2f} s; full plan JSON (the artifact) {len(artifact):,} chars")
    results.add("markdown plan: holds its picture (a mermaid block)", float("```mermaid" in markdown), "= 1")


def first_byte(http: Any, url: str, token: str) -> float:
    started = time.perf_counter()
    with http.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as response:
        chunks = response.iter_raw()  # one iterator: httpx streams a body once
        next(chunks, b"")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        for _ in chunks:
            pass
    return elapsed


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def bench_ui(results: bench.Results, tmp: Path, workspaces: int, runs: int) -> None:
    import httpx

    numbers = workspaces * bench.PER_WORKSPACE
    print(f"\n== status page ({workspaces} x {bench.PER_WORKSPACE}, converged)", flush=True)
    base = tmp / "ui"
    base.mkdir()
    world_file = bench_world.write_world(base / "world.yaml", workspaces, bench.PER_WORKSPACE)
    specs = bench_world.write_specs(base / "specs", workspaces, bench.PER_WORKSPACE)
    state_url = f"sqlite:///{base / 'state.db'}"
    with bench.Emulator(world_file) as emulator:
        started = time.perf_counter()
        asyncio.run(bench.converge(emulator, specs, state_url, bench.CallLog()))
        print(f"  converged {numbers} numbers in {time.perf_counter() - started:.0f} s", flush=True)
        port = bench.free_port()
        env = bench.bench_env(emulator.url, state_url)
        daemon = bench.DaemonProcess(specs, env, port)
        try:
            if daemon.wait_for(lambda line: bench.event_name(line) == "reconcile.done", 0) is None:
                raise RuntimeError("the daemon never finished its first reconcile")
            made = subprocess.run(bench.senderctl("tokens", "create", "--org", "bench", "--user", "ops@bench.example",
                                                  "--role", "member"), env=env, capture_output=True, text=True,
                                  check=True)
            token = made.stdout.strip()
            base_url = f"http://127.0.0.1:{port}"
            with httpx.Client(timeout=60) as http:
                cold = first_byte(http, f"{base_url}/ui", token)  # the page's data built for the first time
                views = {"/ui": [], "/ui?condition=not-ready&kind=Channel": [], "/ui/brands/brand-050": [],
                         "/ui?q=ws-099&page=2": []}
                for _ in range(runs):
                    for path, times in views.items():
                        times.append(first_byte(http, base_url + path, token))
            overview = views["/ui"]
            results.add(f"status page: first byte of /ui at {numbers:,} numbers (warm), p95", p95(overview),
                        f"<= {FIRST_BYTE_BOUND}", "s", f"median {statistics.median(overview) * 1000:.0f} ms over "
                        f"{runs} requests; the first request (data built from the state) {cold * 1000:.0f} ms")
            for path, times in views.items():
                if path != "/ui":
                    results.add(f"status page: first byte of {path} (warm), p95", p95(times), f"<= {FIRST_BYTE_BOUND}",
                                "s", f"median {statistics.median(times) * 1000:.0f} ms")
            results.raw["ui"] = {"cold": cold, **views}
        finally:
            daemon.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown-workspaces", type=int, default=30)
    parser.add_argument("--ui-workspaces", type=int, default=100)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", choices=["markdown", "ui"])
    args = parser.parse_args()
    bench.compile_bytecode()
    results = bench.Results()
    with tempfile.TemporaryDirectory(prefix="senderctl-bench-ui-") as tmp:
        if args.only in (None, "markdown"):
            bench_markdown(results, Path(tmp), args.markdown_workspaces)
        if args.only in (None, "ui"):
            bench_ui(results, Path(tmp), args.ui_workspaces, args.runs)
    out = ROOT / "bench" / "statuspage-results.json"
    out.write_text(json.dumps({"figures": [vars(f) for f in results.figures], "raw": results.raw}, indent=2,
                              default=str))
    print("\n" + results.table())
    return 0 if all(f.ok is not False for f in results.figures) else 1


if __name__ == "__main__":
    sys.exit(main())
