"""Invariants every frame the SUT sends must keep, whatever the case is about.

A case checks one requirement; a SUT that puts a wrong IPv4 header checksum on its echo replies
would still pass the echo cases. So every frame received from the SUT during a case (every
frame on a link whose other end is the SUT alone, or carrying the SUT's MAC as source) is held
to the rules no requirement may be judged without:

- the source MAC is not a group address (IEEE 802.3 3.2.3; RFC 1122 2.3.3 takes it as given);
- the IPv4 header: version 4, IHL at least 5, the header inside Total Length and Total Length
  inside the frame (octets beyond it only as padding up to Ethernet's 60-octet minimum), and a
  valid header checksum (RFC 791 3.1, checked by every receiver: RFC 1122 3.2.1.2);
- the TCP, UDP and ICMP checksums (RFC 9293 3.1, RFC 768, RFC 792) of datagrams the SUT made
  itself. A datagram it forwards keeps the tester's source, destination, protocol and
  identification, and its transport checksum is the tester's affair: such datagrams are
  recognised by those four fields among what the tester sent, and only their IP header is
  judged. A UDP checksum of zero means "none computed" (RFC 768) and passes. Fragments are
  judged once all of a datagram's fragments are in the capture, on the reassembled whole.

For IPv6 (RFC 8200), the same in its terms:

- the header: version 6, and Payload Length accounting for the octets the frame carries after
  the 40-octet header (again, more only as Ethernet padding); a Payload Length of zero with a
  Hop-by-Hop header (a jumbogram) is left alone;
- the TCP, UDP and ICMPv6 checksums over the IPv6 pseudo-header (RFC 8200 8.1; RFC 4443 2.3
  for ICMPv6), found after the extension headers, of packets the SUT made itself; over IPv6 a
  UDP checksum of zero is never right (RFC 8200 8.1: "IPv6 receivers must discard UDP packets
  containing a zero checksum"). A packet the SUT forwards keeps everything after its first 40
  octets as the tester sent it, and is recognised by its addresses and those octets; a
  fragmented packet is judged once all its fragments are in, on the reassembled whole.

A frame that breaks one of them makes the case FAIL (an AssertionError) naming the frame: when
it arrived, on which Port, its summary, the field, the value expected and the value found. The
check runs when the case's call phase ends; frames still queued on the Ports are read first.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Generator, Iterable
from dataclasses import dataclass

import pytest

from conformance.catalog import info_of
from conformance.record import CAPTURE_KEY
from conformance.verdict import Inconclusive
from conformance.wire import LINKTYPE_RAW, Capture, Frame

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_IPV6 = 0x86DD
IPV6_HEADER = 40
PROTO_ICMPV6 = 58
NH_HOP_BY_HOP, NH_ROUTING, NH_FRAGMENT, NH_AH, NH_DEST_OPTS = 0, 43, 44, 51, 60
ETHER_HEADER = 14
ETHER_MIN_PAYLOAD = 46  # a 60-octet frame without FCS; shorter datagrams are padded
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17
FLAG_MF = 0x2000
OFFSET_MASK = 0x1FFF


class InvariantViolation(AssertionError):
    """The SUT sent a frame that breaks a rule every frame must keep."""


@dataclass(frozen=True)
class Violation:
    t_ns: int
    port: str
    summary: str
    field: str
    expected: str
    found: str
    rule: str

    def describe(self, start_ns: int) -> str:
        return (f"{(self.t_ns - start_ns) / 1e6:+.3f} ms on {self.port}: {self.summary}: {self.field}: "
                f"expected {self.expected}, found {self.found} ({self.rule})")


def ones_complement_sum(data: bytes) -> int:
    """The Internet checksum of `data` (RFC 1071): 0 when a checksum field in it is right."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def _checksum_with_zero(data: bytes, at: int) -> int:
    """The checksum `data` should carry in its 16-bit field at offset `at`."""
    return ones_complement_sum(data[:at] + b"\x00\x00" + data[at + 2:])


