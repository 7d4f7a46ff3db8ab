"""Frame builders shared by the Ethernet cases."""

from __future__ import annotations

import itertools

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from conformance.match import Matcher, like

BROADCAST = "ff:ff:ff:ff:ff:ff"
ALL_HOSTS_MAC = "01:00:5e:00:00:01"  # 224.0.0.1 mapped by RFC 1112 6.4
OTHER_MAC = "02:00:00:00:99:99"  # a unicast MAC nobody on the segment has

_ids = itertools.count(0x4500)


def echo(lan, *, dst_mac: str | None = None, dst_ip: str | None = None, data: bytes = b"conformance") -> tuple[Packet, Matcher]:
    """An ICMP echo request from the tester (RFC 894 framing), and a matcher for its reply."""
    ident = next(_ids) & 0xFFFF
    frame = (
        Ether(src=lan.tester.mac, dst=dst_mac or lan.sut.mac)
        / IP(src=lan.tester.ip, dst=dst_ip or lan.sut.ip)
        / ICMP(type="echo-request", id=ident, seq=1)
        / data
    )
    return frame, like(IP(dst=lan.tester.ip) / ICMP(type="echo-reply", id=ident), name=f"echo reply id={ident:#x}")


def retyped(frame: Packet, ethertype: int) -> Packet:
    """The same frame with its Ethernet type field replaced (the payload bytes unchanged)."""
    return Ether(src=frame[Ether].src, dst=frame[Ether].dst, type=ethertype) / bytes(frame[Ether].payload)
