"""Synthetic runs for the report's tests and benchmark: realistic results.json and pcaps, no root.

The frames are real frames (built with scapy, written with conformance.pcap), so the report
decodes them exactly as it decodes a real run's; the verdicts follow a fixed pseudo-random mix.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from conformance import pcap
from conformance.report.model import make_results

TESTER_MAC, SUT_MAC, FAR_MAC = "02:00:00:00:02:02", "02:00:00:00:01:01", "02:00:00:00:03:03"
TESTER_IP, SUT_IP, FAR_IP = "198.18.0.2", "198.18.0.1", "198.18.2.2"
AREAS = [  # (id prefix, protocol, layer, rfc, sections)
    ("ETH", "ethernet", 2, 894, ["Frame Format", "Address Mappings"]),
    ("ARP", "arp", 2, 826, ["Packet Reception", "Packet Generation"]),
    ("IP4", "ipv4", 3, 791, ["3.1", "3.2", "3.2.1.3"]),
    ("ICMP", "icmp", 3, 1122, ["3.2.2", "3.2.2.6", "3.2.2.1", "3.2.2.10"]),
    ("RT", "routing", 3, 1812, ["5.2.2", "5.3.1", "5.2.7.1"]),
    ("TCP", "tcp", 4, 9293, ["3.5", "3.10.7.2", "3.8.1", "3.10.7.4"]),
    ("UDP", "udp", 4, 768, ["Format", "Fields"]),
]
MIX = [("pass", 78), ("fail", 10), ("not-implemented", 2), ("skip", 4), ("inconclusive", 3), ("error", 3)]
LEVEL_MIX = [("MUST", 70), ("SHOULD", 22), ("MAY", 8)]


def _pick(rng: random.Random, mix: list[tuple[str, int]]) -> str:
    return rng.choices([m for m, _ in mix], weights=[w for _, w in mix])[0]


def _exchange(rng: random.Random, protocol: str, payload: bytes) -> list[tuple[str, str, Any, str]]:
    """(port, direction, frame, note) for a plausible exchange of the protocol."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, UDPerror
    from scapy.layers.l2 import ARP, Ether

    out_eth = Ether(src=TESTER_MAC, dst=SUT_MAC)
    in_eth = Ether(src=SUT_MAC, dst=TESTER_MAC)
    frames: list[tuple[str, str, Any, str]] = []
    if protocol in ("ethernet", "arp"):
        frames.append(("tester", "out", Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(
            op="who-has", hwsrc=TESTER_MAC, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=SUT_IP), ""))
        frames.append(("tester", "in", in_eth / ARP(op="is-at", hwsrc=SUT_MAC, psrc=SUT_IP, hwdst=TESTER_MAC,
                                                      pdst=TESTER_IP), ""))
    elif protocol in ("ipv4", "icmp"):
        ident = rng.randrange(1, 0xFFFF)
        frames.append(("tester", "out", out_eth / IP(src=TESTER_IP, dst=SUT_IP, ttl=64) / ICMP(id=ident, seq=1) / payload, ""))
        frames.append(("tester", "in", in_eth / IP(src=SUT_IP, dst=TESTER_IP) / ICMP(type=0, id=ident, seq=1) / payload, ""))
    elif protocol == "routing":
        probe = IP(src=TESTER_IP, dst=FAR_IP, ttl=1) / UDP(sport=40000, dport=33434) / payload
        frames.append(("tester", "out", out_eth / probe, ""))
        frames.append(("tester", "in", in_eth / IP(src=SUT_IP, dst=TESTER_IP) / ICMP(type=11, code=0)
                       / IPerror(bytes(probe)[:28]) / UDPerror(bytes(probe)[20:28]), ""))
        frames.append(("far", "in", Ether(src="02:00:00:00:01:02", dst=FAR_MAC) / IP(src=TESTER_IP, dst=FAR_IP, ttl=63)
                       / UDP(sport=40001, dport=33434) / payload, ""))
    elif protocol == "tcp":
        seq, peer = rng.randrange(1 << 32), rng.randrange(1 << 32)
        options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (rng.randrange(1 << 32), 0)), ("NOP", None), ("WScale", 7)]
        out_ip, in_ip = IP(src=TESTER_IP, dst=SUT_IP), IP(src=SUT_IP, dst=TESTER_IP)
        frames.append(("tester", "out", out_eth / out_ip / TCP(sport=40000, dport=80, flags="S", seq=seq, window=65535,
                                                             options=options), ""))
        frames.append(("tester", "in", in_eth / in_ip / TCP(sport=80, dport=40000, flags="SA", seq=peer, ack=seq + 1,
                                                           window=64240, options=[("MSS", 1460)]), ""))
        frames.append(("tester", "out", out_eth / out_ip / TCP(sport=40000, dport=80, flags="PA", seq=seq + 1,
                                                             ack=peer + 1, window=65535) / payload, ""))
        frames.append(("tester", "in", in_eth / in_ip / TCP(sport=80, dport=40000, flags="A", seq=peer + 1,
                                                           ack=(seq + 1 + len(payload)) % (1 << 32), window=64240), ""))
        frames.append(("tester", "out", out_eth / out_ip / TCP(sport=40000, dport=80, flags="R",
                                                             seq=(seq + 1 + len(payload)) % (1 << 32)), ""))
    else:
        frames.append(("tester", "out", out_eth / IP(src=TESTER_IP, dst=SUT_IP) / UDP(sport=40000, dport=7) / payload, ""))
        frames.append(("tester", "in", in_eth / IP(src=SUT_IP, dst=TESTER_IP) / UDP(sport=7, dport=40000) / payload, ""))
    if rng.random() < 0.4:  # a negative check: the fence and its answer close the exchange
        frames.append(("tester", "out", out_eth / IP(src=TESTER_IP, dst=SUT_IP) / ICMP(id=0xF001, seq=1), "fence"))
        frames.append(("tester", "in", in_eth / IP(src=SUT_IP, dst=TESTER_IP) / ICMP(type=0, id=0xF001, seq=1), "fence answer"))
    return frames


