"""Frame builders and checks shared by the ICMP and Path MTU cases."""

from __future__ import annotations

import ipaddress
import itertools

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from conformance.match import Matcher, like, one_of
from conformance.verdict import Inconclusive
from conformance.wire import Port

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
CLOSED_PORT = 33434  # nothing listens there on a fresh SUT (the traceroute base port)
ICMP_ERROR_TYPES = (3, 4, 5, 11, 12)

_idents = itertools.count(0x1200)


def next_ident() -> int:
    """A fresh ICMP identifier / IP id per use, so answers to earlier probes never match."""
    return next(_idents) & 0xFFFF


def subnet_broadcast(ip: str, prefixlen: int) -> str:
    """The directed broadcast address of the subnet `ip`/`prefixlen`."""
    return str(ipaddress.ip_interface(f"{ip}/{prefixlen}").network.broadcast_address)


def mac_for_multicast(group: str) -> str:
    """The Ethernet address an IPv4 multicast group maps to (RFC 1112 section 6.4)."""
    o = [int(x) for x in group.split(".")]
    return f"01:00:5e:{o[1] & 0x7F:02x}:{o[2]:02x}:{o[3]:02x}"


def echo_request(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, *, ident: int, seq: int = 1,
                 data: bytes = b"", ttl: int = 64, options: list | None = None) -> Packet:
    ip = IP(src=src_ip, dst=dst_ip, ttl=ttl, id=ident, options=options or [])
    return Ether(src=src_mac, dst=dst_mac) / ip / ICMP(type="echo-request", id=ident, seq=seq) / Raw(data)


def udp_datagram(src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, *, dport: int = CLOSED_PORT,
                 sport: int = 40000, data: bytes = b"conformance", tos: int = 0, ident: int | None = None,
                 flags: int = 0, frag: int = 0, ttl: int = 64, options: list | None = None) -> Packet:
    ip = IP(src=src_ip, dst=dst_ip, tos=tos, id=next_ident() if ident is None else ident, flags=flags,
            frag=frag, ttl=ttl, options=options or [])
    return Ether(src=src_mac, dst=dst_mac) / ip / UDP(sport=sport, dport=dport) / Raw(data)


def ip_like(**fields: object) -> IP:
    """An IP template for a matcher. Scapy sets `options=[]` explicitly on every IP() it
    builds, which a matcher would compare; the template keeps only the fields given here."""
    ip = IP(**fields)
    if "options" not in fields:
        ip.fields.pop("options", None)
    return ip


def unreachable(src_ip: str, dst_ip: str, code: int | None = None) -> Matcher:
    """An ICMP Destination Unreachable from `src_ip` to `dst_ip` (any code unless given)."""
    icmp = ICMP(type=3) if code is None else ICMP(type=3, code=code)
    return like(ip_like(src=src_ip, dst=dst_ip) / icmp)


def error_about(port: Port, frame: Packet, matcher: Matcher) -> Packet:
    """Send `frame` and return the ICMP error like `matcher` that it draws. The error is the
    precondition of a case that judges what an error carries: a SUT that sends none (a Port
    Unreachable is only a SHOULD, judged by UDP-CLOSED-PORT-UNREACHABLE) leaves the case
    INCONCLUSIVE."""
    try:
        return port.exchange(frame, expect=matcher)
    except AssertionError:
        raise Inconclusive(f"precondition not met: the SUT sent no {matcher.describe()} about the datagram, "
                           "so what an error carries cannot be judged") from None


def any_icmp_error() -> Matcher:
    """Any ICMP error message, whoever sends it."""
    return like(ip_like(proto=1), where={"ICMP.type": one_of(*ICMP_ERROR_TYPES)}, name="any ICMP error message")


def ip_bytes(frame: Packet) -> bytes:
    """The IP datagram of a frame as it is on the wire, without Ethernet padding."""
    raw = bytes(frame[IP])
    return raw[: frame[IP].len]


def quoted(error: Packet) -> bytes:
    """The bytes an ICMP error message carries after its 8-octet ICMP header."""
    icmp = bytes(error[ICMP])
    end = error[IP].len - error[IP].ihl * 4
    return icmp[8:end]


def icmp_checksum_ok(frame: Packet) -> bool:
    """True when the ICMP checksum of a received frame verifies over the message as received."""
    ip = frame[IP]
    raw = bytes(ip)[ip.ihl * 4 : ip.len]
    return _ones_complement_sum(raw) == 0xFFFF


def _ones_complement_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total