@dataclass(frozen=True)
class Datagram:
    """An IPv4 datagram as the frame carried it (header fields parsed, payload as sent)."""

    header: bytes
    payload: bytes
    src: str
    dst: str
    proto: int
    ident: int
    flags_offset: int

    @property
    def key(self) -> tuple[str, str, int, int]:
        return self.src, self.dst, self.proto, self.ident

    @property
    def is_fragment(self) -> bool:
        return bool(self.flags_offset & FLAG_MF) or bool(self.flags_offset & OFFSET_MASK)


def ip_of(data: bytes, linktype: int) -> bytes | None:
    """The IPv4 part of a frame (from the version octet to the frame's end), or None."""
    if linktype == LINKTYPE_RAW:
        return data if data and data[0] >> 4 == 4 else None
    if len(data) < ETHER_HEADER or int.from_bytes(data[12:14], "big") != ETHERTYPE_IPV4:
        return None
    return data[ETHER_HEADER:]


def parse(ip: bytes) -> Datagram | None:
    """The datagram in `ip` if its header can be read at all (20 octets, IHL and length sane)."""
    if len(ip) < 20:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = int.from_bytes(ip[2:4], "big")
    if ihl < 20 or total < ihl or total > len(ip) or len(ip) < ihl:
        return None
    return Datagram(ip[:ihl], ip[ihl:total], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[9],
                    int.from_bytes(ip[4:6], "big"), int.from_bytes(ip[6:8], "big"))


def frame_violations(data: bytes, linktype: int) -> list[tuple[str, str, str, str]]:
    """(field, expected, found, rule) for each rule a single frame breaks on its own: the source
    MAC and the IPv4 header. Transport checksums need the case's context (see `check`)."""
    out: list[tuple[str, str, str, str]] = []
    if linktype != LINKTYPE_RAW and len(data) >= 12 and data[6] & 1:
        out.append(("Ether.src", "a unicast (individual) address", ":".join(f"{b:02x}" for b in data[6:12]),
                    "IEEE 802.3 3.2.3: a source address is an individual address"))
    ip6 = ip6_of(data, linktype)
    if ip6 is not None:
        return out + ipv6_header_violations(ip6, linktype)
    ip = ip_of(data, linktype)
    if ip is None:
        return out
    if len(ip) < 20:
        out.append(("IP header", "at least 20 octets", f"{len(ip)} octets in the frame", "RFC 791 3.1"))
        return out
    version, ihl, total = ip[0] >> 4, (ip[0] & 0x0F) * 4, int.from_bytes(ip[2:4], "big")
    if version != 4:
        out.append(("IP.version", "4", str(version), "RFC 791 3.1"))
    if ihl < 20:
        out.append(("IP.ihl", "at least 5 (20 octets)", f"{ihl // 4} ({ihl} octets)", "RFC 791 3.1"))
        return out
    if total < ihl:
        out.append(("IP.len", f"at least the header length {ihl}", str(total), "RFC 791 3.1"))
    if total > len(ip) or ihl > len(ip):
        out.append(("IP.len", f"at most the {len(ip)} octets the frame carries", str(total), "RFC 791 3.1"))
        return out
    padding_allowed = linktype != LINKTYPE_RAW and len(ip) <= ETHER_MIN_PAYLOAD
    if total < len(ip) and not padding_allowed:
        out.append(("IP.len", f"the {len(ip)} octets the frame carries after its link header", str(total),
                    "RFC 791 3.1: Total Length is the length of the datagram"))
    if ones_complement_sum(ip[:ihl]) != 0:
        want, got = _checksum_with_zero(ip[:ihl], 10), int.from_bytes(ip[10:12], "big")
        out.append(("IP.chksum", f"{want:#06x}", f"{got:#06x}", "RFC 791 3.1: the header checksum"))
    return out