def make_run(run_dir: Path, n: int, *, seed: int = 1, payload: bytes = b"conformance", outcome_of: dict[int, str] | None = None,
             started: str = "2026-01-01T00:00:00.000+00:00") -> dict[str, Any]:
    """Write n synthetic cases' pcaps under run_dir/pcap and return their results document."""
    rng = random.Random(seed)
    (run_dir / "pcap").mkdir(parents=True, exist_ok=True)
    cases = []
    t_ns = 1_767_225_600_000_000_000
    for i in range(n):
        prefix, protocol, layer, rfc, sections = AREAS[i % len(AREAS)]
        case_id = f"{prefix}-SYNTH-{i:04d}"
        outcome = (outcome_of or {}).get(i) or _pick(rng, MIX)
        level = _pick(rng, LEVEL_MIX)
        section = rng.choice(sections)
        frames, packets = [], []
        start = t_ns
        for port, direction, frame, note in _exchange(rng, protocol, payload):
            t_ns += rng.randrange(20_000, 900_000)
            data = bytes(frame)
            frames.append({"t_ms": round((t_ns - start) / 1e6, 3), "port": port, "dir": direction, "len": len(data),
                           "summary": frame.summary(), "note": note})
            packets.append(pcap.Packet(t_ns, port, 1, direction, data, note))
        name = f"{case_id}.pcapng"
        pcap.write(run_dir / "pcap" / name, packets)
        t_ns += 5_000_000
        message = None
        if outcome == "fail":
            message = ("the reply's IP TTL must be at least 1\n  expected: IP.ttl >= 1\n  observed: IP.ttl = 0\n"
                       f"  frames that did arrive:\n    +0.412 ms  {frames[-1]['summary']}")
        elif outcome == "skip":
            message = "not applicable: the SUT cannot open sockets"
        elif outcome == "not-implemented":
            message = "the SUT does not implement this MAY: no Timestamp reply came"
        elif outcome == "inconclusive":
            message = "the fence got no answer within 1.0 s: the SUT did not answer the echo that ends the check"
        elif outcome == "error":
            message = "OSError: [Errno 105] No buffer space available"
        title = f"Synthetic {protocol} requirement number {i}"
        cases.append({
            "id": case_id, "title": title, "rfc": rfc, "section": section, "level": level, "layer": layer,
            "requirement": f"The SUT answers the {protocol} probe number {i} as RFC {rfc} section {section} requires.",
            "doc": title, "tags": [], "needs": ["sockets"] if outcome == "skip" else [], "waits": "", "extra_rfcs": [],
            "protocol": protocol,
            "rfc_url": f"https://www.rfc-editor.org/rfc/rfc{rfc}" + (f"#section-{section}" if section[0].isdigit() else ""),
            "nodeid": f"cases/{protocol}/test_synthetic.py::test_case_{i}", "outcome": outcome,
            "duration_ms": round(rng.uniform(3, 40), 3), "message": message,
            "longrepr": (f"cases/{protocol}/test_synthetic.py:{10 + i}: AssertionError\n{message}" if outcome in ("fail", "error") else None),
            "pcap": f"pcap/{name}", "frames": frames, "preconditions": [], "worker": f"gw{i % 2}",
        })
    run = {
        "id": run_dir.name, "started": started, "finished": started, "duration_s": round(n * 0.006, 3), "complete": True,
        "suite_version": "0.1.0", "command_line": ["conformance", "run", "-n", "2"], "workers": 2,
        "sut": {"kind": "netns", "description": "synthetic results (no SUT was run)", "kernel": "6.18.0-synthetic",
                "capabilities": ["counters", "neighbours", "routes", "second_segment", "sysctl"], "profile": None,
                "sysctls_pinned": {"net.ipv4.conf.all.rp_filter": "0"}},
        "sysctls": {"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.ip_forward": "0", "net.ipv4.tcp_syn_retries": "6"},
        "host": {"hostname": "synthetic", "python": "3.11", "pytest": "9"},
    }
    return make_results(run, cases)
