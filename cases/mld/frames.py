"""MLDv2 (RFC 3810) as the cases need it: the group the SUT's application joins, queries the
tester sends as the link's querier, and the SUT's reports with their records."""

from __future__ import annotations

import ipaddress
import socket
import struct

from scapy.layers.inet6 import ICMPv6MLQuery2, ICMPv6MLReport2, IPv6, IPv6ExtHdrHopByHop, RouterAlert
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from cases.nd.frames import ALL_NODES, ALL_NODES_MAC, multicast_mac
from conformance.match import Matcher, Predicate, like

GROUP = "ff12::db8:1"  # transient, link scope: a group only these cases use
MLDV2_ROUTERS = "ff02::16"
IS_INCLUDE, IS_EXCLUDE, TO_INCLUDE, TO_EXCLUDE = 1, 2, 3, 4
QUERIER, QUERIER_MAC = "fe80::fe", "02:00:00:00:6f:fe"


def mreq(group: str, ifindex: int) -> bytes:
    """struct ipv6_mreq: the group and the interface index."""
    return ipaddress.IPv6Address(group).packed + struct.pack("@I", ifindex)


def join(host, group: str = GROUP):
    """A socket on the SUT joins `group` on its interface (IPV6_JOIN_GROUP); the socket."""
    sock = host.app.udp_at("::", 0)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq(group, host.ifindex))
    return sock


def leave(host, sock, group: str = GROUP) -> None:
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq(group, host.ifindex))


def records(report: Packet) -> list[tuple[int, str]]:
    """(record type, multicast address) of each record of an MLDv2 report."""
    return [(r.rtype, str(ipaddress.IPv6Address(r.dst))) for r in report[ICMPv6MLReport2].records]


def report_with(group: str = GROUP, rtype: int | None = None) -> Matcher:
    """An MLDv2 report with a record for `group` (of type `rtype`, if given)."""
    want = ipaddress.IPv6Address(group)

    def has(recs) -> bool:
        return any(ipaddress.IPv6Address(r.dst) == want and (rtype is None or r.rtype == rtype) for r in recs)

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


