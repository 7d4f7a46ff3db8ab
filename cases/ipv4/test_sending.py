"""Header fields of the datagrams the SUT sends: TTL, TOS, identification, flags
(RFC 791 3.1-3.2, RFC 1122 3.2.1.5-3.2.1.7).

RFC 791 predates requirement keywords; the cases citing it read its lower-case "must" and its
"is NOT permitted" as MUST."""

import socket

from scapy.layers.inet import IP, UDP

from cases.fragmentation.frames import sut_fragments
from cases.ipv4.frames import (
    FLAG_RESERVED,
    PROTO_UDP,
    SUT_PORT,
    TESTER_PORT,
    echo_datagram,
    echo_reply,
    ether,
    ip_like,
    next_ident,
    udp_datagram,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.match import Matcher, like
from conformance.verdict import Inconclusive

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_RECVTOS = 10, 2, 13  # <linux/in.h>; Python's socket module lacks them


def from_sut(lan) -> Matcher:
    return like(ip_like(src=lan.sut.ip, dst=lan.tester.ip) / UDP(sport=SUT_PORT, dport=TESTER_PORT),
                name="the SUT's UDP datagram to the tester")


@case("IP4-TTL-DEFAULT-CONFIGURABLE", title="Fixed default TTL is configurable", rfc=1122, section="3.2.1.7", level=MUST, layer=3, needs=("sockets", "sysctl"))
def test_fixed_default_ttl_is_configurable(lan):
    """When a host uses a fixed TTL for the datagrams it sends, that value is configurable.

    Precondition: the SUT's default TTL (net.ipv4.ip_default_ttl on Linux) is configured to 77.
    A datagram from a socket that set no TTL of its own must then leave with TTL 77.
    """
    lan.control.set_sysctl("net.ipv4.ip_default_ttl", 77)
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.send(b"default ttl")
    sent = lan.tester.expect(from_sut(lan))
    assert sent[IP].ttl == 77, f"RFC 1122 3.2.1.7: the configured fixed TTL 77 MUST be used; the datagram carried TTL {sent[IP].ttl}"


@case("IP4-TTL-TRANSPORT-SETS", title="Transport layer can set the TTL", rfc=1122, section="3.2.1.7", level=MUST, layer=3, needs=("sockets",))
def test_transport_layer_can_set_ttl(lan):
    """The IP layer lets the transport layer set the TTL of every datagram it sends.

    A UDP socket asks for TTL 33 (IP_TTL); its datagram must carry TTL 33.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 33)
    sock.send(b"ttl 33")
    sent = lan.tester.expect(from_sut(lan))
    assert sent[IP].ttl == 33, f"RFC 1122 3.2.1.7: the TTL the transport layer set (33) MUST be used; the datagram carried {sent[IP].ttl}"


@case("IP4-TTL-NEVER-ZERO", title="Host never sends TTL zero", rfc=1122, section="3.2.1.7", level=MUST, layer=3, needs=("sockets",))
def test_host_never_sends_ttl_zero(lan):
    """A host does not send a datagram with a TTL of zero, even when an application asks for one.

    A UDP socket asks for TTL 0; the request may be refused, but the datagram it then sends
    must not carry TTL 0.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 0)
    except OSError:
        pass  # refusing TTL 0 is one way to obey; the RFC judges only what is sent
    sock.send(b"ttl zero asked")
    sent = lan.tester.expect(from_sut(lan))
    assert sent[IP].ttl != 0, "RFC 1122 3.2.1.7: a host MUST NOT send a datagram with TTL zero; this one had TTL 0"


@case("IP4-TOS-DEFAULT-ZERO", rfc=1122, section="3.2.1.6", level=MUST, layer=3, needs=("sockets",))
def test_type_of_service_defaults_to_zero(lan):
    """The TOS of a datagram whose transport layer set none is all zero bits.

    "The IP layer MUST provide a means for the transport layer to set the TOS field of every
    datagram that is sent; the default is all zero bits."
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.send(b"default tos")
    sent = lan.tester.expect(from_sut(lan))
    assert sent[IP].tos == 0, f"RFC 1122 3.2.1.6: the default TOS is all zero bits; the datagram carried {sent[IP].tos:#04x}"


@case("IP4-TOS-TRANSPORT-SETS", rfc=1122, section="3.2.1.6", level=MUST, layer=3, needs=("sockets",))
def test_transport_layer_can_set_type_of_service(lan):
    """The IP layer lets the transport layer set the TOS field of every datagram it sends.

    A UDP socket sets TOS 0x28 (IP_TOS); its datagram must carry 0x28.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x28)
    sock.send(b"tos 0x28")
    sent = lan.tester.expect(from_sut(lan))
    assert sent[IP].tos == 0x28, f"RFC 1122 3.2.1.6: the TOS the transport layer set (0x28) MUST be sent; the datagram carried {sent[IP].tos:#04x}"


