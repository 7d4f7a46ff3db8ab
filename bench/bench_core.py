"""Benchmark of the suite's own costs: topology set-up + teardown, one exchange, one fenced
negative check, and the whole suite's wall time. Prints median and p90 of each (ms / s).

    sudo .venv/bin/python bench/bench_core.py [--rounds N] [--suite-runs K] [--workers auto]

Run it on a quiet machine and repeat it: on a shared 2-core VM the figures move by tens of
percent from one run to the next, so compare medians of several runs, never single samples.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conformance.match import like
from conformance.sut import NetnsSut
from conformance.topology import build
from conformance.wire import Capture, Port
from fixtures.lan import GATEWAY_IP, GATEWAY_MAC, SUT_IP, SUT_MAC, TESTER_IP, TESTER_MAC, lan_topology

REPO = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, samples: list[float], unit: str, target: float | None = None) -> None:
    med, p90 = statistics.median(samples), percentile(samples, 90)
    verdict = "" if target is None else f"  (target <= {target:g} {unit}: {'met' if med <= target else 'MISSED'})"
    print(f"{name:<34} median {med:8.3f} {unit}   p90 {p90:8.3f} {unit}   n={len(samples)}{verdict}")


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def lan_setup_teardown() -> None:
    capture = Capture()
    with build(lan_topology(NetnsSut())) as net:
        port = Port("tester", capture, ns=net.ns["tester"], ifname="tst0", mac=TESTER_MAC, ip=TESTER_IP)
        port.claims[GATEWAY_IP] = GATEWAY_MAC
    capture.close()


def exchanges(rounds: int) -> tuple[list[float], list[float]]:
    capture = Capture()
    with build(lan_topology(NetnsSut())) as net:
        port = Port("tester", capture, ns=net.ns["tester"], ifname="tst0", mac=TESTER_MAC, ip=TESTER_IP)
        from fixtures.base import echo_fence

        port.fence = echo_fence(TESTER_MAC, SUT_MAC, TESTER_IP, SUT_IP)
        request = Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP, pdst=SUT_IP)
        answer = like(ARP(op="is-at", psrc=SUT_IP))
        arp = timed(lambda: port.exchange(request, expect=answer), rounds)
        dropped = Ether(src=TESTER_MAC, dst=SUT_MAC) / IP(src=TESTER_IP, dst=SUT_IP) / ICMP(id=1, chksum=0x1)
        unwanted = like(ICMP(type="echo-reply", id=1))

        def negative() -> None:
            port.send(dropped)
            port.expect_none(unwanted)

        negative()  # the first fence resolves the tester's MAC on the SUT
        none = timed(negative, rounds)
        capture.frames.clear()
    capture.close()
    return arp, none


def suite(workers: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "conformance.cli", "run", "-n", workers, "--report-dir", tmp, "--", "-q"],
                cwd=REPO, capture_output=True, text=True,
            )
            out.append(time.perf_counter() - start)
            if done.returncode not in (0, 1):
                sys.exit(f"bench: the suite run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="samples per micro-benchmark (default 200)")
    parser.add_argument("--suite-runs", type=int, default=3, help="whole-suite runs (default 3; 0 to skip)")
    parser.add_argument("--workers", default="auto", help="xdist workers for the suite runs (default auto)")
    args = parser.parse_args()

    lan_setup_teardown()  # warm up imports and the kernel's caches
    report("lan set-up + teardown", timed(lan_setup_teardown, args.rounds), "ms", 25)
    arp, none = exchanges(args.rounds)
    report("ARP exchange", arp, "ms", 1)
    report("expect_none with a fence", none, "ms", 5)
    if args.suite_runs:
        report(f"whole suite (-n {args.workers})", suite(args.workers, args.suite_runs), "s")


if __name__ == "__main__":
    main()
