"""Routing headers (RFC 8200 4.4; RFC 5095, whose deprecation of the Type 0 Routing header RFC 8200
took in when it obsoleted it).

A node that meets a Routing header with a Routing Type it does not recognise must ignore it if
Segments Left is zero, and otherwise discard the packet and send a Parameter Problem, Code 0,
pointing to the Routing Type (offset 42 when the Routing header follows the IPv6 header). Type
0 is deprecated: a node must treat it as unrecognised (RFC 5095 3: "MUST NOT execute the
algorithm" of RFC 2460 for it), so in particular a router never sends the packet on to the
next listed address. RFC 8200's lower-case "must" is read as MUST (test_header.py).
"""

from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrRouting
from scapy.packet import Raw

from cases.ipv6.frames import (
    PP_HEADER_FIELD,
    RT_EXPERIMENT,
    RT_TYPE0,
    answered,
    any_echo_reply,
    echo,
    echo_reply,
    next_ident,
    param_problem,
    to_sut,
)
from cases.ipv6.test_extension_headers import valid_echo_fence
from conformance.catalog import MUST, case
from conformance.match import like

ROUTING_TYPE_OFFSET = 42  # IPv6 header (40) + Next Header and Hdr Ext Len of the Routing header


def ignored(lan6, routing_type: int) -> None:
    ident = next_ident()
    rh = IPv6ExtHdrRouting(type=routing_type, segleft=0, addresses=["2001:db8::77"])
    answered(lan6, to_sut(lan6, echo(lan6, ident, ext=rh)), echo_reply(lan6, ident),
             f"an Echo Request behind a Routing header of type {routing_type} with Segments Left 0 must be processed")


def refused(lan6, routing_type: int) -> None:
    ident = next_ident()
    rh = IPv6ExtHdrRouting(type=routing_type, segleft=1, addresses=["2001:db8::77"])
    got = answered(lan6, to_sut(lan6, echo(lan6, ident, ext=rh)), param_problem(lan6, PP_HEADER_FIELD),
                   f"a Routing header of type {routing_type} with Segments Left 1 must draw a Parameter Problem code 0")
    assert got.ptr == ROUTING_TYPE_OFFSET, (
        f"the Parameter Problem must point to the Routing Type at offset {ROUTING_TYPE_OFFSET}; it points to {got.ptr}")
    lan6.tester.expect_none(any_echo_reply(ident), fence=valid_echo_fence(lan6))


@case("IP6-RH-UNKNOWN-SL0-IGNORED", rfc=8200, section="4.4", level=MUST, layer=3)
def test_unrecognised_routing_type_with_no_segments_left_is_ignored(lan6):
    """A Routing header of an unrecognised type with Segments Left zero is ignored and the next header processed.

    RFC 8200 4.4: "If Segments Left is zero, the node must ignore the Routing header and proceed
    to process the next header in the packet". Routing Type 253 (for experiments) before an Echo
    Request: the Echo Reply must come.
    """
    ignored(lan6, RT_EXPERIMENT)


@case("IP6-RH-UNKNOWN-SL-PROBLEM", rfc=8200, section="4.4", level=MUST, layer=3, also=(4443,))
def test_unrecognised_routing_type_with_segments_left_draws_parameter_problem(lan6):
    """A Routing header of an unrecognised type with Segments Left non-zero makes the node discard the packet and send Parameter Problem code 0 pointing to the Routing Type.

    Routing Type 253, Segments Left 1, one address: Parameter Problem code 0, pointer 42, and
    no Echo Reply.
    """
    refused(lan6, RT_EXPERIMENT)


@case("IP6-RH0-SL0-IGNORED", rfc=5095, section="3", level=MUST, layer=3, also=(8200,))
def test_type_0_routing_header_with_no_segments_left_is_ignored(lan6):
    """A Type 0 Routing header with Segments Left zero is ignored, as for any unrecognised type, and the packet processed."""
    ignored(lan6, RT_TYPE0)


@case("IP6-RH0-SL-PROBLEM", rfc=5095, section="3", level=MUST, layer=3, also=(8200, 4443))
def test_type_0_routing_header_with_segments_left_draws_parameter_problem(lan6):
    """A Type 0 Routing header with Segments Left non-zero is refused as an unrecognised type: the packet is discarded and Parameter Problem code 0 points to the Routing Type.

    RFC 5095 3: such packets "MUST be processed according to the behaviour specified ... for a
    datagram that includes an unrecognised Routing Type value". Segments Left 1: Parameter
    Problem code 0, pointer 42, and no Echo Reply.
    """
    refused(lan6, RT_TYPE0)


@case("IP6-RH0-NOT-FORWARDED", rfc=5095, section="3", level=MUST, layer=3, also=(8200,))
def test_router_does_not_execute_a_type_0_routing_header(routed6):
    """A router that receives a packet addressed to it with a Type 0 Routing header does not send it on to the listed address.

    RFC 5095 3: a node "MUST NOT execute the algorithm specified in the latter part of Section
    4.4 of [RFC2460] for RH0". A UDP datagram to the router's near address with a Type 0 Routing
    header (Segments Left 1) listing the far host: nothing of it may reach the far host. The
    check ends on the far Port's control (a datagram the router forwards on the same path).
    """
    ident = next_ident()
    marker = b"type 0 routing header %#x" % ident
    rh = IPv6ExtHdrRouting(type=RT_TYPE0, segleft=1, addresses=[routed6.far.ip6])
    packet = IPv6(src=routed6.tester.ip6, dst=routed6.router_near.ip) / rh / UDP(sport=7700, dport=7701) / Raw(marker)
    routed6.tester.send(to_sut(routed6, packet))
    routed6.far.expect_none(like(IPv6(dst=routed6.far.ip6) / UDP(dport=7701), name="the datagram sent on by the Type 0 Routing header"))
