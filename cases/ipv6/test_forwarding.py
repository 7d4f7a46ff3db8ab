"""What an IPv6 router does to the packets it forwards (RFC 8200 3, 4, 4.7, 6; RFC 6437 2; RFC 4291 2.5.2, 2.5.6).

Topology `routed6`: the tester sends through the SUT router to the far host; the far Port sees
what the router put on the wire. A packet that must not cross is checked against the far
Port's control (a valid datagram forwarded on the same path after the stimulus). RFC 8200's
lower-case "must" and its field definitions are read as MUST (test_header.py).
"""

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting
from scapy.packet import Raw

from cases.ipv6.frames import (
    NH_DEST_OPTS,
    NH_NONE,
    NH_UDP,
    OPT_PROBLEM,
    RT_EXPERIMENT,
    Icmp6Error,
    option,
    options_header,
    packet_bytes,
    to_sut,
    udp_message,
)
from conformance.catalog import MUST, case
from conformance.match import like

SPORT, DPORT = 7710, 7711


def datagram(routed6, marker: bytes, *, src: str | None = None, hlim: int = 64, fl: int = 0, tc: int = 0, ext=None):
    head = IPv6(src=src or routed6.tester.ip6, dst=routed6.far.ip6, hlim=hlim, fl=fl, tc=tc)
    body = UDP(sport=SPORT, dport=DPORT) / Raw(marker)
    return head / ext / body if ext is not None else head / body


def forwarded(routed6, marker: bytes):
    return like(IPv6(dst=routed6.far.ip6) / UDP(sport=SPORT, dport=DPORT) / Raw(marker),
                name=f"the forwarded datagram {marker!r}")


@case("IP6-FWD-HLIM-DECREMENT", rfc=8200, section="3", level=MUST, layer=3)
def test_forwarding_decrements_hop_limit_by_one(routed6):
    """A router decrements the Hop Limit of a packet it forwards by exactly one.

    RFC 8200 3: Hop Limit is "decremented by 1 by each node that forwards the packet". Packets
    with Hop Limits 64 and 2 must reach the far host with 63 and 1.
    """
    for hlim in (64, 2):
        marker = b"hop limit %d" % hlim
        routed6.tester.send(to_sut(routed6, datagram(routed6, marker, hlim=hlim)))
        got = routed6.far.expect(forwarded(routed6, marker))
        assert got[IPv6].hlim == hlim - 1, f"sent with Hop Limit {hlim}, it must arrive with {hlim - 1}; it came with {got[IPv6].hlim}"


@case("IP6-FWD-HLIM-ONE-DROPPED", rfc=8200, section="3", level=MUST, layer=3)
def test_packet_whose_hop_limit_reaches_zero_is_not_forwarded(routed6):
    """A router does not forward a packet whose Hop Limit it decrements to zero.

    RFC 8200 3: "When forwarding, the packet is discarded if Hop Limit was zero when received or
    is decremented to zero." A datagram with Hop Limit 1 must not reach the far host.
    """
    marker = b"hop limit 1"
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, hlim=1)))
    routed6.far.expect_none(forwarded(routed6, marker))


@case("IP6-FWD-HLIM-ZERO-DROPPED", rfc=8200, section="3", level=MUST, layer=3)
def test_packet_received_with_hop_limit_zero_is_not_forwarded(routed6):
    """A router does not forward a packet that arrives with Hop Limit zero."""
    marker = b"hop limit 0"
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, hlim=0)))
    routed6.far.expect_none(forwarded(routed6, marker))


@case("IP6-FWD-FLOW-LABEL-KEPT", rfc=6437, section="2", level=MUST, layer=3, also=(8200,))
def test_router_keeps_the_flow_label(routed6):
    """A router forwards a packet with its non-zero Flow Label unchanged.

    RFC 6437 2: "A forwarding node MUST either leave a non-zero flow label value unchanged or
    change it only for compelling operational security reasons". Flow Label 0xABCDE must arrive
    as sent.
    """
    marker = b"flow label"
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, fl=0xABCDE)))
    got = routed6.far.expect(forwarded(routed6, marker))
    assert got[IPv6].fl == 0xABCDE, f"the Flow Label must arrive as sent, 0xabcde; it arrived as {got[IPv6].fl:#x}"