def transport_violation(datagram: Datagram, payload: bytes) -> tuple[str, str, str, str] | None:
    """(field, expected, found, rule) if the whole datagram's TCP, UDP or ICMP checksum is wrong."""
    pseudo = (socket.inet_aton(datagram.src) + socket.inet_aton(datagram.dst)
              + struct.pack("!BBH", 0, datagram.proto, len(payload)))
    if datagram.proto == PROTO_TCP and len(payload) >= 20:
        name, covered, at, rule = "TCP.chksum", pseudo + payload, len(pseudo) + 16, "RFC 9293 3.1: the TCP checksum"
    elif datagram.proto == PROTO_UDP and len(payload) >= 8:
        if payload[6:8] == b"\x00\x00":
            return None  # RFC 768: the sender computed no checksum
        name, covered, at, rule = "UDP.chksum", pseudo + payload, len(pseudo) + 6, "RFC 768: the UDP checksum"
    elif datagram.proto == PROTO_ICMP and len(payload) >= 4:
        name, covered, at, rule = "ICMP.chksum", payload, 2, "RFC 792: the ICMP checksum"
    else:
        return None
    if ones_complement_sum(covered) == 0:  # the field makes the sum all ones: right (+0 and -0 alike)
        return None
    want = _checksum_with_zero(covered, at)
    if name == "UDP.chksum" and want == 0:
        want = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return name, f"{want:#06x}", f"{int.from_bytes(covered[at:at + 2], 'big'):#06x}", rule


# --- IPv6 ------------------------------------------------------------------------------------


def ip6_of(data: bytes, linktype: int) -> bytes | None:
    """The IPv6 part of a frame (from the version octet to the frame's end), or None."""
    if linktype == LINKTYPE_RAW:
        return data if data and data[0] >> 4 == 6 else None
    if len(data) < ETHER_HEADER or int.from_bytes(data[12:14], "big") != ETHERTYPE_IPV6:
        return None
    return data[ETHER_HEADER:]


def ipv6_header_violations(ip: bytes, linktype: int) -> list[tuple[str, str, str, str]]:
    """(field, expected, found, rule) for what is wrong with an IPv6 header on its own."""
    if len(ip) < IPV6_HEADER:
        return [("IPv6 header", "40 octets", f"{len(ip)} octets in the frame", "RFC 8200 3")]
    out = []
    if ip[0] >> 4 != 6:
        out.append(("IPv6.version", "6", str(ip[0] >> 4), "RFC 8200 3"))
    plen = int.from_bytes(ip[4:6], "big")
    if plen == 0 and ip[6] == NH_HOP_BY_HOP:
        return out  # a jumbogram (RFC 2675): its length is in the Hop-by-Hop header
    carried = len(ip) - IPV6_HEADER
    padding_allowed = linktype != LINKTYPE_RAW and len(ip) <= ETHER_MIN_PAYLOAD
    if plen > carried:
        out.append(("IPv6.plen", f"at most the {carried} octets the frame carries after the IPv6 header", str(plen),
                    "RFC 8200 3: Payload Length is the length of the rest of the packet"))
    elif plen < carried and not padding_allowed:
        out.append(("IPv6.plen", f"the {carried} octets the frame carries after the IPv6 header", str(plen),
                    "RFC 8200 3: Payload Length is the length of the rest of the packet"))
    return out


@dataclass(frozen=True)
class Packet6:
    """An IPv6 packet as the frame carried it: addresses, the octets after the fixed header, and
    where its upper-layer header is (or the Fragment header it holds)."""

    src: bytes
    dst: bytes
    rest: bytes  # everything after the 40-octet header, within Payload Length
    upper: int | None  # the upper-layer protocol, if this packet holds its header
    upper_at: int  # offset in `rest` of the upper-layer header
    fragment: tuple[int, int, bool, int] | None  # (identification, offset in octets, M flag, next header)
    fragment_at: int  # offset in `rest` of the first octet after the Fragment header
    routed: bool  # a Routing header with segments left: the pseudo-header's destination is elsewhere

    @property
    def key(self) -> tuple[bytes, bytes, int]:
        assert self.fragment is not None
        return self.src, self.dst, self.fragment[0]


