"""What one rtnetlink request costs through each way the suite could talk to the kernel, measured
inside a fresh anonymous namespace (nothing outside it is touched):

- pyroute2's IPRoute (the synchronous API over its asyncio core);
- pyroute2's AsyncIPRoute, one event loop for the whole block, requests awaited in turn;
- the stdlib client the agent carries (conformance_agent.rtnl), which the topology builder uses.

Each block repeats an address add + delete on lo (two requests, each acknowledged; the figure is
per request) and the request that makes a veth pair (its deletion is not timed: the kernel's
unregistering dominates it and the suite never waits for it, a namespace's links go with it), and
opens a socket (what each namespace of a topology costs once). Median and p90 are printed.

    sudo .venv/bin/python bench/netlink_paths.py [--rounds 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.netns import Namespace, can_create_namespaces
from conformance_agent import rtnl as netlink

ADDRESS, PREFIX = "198.18.250.1", 32
VETH, PEER = "nlb0", "nlb1"
RTM_DELLINK = 17  # linux/rtnetlink.h


Figures = tuple[list[float], list[float], list[float]]  # open+close, address request, veth add


def stdlib_block(rounds: int) -> Figures:
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)  # the peer stays in this namespace
    opened, addr, veth = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        netlink.Rtnl().close()
        opened.append(time.perf_counter() - t0)
    sock = netlink.Rtnl()
    lo = sock.index("lo")
    for _ in range(rounds):
        t0 = time.perf_counter()
        netlink.address_add(sock, lo, ADDRESS, PREFIX)
        sock.address("del", lo, ADDRESS, PREFIX)
        t1 = time.perf_counter()
        netlink.veth_add(sock, VETH, PEER, here)
        t2 = time.perf_counter()
        sock.do(RTM_DELLINK, netlink.IFINFO.pack(0, 0, sock.index(VETH), 0, 0))
        addr.append((t1 - t0) / 2)
        veth.append(t2 - t1)
    sock.close()
    os.close(here)
    return opened, addr, veth


def pyroute2_sync_block(rounds: int) -> Figures:
    from pyroute2 import IPRoute

    opened, addr, veth = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        IPRoute().close()
        opened.append(time.perf_counter() - t0)
    ipr = IPRoute()
    lo = ipr.link_lookup(ifname="lo")[0]
    for _ in range(rounds):
        t0 = time.perf_counter()
        ipr.addr("add", index=lo, address=ADDRESS, prefixlen=PREFIX)
        ipr.addr("del", index=lo, address=ADDRESS, prefixlen=PREFIX)
        t1 = time.perf_counter()
        ipr.link("add", ifname=VETH, kind="veth", peer=PEER)
        t2 = time.perf_counter()
        ipr.link("del", index=ipr.link_lookup(ifname=VETH)[0])
        addr.append((t1 - t0) / 2)
        veth.append(t2 - t1)
    ipr.close()
    return opened, addr, veth


def pyroute2_async_block(rounds: int) -> Figures:
    from pyroute2 import AsyncIPRoute

    opened: list[float] = []
    addr: list[float] = []
    veth: list[float] = []

    async def block() -> None:
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with AsyncIPRoute():
                pass
            opened.append(time.perf_counter() - t0)
        async with AsyncIPRoute() as ipr:
            lo = (await ipr.link_lookup(ifname="lo"))[0]
            for _ in range(rounds):
                t0 = time.perf_counter()
                await ipr.addr("add", index=lo, address=ADDRESS, prefixlen=PREFIX)
                await ipr.addr("del", index=lo, address=ADDRESS, prefixlen=PREFIX)
                t1 = time.perf_counter()
                await ipr.link("add", ifname=VETH, kind="veth", peer=PEER)
                t2 = time.perf_counter()
                await ipr.link("del", index=(await ipr.link_lookup(ifname=VETH))[0])
                addr.append((t1 - t0) / 2)
                veth.append(t2 - t1)

    asyncio.run(block())
    return opened, addr, veth


WAYS: dict[str, Callable[[int], Figures]] = {
    "pyroute2 IPRoute (sync)": pyroute2_sync_block,
    "pyroute2 AsyncIPRoute (one loop)": pyroute2_async_block,
    "conformance_agent.rtnl (stdlib)": stdlib_block,
}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e6:.0f} / {statistics.quantiles(values, n=10)[-1] * 1e6:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300, help="add+delete rounds per block (default 300)")
    parser.add_argument("--repeats", type=int, default=3, help="blocks per way, interleaved (default 3)")
    args = parser.parse_args()
    if (problem := can_create_namespaces()) is not None:
        sys.exit(f"netlink_paths: {problem}")
    figures: dict[str, Figures] = {name: ([], [], []) for name in WAYS}
    for _ in range(args.repeats):
        for name, block in WAYS.items():
            ns = Namespace("netlink-bench")
            try:
                with ns.entered():
                    measured = block(args.rounds)
            finally:
                ns.close()
            for into, values in zip(figures[name], measured, strict=True):
                into.extend(values)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"µs, median / p90 of {args.rounds * args.repeats}; load average {load}")
    print(f"{'way':34} {'open + close':>14} {'address add/del':>16} {'veth add':>14}")
    for name, (opened, addr, veth) in figures.items():
        print(f"{name:34} {spread(opened):>14} {spread(addr):>16} {spread(veth):>14}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
