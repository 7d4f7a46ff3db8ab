"""SUTs made wrong on purpose, for the IPv6 cases: each mutation is a SUT profile (an nftables
ruleset run in the SUT's namespace, or sysctls) that makes the local kernel break one IPv6
requirement the way an RFC forbids, and the cases that must then FAIL.

Ingress rules (netdev, on eth0, before IPv6 sees the packet) rewrite what the tester sent into
what a broken stack would have understood (an option type whose action bits it misreads, a
version it does not check...), so the kernel then answers where it must not. Output and forward
rules rewrite what the SUT sends (a wrong code, pointer, hop limit, MSS...) or drop it. A
rewritten field inside a checksum may leave the checksum wrong; that FAILs too (the invariants).

The harness is tests/integration/test_ipv6_mutations.py; `python -m tests.integration.ipv6_mutations`
prints the verdicts without asserting.

Not every case can be broken this way on Linux: what the kernel decides before any hook can
change it, or after the last one, has no mutation here. These cases were seen to FAIL only by
reasoning about their checks: the checksum cases (ICMP6-CHECKSUM-PSEUDO-HEADER,
TCP6-CSUM-PSEUDO-HEADER, UDP6-*-CHECKSUM-*; the kernel verifies checksums itself, and each case
shows by the SUT's own counter that the checksum was why), reassembly internals (IP6-FRAG-OVERLAP-*,
-FIRST-*, -TIMEOUT-ABANDONED), IP6-FWD-NO-FRAGMENTATION, IP6-RH0-NOT-FORWARDED (the kernel neither
fragments a forwarded packet nor executes a Type 0 header), the PMTU estimate's lower bound,
non-increase and scope (PMTU6-HOST-NEVER-BELOW-MINIMUM, -NO-INCREASE, -PER-PATH) and the TCP send
MSS (TCP6-MSS-DEFAULT-1220, -PEER-RESPECTED: an nftables MSS rewrite on input did not reach the
socket). The four known deviations FAIL on the kernel as it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutation:
    name: str
    cases: dict[str, str]  # case id -> the verdict it must then have (fail; not-implemented for a MAY; pass
    # for a known deviation of the kernel put right)
    ingress: tuple[str, ...] = ()  # netdev ingress rules on eth0
    output: tuple[str, ...] = ()  # inet output rules (what the SUT originates)
    forward: tuple[str, ...] = ()  # inet forward rules (what the SUT router forwards)
    input: tuple[str, ...] = ()  # inet input rules (what reaches the SUT's own stack)
    egress: tuple[str, ...] = ()  # netdev egress rules on eth0 (after fragmentation)
    extra: str = ""  # further nftables tables, as written
    sysctls: tuple[tuple[str, str], ...] = ()

    def profile(self) -> str:
        chains = []
        if self.ingress:
            chains.append("table netdev mut {\n  chain in {\n    type filter hook ingress device eth0 priority 0;\n"
                          + "".join(f"    {r}\n" for r in self.ingress) + "  }\n}\n")
        if self.egress:
            chains.append("table netdev mutout {\n  chain out {\n    type filter hook egress device eth0 priority 0;\n"
                          + "".join(f"    {r}\n" for r in self.egress) + "  }\n}\n")
        inet = []
        for hook, rules in (("output", self.output), ("forward", self.forward), ("input", self.input)):
            if rules:
                inet.append(f"  chain {hook} {{\n    type filter hook {hook} priority 0;\n"
                            + "".join(f"    {r}\n" for r in rules) + "  }\n")
        if inet:
            chains.append("table inet mut {\n" + "".join(inet) + "}\n")
        if self.extra:
            chains.append(self.extra)
        text = f'description = "mutation: {self.name}"\n'
        if chains:
            text += 'commands = ["""nft -f - <<\'EOF\'\n' + "".join(chains) + 'EOF"""]\n'
        if self.sysctls:
            text += "[sysctls]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in self.sysctls)
        return text


FAIL, NOT_IMPLEMENTED = "fail", "not-implemented"
ERRORS = "{ destination-unreachable, packet-too-big, time-exceeded, parameter-problem }"