def walk6(next_header: int, data: bytes) -> tuple[int | None, int, bool, tuple[int, int, bool, int] | None, int]:
    """Follow the extension headers in `data` starting with `next_header`: the upper-layer
    protocol and its offset, whether a Routing header has segments left, and the Fragment
    header met (with the offset after it). The upper layer is None where the chain leaves
    `data` or goes on in a later fragment."""
    at, routed, fragment, after = 0, False, None, 0
    nh: int | None = next_header
    while nh in (NH_HOP_BY_HOP, NH_ROUTING, NH_DEST_OPTS, NH_FRAGMENT, NH_AH):
        if at + 8 > len(data):
            return None, at, routed, fragment, after
        if nh == NH_FRAGMENT:
            word = int.from_bytes(data[at + 2:at + 4], "big")
            fragment = (int.from_bytes(data[at + 4:at + 8], "big"), word & 0xFFF8, bool(word & 1), data[at])
            after = at + 8
            if word & 0xFFF8:
                return None, after, routed, fragment, after  # a later fragment: no upper-layer header here
            nh, at = data[at], at + 8
            continue
        if nh == NH_ROUTING and data[at + 3]:
            routed = True
        size = (data[at + 1] + 2) * 4 if nh == NH_AH else (data[at + 1] + 1) * 8
        nh, at = data[at], at + size
    if at > len(data):
        return None, at, routed, fragment, after
    return nh, at, routed, fragment, after


def parse6(ip: bytes) -> Packet6 | None:
    """The packet in `ip` if its fixed header can be read and its Payload Length is sane."""
    if len(ip) < IPV6_HEADER or ip[0] >> 4 != 6:
        return None
    plen = int.from_bytes(ip[4:6], "big")
    if plen == 0 or IPV6_HEADER + plen > len(ip):
        return None
    rest = ip[IPV6_HEADER:IPV6_HEADER + plen]
    upper, at, routed, fragment, after = walk6(ip[6], rest)
    return Packet6(ip[8:24], ip[24:40], rest, upper, at, fragment, after, routed)


def transport_violation6(src: bytes, dst: bytes, proto: int, segment: bytes) -> tuple[str, str, str, str] | None:
    """(field, expected, found, rule) if the TCP, UDP or ICMPv6 checksum of `segment` (the
    upper-layer header and data) is wrong for the IPv6 pseudo-header of `src` and `dst`."""
    pseudo = src + dst + struct.pack("!I3xB", len(segment), proto)
    if proto == PROTO_TCP and len(segment) >= 20:
        name, at, rule = "TCP.chksum", 16, "RFC 9293 3.1 and RFC 8200 8.1: the TCP checksum over the IPv6 pseudo-header"
    elif proto == PROTO_UDP and len(segment) >= 8:
        name, at, rule = "UDP.chksum", 6, "RFC 8200 8.1: the UDP checksum over the IPv6 pseudo-header"
        if segment[6:8] == b"\x00\x00":
            want = _checksum_with_zero(pseudo + segment, len(pseudo) + at) or 0xFFFF
            return (name, f"{want:#06x} (over IPv6 the UDP checksum is not optional)", "0x0000",
                    "RFC 8200 8.1: IPv6 receivers must discard UDP packets containing a zero checksum")
    elif proto == PROTO_ICMPV6 and len(segment) >= 4:
        name, at, rule = "ICMPv6.cksum", 2, "RFC 4443 2.3: the ICMPv6 checksum over the IPv6 pseudo-header"
    else:
        return None
    covered = pseudo + segment
    if ones_complement_sum(covered) == 0:
        return None
    want = _checksum_with_zero(covered, len(pseudo) + at)
    if name == "UDP.chksum" and want == 0:
        want = 0xFFFF  # RFC 8200 8.1: a computed zero is sent as all ones
    return name, f"{want:#06x}", f"{int.from_bytes(segment[at:at + 2], 'big'):#06x}", rule


