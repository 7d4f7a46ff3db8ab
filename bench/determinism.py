"""Flake hunt: run the whole catalog N times (optionally while both cores are kept busy, or in a
shuffled order) and report every case whose verdict changed between runs.

    sudo .venv/bin/python bench/determinism.py --runs 20
    sudo .venv/bin/python bench/determinism.py --runs 5 --load
    sudo .venv/bin/python bench/determinism.py --runs 3 --shuffle
    sudo .venv/bin/python bench/determinism.py --runs 4 --reference old/results.json

With --reference, every run is also compared with that run's verdicts (e.g. one made by an older
checkout of the suite): a change made for speed must not change a single one.

Exit status 1 when any verdict flipped. A flip is a bug in the suite: find its cause (a race,
a missing precondition, a shared resource); never add a retry.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def burn(stop_at: float) -> None:
    x = 0
    while time.time() < stop_at:
        x = (x * 31 + 7) % 1000003


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", default="auto", help="xdist workers (default auto; 0 for serial)")
    parser.add_argument("--load", action="store_true", help="keep every core busy with another process meanwhile")
    parser.add_argument("--shuffle", action="store_true", help="a fresh random case order per run (seeds printed)")
    parser.add_argument("--select", nargs="*", default=[], help="selection options passed to `conformance run`")
    parser.add_argument("--reference", type=Path, default=None, metavar="RESULTS.json",
                        help="also compare every run's verdicts with this run's")
    args = parser.parse_args()
    reference: dict[str, str] = {}
    if args.reference:
        reference = {c["nodeid"]: c["outcome"] for c in json.loads(args.reference.read_text())["cases"]}

    history: dict[str, list[str]] = defaultdict(list)
    burners: list[multiprocessing.Process] = []
    if args.load:
        until = time.time() + 24 * 3600
        burners = [multiprocessing.Process(target=burn, args=(until,), daemon=True) for _ in range(os.cpu_count() or 2)]
        for b in burners:
            b.start()
    try:
        for i in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                argv = [sys.executable, "-m", "conformance.cli", "run", "--report-dir", tmp, *args.select]
                if args.workers != "0":
                    argv += ["-n", args.workers]
                if args.shuffle:
                    seed = random.SystemRandom().randrange(1 << 32)
                    argv += ["--shuffle", str(seed)]
                start = time.perf_counter()
                done = subprocess.run([*argv, "--", "-q"], cwd=REPO, capture_output=True, text=True)
                wall = time.perf_counter() - start
                if done.returncode not in (0, 1):
                    print(done.stdout[-3000:], done.stderr[-2000:], file=sys.stderr)
                    return 2
                results = json.loads((Path(tmp) / "latest" / "results.json").read_text())
                for c in results["cases"]:
                    history[c["nodeid"]].append(c["outcome"])
                seed_note = f" seed {results['run'].get('shuffle_seed')}" if args.shuffle else ""
                print(f"run {i + 1}/{args.runs}: {len(results['cases'])} cases, {wall:.1f} s{seed_note}", flush=True)
    finally:
        for b in burners:
            b.terminate()
    flipped = {k: v for k, v in history.items() if len(set(v)) > 1 or len(v) != args.runs}
    print(f"{len(history)} cases x {args.runs} runs{' under load' if args.load else ''}: {len(flipped)} changed verdict")
    for nodeid, seen in sorted(flipped.items()):
        print(f"  {nodeid}: {' '.join(seen)}")
    if args.reference:
        differ = {k: (reference.get(k), history.get(k, [])) for k in set(reference) | set(history)
                  if any(v != reference.get(k) for v in history.get(k, [None]))}
        print(f"against {args.reference} ({len(reference)} cases): {len(differ)} differ")
        for nodeid, (ref, seen) in sorted(differ.items()):
            print(f"  {nodeid}: reference {ref}, runs {' '.join(seen) or '(missing)'}")
        flipped.update({k: v for k, (_, v) in differ.items()})
    return 1 if flipped else 0


if __name__ == "__main__":
    sys.exit(main())
