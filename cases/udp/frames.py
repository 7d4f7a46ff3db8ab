"""Frame builders and checksum arithmetic shared by the UDP cases.

Every address field is set here (Ether and IP src/dst), so scapy never fills one from the
root namespace. The UDP checksum is computed by scapy unless a case gives one.
"""

from __future__ import annotations

import socket
import struct

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from conformance.match import Matcher, like

SUT_PORT = 7007  # where the SUT's application listens
TESTER_PORT = 40001  # the tester's source port
CLOSED_PORT = 7999  # a port no SUT application has open


def to_sut(lan, payload: bytes = b"", *, dport: int = SUT_PORT, sport: int = TESTER_PORT,
           ip_dst: str | None = None, ip_src: str | None = None, eth_dst: str | None = None,
           ip: dict | None = None, udp: dict | None = None) -> Packet:
    """A UDP datagram from the tester to the SUT; `ip` and `udp` override header fields."""
    return (
        Ether(src=lan.tester.mac, dst=eth_dst or lan.sut.mac)
        / IP(src=ip_src or lan.tester.ip, dst=ip_dst or lan.sut.ip, **(ip or {}))
        / UDP(sport=sport, dport=dport, **(udp or {}))
        / Raw(payload)
    )


def from_sut(lan, *, dst: str | None = None, sport: int | None = SUT_PORT, dport: int | None = TESTER_PORT,
             any_source: bool = False) -> Matcher:
    """A UDP datagram from the SUT's address (from any with `any_source`, for cases that judge
    the source themselves) to the tester (or `dst`); a port given as None is a don't-care.

    The addresses are matched through `where`: a scapy IP template always carries options=[]
    as if it were given, which would reject datagrams that carry IP options.
    """
    where = {"IP.dst": dst or lan.tester.ip} if any_source else {"IP.src": lan.sut.ip, "IP.dst": dst or lan.tester.ip}
    ports = {k: v for k, v in (("sport", sport), ("dport", dport)) if v is not None}
    return like(UDP(**ports), where=where)


def icmp_from_sut(lan, type_: int, code: int | None = None, *, name: str) -> Matcher:
    """An ICMP message of `type_` (and `code`) that the SUT sends, to anyone."""
    icmp = ICMP(type=type_) if code is None else ICMP(type=type_, code=code)
    return like(icmp, where={"IP.src": lan.sut.ip}, name=name)


def with_trailer(lan, udp_bytes: bytes, *, ip_dst: str | None = None) -> Packet:
    """An IP packet carrying `udp_bytes` as is: the UDP header is not rebuilt, so its length
    and checksum fields stay what the case wrote, whatever the IP payload's real length."""
    return (
        Ether(src=lan.tester.mac, dst=lan.sut.mac)
        / IP(src=lan.tester.ip, dst=ip_dst or lan.sut.ip, proto=17)
        / Raw(udp_bytes)
    )


def ones_complement_sum(data: bytes) -> int:
    """The 16-bit one's complement sum of `data` (padded with a zero octet if odd)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo_header(src: str, dst: str, udp_length: int) -> bytes:
    """The RFC 768 pseudo-header: source, destination, zero, protocol 17, UDP length."""
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_length)


def udp_checksum_ok(ip: Packet) -> bool:
    """True if the UDP checksum of `ip` verifies (RFC 768: the sum over the pseudo-header
    and the datagram, checksum field included, is all ones)."""
    raw = bytes(ip[UDP])
    length = struct.unpack("!H", raw[4:6])[0]
    return ones_complement_sum(pseudo_header(ip[IP].src, ip[IP].dst, length) + raw[:length]) == 0xFFFF


def payload_summing_to_zero_checksum(src: str, dst: str, sport: int, dport: int, size: int) -> bytes:
    """Data of `size` octets (even, >= 2) whose UDP checksum computes to zero between these
    endpoints, so that RFC 768 makes the sender transmit it as all ones."""
    body = (bytes(range(1, 256)) * (size // 255 + 1))[: size - 2]
    length = 8 + size
    head = pseudo_header(src, dst, length) + struct.pack("!HHHH", sport, dport, length, 0)
    partial = ones_complement_sum(head + body)
    # The complement completes the sum to 0xFFFF, whose complement (the checksum) is zero.
    return body + struct.pack("!H", 0xFFFF - partial if partial != 0xFFFF else 0xFFFF)


def with_bad_checksum(frame: Packet) -> Packet:
    """`frame` with a UDP checksum that is non-zero and wrong (and not the all-ones twin of a
    correct zero), every other octet unchanged."""
    built = Ether(bytes(frame))
    good = built[UDP].chksum
    bad = good ^ 0x0F0F
    built[UDP].chksum = bad if bad not in (0, 0xFFFF) else good ^ 0x0101
    return built
