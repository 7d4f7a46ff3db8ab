"""Frame builders and matchers shared by the IPv6 cases (ipv6, icmpv6, pmtu6, tcp6, udp6).

Packets are built with scapy's IPv6 layers where scapy writes what the case wants, and as bytes
where a case needs a field scapy would "fix" (a version of 4 in an IPv6 frame, a Payload Length
that lies, a checksum over the wrong pseudo-header). Every address and MAC is set explicitly.

Option types and header numbers come from the ranges set aside for experiments (RFC 4727: option
types 0x1E, 0x5E, 0x9E and 0xDE, one for each action of RFC 8200 4.2; Next Header and Routing
Type 253): a node that is not configured for an experiment recognises none of them.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import struct
from collections.abc import Iterable

from scapy.layers.inet import UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ParamProblem,
    ICMPv6TimeExceeded,
    IPv6,
)
from scapy.packet import Packet, Raw

from conformance.delivery import held_before_control
from conformance.match import Matcher, Mismatch, like

ETHERTYPE_IPV6 = b"\x86\xdd"
NH_HOP_BY_HOP, NH_TCP, NH_UDP, NH_ROUTING, NH_FRAGMENT, NH_ICMPV6, NH_NONE, NH_DEST_OPTS = 0, 6, 17, 43, 44, 58, 59, 60
NH_EXPERIMENT = 253  # RFC 3692/4727: for experimentation and testing, recognised by no node unconfigured
RT_EXPERIMENT = 253  # Routing Type for experiments (RFC 4727)
RT_TYPE0 = 0  # deprecated (RFC 5095; RFC 8200 4.4)
ALL_NODES, ALL_NODES_MAC = "ff02::1", "33:33:00:00:00:01"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
SUT_PORT, TESTER_PORT = 7600, 7601

# Option types of RFC 4727 (experiments), one per action of RFC 8200 4.2 (its two high bits).
OPT_SKIP, OPT_DISCARD, OPT_PROBLEM, OPT_PROBLEM_UNLESS_MULTICAST = 0x1E, 0x5E, 0x9E, 0xDE
OPT_PAD1, OPT_PADN = 0x00, 0x01

# ICMPv6 types (RFC 4443 2.1) and Parameter Problem codes (3.4; code 3 from RFC 7112)
DEST_UNREACH, PACKET_TOO_BIG, TIME_EXCEEDED, PARAM_PROBLEM = 1, 2, 3, 4
ECHO_REQUEST, ECHO_REPLY = 128, 129
PP_HEADER_FIELD, PP_NEXT_HEADER, PP_OPTION, PP_FIRST_FRAGMENT = 0, 1, 2, 3

_idents = itertools.count(0x100)


def next_ident() -> int:
    """A fresh Echo identifier / Fragment identification per use (never the fences' 0xFxxx,
    nor the controls' 0xCxxx)."""
    return 0x6000 | (next(_idents) & 0x0FFF)


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def frame(src_mac: str, dst_mac: str, packet: Packet | bytes) -> bytes:
    """`packet` (an IPv6 packet, as built or as bytes) in an Ethernet frame of type 0x86DD."""
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + ETHERTYPE_IPV6 + bytes(packet)


def to_sut(net, packet: Packet | bytes, *, dst_mac: str | None = None) -> bytes:
    """A frame from the tester of `net` (a lan6, or routed6's near side) to the SUT's MAC."""
    port = net.tester
    sut_mac = net.sut.mac if hasattr(net, "sut") else net.router_near.mac
    return frame(port.mac, dst_mac or sut_mac, packet)


def sut_ip(net) -> str:
    return str(net.sut.ip if hasattr(net, "sut") else net.router_near.ip)


def echo(net, ident: int, data: bytes = b"", *, src: str | None = None, dst: str | None = None, hlim: int = 64,
         ext: Packet | None = None, seq: int = 1, fl: int = 0, tc: int = 0) -> Packet:
    """An Echo Request from the tester to the SUT, with extension headers `ext` between the IPv6
    header and ICMPv6 (scapy sets their Next Header fields)."""
    head = IPv6(src=src or net.tester.ip6, dst=dst or sut_ip(net), hlim=hlim, fl=fl, tc=tc)
    body = ICMPv6EchoRequest(id=ident, seq=seq, data=data or echo_data(32, ident))
    return head / ext / body if ext is not None else head / body


def echo_data(size: int, tag: int = 0) -> bytes:
    """Patterned data: each octet differs from its neighbours, so a misplaced piece shows."""
    return bytes((tag + i * 7 + (i >> 8)) & 0xFF for i in range(size))


def echo_reply(net, ident: int, *, src: str | None = None) -> Matcher:
    """The SUT's Echo Reply to the request with identifier `ident`."""
    return like(IPv6(src=src or sut_ip(net), dst=net.tester.ip6) / ICMPv6EchoReply(id=ident),
                name=f"the SUT's echo reply id={ident:#x}")


def any_echo_reply(ident: int) -> Matcher:
    return like(ICMPv6EchoReply(id=ident), name=f"an echo reply id={ident:#x}")


def param_problem(net, code: int, pointer: int | None = None, *, dst: str | None = None) -> Matcher:
    fields = {"code": code} if pointer is None else {"code": code, "ptr": pointer}
    return like(IPv6(dst=dst or net.tester.ip6) / ICMPv6ParamProblem(**fields),
                name=f"a Parameter Problem code {code}" + ("" if pointer is None else f" pointer {pointer}"))


class Icmp6Error(Matcher):
    """An ICMPv6 error message of one of `types` to `dst`, whatever its code: the ICMPv6 type
    octet after any extension headers is read from the packet, so one matcher covers every
    type (scapy has a class for each, and none for types it does not know)."""

    def __init__(self, dst: str | None, types: Iterable[int] = (1, 2, 3, 4), why: str = "") -> None:
        self.types = tuple(types)
        self.dst = dst
        names = {1: "Destination Unreachable", 2: "Packet Too Big", 3: "Time Exceeded", 4: "Parameter Problem"}
        what = " or ".join(names.get(t, f"type {t}") for t in self.types)
        super().__init__(IPv6(), name=f"an ICMPv6 {what}" + (f" to {dst}" if dst else "") + (f" ({why})" if why else ""))

    def mismatches(self, frame: Packet) -> list[Mismatch]:
        ip = frame.getlayer(IPv6)
        if ip is None:
            return [Mismatch("IPv6", "present", "absent")]
        out = []
        if self.dst is not None and ip.dst != self.dst:
            out.append(Mismatch("IPv6.dst", self.dst, str(ip.dst)))
        icmp_type = icmp6_type(bytes(ip))
        if icmp_type not in self.types:
            out.append(Mismatch("ICMPv6.type", " or ".join(map(str, self.types)), str(icmp_type)))
        return out


def icmp6_type(packet: bytes) -> int | None:
    """The ICMPv6 type of an IPv6 packet whose ICMPv6 header follows the fixed header or a chain
    of extension headers; None for anything else."""
    nh, at = packet[6], 40
    while nh in (NH_HOP_BY_HOP, NH_ROUTING, NH_DEST_OPTS, NH_FRAGMENT) and at + 8 <= len(packet):
        nh, at = packet[at], at + (8 if nh == NH_FRAGMENT else (packet[at + 1] + 1) * 8)
    return packet[at] if nh == NH_ICMPV6 and at < len(packet) else None


def error_to_tester(net, types: Iterable[int] = (1, 2, 3, 4), why: str = "") -> Icmp6Error:
    return Icmp6Error(net.tester.ip6, types, why)


def quote_of(error: Packet) -> bytes:
    """The invoking packet an ICMPv6 error message carries (everything after its 8-octet header)."""
    ip = error[IPv6]
    raw = bytes(ip)
    nh, at = raw[6], 40
    while nh != NH_ICMPV6:
        nh, at = raw[at], at + (raw[at + 1] + 1) * 8
    return raw[at + 8:]


# --- extension headers as bytes ---------------------------------------------------------------


def options_header(next_header: int, options: bytes) -> bytes:
    """A Hop-by-Hop or Destination Options header carrying `options` (each as type, length,
    data), padded with PadN (or Pad1) to a multiple of 8 octets."""
    body = options
    pad = (-(2 + len(body))) % 8
    if pad == 1:
        body += bytes([OPT_PAD1])
    elif pad:
        body += bytes([OPT_PADN, pad - 2]) + bytes(pad - 2)
    return bytes([next_header, (2 + len(body)) // 8 - 1]) + body


def option(kind: int, data: bytes = b"\x00\x00\x00\x00") -> bytes:
    return bytes([kind, len(data)]) + data


def routing_header(next_header: int, routing_type: int, segments_left: int, addresses: list[str]) -> bytes:
    """A Routing header of `routing_type` with a type-0 style body: 4 reserved octets, then the
    addresses (16 octets each)."""
    body = b"".join(ipaddress.IPv6Address(a).packed for a in addresses)
    return bytes([next_header, len(body) // 8, routing_type, segments_left]) + bytes(4) + body


def fragment_header(next_header: int, offset: int, more: bool, ident: int) -> bytes:
    """A Fragment header; `offset` in octets (a multiple of 8)."""
    return struct.pack("!BBHI", next_header, 0, offset | int(more), ident)


def ipv6_header(src: str, dst: str, next_header: int, payload_len: int, *, hlim: int = 64, version: int = 6,
                tc: int = 0, fl: int = 0) -> bytes:
    first = (version << 28) | (tc << 20) | fl
    return (struct.pack("!IHBB", first, payload_len, next_header, hlim) + ipaddress.IPv6Address(src).packed
            + ipaddress.IPv6Address(dst).packed)


def packet_bytes(src: str, dst: str, next_header: int, payload: bytes, **header: int) -> bytes:
    """An IPv6 packet as bytes: the fixed header with a Payload Length that matches `payload`."""
    return ipv6_header(src, dst, next_header, len(payload), **header) + payload


def echo_message(src: str, dst: str, ident: int, data: bytes, seq: int = 1) -> bytes:
    """An Echo Request message (type 128) with its checksum over the pseudo-header of src, dst."""
    return bytes(IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=ident, seq=seq, data=data))[40:]


def udp_message(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    """A UDP header and data with the checksum over the IPv6 pseudo-header of src, dst."""
    return bytes(IPv6(src=src, dst=dst) / UDP(sport=sport, dport=dport) / Raw(data))[40:]


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src: str, dst: str, length: int, next_header: int) -> bytes:
    return (ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
            + struct.pack("!I3xB", length, next_header))


def fragments(net, ident: int, next_header: int, fragmentable: bytes, cuts: list[int], *,
              src: str | None = None, dst: str | None = None) -> list[bytes]:
    """`fragmentable` (the headers and data after the Fragment header) cut at the octet offsets
    `cuts` (multiples of 8), each piece a packet from the tester to the SUT with its Fragment
    header; the last has M clear."""
    src, dst = src or net.tester.ip6, dst or sut_ip(net)
    edges = [0, *cuts, len(fragmentable)]
    out = []
    for i, (start, end) in enumerate(itertools.pairwise(edges)):
        more = i < len(edges) - 2
        body = fragment_header(next_header, start, more, ident) + fragmentable[start:end]
        out.append(packet_bytes(src, dst, NH_FRAGMENT, body))
    return out


# --- the SUT's applications ------------------------------------------------------------------


def not_delivered(net, sock, stimulus: bytes | Packet, why: str, *, dport: int = SUT_PORT) -> None:
    """Send `stimulus` (a frame) and assert that nothing reached `sock`: a valid UDP datagram to
    the same socket, sent after it, must arrive first (conformance.delivery), else INCONCLUSIVE."""
    net.tester.send(stimulus)
    marker = b"ipv6-control-%#x" % next_ident()
    control = to_sut(net, IPv6(src=net.tester.ip6, dst=sut_ip(net)) / UDP(sport=TESTER_PORT, dport=dport) / Raw(marker))
    held = held_before_control(net.tester, sock, control, marker, socket_name=f"UDP port {dport} on the SUT")
    assert not held, f"{why}; the SUT's socket received {len(held)} datagram(s) of it: {held[0][:24]!r}"


def counter_delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


def is_param_problem(packet: Packet) -> bool:
    return packet.getlayer(ICMPv6ParamProblem) is not None



def answered(net, stimulus: bytes | Packet, matcher: Matcher, why: str) -> Packet:
    """Send `stimulus` and return the answer like `matcher`, which must come before the answer to
    the fence sent after it (the SUT answers in order): a missing answer fails at once instead
    of after a timeout."""
    got = net.tester.before_fence(matcher, stimulus=stimulus)
    assert got is not None, f"{why}; nothing like {matcher.describe()} came back before the answer to the echo fence sent after it"
    return got


CLOSED_PORT = 7699  # a UDP port nothing on the SUT listens on


def udp(net, data: bytes, *, dport: int = SUT_PORT, sport: int = TESTER_PORT, src: str | None = None,
        dst: str | None = None, hlim: int = 64) -> Packet:
    """A UDP datagram from the tester to the SUT (or `src`/`dst`)."""
    return (IPv6(src=src or net.tester.ip6, dst=dst or sut_ip(net), hlim=hlim) / UDP(sport=sport, dport=dport)
            / Raw(data))


def dest_unreachable(net, code: int, *, dst: str | None = None) -> Matcher:
    return like(IPv6(dst=dst or net.tester.ip6) / ICMPv6DestUnreach(code=code),
                name=f"a Destination Unreachable code {code}")


def time_exceeded(net, code: int) -> Matcher:
    return like(IPv6(dst=net.tester.ip6) / ICMPv6TimeExceeded(code=code), name=f"a Time Exceeded code {code}")


IPV6_RECVERR = 25  # Linux <linux/in6.h>
SO_EE_ORIGIN_ICMP6 = 3


def error_report(sock) -> tuple[int, int, int, int] | None:
    """The first ICMPv6 error an application reads from its socket's error queue (asked for with
    IPV6_RECVERR): (errno, origin, type, code), or None when the queue is empty."""
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(flags=socket.MSG_ERRQUEUE, timeout=0)
    except (TimeoutError, BlockingIOError):  # an empty error queue: EAGAIN
        return None
    reports = [value for level, kind, value in ancillary if level == socket.IPPROTO_IPV6 and kind == IPV6_RECVERR]
    if not reports:
        return None
    errno_, origin, icmp_type, code = struct.unpack_from("=IBBB", reports[0])
    return errno_, origin, icmp_type, code


def icmp6_message(src: str, dst: str, icmp_type: int, code: int, body: bytes) -> bytes:
    """Any ICMPv6 message (type, code, 2 octets of checksum, then `body`) with its checksum over
    the pseudo-header of src and dst: for types scapy has no class for."""
    raw = bytearray(bytes([icmp_type, code, 0, 0]) + body)
    raw[2:4] = checksum(pseudo_header(src, dst, len(raw), NH_ICMPV6) + bytes(raw)).to_bytes(2, "big")
    return bytes(raw)
