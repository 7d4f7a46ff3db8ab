"""Benchmark of the agent seam: the round trip of each verb, in-process (the local kernel's
path), over a pipe to an agent in another namespace, and to the agent inside the SUT VM; and what
a case costs through an agent compared with in-process.

    sudo .venv/bin/python bench/agent_bench.py [--rounds N] [--vm] [--cases]

Prints median and p90 per verb (microseconds) for each channel, and with --cases the median
case duration of the same selection run in-process and through the pipe agent, with their ratio.
Run it on a quiet machine and repeat it: on a shared 2-core VM single samples move by tens of
percent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pyroute2 import IPRoute

from conformance import runs
from conformance.agent import Channel, InProcessChannel, StreamChannel
from conformance.netns import Namespace
from conformance.topology import ETHTOOL_STXCSUM, _ethtool_set

REPO = Path(__file__).resolve().parent.parent
CASES = ["--protocol", "arp", "--protocol", "udp", "--protocol", "icmp"]


def verbs(channel: Channel) -> dict[str, Callable[[], object]]:
    """One request of each kind a case makes, on a SUT with an address on d0."""
    handle = channel.call("udp_open", ip="198.18.0.1", port=0)["handle"]
    return {
        "hello": lambda: channel.call("hello"),
        "knob_get": lambda: channel.call("knob_get", name="ipv4.forwarding"),
        "knob_set": lambda: channel.call("knob_set", name="icmp.ratelimit_ms", value="1000"),
        "route_get": lambda: channel.call("route_get", dst="198.18.0.9"),
        "neighbours": lambda: channel.call("neighbours", interface="d0"),
        "counters": lambda: channel.call("counters", table="snmp"),
        "read_available": lambda: channel.call("read_available", handle=handle),
        "udp_open+close": lambda: channel.call("close", handle=channel.call("udp_open", ip="198.18.0.1", port=0)["handle"],
                                                abort=True),
    }


def measure(channel: Channel, rounds: int) -> dict[str, tuple[float, float]]:
    out = {}
    for name, call in verbs(channel).items():
        samples = []
        for _ in range(rounds):
            t = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - t) / 1000)
        samples.sort()
        out[name] = (statistics.median(samples), samples[int(len(samples) * 0.9)])
    return out


@contextmanager
def device() -> Iterator[tuple[Namespace, Namespace]]:
    """A machine namespace wired to a device namespace that has 198.18.0.1/24 on d0."""
    machine, dev = Namespace("machine"), Namespace("device")
    with machine.entered(), IPRoute() as ipr:
        ipr.link("add", ifname="m0", kind="veth", peer={"ifname": "d0", "net_ns_fd": dev.fd})
        ipr.link("set", index=ipr.link_lookup(ifname="m0")[0], state="up")
    with dev.entered(), IPRoute() as ipr:
        for name in ("d0", "lo"):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        ipr.addr("add", index=ipr.link_lookup(ifname="d0")[0], address="198.18.0.1", prefixlen=24)
        _ethtool_set("d0", ETHTOOL_STXCSUM, 0)
    try:
        yield machine, dev
    finally:
        machine.close()
        dev.close()


def vm_channel(tmp: Path) -> tuple[StreamChannel, subprocess.Popen[bytes], Namespace]:
    """Boot the SUT VM on a TAP and reach its agent; the VM gets 198.18.0.1/24 on eth0."""
    import fcntl
    import struct

    from conformance.topology import IFF_NO_PI, IFF_TAP, TUNSETIFF, TUNSETPERSIST

    ns = Namespace("vmbench")
    with ns.entered():
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"cfbench0", IFF_TAP | IFF_NO_PI))
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
        os.close(fd)
    sock = str(tmp / "agent.sock")
    proc = runs.spawn(ns, [sys.executable, str(REPO / "scripts" / "vm-sut"), "--tap", "cfbench0", "--agent-socket", sock],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    for line in proc.stdout:
        if b"vm-sut: ready" in line:
            break
    channel = StreamChannel.connect(f"unix:{sock}", timeout=60)
    channel.start()
    channel.call("address_add", cidr="198.18.0.1/24", interface="eth0")
    return channel, proc, ns


def run_cases(machine: Namespace, report: Path, *argv: str) -> list[float]:
    proc = runs.spawn(machine, [sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report), *CASES, *argv],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()
    results = json.loads((report / "latest" / "results.json").read_text())
    return [c["duration_ms"] for c in results["cases"] if c["outcome"] != "skip"]


def case_costs(tmp: Path, machine: Namespace, dev: Namespace) -> None:
    path = f"/proc/{os.getpid()}/fd/{dev.fd}"
    with dev.entered(), IPRoute() as ipr:  # the device starts blank: the suite configures it
        ipr.addr("del", index=ipr.link_lookup(ifname="d0")[0], address="198.18.0.1", prefixlen=24)
    sut = tmp / "dut.toml"
    sut.write_text(f'kind = "iface"\nagent = "cmd:{sys.executable} -m conformance_agent --netns {path}"\nconfigure = true\n'
                   '[links.lan]\niface = "m0"\nsut_ifname = "d0"\nsut_ip = "198.18.0.1"\ntester_ip = "198.18.0.2"\n'
                   'gateway = "198.18.0.254"\n')
    local = run_cases(machine, tmp / "local")
    remote = run_cases(machine, tmp / "remote", "--sut-file", str(sut))
    ml, mr = statistics.median(local), statistics.median(remote)
    print(f"\ncase cost, {len(local)} cases (arp, udp, icmp), serial: in-process median {ml:.1f} ms, "
          f"through the pipe agent median {mr:.1f} ms: ratio {mr / ml:.2f}")


def table(name: str, figures: dict[str, tuple[float, float]]) -> None:
    print(f"\n{name}\n  {'verb':18} {'median µs':>10} {'p90 µs':>10}")
    for verb, (median, p90) in figures.items():
        print(f"  {verb:18} {median:10.0f} {p90:10.0f}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--vm", action="store_true", help="also the agent inside the SUT VM (scripts/bootstrap --vm)")
    p.add_argument("--cases", action="store_true", help="also the cost of cases through an agent")
    args = p.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    with device() as (machine, dev), tempfile.TemporaryDirectory() as tmp:
        inproc = InProcessChannel(dev)
        table("in-process (the local kernel's path)", measure(inproc, args.rounds))
        inproc.close()
        pipe = StreamChannel.command([sys.executable, "-m", "conformance_agent", "--netns",
                                      f"/proc/{os.getpid()}/fd/{dev.fd}"])
        pipe.start()
        table("pipe to an agent in another namespace", measure(pipe, args.rounds))
        pipe.close()
        if args.vm:
            channel, proc, ns = vm_channel(Path(tmp))
            try:
                table("the agent in the SUT VM (virtio-serial)", measure(channel, args.rounds))
            finally:
                channel.close()
                proc.terminate()
                proc.wait()
                ns.close()
        if args.cases:
            case_costs(Path(tmp), machine, dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
