"""Benchmark of the whole catalog against the local kernel: serial and parallel wall time, the
per-case cost (median, p90) and the ten slowest cases with the waits they declare.

    sudo .venv/bin/python bench/bench_suite.py [--runs 3] [--workers auto] [--serial]

Per-case cost is the case's own duration in results.json (set-up, exchange, teardown). Repeat
the runs and read medians: on a shared 2-core VM single runs move by tens of percent.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def one_run(workers: str | None, extra: list[str]) -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "conformance.cli", "run", "--report-dir", tmp]
        if workers:
            argv += ["-n", workers]
        start = time.perf_counter()
        done = subprocess.run([*argv, "--", "-q", *extra], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode not in (0, 1):
            sys.exit(f"bench: the run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
        return wall, json.loads((Path(tmp) / "latest" / "results.json").read_text())


def describe(label: str, walls: list[float], results: dict[str, Any]) -> None:
    cases = results["cases"]
    durations = [c["duration_ms"] for c in cases]
    print(f"{label}: {len(cases)} cases, wall median {statistics.median(walls):.1f} s "
          f"(runs: {', '.join(f'{w:.1f}' for w in walls)}), per case median {statistics.median(durations):.1f} ms, "
          f"p90 {percentile(durations, 90):.1f} ms, sum {sum(durations) / 1000:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--workers", default="auto", help="xdist workers for the parallel runs (default auto)")
    parser.add_argument("--serial", action="store_true", help="also time serial runs")
    args = parser.parse_args()

    startup = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance.cli", "list"], cwd=REPO, capture_output=True, check=True)
        startup.append(time.perf_counter() - start)
    print(f"startup (import + collection, `conformance list`): median {statistics.median(startup):.2f} s")

    modes = [("parallel -n " + args.workers, args.workers)] + ([("serial", None)] if args.serial else [])
    for label, workers in modes:
        walls, last = [], {}
        for _ in range(args.runs):
            wall, last = one_run(workers, [])
            walls.append(wall)
        describe(label, walls, last)
        print("  ten slowest:")
        for c in sorted(last["cases"], key=lambda c: -c["duration_ms"])[:10]:
            why = f"  waits: {c['waits']}" if c.get("waits") else ""
            print(f"    {c['duration_ms']:8.1f} ms  {c['id']}{why}")


if __name__ == "__main__":
    main()
