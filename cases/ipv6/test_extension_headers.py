"""Extension header chains at a destination (RFC 8200 4, 4.1, 4.7; RFC 4443 3.4).

RFC 8200 is written in lower case; its "must" is read as MUST (see test_header.py). Where the
only word for a behaviour is its lower-case "should" (an unrecognised Next Header "should" be
discarded with a Parameter Problem), RFC 4443 3.4 says it in upper case and is cited: a node that
cannot complete processing a packet for a problem in its headers MUST discard it and SHOULD send
a Parameter Problem (the icmpv6 cases judge that message).
"""

from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrRouting

from cases.ipv6.frames import (
    NH_DEST_OPTS,
    NH_EXPERIMENT,
    NH_HOP_BY_HOP,
    NH_ICMPV6,
    NH_NONE,
    OPT_SKIP,
    RT_EXPERIMENT,
    Icmp6Error,
    any_echo_reply,
    echo,
    echo_message,
    echo_reply,
    next_ident,
    option,
    options_header,
    packet_bytes,
    to_sut,
)
from conformance.catalog import MUST, case
from conformance.match import Matcher, Mismatch


def valid_echo_fence(lan6):
    def make():
        ident = next_ident()
        return to_sut(lan6, echo(lan6, ident)), echo_reply(lan6, ident)

    return make


def unknown_header_packet(lan6, ident: int) -> bytes:
    """An Echo Request behind a header of Next Header 253 laid out like an extension header
    (Next Header 58, length 0): a node that skipped headers it does not know as if they were
    extension headers would find the Echo Request."""
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"behind an unknown header")
    return packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_EXPERIMENT, bytes([NH_ICMPV6, 0]) + bytes(6) + message)


@case("IP6-NH-UNKNOWN-DISCARDED", rfc=4443, section="3.4", level=MUST, layer=3, also=(8200,))
def test_packet_with_unrecognised_next_header_is_discarded(lan6):
    """A packet whose Next Header chain reaches a value the node does not recognise is discarded, not skipped over.

    RFC 8200 4: a destination that must proceed to a next header it does not recognise
    discards the packet (RFC 4443 3.4: MUST). The header of type 253 (for experiments, RFC
    4727) is laid out like an extension header with an Echo Request behind it; no Echo Reply may
    come back. The fence is a plain Echo Request.
    """
    ident = next_ident()
    lan6.tester.send(to_sut(lan6, unknown_header_packet(lan6, ident)))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-HBH-NOT-FIRST-DISCARDED", rfc=4443, section="3.4", level=MUST, layer=3, also=(8200,))
def test_hop_by_hop_header_after_another_header_is_discarded(lan6):
    """A packet with a Hop-by-Hop Options header anywhere but right after the IPv6 header is discarded.

    RFC 8200 4: the Hop-by-Hop Options header, when present, must immediately follow the IPv6
    header, and a Next Header of zero in any header other than the IPv6 header is handled as an
    unrecognised Next Header: the packet cannot be processed, so (RFC 4443 3.4) it MUST be
    discarded. The Echo Request comes after a Destination Options header and then a Hop-by-Hop
    Options header; no Echo Reply may come back.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"hop-by-hop out of place")
    chain = options_header(NH_HOP_BY_HOP, b"") + options_header(NH_ICMPV6, b"") + message
    lan6.tester.send(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_DEST_OPTS, chain)))
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-EXT-ANY-ORDER", rfc=8200, section="4.1", level=MUST, layer=3)
def test_extension_headers_in_an_unusual_order_are_processed(lan6):
    """A node accepts and processes extension headers in any order, not only the recommended one.

    RFC 8200 4.1: "IPv6 nodes must accept and attempt to process extension headers in any order
    and occurring any number of times in the same packet, except for the Hop-by-Hop Options
    header". An Echo Request behind a Fragment header (an atomic fragment), then a Routing header
    (type 253 with Segments Left 0, which is ignored) and then a Destination Options header (the
    reverse of the recommended order) must be answered.
    """
    ident = next_ident()
    chain = (IPv6ExtHdrFragment(id=ident, offset=0, m=0)
             / IPv6ExtHdrRouting(type=RT_EXPERIMENT, segleft=0, addresses=[lan6.tester.ip6])
             / IPv6ExtHdrDestOpt())
    lan6.tester.exchange(to_sut(lan6, echo(lan6, ident, ext=chain)), expect=echo_reply(lan6, ident))


@case("IP6-EXT-REPEATED", rfc=8200, section="4.1", level=MUST, layer=3)
def test_extension_header_occurring_several_times_is_processed(lan6):
    """A node processes a packet in which one kind of extension header occurs several times.

    RFC 8200 4.1 (as IP6-EXT-ANY-ORDER): extension headers may occur any number of times. An
    Echo Request behind three Destination Options headers, each with an option to skip (type
    0x1E, whose action bits say skip), must be answered.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"three destination options headers")
    body = (options_header(NH_DEST_OPTS, option(OPT_SKIP)) + options_header(NH_DEST_OPTS, option(OPT_SKIP))
            + options_header(NH_ICMPV6, option(OPT_SKIP)) + message)
    lan6.tester.exchange(to_sut(lan6, packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_DEST_OPTS, body)),
                         expect=echo_reply(lan6, ident))


class AnyFrom(Matcher):
    """Any IPv6 packet from the SUT to the tester that is an Echo Reply or an ICMPv6 error."""

    def __init__(self, lan6, ident: int) -> None:
        super().__init__(IPv6(), name=f"an Echo Reply id={ident:#x} or any ICMPv6 error from the SUT")
        self.reply = any_echo_reply(ident)
        self.error = Icmp6Error(lan6.tester.ip6)

    def mismatches(self, frame) -> list[Mismatch]:
        a, b = self.reply.mismatches(frame), self.error.mismatches(frame)
        return [] if not a or not b else min(a, b, key=len)


@case("IP6-NO-NEXT-HEADER", rfc=8200, section="4.7", level=MUST, layer=3)
def test_octets_after_no_next_header_are_ignored(lan6):
    """Octets that follow a header whose Next Header is 59 (No Next Header) are ignored.

    RFC 8200 4.7: if the Payload Length indicates octets past the end of a header whose Next
    Header field contains 59, "those octets must be ignored". A Destination Options header
    with Next Header 59 is followed by a complete Echo Request: neither an Echo Reply nor any
    ICMPv6 error (the value 59 is not unrecognised) may come back.
    """
    ident = next_ident()
    message = echo_message(lan6.tester.ip6, lan6.sut.ip, ident, b"after no next header")
    packet = packet_bytes(lan6.tester.ip6, lan6.sut.ip, NH_DEST_OPTS, options_header(NH_NONE, b"") + message)
    lan6.tester.send(to_sut(lan6, packet))
    lan6.tester.expect_none(AnyFrom(lan6, ident), fence=valid_echo_fence(lan6))