def reassemble6(fragments: list[Packet6]) -> tuple[int, bytes] | None:
    """The first fragment's Next Header and the fragmentable part of a packet whose fragments
    are all here, each octet once; else None."""
    pieces = sorted(((f.fragment[1], f) for f in fragments if f.fragment is not None), key=lambda p: p[0])
    out = b""
    for start, frag in pieces:
        if start != len(out):
            return None
        out += frag.rest[frag.fragment_at:]
    if not pieces or pieces[-1][1].fragment[2]:  # type: ignore[index]
        return None
    return pieces[0][1].fragment[3], out  # type: ignore[index]


def _check6(f: Frame, packet: Packet6, fragments6: dict[tuple[bytes, bytes, int], list[tuple[Frame, Packet6]]],
            found: list[Violation]) -> None:
    if packet.fragment is not None:
        fragments6.setdefault(packet.key, []).append((f, packet))
        return
    if packet.upper is None or packet.routed:
        return
    bad = transport_violation6(packet.src, packet.dst, packet.upper, packet.rest[packet.upper_at:])
    if bad:
        found.append(_violation(f, *bad))


def _check_fragments6(fragments6: dict[tuple[bytes, bytes, int], list[tuple[Frame, Packet6]]],
                      found: list[Violation]) -> None:
    for parts in fragments6.values():
        whole = reassemble6([p for _, p in parts])
        if whole is None:
            continue
        first_frame, first = min(parts, key=lambda p: p[1].fragment[1])  # type: ignore[index]
        upper, at, routed, _, _ = walk6(whole[0], whole[1])
        if upper is None or routed or first.routed:
            continue
        bad = transport_violation6(first.src, first.dst, upper, whole[1][at:])
        if bad:
            name, want, got, rule = bad
            found.append(_violation(first_frame, name, want, got, rule + f" (over the {len(parts)} reassembled fragments)"))


def reassemble(fragments: list[Datagram]) -> bytes | None:
    """The payload of a datagram whose fragments are all here, each octet once; else None."""
    # By offset alone: a SUT that reuses one identification gives equal offsets, and fragments
    # themselves do not compare.
    pieces = sorted((((f.flags_offset & OFFSET_MASK) * 8, f) for f in fragments), key=lambda p: p[0])
    out = b""
    for start, frag in pieces:
        if start != len(out):
            return None  # a hole or an overlap: not judged
        out += frag.payload
    if pieces[-1][1].flags_offset & FLAG_MF:
        return None  # the last fragment is not in the capture
    return out


def from_sut(frame: Frame, sut_link: bool, sut_mac: str | None, linktype: int) -> bool:
    if frame.direction != "in":
        return False
    if sut_link:
        return True
    if sut_mac is None or linktype == LINKTYPE_RAW or len(frame.data) < 12:
        return False
    return frame.data[6:12] == bytes.fromhex(sut_mac.replace(":", ""))


