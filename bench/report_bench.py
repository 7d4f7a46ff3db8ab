"""Benchmark of the HTML report at scale: render N synthetic results (with pcaps) several times.

    python bench/report_bench.py            # 2,000 cases, 5 repeats
    python bench/report_bench.py -n 500 -r 3 --keep /tmp/bench-report

Prints the size of index.html and the median render time; needs no root.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from conformance.report import html, junit, merged_pcap
from conformance.report.synthetic import make_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--cases", type=int, default=2000, help="synthetic cases (default 2000)")
    p.add_argument("-r", "--repeats", type=int, default=5, help="renders to time (default 5)")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR", help="write the run here and keep it")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = (args.keep or Path(tmp)) / "bench-run"
        t = time.perf_counter()
        results = make_run(run_dir, args.cases)
        print(f"made {args.cases} synthetic cases with pcaps in {time.perf_counter() - t:.2f} s")
        out = run_dir / "index.html"
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            html.write(results, out, run_dir=run_dir)
            times.append(time.perf_counter() - t)
        t = time.perf_counter()
        junit.write(results, run_dir / "junit.xml")
        t_junit = time.perf_counter() - t
        t = time.perf_counter()
        n = merged_pcap.write(results, run_dir, run_dir / "run.pcapng")
        t_pcap = time.perf_counter() - t
        size = out.stat().st_size
        print(f"index.html: {size / 1e6:.2f} MB ({size / args.cases / 1000:.1f} kB per case)")
        print(f"render: median {statistics.median(times):.2f} s over {args.repeats} repeats "
              f"(min {min(times):.2f}, max {max(times):.2f})")
        print(f"junit.xml: {t_junit:.2f} s; run.pcapng: {n} packets in {t_pcap:.2f} s")
        if args.keep:
            print(f"kept: {out}")


if __name__ == "__main__":
    main()
