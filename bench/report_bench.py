"""Benchmark of the HTML report at scale: render N synthetic results (with pcaps), and open the page.

    python bench/report_bench.py                   # 2,000 cases, 3 renders
    python bench/report_bench.py -n 10000 -r 1 --browser     # and open it in headless Chromium
    python bench/report_bench.py -n 500 -r 3 --keep /tmp/bench-report

Prints the size of index.html, the median render time, and with --browser the time Chromium
takes to load the page, how many elements it holds, and how long the main interactions take
(with the machine's load average, since the machine is shared). Needs no root.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from conformance.report import html, junit, merged_pcap
from conformance.report.synthetic import make_run


def browse(page: Path, profile: Path) -> None:
    """Open the page in headless Chromium (tests/browser/cdp.py) and time what a reader does."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.browser.cdp import Browser

    with Browser(profile, timeout=300) as b:
        took = b.open(page.as_uri())
        elements = b.js("document.getElementsByTagName('*').length")
        print(f"chromium: loaded in {took:.2f} s (load average {os.getloadavg()[0]:.1f}), {elements} elements")

        def timed(name: str, action: str, done: str) -> None:
            t = time.monotonic()
            b.js(action)
            b.wait_for(done, timeout=60)
            print(f"  {name}: {(time.monotonic() - t) * 1000:.0f} ms")

        total = b.js("document.getElementById('count').textContent.split(' ')[0]")
        timed("failures only", "document.getElementById('failonly').click()",
              f"!document.getElementById('count').textContent.startsWith('{total} ')")
        timed("all again", "document.getElementById('failonly').click()",
              f"document.getElementById('count').textContent.startsWith('{total} ')")
        timed("group by RFC", "var g = document.getElementById('groupby'); g.value = 'rfc'; g.dispatchEvent(new Event('change'))",
              "!!document.querySelector('section[id^=g-rfc-]')")
        timed("sort by duration", "document.querySelector('.cols .c-d').click()",
              "document.querySelector('.cols .c-d').getAttribute('aria-sort') === 'ascending'")
        timed("open a case", "var c = document.querySelector('#list details.case'); c.open = true",
              "!!document.querySelector('#list details.case[open] .body')")
        timed("close all", "document.getElementById('collapse').click()", "!document.querySelector('#list details.case[open]')")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", "--cases", type=int, default=2000, help="synthetic cases (default 2000)")
    p.add_argument("-r", "--repeats", type=int, default=3, help="renders to time (default 3)")
    p.add_argument("--keep", type=Path, default=None, metavar="DIR", help="write the run here and keep it")
    p.add_argument("--browser", action="store_true", help="open the page in /usr/bin/chromium and time it")
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
        junit.write(results, run_dir / "junit.xml", run_dir=run_dir, report=out)
        t_junit = time.perf_counter() - t
        t = time.perf_counter()
        n = merged_pcap.write(results, run_dir, run_dir / "run.pcapng")
        t_pcap = time.perf_counter() - t
        size = out.stat().st_size
        print(f"index.html: {size / 1e6:.2f} MB ({size / args.cases / 1000:.1f} kB per case)")
        print(f"render: median {statistics.median(times):.2f} s over {args.repeats} repeats "
              f"(min {min(times):.2f}, max {max(times):.2f}; load average {os.getloadavg()[0]:.1f})")
        print(f"junit.xml: {t_junit:.2f} s; run.pcapng: {n} packets in {t_pcap:.2f} s")
        if args.browser:
            browse(out, Path(tmp) / "chromium-profile")
        if args.keep:
            print(f"kept: {out}")


if __name__ == "__main__":
    main()
