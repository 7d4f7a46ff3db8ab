"""Which next hop of the `multipath` topology a forwarded datagram reached."""

from __future__ import annotations

import time
from typing import Any

from scapy.layers.inet import IP, UDP

from cases.routing.frames import udp_like
from conformance.match import Matcher


def received(port: Any, matcher: Matcher, since_ns: int) -> int:
    """Frames like `matcher` that `port` received since `since_ns` (consumed or not)."""
    return sum(1 for f in port.capture.frames
               if f.port == port.name and f.direction == "in" and f.t_ns >= since_ns and matcher(f.packet))


def hops_reached(mp: Any, src: str, dst: str, sport: int, since_ns: int, expected: int = 1,
                 timeout: float = 1.0) -> dict[str, int]:
    """Copies of the UDP datagram(s) src:sport -> dst that hop A and hop B received.

    Both hops are read while waiting, so each answers the SUT's ARP request and releases what
    the SUT queued for it; the wait ends once `expected` copies are in.
    """
    matcher = udp_like(src, dst, sport=sport)
    deadline = time.monotonic() + timeout
    while True:
        mp.hop_a.poll(0)
        mp.hop_b.poll(0)
        counts = {"A": received(mp.hop_a, matcher, since_ns), "B": received(mp.hop_b, matcher, since_ns)}
        if sum(counts.values()) >= expected or time.monotonic() > deadline:
            return counts
        mp.hop_a.poll(0.002)
        mp.hop_b.poll(0.002)


def flows_reached(mp: Any, src: str, flows: list[tuple[str, int]], since_ns: int, timeout: float = 1.0) -> dict[str, int]:
    """How many of the UDP datagrams src:sport -> dst, one per (dst, sport) in `flows`, hop A and
    hop B received; the wait ends once all are in (both hops are read, as in `hops_reached`)."""
    wanted = set(flows)

    def count(port: Any) -> int:
        seen = set()
        for f in port.capture.frames:
            if f.port != port.name or f.direction != "in" or f.t_ns < since_ns or UDP not in f.packet:
                continue
            flow = (f.packet[IP].dst, f.packet[UDP].sport)
            if f.packet[IP].src == src and flow in wanted:
                seen.add(flow)
        return len(seen)

    deadline = time.monotonic() + timeout
    while True:
        mp.hop_a.poll(0)
        mp.hop_b.poll(0)
        counts = {"A": count(mp.hop_a), "B": count(mp.hop_b)}
        if sum(counts.values()) >= len(flows) or time.monotonic() > deadline:
            return counts
        mp.hop_a.poll(0.002)
        mp.hop_b.poll(0.002)
