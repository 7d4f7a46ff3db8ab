"""One pcapng for the whole run, made from the per-case pcapng files.

Each case's Ports become interfaces named `<case key>/<port>`, so Wireshark's interface column
says which case a frame belongs to; packets are in time order across cases.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance import pcap
from conformance.report.model import case_key


def _case_packets(run_dir: Path, c: dict[str, Any]) -> list[pcap.Packet]:
    try:
        packets = pcap.read(run_dir / c["pcap"])
    except (OSError, ValueError, KeyError, IndexError):  # a damaged case pcap is left out, not fatal
        return []
    key = case_key(c)
    return [pcap.Packet(p.t_ns, f"{key}/{p.interface}", p.linktype, p.direction, p.data,
                        f"{key}: {p.comment}" if p.comment else key) for p in packets]


def packets(results: dict[str, Any], run_dir: Path) -> Iterator[pcap.Packet]:
    per_case = [_case_packets(run_dir, c) for c in results["cases"] if c.get("pcap")]
    return heapq.merge(*per_case, key=lambda p: p.t_ns)


def write(results: dict[str, Any], run_dir: Path, path: Path) -> int:
    """Write the merged file; return how many packets it holds."""
    n = 0

    def counted() -> Iterator[pcap.Packet]:
        nonlocal n
        for p in packets(results, run_dir):
            n += 1
            yield p

    tmp = path.with_name(path.name + ".tmp")
    pcap.write(tmp, counted())
    os.replace(tmp, path)
    return n