MUTATIONS = (
    # --- what the SUT accepts that it must refuse (ingress rewrites) ---------------------------
    Mutation("version not checked", {"IP6-VERSION-NOT-6": FAIL},
             ingress=("meta protocol ip6 @nh,0,4 4 @nh,0,4 set 6", "meta protocol ip6 @nh,0,4 7 @nh,0,4 set 6")),
    Mutation("payload length trusted short", {"IP6-PLEN-BEYOND-FRAME": FAIL},
             ingress=("meta protocol ip6 ip6 nexthdr ipv6-icmp @nh,32,16 > 50 @nh,32,16 set 48",)),
    Mutation("padding taken as data", {"IP6-PLEN-PADDING-IGNORED": FAIL},
             ingress=("meta protocol ip6 ip6 nexthdr ipv6-icmp @nh,32,16 40 @nh,32,16 set 64",)),
    Mutation("loopback destination accepted", {"IP6-DST-LOOPBACK-DROPPED": FAIL},
             ingress=("ip6 daddr ::1 ip6 daddr set 2001:db8::1",)),
    Mutation("unknown next header skipped", {"IP6-NH-UNKNOWN-DISCARDED": FAIL},
             ingress=("ip6 nexthdr 253 ip6 nexthdr set 60",)),
    Mutation("hop-by-hop anywhere", {"IP6-HBH-NOT-FIRST-DISCARDED": FAIL},
             ingress=("ip6 nexthdr 60 @nh,320,8 0 @nh,320,8 set 60",)),
    Mutation("no next header read on", {"IP6-NO-NEXT-HEADER": FAIL},
             ingress=("ip6 nexthdr 60 @nh,320,8 59 @nh,320,8 set 58",)),
    Mutation("01 options skipped", {"IP6-OPT-DISCARD-DST": FAIL, "IP6-OPT-DISCARD-HBH": FAIL},
             ingress=("ip6 nexthdr 60 @nh,336,8 0x5e @nh,336,8 set 0x1e", "ip6 nexthdr 0 @nh,368,8 0x5e @nh,368,8 set 0x1e")),
    Mutation("10 and 11 options skipped", {"IP6-OPT-PROBLEM-DST": FAIL, "IP6-OPT-PROBLEM-HBH": FAIL,
                                           "IP6-OPT-PROBLEM-11-DST": FAIL, "IP6-OPT-PROBLEM-11-HBH": FAIL},
             ingress=("ip6 nexthdr 60 @nh,336,8 { 0x9e, 0xde } @nh,336,8 set 0x1e",
                      "ip6 nexthdr 0 @nh,368,8 { 0x9e, 0xde } @nh,368,8 set 0x1e")),
    Mutation("10 options to multicast treated as 11", {"IP6-OPT-PROBLEM-MCAST-DST": FAIL, "IP6-OPT-PROBLEM-MCAST-HBH": FAIL},
             ingress=("ip6 daddr ff02::1 ip6 nexthdr 60 @nh,336,8 0x9e @nh,336,8 set 0xde",
                      "ip6 daddr ff02::1 ip6 nexthdr 0 @nh,368,8 0x9e @nh,368,8 set 0xde")),
    Mutation("11 options to multicast treated as 10", {"IP6-OPT-SILENT-MCAST-DST": FAIL, "IP6-OPT-SILENT-MCAST-HBH": FAIL},
             ingress=("ip6 daddr ff02::1 ip6 nexthdr 60 @nh,336,8 0xde @nh,336,8 set 0x9e",
                      "ip6 daddr ff02::1 ip6 nexthdr 0 @nh,368,8 0xde @nh,368,8 set 0x9e")),
    Mutation("PadN refused", {"IP6-OPT-PADDING": FAIL}, ingress=("ip6 nexthdr 0 @nh,336,8 1 drop",)),
    Mutation("00 options refused", {"IP6-OPT-SKIP-DST": FAIL, "IP6-OPT-SKIP-HBH": FAIL, "IP6-EXT-REPEATED": FAIL},
             ingress=("ip6 nexthdr { 0, 60 } @nh,336,8 0x1e @nh,336,8 set 0x5e", "ip6 nexthdr 0 @nh,368,8 0x1e @nh,368,8 set 0x5e",
                      "ip6 nexthdr 0 @nh,384,8 0x1e @nh,384,8 set 0x5e")),
    Mutation("option overrun trusted", {"IP6-OPT-OVERRUN-DISCARDED": FAIL},
             ingress=("ip6 nexthdr 60 @nh,336,16 0x1e14 @nh,336,16 set 0x1e04",)),
    Mutation("routing header segments left misread", {"IP6-RH-UNKNOWN-SL0-IGNORED": FAIL, "IP6-RH0-SL0-IGNORED": FAIL,
                                                       "IP6-RH-UNKNOWN-SL-PROBLEM": FAIL, "IP6-RH0-SL-PROBLEM": FAIL},
             ingress=("ip6 nexthdr 43 @nh,344,8 0 @nh,344,8 set 2", "ip6 nexthdr 43 @nh,344,8 1 @nh,344,8 set 0")),
    Mutation("later fragments lost", {"IP6-FRAG-REASSEMBLY": FAIL, "IP6-FRAG-OUT-OF-ORDER": FAIL, "IP6-FRAG-1500": FAIL,
                                      "IP6-FRAG-ATOMIC-ISOLATED": FAIL, "IP6-FRAG-LENGTH-NOT-MULTIPLE": FAIL,
                                      "IP6-FRAG-BEYOND-65535": FAIL},
             ingress=("ip6 nexthdr 44 @nh,336,13 != 0 @nh,336,13 < 8000 drop",)),
    Mutation("atomic fragments dropped", {"IP6-FRAG-ATOMIC": FAIL, "IP6-EXT-ANY-ORDER": FAIL},
             ingress=("ip6 nexthdr 44 @nh,336,16 0 drop",)),
    Mutation("zero hop limit refused", {"IP6-HLIM-ZERO-DELIVERED": NOT_IMPLEMENTED},
             ingress=("ip6 hoplimit 0 drop",)),
    Mutation("flow label refused", {"IP6-FLOW-LABEL-IGNORED": FAIL}, ingress=("ip6 flowlabel 0x12345 drop",)),
    Mutation("unknown informational answered", {"ICMP6-UNKNOWN-INFO-DISCARDED": FAIL},
             ingress=("icmpv6 type 200 icmpv6 type set echo-request",)),
    Mutation("link-layer multicast and broadcast taken as unicast", {"ICMP6-NOERR-LINK-MULTICAST": FAIL,
                                                                     "ICMP6-NOERR-LINK-BROADCAST": FAIL},
             ingress=("ip6 daddr 2001:db8::1 meta pkttype { multicast, broadcast } meta pkttype set host",)),
    Mutation("errors about anonymous sources", {"ICMP6-NOERR-SRC-UNSPECIFIED": FAIL, "ICMP6-NOERR-SRC-MULTICAST": FAIL},
             ingress=("ip6 saddr { ::, ff02::1 } ip6 saddr set 2001:db8::2",)),
    Mutation("packets to multicast taken as unicast", {"ICMP6-NOERR-MULTICAST-DST": FAIL},
             ingress=("ip6 daddr ff02::1 meta l4proto udp meta pkttype set host",),
             extra="table ip6 mutnat {\n  chain pre {\n    type nat hook prerouting priority -100;\n"
                   "    ip6 daddr ff02::1 udp dport 7699 dnat to 2001:db8::1\n  }\n}\n"),
    Mutation("errors about errors", {"ICMP6-NOERR-ERROR": FAIL},
             ingress=("icmpv6 type destination-unreachable ip6 hoplimit 1 icmpv6 type set echo-request",)),
    # --- what the SUT sends that is wrong (output and forward rewrites) --------------------
    Mutation("no ICMPv6 errors at all", {
        "ICMP6-DU-PORT": FAIL, "ICMP6-DU-NO-ROUTE": FAIL, "ICMP6-DU-ADMIN": FAIL, "ICMP6-DU-BEYOND-SCOPE": FAIL,
        "ICMP6-DU-ADDRESS": FAIL, "ICMP6-TE-HOP-LIMIT": FAIL, "ICMP6-TE-HOP-LIMIT-ZERO": FAIL, "ICMP6-PP-NEXT-HEADER": FAIL,
        "ICMP6-PP-NEXT-HEADER-EXT": FAIL, "ICMP6-PP-HBH-NOT-FIRST": FAIL, "ICMP6-PP-FIRST-FRAGMENT": FAIL,
        "ICMP6-PP-FIRST-FRAGMENT-CHAIN-CUT": FAIL, "ICMP6-PP-FRAGMENT-LENGTH": FAIL, "ICMP6-PP-FRAGMENT-BEYOND-65535": FAIL,
        "IP6-OPT-PROBLEM-DST": FAIL, "PMTU6-ROUTER-PTB": FAIL, "ICMP6-ERR-SOURCE": FAIL, "ICMP6-ERR-QUOTE-WHOLE": FAIL,
        "ICMP6-ERR-QUOTE-MAXIMUM": FAIL, "IP6-FRAG-TIMEOUT-TIME-EXCEEDED": NOT_IMPLEMENTED},
        output=(f"icmpv6 type {ERRORS} drop",)),
    Mutation("wrong codes and pointers", {
        "ICMP6-DU-PORT": FAIL, "ICMP6-DU-NO-ROUTE": FAIL, "ICMP6-TE-HOP-LIMIT": FAIL, "ICMP6-PP-NEXT-HEADER": FAIL,
        "ICMP6-PP-NEXT-HEADER-EXT": FAIL, "ICMP6-PP-FIRST-FRAGMENT": FAIL, "ICMP6-PP-FRAGMENT-LENGTH": FAIL,
        "IP6-OPT-PROBLEM-HBH": FAIL, "IP6-RH0-SL-PROBLEM": FAIL, "PMTU6-ROUTER-PTB": FAIL},
        output=("icmpv6 type destination-unreachable icmpv6 code set 5", "icmpv6 type time-exceeded icmpv6 code set 1",
                "icmpv6 type parameter-problem @th,32,32 set 99", "icmpv6 type packet-too-big icmpv6 mtu set 1400")),
    Mutation("quotes altered", {"ICMP6-ERR-QUOTE-WHOLE": FAIL, "ICMP6-ERR-QUOTE-MAXIMUM": FAIL, "ICMP6-DU-PORT": FAIL},
             output=("icmpv6 type destination-unreachable @th,120,8 set 0x55",)),
    Mutation("errors from another address", {"ICMP6-ERR-SOURCE": FAIL},
             output=("icmpv6 type destination-unreachable ip6 saddr 2001:db8::11 ip6 saddr set 2001:db8::1",)),
    Mutation("echo replies altered", {"ICMP6-ECHO-REPLY": FAIL, "ICMP6-ECHO-SOURCE": FAIL, "ICMP6-ECHO-MULTICAST-SOURCE": FAIL},
             output=("icmpv6 type echo-reply icmpv6 sequence 0x1234 icmpv6 sequence set 7",
                     "icmpv6 type echo-reply ip6 saddr 2001:db8::11 ip6 saddr set 2001:db8::1",
                     "icmpv6 type echo-reply ip6 daddr 2001:db8::2 icmpv6 id >= 0x6000 icmpv6 id < 0x7000 "
                     "ip6 saddr 2001:db8::1 ip6 daddr 2001:db8::2 meta pkttype host ip6 saddr set ff02::1")),
    Mutation("multicast echo ignored", {"ICMP6-ECHO-MULTICAST": FAIL},
             sysctls=(("net.ipv6.icmp.echo_ignore_multicast", "1"),)),
    Mutation("large echo data truncated", {"ICMP6-ECHO-LARGE": FAIL},
             output=("icmpv6 type echo-reply @th,800,8 set 0x55",)),
    Mutation("no error rate limit", {"ICMP6-RATE-LIMIT": FAIL}, sysctls=(("net.ipv6.icmp.ratemask", "0"),
                                                                        ("net.ipv6.icmp.ratelimit", "0"))),
    Mutation("forwarding rewrites the header", {"IP6-FWD-HLIM-DECREMENT": FAIL, "IP6-FWD-FLOW-LABEL-KEPT": FAIL,
                                                "IP6-FWD-NO-NEXT-HEADER-KEPT": FAIL},
             forward=("ip6 hoplimit set 60", "ip6 flowlabel set 7", "ip6 nexthdr 59 @nh,320,8 set 0x55")),
    Mutation("forwarding what must stay", {"IP6-FWD-HLIM-ONE-DROPPED": FAIL, "IP6-FWD-HLIM-ZERO-DROPPED": FAIL,
                                           "IP6-FWD-LINK-LOCAL-SOURCE": FAIL, "IP6-FWD-UNSPECIFIED-SOURCE": FAIL},
             ingress=("ip6 daddr 2001:db8:2::2 ip6 hoplimit { 0, 1 } ip6 hoplimit set 5",
                      "ip6 daddr 2001:db8:2::2 ip6 saddr { fe80::2, :: } ip6 saddr set 2001:db8:1::2")),
    Mutation("headers in transit processed", {"IP6-FWD-ROUTING-HEADER-IN-TRANSIT": FAIL, "IP6-FWD-DEST-OPTIONS-IN-TRANSIT": FAIL},
             forward=("ip6 nexthdr { 43, 60 } drop",)),
    Mutation("own fragments wrong", {"IP6-FRAG-SUT-IDENTIFICATION": FAIL, "IP6-FRAG-SUT-MULTIPLE-OF-8": FAIL,
                                     "IP6-FRAG-SUT-REASSEMBLES": FAIL},
             egress=("ip6 nexthdr 44 @nh,352,32 set 0x77", "ip6 nexthdr 44 @nh,351,1 set 1")),
    Mutation("errors not passed up", {"ICMP6-UNKNOWN-ERROR-PASSED-UP": FAIL, "ICMP6-DU-NOTIFY": FAIL, "ICMP6-TE-NOTIFY": FAIL,
                                      "ICMP6-PP-NOTIFY": FAIL, "PMTU6-HOST-NOTIFY": FAIL, "PMTU6-HOST-LOWERS": FAIL,
                                      "PMTU6-HOST-TCP-RESEGMENTS": FAIL},
             input=("icmpv6 type { 127, destination-unreachable, time-exceeded, parameter-problem, packet-too-big } drop",)),
    Mutation("packet too big with a code refused", {"PMTU6-HOST-CODE-IGNORED": FAIL},
             ingress=("icmpv6 type packet-too-big icmpv6 code != 0 drop",)),
    Mutation("packet too big below 1280 taken", {"PMTU6-HOST-BELOW-MINIMUM-DISCARDED": FAIL},
             ingress=("icmpv6 type packet-too-big icmpv6 mtu 1000 icmpv6 mtu set 1300",)),
    Mutation("TCP over IPv6 answers wrong", {"TCP6-MSS-FROM-MTU": FAIL, "TCP6-MSS-IN-SYN": FAIL, "TCP6-RST-CLOSED-SYN": FAIL,
                                             "TCP6-RST-CLOSED-ACK": FAIL, "TCP6-EST-PASSIVE": FAIL},
             output=("tcp flags & syn == syn tcp option maxseg size set 1000", "tcp flags & rst == rst tcp sequence set 5",
                     "tcp flags & (syn | ack) == syn | ack tcp ackseq set 1")),
    Mutation("TCP over IPv6 ignores", {"TCP6-EST-ACTIVE": FAIL, "TCP6-RST-IN-WINDOW": FAIL},
             input=("tcp flags & (syn | ack) == syn | ack drop", "tcp flags & rst == rst drop")),
    Mutation("SYNs to multicast taken", {"TCP6-SYN-TO-MULTICAST": FAIL},
             ingress=("ip6 daddr ff02::1 meta l4proto tcp meta pkttype set host",),
             extra="table ip6 mutnat {\n  chain pre {\n    type nat hook prerouting priority -100;\n"
                   "    ip6 daddr ff02::1 tcp dport 7900 dnat to 2001:db8::1\n  }\n}\n"),
    # --- the known Linux deviations, put right: the cases can pass -----------------------
    Mutation("Packet Too Big rate-limited too", {"ICMP6-RATE-LIMIT-PTB": "pass"},
             sysctls=(("net.ipv6.icmp.ratemask", "0-127"),)),
    Mutation("no error about a Redirect", {"ICMP6-NOERR-REDIRECT": "pass"},
             output=("icmpv6 type time-exceeded @th,384,8 137 drop",)),
    Mutation("UDP checksums wrong", {"UDP6-SUT-CHECKSUM-ZERO-AS-FFFF": FAIL, "UDP6-CHECKSUM-FFFF-ACCEPTED": FAIL},
             output=("udp checksum 0xffff udp checksum set 0",), input=("udp checksum 0xffff drop",)),
)


def run(mutation: Mutation, report_dir: Path) -> dict[str, str]:
    """Run the mutation's cases on a SUT with its profile; their verdicts by id."""
    profile = report_dir / "profile.toml"
    profile.write_text(mutation.profile())
    selection = [arg for case_id in mutation.cases for arg in ("--case", case_id)]
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--report-dir", str(report_dir / "reports"),
                           "--sut-profile", str(profile), *selection], cwd=ROOT, capture_output=True, text=True, timeout=600)
    try:
        results = json.loads((report_dir / "reports" / "latest" / "results.json").read_text())
    except FileNotFoundError:
        raise AssertionError(f"the run under {mutation.name!r} wrote no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from None
    return {c["id"]: c["outcome"] for c in results["cases"]}


def main() -> int:
    bad = 0
    for mutation in MUTATIONS:
        with tempfile.TemporaryDirectory() as tmp:
            got = run(mutation, Path(tmp))
        for case_id, want in mutation.cases.items():
            mark = "ok " if got.get(case_id) == want else "BAD"
            bad += mark == "BAD"
            print(f"{mark} {mutation.name:45} {case_id:38} {got.get(case_id)} (want {want})")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
