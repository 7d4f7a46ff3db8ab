"""The suite's speed targets, measured on this checkout and (with --before) on another one in the
same session, interleaved, so that both see the same machine and the same load:

- the whole catalog with `conformance run -n auto` (wall time), and its IPv4 areas alone (the
  issue's targets: 15 s and 10 s on 2 cores);
- the whole catalog serially (wall time), and from it the per-case cost (set-up, exchange,
  teardown: the duration in results.json) of the cases that declare no wait: median and p90;
- the ten slowest cases and why (the wait they declare, or none);
- `conformance list` with the catalog cache as a previous command left it, and without it;
- `conformance run --case ONE-ID`, end to end.

    sudo .venv/bin/python bench/speed.py --before /path/to/old/checkout [--repeats 3] [--no-serial]

Each figure is the median of --repeats runs; the load average is printed before and after each
block. The machine is shared: measure when `uptime` is low and read the load beside the figures.
Python byte-code caches matter: with PYTHONDONTWRITEBYTECODE set (and no cached pytest rewrite of
the case modules) every run compiles the case modules again; the header says which applies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ONE_CASE = "ARP-REPLY-UNICAST"
# The targets: the IPv4 catalog within 10 s, the whole one (with IPv6) within 15 s.
TARGETS = {"wall -n auto": 15.0, "wall -n auto (IPv4 areas)": 10.0, "median case": 8.0, "p90 case (no waits)": 20.0,
           "list": 0.5, "one-case run": 1.2}
IPV4_AREAS = ("ethernet", "arp", "addresses", "ipv4", "fragmentation", "icmp", "pmtu", "routing", "tuntap", "tcp", "udp")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class Tree:
    """A checkout with its own .venv."""

    name: str
    root: Path
    cache: Path
    figures: dict[str, list[float]] = field(default_factory=dict)
    slowest: list[dict[str, Any]] = field(default_factory=list)
    slowest_plain: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")

    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_CACHE_HOME": str(self.cache)}

    def conformance(self, *argv: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        start = time.perf_counter()
        done = subprocess.run([self.python, "-m", "conformance.cli", *argv], cwd=self.root, env=self.env(),
                              capture_output=True, text=True)
        return time.perf_counter() - start, done

    def add(self, name: str, value: float) -> None:
        self.figures.setdefault(name, []).append(value)

    def run_catalog(self, label: str, workers: str | None, areas: tuple[str, ...] = ()) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            argv = ["run", "--report-dir", tmp, *(["-n", workers] if workers else [])]
            argv += [arg for area in areas for arg in ("--protocol", area)]
            wall, done = self.conformance(*argv)
            if done.returncode not in (0, 1):
                sys.exit(f"bench: {self.name}: the run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            results: dict[str, Any] = json.loads((Path(tmp) / "latest" / "results.json").read_text())
        self.add(label, wall)
        for c in results["cases"]:
            self.verdicts.setdefault(c["nodeid"], c["outcome"])
            if self.verdicts[c["nodeid"]] != c["outcome"]:
                print(f"  {self.name}: {c['nodeid']} changed verdict: {self.verdicts[c['nodeid']]} -> {c['outcome']}")
        return results

    def per_case(self, results: dict[str, Any]) -> None:
        plain = [c["duration_ms"] for c in results["cases"] if not c.get("waits")]
        everything = [c["duration_ms"] for c in results["cases"]]
        self.add("median case", statistics.median(everything))
        self.add("median case (no waits)", statistics.median(plain))
        self.add("p90 case (no waits)", percentile(plain, 90))
        self.slowest = sorted(results["cases"], key=lambda c: -c["duration_ms"])[:10]
        self.slowest_plain = sorted((c for c in results["cases"] if not c.get("waits")), key=lambda c: -c["duration_ms"])[:10]

    def list_catalog(self, warm: bool) -> None:
        if not warm:
            shutil.rmtree(self.cache, ignore_errors=True)
        else:
            self.conformance("list")  # what a previous command leaves
        wall, done = self.conformance("list")
        if done.returncode != 0:
            sys.exit(f"bench: {self.name}: list failed:\n{done.stderr[-2000:]}")
        self.add("list" if warm else "list (no cache)", wall)

    def one_case(self) -> None:
        self.conformance("list")
        with tempfile.TemporaryDirectory() as tmp:
            wall, done = self.conformance("run", "--case", ONE_CASE, "--report-dir", tmp)
        if done.returncode not in (0, 1):
            sys.exit(f"bench: {self.name}: the one-case run failed:\n{done.stdout[-2000:]}")
        self.add("one-case run", wall)


def bytecode_note(tree: Tree) -> str:
    cached = any((tree.root / "cases").rglob("__pycache__/*-pytest-*.pyc"))
    env = "PYTHONDONTWRITEBYTECODE set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "byte code written"
    return f"{env}; pytest's rewrite of the case modules {'cached' if cached else 'not cached'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, default=None, help="another checkout (with its .venv) to compare with")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--no-serial", action="store_true", help="skip the serial runs (and the per-case figures)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    parser.add_argument("--only", action="append", default=[], metavar="FIGURE",
                        help="measure only this block (list, list (no cache), one-case run, wall -n auto, "
                             "wall -n auto (IPv4 areas), wall serial)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="conformance-speed-"))
    trees = [Tree("after", REPO, scratch / "after")]
    if args.before:
        trees.insert(0, Tree("before", args.before.resolve(), scratch / "before"))
    for t in trees:
        print(f"{t.name}: {t.root} ({bytecode_note(t)})")
    print(f"machine: {os.cpu_count()} cores; load average at start {load()}")

    blocks: list[tuple[str, Any]] = [
        ("list", lambda t: t.list_catalog(warm=True)),
        ("list (no cache)", lambda t: t.list_catalog(warm=False)),
        ("one-case run", lambda t: t.one_case()),
        ("wall -n auto", lambda t: t.run_catalog("wall -n auto", "auto")),
        ("wall -n auto (IPv4 areas)", lambda t: t.run_catalog("wall -n auto (IPv4 areas)", "auto", IPV4_AREAS)),
    ]
    if not args.no_serial:
        blocks.append(("wall serial", lambda t: t.per_case(t.run_catalog("wall serial", None))))
    if args.only:
        blocks = [b for b in blocks if b[0] in args.only]
    loads: dict[str, list[str]] = {}
    for label, measure in blocks:
        before = load()
        for _ in range(args.repeats):
            for t in trees:  # interleaved: both trees see the same moments of the machine
                measure(t)
        loads[label] = [before, load()]
        print(f"  measured {label} (load {before} -> {loads[label][1]})", flush=True)

    print()
    names = [n for n in ("wall -n auto", "wall -n auto (IPv4 areas)", "wall serial", "median case", "median case (no waits)", "p90 case (no waits)",
                         "list", "list (no cache)", "one-case run") if n in trees[-1].figures]
    head = f"{'figure':<27}" + "".join(f"{t.name:>12}" for t in trees) + ("   ratio" if len(trees) == 2 else "") + "   target"
    print(head)
    for n in names:
        unit = "ms" if "case" in n and "run" not in n else "s"
        meds = [statistics.median(t.figures[n]) for t in trees]
        row = f"{n:<27}" + "".join(f"{m:>10.3g} {unit}" for m in meds)
        if len(trees) == 2 and meds[0]:
            row += f"   {meds[1] / meds[0]:5.2f}"
        target = TARGETS.get(n)
        if target is not None:
            row += f"   <= {target:g} {unit}: {'met' if meds[-1] <= target else 'MISSED'}"
        print(row)
    print(f"(medians of {args.repeats}; load average before -> after each block: "
          + "; ".join(f"{k} {v[0]} -> {v[1]}" for k, v in loads.items()) + ")")
    for t in trees:
        for title, cases in (("ten slowest cases", t.slowest), ("ten slowest that declare no wait", t.slowest_plain)):
            if cases:
                print(f"\n{title}, serial ({t.name}):")
                for c in cases:
                    why = f"waits: {c['waits']}" if c.get("waits") else "no declared wait"
                    print(f"  {c['duration_ms']:8.1f} ms  {c['outcome']:<15} {c['id']:<40} {why}")
    if len(trees) == 2 and trees[0].verdicts and trees[1].verdicts:
        a, b = trees[0].verdicts, trees[1].verdicts
        flips = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        print(f"\nverdicts: {len(b)} cases, {len(flips)} differ between before and after")
        for k in flips:
            print(f"  {k}: {a.get(k)} -> {b.get(k)}")
    if args.json:
        args.json.write_text(json.dumps({t.name: t.figures for t in trees} | {"load": loads}, indent=1))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