@case("IP6-FWD-LINK-LOCAL-SOURCE", rfc=4291, section="2.5.6", level=MUST, layer=3)
def test_router_does_not_forward_a_packet_with_a_link_local_source(routed6):
    """A router does not forward a packet with a link-local source address to another link.

    RFC 4291 2.5.6: "Routers must not forward any packets with Link-Local source or destination
    addresses to other links." A datagram from fe80::2 to the far host must not reach it.
    """
    marker = b"link-local source"
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, src="fe80::2")))
    routed6.far.expect_none(forwarded(routed6, marker))


@case("IP6-FWD-UNSPECIFIED-SOURCE", rfc=4291, section="2.5.2", level=MUST, layer=3)
def test_router_does_not_forward_a_packet_with_the_unspecified_source(routed6):
    """A router never forwards a packet whose source is the unspecified address.

    RFC 4291 2.5.2: "An IPv6 packet with a source address of unspecified must never be forwarded
    by an IPv6 router." A datagram from :: to the far host must not reach it.
    """
    marker = b"unspecified source"
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, src="::")))
    routed6.far.expect_none(forwarded(routed6, marker))


@case("IP6-FWD-NO-NEXT-HEADER-KEPT", rfc=8200, section="4.7", level=MUST, layer=3)
def test_octets_after_no_next_header_are_forwarded_unchanged(routed6):
    """A router forwards the octets that follow a header with Next Header 59 unchanged.

    RFC 8200 4.7: octets past the end of a header whose Next Header is 59 "must be ignored and
    passed on unchanged if the packet is forwarded". The packet's Next Header is 59 and 24 octets
    follow: they must arrive as sent.
    """
    tail = bytes(range(24))
    packet = packet_bytes(routed6.tester.ip6, routed6.far.ip6, NH_NONE, tail)
    routed6.tester.send(to_sut(routed6, packet))
    got = routed6.far.expect(like(IPv6(src=routed6.tester.ip6, dst=routed6.far.ip6, nh=NH_NONE),
                                  name="the forwarded packet with Next Header 59"))
    assert bytes(got[IPv6])[40:] == tail, f"the octets after the header must arrive unchanged; they came as {bytes(got[IPv6])[40:].hex()}"


@case("IP6-FWD-ROUTING-HEADER-IN-TRANSIT", rfc=8200, section="4", level=MUST, layer=3)
def test_router_does_not_process_a_routing_header_of_a_packet_not_addressed_to_it(routed6):
    """A router forwards a packet whose Routing header it would refuse, because the header is not for it: extension headers are processed only at the destination.

    RFC 8200 4: extension headers other than Hop-by-Hop Options "are not processed, inserted, or
    deleted by any node along a packet's delivery path, until the packet reaches the node ...
    identified in the Destination Address". A datagram to the far host with a Routing header of
    type 253 and Segments Left 1 must arrive with that header, and no Parameter Problem may
    come back to the tester.
    """
    marker = b"routing header in transit"
    rh = IPv6ExtHdrRouting(type=RT_EXPERIMENT, segleft=1, addresses=["2001:db8:2::77"])
    routed6.tester.send(to_sut(routed6, datagram(routed6, marker, ext=rh)))
    got = routed6.far.expect(forwarded(routed6, marker))
    assert got.getlayer(IPv6ExtHdrRouting) is not None and got[IPv6ExtHdrRouting].segleft == 1, (
        "the Routing header must arrive as sent, Segments Left 1")
    routed6.tester.expect_none(Icmp6Error(routed6.tester.ip6, (4,), "about a header meant for the far host"))


@case("IP6-FWD-DEST-OPTIONS-IN-TRANSIT", rfc=8200, section="4", level=MUST, layer=3)
def test_router_does_not_process_destination_options_of_a_packet_not_addressed_to_it(routed6):
    """A router forwards a packet whose Destination Options header holds an option it does not recognise: the header is for the destination alone.

    The option (type 0x9E) would make the destination discard the packet with a Parameter
    Problem; the router must pass it on unchanged and send nothing back.
    """
    marker = b"destination options in transit"
    payload = options_header(NH_UDP, option(OPT_PROBLEM)) + udp_message(routed6.tester.ip6, routed6.far.ip6, SPORT, DPORT, marker)
    routed6.tester.send(to_sut(routed6, packet_bytes(routed6.tester.ip6, routed6.far.ip6, NH_DEST_OPTS, payload)))
    got = routed6.far.expect(forwarded(routed6, marker))
    assert got.getlayer(IPv6ExtHdrDestOpt) is not None, "the Destination Options header must arrive as sent"
    routed6.tester.expect_none(Icmp6Error(routed6.tester.ip6, (4,), "about a header meant for the far host"))
