"""Mutation self-test of the suite: inject every fault of tests/mutation/faults.toml into the
local kernel's SUT and check that the cases each one names turn FAIL, while they PASS unbroken.

    sudo .venv/bin/python bench/mutation.py                 # every fault
    sudo .venv/bin/python bench/mutation.py --fault 'TCP-*' # a selection (ids or globs)
    sudo .venv/bin/python bench/mutation.py --markdown out.md

One control run (every named case, unbroken kernel, `-n 2`) and one run per fault (its cases,
its profile), two faults at a time (`--jobs`): each run is its own process with its own SUT
namespaces, so runs cannot see each other's faults. A fault is caught when every case it names
FAILs under it and PASSed in the control; the catch rate is caught faults / all faults. Exit
status 1 below --min-rate (95 %), 2 when a run could not be made (a profile that does not load).
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.mutation.faults import (  # noqa: E402 (the repository root is put on the path just above)
    Fault,
    Judgement,
    Outcome,
    RunError,
    judge,
    load,
    run_cases,
    selection,
)


def run_fault(fault: Fault, tmp: Path) -> tuple[dict[str, Outcome], float]:
    work = tmp / fault.id
    work.mkdir()
    start = time.perf_counter()
    outcomes = run_cases(fault.cases, work / "reports", profile=fault.write_profile(work))
    return outcomes, time.perf_counter() - start


def table(rows: list[tuple[Judgement, float]]) -> str:
    lines = [f"{'fault':44} {'caught':6} {'wall':>6}  cases that must FAIL (* = did)"]
    for j, wall in rows:
        cases = ", ".join(c + ("*" if c in j.catchers else "") for c in j.fault.must_fail)
        lines.append(f"{j.fault.id:44} {'yes' if j.ok else 'NO':6} {wall:5.1f}s  {cases}")
        lines += textwrap.wrap(j.fault.models, 110, initial_indent="    ", subsequent_indent="    ")
        lines += [f"    !! {p}" for p in j.problems]
    return "\n".join(lines)


def markdown(rows: list[tuple[Judgement, float]]) -> str:
    out = ["| fault | what it models | cases that must FAIL | caught | caught by | wall |", "|---|---|---|---|---|---|"]
    for j, wall in rows:
        out.append(f"| {j.fault.id} | {j.fault.models} | {', '.join(j.fault.must_fail)} | "
                   f"{'yes' if j.ok else 'no: ' + '; '.join(j.problems)} | {', '.join(j.catchers) or '-'} | {wall:.1f} s |")
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fault", action="append", default=[], metavar="ID", help="fault id or glob (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="fault runs at once (default 2, one per core)")
    parser.add_argument("--min-rate", type=float, default=0.95, help="lowest acceptable catch rate (default 0.95)")
    parser.add_argument("--markdown", type=Path, default=None, metavar="FILE", help="also write the table as Markdown")
    args = parser.parse_args()

    faults = load()
    if args.fault:
        faults = [f for f in faults if any(fnmatch.fnmatchcase(f.id, p) for p in args.fault)]
        if not faults:
            print(f"mutation: no fault matches {args.fault}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            control = run_cases(selection(faults), tmp / "control", workers=2)
            control_wall = time.perf_counter() - started
            with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                done = list(pool.map(lambda f: run_fault(f, tmp), faults))
        except RunError as exc:
            print(f"mutation: {exc}", file=sys.stderr)
            return 2
    rows = [(judge(f, outcomes, control), wall) for f, (outcomes, wall) in zip(faults, done, strict=True)]
    total = time.perf_counter() - started
    caught = sum(j.ok for j, _ in rows)
    rate = caught / len(rows)
    print(table(rows))
    print(f"\ncontrol run: {len(control)} cases, {control_wall:.1f} s; fault runs: {len(rows)}, {args.jobs} at a time")
    print(f"catch rate: {caught}/{len(rows)} = {rate:.1%} (minimum {args.min_rate:.0%}); wall time {total:.1f} s")
    missed = [j.fault.id for j, _ in rows if not j.ok]
    if missed:
        print("not caught: " + ", ".join(missed))
    if args.markdown:
        args.markdown.write_text(markdown(rows) + f"\nCatch rate: {caught}/{len(rows)} = {rate:.1%}; wall time {total:.1f} s.\n")
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
