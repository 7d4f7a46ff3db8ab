"""Frame builders and matchers shared by the routing cases."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from conformance.match import Matcher, like, one_of

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


def udp_frame(src_mac: str, dst_mac: str, src: str, dst: str, *, ttl: int = 64, sport: int = 40000,
              dport: int = 9, payload: bytes = b"routing-case", tos: int = 0) -> Ether:
    """A UDP datagram on Ethernet with every address field set."""
    return (Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst, ttl=ttl, tos=tos)
            / UDP(sport=sport, dport=dport) / Raw(payload))


def udp_like(src: str, dst: str, *, sport: int = 40000, dport: int = 9, dst_mac: str | None = None) -> Matcher:
    """The datagram `udp_frame` built, as it looks after the SUT handled it."""
    ether = Ether(dst=dst_mac) if dst_mac else Ether()
    return like(ether / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport),
                name=f"UDP {src}:{sport} -> {dst}:{dport}" + (f" to {dst_mac}" if dst_mac else ""))


def arp_request_for(target: str) -> Matcher:
    return like(Ether(dst=BROADCAST_MAC) / ARP(op="who-has", pdst=target), name=f"ARP request for {target}")


def any_icmp_error_to(dst: str) -> Matcher:
    """Any ICMP error message (not an echo reply) sent to `dst`."""
    return like(IP(dst=dst) / ICMP(), where={"ICMP.type": one_of(3, 4, 5, 11, 12)},
                name=f"an ICMP error to {dst}")
