"""`senderctl costs` on the bench world: converge W workspaces x N numbers against the emulator, then time
`senderctl costs -o json` (best of 3, wall and CPU) and check its totals against the emulator's charges.

    python bench/costs.py                 # the 100 x 100 world (10,000 numbers); bound: < 1 s
    python bench/costs.py --workspaces 10 --numbers 10    # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import world as bench_world  # noqa: E402
from bench.run import CallLog, Emulator, bench_env, converge, run_measured, senderctl  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--numbers", type=int, default=100, help="numbers per workspace")
    parser.add_argument("--profile", metavar="FILE", help="also run `costs` once under cProfile, its stats to FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="senderctl-costs-") as tmp:
        base = Path(tmp)
        world_file = bench_world.write_world(base / "world.yaml", args.workspaces, args.numbers)
        specs = bench_world.write_specs(base / "specs", args.workspaces, args.numbers)
        state_url = f"sqlite:///{base / 'state.db'}"
        with Emulator(world_file) as emulator:
            asyncio.run(converge(emulator, specs, state_url, CallLog()))
            env = bench_env(emulator.url, state_url)
            runs = [run_measured(senderctl("costs", "-o", "json"), env) for _ in range(3)]
            best = min(runs, key=lambda r: r["seconds"])
            assert best["code"] == 0, best["stderr"][-2000:]
            report = json.loads(best["stdout"])
            charges = emulator.admin("GET", "state")["charges"]
            if args.profile:
                run_measured([sys.executable, "-m", "cProfile", "-o", args.profile, "-m", "cli", "costs", "-o", "json"],
                             env)
    one_time = sum(Decimal(c["amount"]) for c in charges if c["kind"] != "number")
    first_months = sum(Decimal(c["amount"]) for c in charges if c["kind"] == "number")
    reported_one_time = sum(Decimal(o["oneTimeChargedSoFar"]) for o in report["organizations"])
    numbers_monthly = sum(Decimal(w["numbers"]["monthly"]) for o in report["organizations"] for w in o["workspaces"])
    label = f"{args.workspaces} x {args.numbers}"
    print(f"costs {label}: wall {best['seconds']:.3f} s (best of 3; bound < 1 s), CPU {best['cpu']:.2f} s, "
          f"peak RSS {best['rss_mib']:.0f} MiB")
    print(f"costs {label}: one-time fees reported / emulator's charges = {reported_one_time} / {one_time} = "
          f"{reported_one_time / one_time if one_time else 0:.2f}")
    print(f"costs {label}: numbers' monthly / emulator's first-month charges = {numbers_monthly} / {first_months} = "
          f"{numbers_monthly / first_months if first_months else 0:.2f}")
    ok = best["seconds"] < 1 and reported_one_time == one_time and numbers_monthly == first_months
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