@case("IP4-RESERVED-FLAG-ZERO", rfc=791, section="3.1", level=MUST, layer=3)
def test_reserved_flag_is_zero_in_sent_datagrams(lan):
    """The reserved flag bit (bit 0 of Flags) is zero in every datagram the SUT sends, even in reply to one that had it set.

    RFC 791 3.1: "Bit 0: reserved, must be zero". The Echo Request has the reserved bit set;
    the SUT's Echo Reply must have it clear.
    """
    ident = next_ident()
    reply = lan.tester.exchange(ether(lan, echo_datagram(lan, ident, flags=FLAG_RESERVED)), expect=echo_reply(lan, ident))
    flags = int(reply[IP].flags)
    assert not flags & 0x4, f"RFC 791 3.1: the reserved flag must be zero; the Echo Reply's flags were {reply[IP].flags} ({flags:#x})"


@case("IP4-DF-NOT-FRAGMENTED", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",))
def test_datagram_with_dont_fragment_is_never_fragmented(lan):
    """A datagram with Don't Fragment set is not fragmented: one larger than the link MTU is not sent in pieces.

    RFC 791: "If the Don't Fragment flag (DF) bit is set, then internet fragmentation of this
    datagram is NOT permitted". A UDP socket with IP_MTU_DISCOVER=IP_PMTUDISC_DO (DF on every
    datagram) sends 3000 octets over the 1500-octet link: the send may fail, but no fragment
    of it may appear on the wire.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    try:
        sock.send(b"d" * 3000)
    except OSError:
        pass  # refusing the oversized DF datagram is allowed; the RFC judges only what is sent
    lan.tester.expect_none(like(ip_like(src=lan.sut.ip, dst=lan.tester.ip, proto=17),
                                name="any piece of the DF datagram (RFC 791: fragmentation is NOT permitted)"))


@case("IP4-ID-DISTINCT", rfc=791, section="3.2", level=MUST, layer=3, needs=("sockets",), also=(6864,))
def test_successive_fragmented_datagrams_get_distinct_identification(lan):
    """Two datagrams the SUT sends in fragments to the same destination and protocol carry different identifications.

    RFC 791 3.2: "the sender must choose the Identifier to be unique for this source,
    destination pair and protocol for the time the datagram (or any fragment of it) could be
    alive"; RFC 6864 keeps the rule for datagrams that are fragmented. Two 3000-octet UDP
    datagrams, sent back to back over the 1500-octet link, must not share an identification.
    """
    sock = lan.app.udp(SUT_PORT, connect=(lan.tester.ip, TESTER_PORT))
    start = len(lan.tester.capture.frames)
    sock.send(b"a" * 3000)
    sock.send(b"b" * 3000)
    groups = sut_fragments(lan, start, PROTO_UDP)
    assert all(len(g) > 1 for g in groups.values()), "each 3000-octet datagram must leave in fragments"
    assert len(groups) == 2, (
        f"RFC 791: two datagrams in flight at once need two identifications; their fragments carried {len(groups)} "
        f"distinct value(s): {sorted(groups)}"
    )


@case("IP4-TOS-PASSED-UP", rfc=1122, section="3.2.1.6", level=SHOULD, layer=4, needs=("sockets",))
def test_received_type_of_service_is_passed_to_transport(lan):
    """The TOS of a received datagram is passed up to the transport layer.

    "The IP layer SHOULD pass received TOS values up to the transport layer." A UDP socket
    that asked for it (IP_RECVTOS) receives a datagram with TOS 0x28; the value must come up
    with the data.
    """
    sock = lan.app.udp(SUT_PORT)
    sock.setsockopt(socket.IPPROTO_IP, IP_RECVTOS, 1)
    lan.tester.send(ether(lan, udp_datagram(lan, b"tos 0x28", tos=0x28)))
    try:
        data, ancillary, _flags, _addr = sock.recvmsg(timeout=1.0)
    except TimeoutError:
        raise Inconclusive("precondition not met: the datagram with TOS 0x28 did not reach the socket") from None
    assert data == b"tos 0x28"
    passed = [value for level, kind, value in ancillary if level == socket.IPPROTO_IP and kind == socket.IP_TOS]
    assert passed and passed[0][0] == 0x28, (
        f"RFC 1122 3.2.1.6: the received TOS (0x28) SHOULD be passed to the transport layer; it got {passed[0].hex() if passed else 'nothing'}"
    )