def check(capture: Capture) -> list[Violation]:
    """Every rule broken by a frame the SUT sent in `capture`, in the order the frames came."""
    ports = {p.name: p for p in capture.ports}
    linktypes = {name: p.linktype for name, p in ports.items()}
    sent_by_tester = set()
    sent_by_tester6 = set()  # (src, dst, what follows the fixed header): what a router forwards unchanged
    for f in capture.frames:
        if f.direction == "out":
            ip = ip_of(f.data, linktypes.get(f.port, 1))
            if ip is not None and len(ip) >= 20:
                sent_by_tester.add((socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), ip[9],
                                    int.from_bytes(ip[4:6], "big")))
            ip6 = ip6_of(f.data, linktypes.get(f.port, 1))
            if ip6 is not None and len(ip6) >= IPV6_HEADER:
                plen = int.from_bytes(ip6[4:6], "big")
                sent_by_tester6.add((ip6[8:40], ip6[IPV6_HEADER:IPV6_HEADER + plen]))
    found: list[Violation] = []
    fragments: dict[tuple[str, str, int, int], list[tuple[Frame, Datagram]]] = {}
    fragments6: dict[tuple[bytes, bytes, int], list[tuple[Frame, Packet6]]] = {}
    for f in sorted(capture.frames, key=lambda g: g.t_ns):
        port = ports.get(f.port)
        if port is None or not from_sut(f, port.sut_link, port.sut_mac, port.linktype):
            continue
        broken = frame_violations(f.data, port.linktype)
        found += [_violation(f, *b) for b in broken]
        if broken:
            continue  # its transport checksum cannot be trusted to mean anything
        ip6 = ip6_of(f.data, port.linktype)
        if ip6 is not None:
            packet = parse6(ip6)
            if packet is not None and (ip6[8:40], packet.rest) not in sent_by_tester6:
                _check6(f, packet, fragments6, found)
            continue
        ip = ip_of(f.data, port.linktype)
        datagram = parse(ip) if ip is not None else None
        if datagram is None or datagram.key in sent_by_tester:
            continue  # not IPv4, or forwarded: the tester made its transport header
        if datagram.is_fragment:
            fragments.setdefault(datagram.key, []).append((f, datagram))
            continue
        bad = transport_violation(datagram, datagram.payload)
        if bad:
            found.append(_violation(f, *bad))
    for parts in fragments.values():
        whole = reassemble([d for _, d in parts])
        if whole is None:
            continue
        first = min(parts, key=lambda p: p[1].flags_offset & OFFSET_MASK)
        bad = transport_violation(first[1], whole)
        if bad:
            name, want, got, rule = bad
            found.append(_violation(first[0], name, want, got, rule + f" (over the {len(parts)} reassembled fragments)"))
    _check_fragments6(fragments6, found)
    return sorted(found, key=lambda v: v.t_ns)


def _violation(frame: Frame, name: str, expected: str, found: str, rule: str) -> Violation:
    try:
        summary = frame.packet.summary()
    except Exception as exc:  # a frame scapy cannot dissect is still named
        summary = f"undecodable frame ({exc.__class__.__name__}) {frame.data[:32].hex()}"
    return Violation(frame.t_ns, frame.port, summary, name, expected, found, rule)


def report(violations: Iterable[Violation], start_ns: int) -> str:
    lines = [v.describe(start_ns) for v in violations]
    head = f"the SUT sent {len(lines)} malformed frame(s) (rules every frame keeps, whatever the case checks):"
    return "\n".join([head, *("  " + line for line in lines)])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """After a conformance case's body: a malformed frame from the SUT makes a passing or
    inconclusive case FAIL, and is added to the message of one that fails already. (The suite's
    own tests, which may make a SUT wrong on purpose, are left to judge their frames themselves.)"""
    record = item.stash.get(CAPTURE_KEY, None) if info_of(item) is not None else None  # conformance cases only
    try:
        result = yield
    except AssertionError as failure:
        if record is not None and (violations := _violations(record.capture)):
            failure.add_note(report(violations, record.capture.started_ns))
        raise
    except Inconclusive as inconclusive:
        if record is not None and (violations := _violations(record.capture)):
            raise InvariantViolation(report(violations, record.capture.started_ns)) from inconclusive
        raise
    if record is not None and (violations := _violations(record.capture)):
        raise InvariantViolation(report(violations, record.capture.started_ns))
    return result


def _violations(capture: Capture) -> list[Violation]:
    capture.drain()
    return check(capture)
