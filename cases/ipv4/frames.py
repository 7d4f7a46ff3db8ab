"""Frame builders and oracles shared by the IPv4 header, option and fragmentation cases.

Datagrams are built as bytes, header field by header field, so that a case can set any field
to a value scapy would refuse or "fix" (a version of 6, an IHL of 4, a wrong checksum, a
malformed option). The checksum is computed over the header as written unless a case gives one.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass

from scapy.layers.inet import ICMP, IP, UDP
from scapy.packet import Packet
from scapy.utils import checksum

from conformance.delivery import held_before_control
from conformance.match import Matcher, like, not_equal
from conformance.verdict import Inconclusive, not_implemented

ETHERTYPE_IPV4 = b"\x08\x00"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
PROTO_ICMP, PROTO_UDP = 1, 17
FLAG_RESERVED, FLAG_DF, FLAG_MF = 0x8000, 0x4000, 0x2000
SUT_PORT = 7400  # the UDP port a case opens on the SUT
TESTER_PORT = 7401

# Option type octets (RFC 791 3.1; 30 is the experimental number of RFC 4727).
OPT_EOL, OPT_NOP, OPT_RR, OPT_TS, OPT_LSRR, OPT_SSRR, OPT_STREAM_ID = 0, 1, 7, 68, 131, 137, 136
OPT_EXPERIMENT = 30

# Options a host may leave unimplemented (RFC 1122 3.2.1.8 (d), (e): "Implementation of
# originating and processing the ... option is OPTIONAL"); such a host ignores them like any
# option it does not understand. A case about processing one declares it (@case optional=).
RECORD_ROUTE = "the IP Record Route option (RFC 1122 3.2.1.8 (d): its processing is optional)"
TIMESTAMP = "the IP Timestamp option (RFC 1122 3.2.1.8 (e): its processing is optional)"

_idents = itertools.count(0x2100)


def next_ident() -> int:
    """A fresh IP identification / ICMP identifier per use (never the fence's 0xFxxx)."""
    return 0x2000 | (next(_idents) & 0x0FFF)


def ip_header(*, src: str, dst: str, proto: int, payload_len: int, ident: int, ttl: int = 64, tos: int = 0,
              flags: int = 0, offset: int = 0, options: bytes = b"", version: int = 4, ihl: int | None = None,
              total_length: int | None = None, chksum: int | None = None) -> bytes:
    """An IPv4 header as bytes. `offset` is in octets (a multiple of 8); `flags` are FLAG_* bits.
    Options are padded with End-of-Option-List octets to a multiple of four."""
    if len(options) % 4:
        options += bytes(4 - len(options) % 4)
    header_len = 20 + len(options)
    if ihl is None:
        ihl = header_len // 4
    if total_length is None:
        total_length = header_len + payload_len
    head = struct.pack(
        "!BBHHHBBH4s4s", (version << 4) | (ihl & 0x0F), tos, total_length, ident, flags | (offset // 8), ttl, proto, 0,
        _addr(src), _addr(dst),
    ) + options
    if chksum is None:
        chksum = checksum(head)
    return head[:10] + struct.pack("!H", chksum) + head[12:]


def _addr(ip: str) -> bytes:
    return bytes(int(x) for x in ip.split("."))


def header_checksum(datagram: bytes) -> int:
    """The checksum that the header of `datagram` (its IHL's worth of octets) should carry."""
    ihl = (datagram[0] & 0x0F) * 4
    head = datagram[:10] + b"\x00\x00" + datagram[12:ihl]
    return checksum(head)


def ether(lan, datagram: bytes, *, dst_mac: str | None = None) -> bytes:
    """`datagram` in an Ethernet frame from the tester to the SUT's MAC (or `dst_mac`)."""
    return _mac(dst_mac or lan.sut.mac) + _mac(lan.tester.mac) + ETHERTYPE_IPV4 + datagram


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def echo_message(ident: int, data: bytes, seq: int = 1) -> bytes:
    """An ICMP Echo Request message (type 8) with a valid checksum."""
    return bytes(ICMP(type="echo-request", id=ident, seq=seq) / data)


def echo_data(size: int, tag: int = 0) -> bytes:
    """Patterned echo data: every octet differs from its neighbours, so a misplaced fragment
    or a stale overlap shows in the reply."""
    return bytes((tag + i * 7 + (i >> 8)) & 0xFF for i in range(size))


def echo_datagram(lan, ident: int, data: bytes = b"", *, src: str | None = None, dst: str | None = None,
                  seq: int = 1, **header: object) -> bytes:
    """An Echo Request datagram from the tester to the SUT, header fields overridable."""
    message = echo_message(ident, data or echo_data(32, ident), seq)
    head = ip_header(src=src or lan.tester.ip, dst=dst or lan.sut.ip, proto=PROTO_ICMP, payload_len=len(message),
                     ident=ident, **header)  # type: ignore[arg-type]
    return head + message


def udp_message(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    """A UDP header and data with the checksum over the pseudo header of `src` and `dst`."""
    return bytes(IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / data)[20:]


def udp_datagram(lan, data: bytes, *, src: str | None = None, dst: str | None = None, dport: int = SUT_PORT,
                 sport: int = TESTER_PORT, ident: int | None = None, **header: object) -> bytes:
    """A UDP datagram from the tester (or `src`) to the SUT (or `dst`), header fields overridable."""
    src, dst = src or lan.tester.ip, dst or lan.sut.ip
    message = udp_message(src, dst, sport, dport, data)
    head = ip_header(src=src, dst=dst, proto=PROTO_UDP, payload_len=len(message),
                     ident=next_ident() if ident is None else ident, **header)  # type: ignore[arg-type]
    return head + message


def ip_like(**fields: object) -> IP:
    """An IP template for a matcher with only the fields given (scapy's IP() sets options=[]
    explicitly, which a matcher would otherwise compare)."""
    ip = IP(**fields)
    if "options" not in fields:
        ip.fields.pop("options", None)
    return ip


def echo_reply(lan, ident: int) -> Matcher:
    """The SUT's Echo Reply to the request with identifier `ident`."""
    return like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / ICMP(type="echo-reply", id=ident),
                name=f"the SUT's echo reply id={ident:#x}")


def any_icmp_from_sut(lan, why: str) -> Matcher:
    """Any ICMP message from the SUT (an echo reply or an error), named for the report."""
    return like(ip_like(src=lan.sut.ip) / ICMP(), name=f"any ICMP message from the SUT ({why})")


def icmp_from_sut_but_parameter_problem(lan, why: str) -> Matcher:
    """Any ICMP message from the SUT other than Parameter Problem, which RFC 1812 5.2.2 allows
    (MAY, or SHOULD for a truncated datagram) in answer to some invalid headers."""
    return like(ip_like(src=lan.sut.ip) / ICMP(), where={"ICMP.type": not_equal(12)},
                name=f"an ICMP message other than Parameter Problem from the SUT ({why})")


def option_bytes(packet: Packet) -> bytes:
    """The raw options field of the first IP header in `packet`."""
    ip = packet[IP]
    raw = bytes(ip)
    return raw[20 : ip.ihl * 4]


@dataclass(frozen=True)
class Option:
    kind: int
    data: bytes  # the whole option, type and length octets included


def parse_options(raw: bytes) -> list[Option]:
    """The options of a header, NOPs and the End of Option List left out."""
    out: list[Option] = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind == OPT_EOL:
            break
        if kind == OPT_NOP:
            i += 1
            continue
        length = raw[i + 1] if i + 1 < len(raw) else 0
        if length < 2:
            out.append(Option(kind, raw[i:]))
            break
        out.append(Option(kind, raw[i : i + length]))
        i += length
    return out


def find_option(packet: Packet, kind: int) -> Option | None:
    for opt in parse_options(option_bytes(packet)):
        if opt.kind == kind:
            return opt
    return None


def counter_delta(before: dict[str, int], after: dict[str, int], name: str) -> int:
    return after.get(name, 0) - before.get(name, 0)


def not_delivered(lan, sock, why: str, *, control_dst: str | None = None, control_mac: str | None = None,
                  dport: int = SUT_PORT) -> None:
    """Assert that no ICMP came back and nothing reached `sock`.

    The ICMP check ends on the echo fence. The socket check ends on a positive control: a valid
    UDP datagram to the same socket (port `dport`, to the SUT's address or `control_dst`, in a
    frame to the SUT's MAC or `control_mac`), read from it after the stimulus; if even that is
    not delivered the case is INCONCLUSIVE (conformance.delivery)."""
    lan.tester.expect_none(any_icmp_from_sut(lan, why))
    marker = b"ipv4-control-%#x" % next_ident()
    ttl = 1 if control_mac else 64  # a datagram to a group stays on its link
    control = ether(lan, udp_datagram(lan, marker, dst=control_dst, dport=dport, ttl=ttl), dst_mac=control_mac)
    held = held_before_control(lan.tester, sock, control, marker,
                               socket_name=f"UDP port {dport} on the SUT (to {control_dst or lan.sut.ip})")
    assert not held, f"{why}; the SUT's socket received {len(held)} datagram(s) of it: {held[0][:24]!r}"


def route_option(kind: int, pointer: int, addresses: list[str]) -> bytes:
    """A Record Route (7), Loose (131) or Strict (137) Source Route option."""
    return bytes([kind, 3 + 4 * len(addresses), pointer]) + b"".join(_addr(a) for a in addresses)


def timestamp_option(pointer: int, flag: int, slots: int, *, overflow: int = 0, entries: bytes = b"") -> bytes:
    """A Timestamp option (68) with room for `slots` entries (4 octets each for flag 0, 8 for
    flags 1 and 3), its data area holding `entries` and zeros after them."""
    size = slots * (4 if flag == 0 else 8)
    return bytes([OPT_TS, 4 + size, pointer, (overflow << 4) | flag]) + entries + bytes(size - len(entries))




def _echoed_option(lan, option: bytes, kind: int, what: str) -> Option | None:
    """The option of `kind` in the Echo Reply to an Echo Request that carries `option`."""
    ident = next_ident()
    try:
        reply = lan.tester.exchange(ether(lan, echo_datagram(lan, ident, options=option)), expect=echo_reply(lan, ident))
    except AssertionError:
        raise Inconclusive(f"precondition not met: an Echo Request with a well-formed {what} option drew no Echo Reply") from None
    return find_option(reply, kind)


def require_record_route(lan) -> None:
    """End the case as NOT-IMPLEMENTED unless the SUT shows it processes Record Route: an Echo
    Request with an empty, well-formed Record Route (room for two addresses) must come back with
    the SUT's address recorded (RFC 1122 3.2.2.6 returns the option in the Echo Reply)."""
    returned = _echoed_option(lan, route_option(OPT_RR, 4, ["0.0.0.0"] * 2) + bytes([OPT_EOL]), OPT_RR, "Record Route")
    if returned is None or _addr(lan.sut.ip) not in returned.data[3 : returned.data[2] - 1]:
        not_implemented("an Echo Request with an empty Record Route option came back without the SUT's address recorded: "
                        "the SUT does not process Record Route")


def require_timestamp(lan) -> None:
    """End the case as NOT-IMPLEMENTED unless the SUT shows it processes the Timestamp option: an
    Echo Request with a well-formed, empty Timestamp option (flag 0, three slots) must come back
    with at least one timestamp added."""
    returned = _echoed_option(lan, timestamp_option(5, 0, 3), OPT_TS, "Timestamp")
    if returned is None or returned.data[2] <= 5:
        not_implemented("an Echo Request with an empty Timestamp option came back without a timestamp added: "
                        "the SUT does not process the Timestamp option")


def frames_since(lan, start: int) -> list[Packet]:
    """Every frame the tester received since the capture held `start` frames."""
    return [f.packet for f in lan.tester.capture.frames[start:] if f.port == lan.tester.name and f.direction == "in"]
