"""ARP frame builders and matchers shared by the ARP cases."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Packet

from conformance.match import Matcher, like
from conformance.wire import Fence

BROADCAST = "ff:ff:ff:ff:ff:ff"
ZERO_MAC = "00:00:00:00:00:00"

# Addresses on the lan segment that only the cases use (the tester's kernel owns none of them).
STRANGER_IP, STRANGER_MAC = "198.18.0.77", "02:00:00:00:77:77"
OTHER_MAC = "02:00:00:00:99:99"
FENCE_IP, FENCE_MAC = "198.18.0.250", "02:00:00:00:fa:fa"
UNUSED_IP = "198.18.0.66"  # nobody answers for it


def arp_request(src_mac: str, src_ip: str, target_ip: str, *, dst: str = BROADCAST,
                target_mac: str = ZERO_MAC) -> Packet:
    """A who-has from `src_mac`/`src_ip` for `target_ip`, broadcast unless `dst` says otherwise."""
    return Ether(src=src_mac, dst=dst) / ARP(
        op="who-has", hwsrc=src_mac, psrc=src_ip, hwdst=target_mac, pdst=target_ip
    )


def arp_reply(src_mac: str, src_ip: str, dst_mac: str, dst_ip: str, *, eth_dst: str | None = None) -> Packet:
    """An is-at saying `src_ip` is at `src_mac`, addressed to `dst_mac`/`dst_ip`."""
    return Ether(src=src_mac, dst=eth_dst or dst_mac) / ARP(
        op="is-at", hwsrc=src_mac, psrc=src_ip, hwdst=dst_mac, pdst=dst_ip
    )


def announcement(mac: str, ip: str, op: str = "who-has") -> Packet:
    """A gratuitous ARP (RFC 5227 Announcement): sender and target protocol address are both `ip`."""
    return Ether(src=mac, dst=BROADCAST) / ARP(op=op, hwsrc=mac, psrc=ip, hwdst=ZERO_MAC, pdst=ip)


def probe(mac: str, ip: str) -> Packet:
    """An RFC 5227 ARP Probe for `ip`: sender protocol address 0.0.0.0."""
    return Ether(src=mac, dst=BROADCAST) / ARP(op="who-has", hwsrc=mac, psrc="0.0.0.0", hwdst=ZERO_MAC, pdst=ip)


def reply_from(ip: str) -> Matcher:
    return like(ARP(op="is-at", psrc=ip), name=f"ARP reply for {ip}")


def request_for(ip: str) -> Matcher:
    return like(ARP(op="who-has", pdst=ip), name=f"ARP request for {ip}")


def arp_fence(sut_ip: str, src_ip: str = FENCE_IP, src_mac: str = FENCE_MAC) -> Fence:
    """A fence that leaves the SUT's neighbour entries for the case's addresses alone: an ARP
    request for the SUT's address from an address of its own, answered synchronously."""

    def make() -> tuple[Packet, Matcher]:
        return arp_request(src_mac, src_ip, sut_ip), like(
            Ether(dst=src_mac) / ARP(op="is-at", psrc=sut_ip, pdst=src_ip), name="fence ARP reply"
        )

    return make


def echo_from(src_mac: str, src_ip: str, sut_mac: str, sut_ip: str, ident: int = 0x4152) -> Packet:
    """An ICMP echo request to the SUT from an address the case chose; its answer shows which
    MAC the SUT believes that address has."""
    return Ether(src=src_mac, dst=sut_mac) / IP(src=src_ip, dst=sut_ip) / ICMP(type="echo-request", id=ident, seq=1)


def echo_reply_to(ip: str, ident: int = 0x4152) -> Matcher:
    return like(IP(dst=ip) / ICMP(type="echo-reply", id=ident), name=f"echo reply to {ip}")


def arrival_ns(port, packet: Packet) -> int:
    """The receive time stamp of a frame `expect` returned."""
    for f in port.capture.frames:
        if f.direction == "in" and f._packet is packet:
            return int(f.t_ns)
    raise AssertionError("the matched frame is not in the capture")
