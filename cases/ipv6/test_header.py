"""The IPv6 fixed header at a destination (RFC 8200 3 and 6, RFC 4291 2.5.3, RFC 4443 3.4).

RFC 8200 keeps RFC 2460's lower-case wording. These cases read its "must" and its definitions
of the header fields as MUST (RFC 8504 5.1 makes RFC 8200 a requirement of every IPv6 node),
and a behaviour it describes only with a lower-case "should" as MAY; where RFC 4443 3.4 says the
same in upper case ("MUST discard the packet"), it is cited.
"""

from scapy.layers.inet6 import ICMPv6EchoReply

from cases.ipv6.frames import (
    NH_ICMPV6,
    any_echo_reply,
    echo,
    echo_data,
    echo_message,
    echo_reply,
    ipv6_header,
    next_ident,
    to_sut,
)
from conformance.catalog import MAY, MUST, case


def corrected_fence(lan6, build):
    """A fence that is the stimulus with only the field under test put right: `build(ident)`
    makes the valid packet's frame for a fresh identifier."""

    def make():
        ident = next_ident()
        return build(ident), echo_reply(lan6, ident)

    return make


def raw_echo(lan6, ident: int, data: bytes, **header) -> bytes:
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data)
    payload_len = header.pop("payload_len", len(message))
    return ipv6_header(lan6.tester.ip6, lan6.sut.ip, NH_ICMPV6, payload_len, **header) + message


@case("IP6-VERSION-NOT-6", rfc=8200, section="3", level=MUST, layer=3)
def test_version_other_than_6_is_not_processed(lan6):
    """A packet in an IPv6 frame whose Version field is not 6 is not processed as an IPv6 packet.

    RFC 8200 3 defines Version as the "4-bit Internet Protocol version number = 6". An Echo
    Request that is valid but for Version 4 (and then 7) must not be answered. Each check ends on
    the same request with Version 6, which must be.
    """
    for version in (4, 7):
        ident = next_ident()
        data = echo_data(24, ident)
        lan6.tester.send(to_sut(lan6, raw_echo(lan6, ident, data, version=version)))
        lan6.tester.expect_none(echo_reply(lan6, ident), fence=corrected_fence(
            lan6, lambda i: to_sut(lan6, raw_echo(lan6, i, echo_data(24, i)))))


@case("IP6-PLEN-BEYOND-FRAME", rfc=4443, section="3.4", level=MUST, layer=3, also=(8200,))
def test_payload_length_beyond_the_frame_is_discarded(lan6):
    """A packet whose Payload Length claims more octets than the link delivered is discarded.

    RFC 8200 3: Payload Length is the length of the rest of the packet following the IPv6
    header; a packet that carries fewer octets is truncated, a problem with a header field that
    leaves the packet unprocessable, which RFC 4443 3.4 says the node MUST discard. The Echo
    Request claims 16 octets more than it has: no Echo Reply may come back (the fence is the
    same request with the true length).
    """
    ident = next_ident()
    data = echo_data(40, ident)
    true_len = len(echo_message(lan6.tester.ip6, lan6.sut.ip, ident, data))
    lan6.tester.send(to_sut(lan6, raw_echo(lan6, ident, data, payload_len=true_len + 16)))
    lan6.tester.expect_none(echo_reply(lan6, ident), fence=corrected_fence(
        lan6, lambda i: to_sut(lan6, raw_echo(lan6, i, echo_data(40, i)))))


@case("IP6-PLEN-PADDING-IGNORED", rfc=8200, section="3", level=MUST, layer=3)
def test_octets_beyond_payload_length_are_not_packet_data(lan6):
    """Octets a frame carries beyond the packet's Payload Length are not part of the packet.

    The Echo Request's frame carries 24 octets after the packet (as link-layer padding would);
    the SUT must answer, and its Echo Reply must return exactly the request's data.
    """
    ident = next_ident()
    data = echo_data(32, ident)
    reply = lan6.tester.exchange(to_sut(lan6, raw_echo(lan6, ident, data) + b"\xee" * 24),
                                 expect=echo_reply(lan6, ident))
    assert reply[ICMPv6EchoReply].data == data, (
        f"the reply must carry the {len(data)} octets of the request's data, not the padding after the packet; "
        f"it carried {len(reply[ICMPv6EchoReply].data)} octets")


@case("IP6-HLIM-ZERO-DELIVERED", rfc=8200, section="3", level=MAY, layer=3)
def test_packet_with_hop_limit_zero_is_processed_by_its_destination(lan6):
    """A node that is the destination of a packet processes it normally though its Hop Limit is zero.

    RFC 8200 3: "A node that is the destination of a packet should not discard a packet with Hop
    Limit equal to zero; it should process the packet normally" (a lower-case "should": MAY). An
    Echo Request with Hop Limit 0 to the SUT must be answered.
    """
    ident = next_ident()
    lan6.tester.exchange(to_sut(lan6, echo(lan6, ident, hlim=0)), expect=echo_reply(lan6, ident))


@case("IP6-FLOW-LABEL-IGNORED", rfc=8200, section="6", level=MUST, layer=3, also=(6437,))
def test_flow_label_does_not_change_how_a_packet_is_received(lan6):
    """A node that does not use the Flow Label ignores it when it receives a packet.

    RFC 8200 6: nodes that do not support the functions of the Flow Label "are required to ...
    ignore the field when receiving a packet" (and one that supports them may not refuse a
    packet for its label either). Echo Requests with Flow Labels 0xFFFFF and 0x12345 and Traffic
    Class 0xB8 must be answered like any other.
    """
    for fl in (0xFFFFF, 0x12345):
        ident = next_ident()
        lan6.tester.exchange(to_sut(lan6, echo(lan6, ident, fl=fl, tc=0xB8)), expect=echo_reply(lan6, ident))


@case("IP6-DST-LOOPBACK-DROPPED", rfc=4291, section="2.5.3", level=MUST, layer=3)
def test_packet_to_the_loopback_address_from_a_link_is_dropped(lan6):
    """A packet received on an interface with the loopback address as destination is dropped.

    RFC 4291 2.5.3: "A packet received on an interface with a destination address of loopback
    must be dropped." An Echo Request to ::1 in a frame to the SUT's MAC must not be answered;
    the fence is the same request to the SUT's own address.
    """
    ident = next_ident()
    lan6.tester.send(to_sut(lan6, echo(lan6, ident, dst="::1")))
    lan6.tester.expect_none(any_echo_reply(ident), fence=corrected_fence(lan6, lambda i: to_sut(lan6, echo(lan6, i))))
