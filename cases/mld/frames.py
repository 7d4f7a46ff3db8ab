"""MLDv2 (RFC 3810) as the cases need it: the group the SUT's application joins, queries the
tester sends as the link's querier, and the SUT's reports with their records."""

from __future__ import annotations

import ipaddress
import itertools
import socket
import struct

from scapy.layers.inet6 import (
    ICMPv6MLDMultAddrRec,
    ICMPv6MLQuery2,
    ICMPv6MLReport2,
    IPv6,
    IPv6ExtHdrHopByHop,
    RouterAlert,
)
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from cases.nd.frames import ALL_NODES, ALL_NODES_MAC, multicast_mac
from conformance.match import Matcher, Predicate, like

_groups = itertools.count(1)
MLDV2_ROUTERS = "ff02::16"
IS_INCLUDE, IS_EXCLUDE, TO_INCLUDE, TO_EXCLUDE = 1, 2, 3, 4
QUERIER, QUERIER_MAC = "fe80::fe", "02:00:00:00:6f:fe"


def fresh_group() -> str:
    """A transient link-scope group (ff12::db8:N) of the case's own: a SUT that outlives a case
    (an external one) may still be reporting on the groups of the case before."""
    return f"ff12::db8:{next(_groups):x}"


def mreq(group: str, ifindex: int) -> bytes:
    """struct ipv6_mreq: the group and the interface index."""
    return ipaddress.IPv6Address(group).packed + struct.pack("@I", ifindex)


def join(host, group: str):
    """A socket on the SUT joins `group` on its interface (IPV6_JOIN_GROUP); the socket."""
    sock = host.app.udp_at("::", 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq(group, host.ifindex))
    return sock


def leave(host, sock, group: str) -> None:
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq(group, host.ifindex))


def flat(recs: list[Packet]) -> list[Packet]:
    """Every record of a report's record list. Scapy dissects a received report's records as
    the first one with the rest as its payload (its record does not say where it ends), so a
    report holding two (a leave still being retransmitted and a new join) shows one."""
    out = []
    for rec in recs:
        while isinstance(rec, ICMPv6MLDMultAddrRec):
            out.append(rec)
            rec = rec.payload
    return out


def mld_records(report: Packet) -> list[Packet]:
    """Every multicast address record of an MLDv2 report."""
    return flat(report[ICMPv6MLReport2].records)


def records(report: Packet) -> list[tuple[int, str]]:
    """(record type, multicast address) of each record of an MLDv2 report."""
    return [(r.rtype, str(ipaddress.IPv6Address(r.dst))) for r in mld_records(report)]


def report_with(group: str, rtype: int | None = None) -> Matcher:
    """An MLDv2 report with a record for `group` (of type `rtype`, if given)."""
    want = ipaddress.IPv6Address(group)

    def has(recs) -> bool:
        return any(ipaddress.IPv6Address(r.dst) == want and (rtype is None or r.rtype == rtype) for r in flat(recs))

    kind = f" of type {rtype}" if rtype is not None else ""
    return like(ICMPv6MLReport2(), where={"ICMPv6MLReport2.records": Predicate(has, f"has a record{kind} for {group}")},
                name=f"an MLDv2 report with a record{kind} for {group}")


def query(group: str = "::", *, mrd_ms: int = 100, src: str = QUERIER, hlim: int = 1) -> Packet:
    """An MLDv2 query from the tester's querier: general (to all nodes) unless `group` is given
    (then to that group). Hop Limit 1 and a Router Alert, as RFC 3810 5 has every MLD message."""
    general = group == "::"
    dst = ALL_NODES if general else group
    return (Ether(src=QUERIER_MAC, dst=ALL_NODES_MAC if general else multicast_mac(group))
            / IPv6(src=src, dst=dst, hlim=hlim) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)])
            / ICMPv6MLQuery2(mrd=mrd_ms, mladdr=group, QRV=2, QQIC=125))


