"""The router's side of Path MTU Discovery for IPv6 (RFC 4443 3.2; RFC 8200 4.5 and 5).

Topology `pmtu_routed6`: the SUT routes between the tester's link (MTU 1500) and the far host's
link (MTU 1280). A router never fragments an IPv6 packet (RFC 8200 4.5: "fragmentation in IPv6
is performed only by source nodes, not by routers along a packet's delivery path"); one that is
too big for the next link is answered with Packet Too Big.
"""

from scapy.layers.inet import UDP
from scapy.layers.inet6 import ICMPv6PacketTooBig, IPv6
from scapy.packet import Raw

from cases.ipv6.frames import answered, quote_of, to_sut
from conformance.catalog import MUST, case
from conformance.match import like

SPORT, DPORT = 7810, 7811


def oversized(net, marker: bytes):
    """A 1400-octet UDP packet from the tester to the far host, too big for the far link."""
    return IPv6(src=net.tester.ip6, dst=net.far.ip6) / UDP(sport=SPORT, dport=DPORT) / Raw(marker.ljust(1352, b"."))


@case("PMTU6-ROUTER-PTB", rfc=4443, section="3.2", level=MUST, layer=3, also=(8201,))
def test_router_answers_a_packet_too_big_for_the_next_link_with_packet_too_big(pmtu_routed6):
    """A router that cannot forward a packet because it is larger than the next link's MTU sends Packet Too Big with that MTU.

    RFC 4443 3.2: "A Packet Too Big MUST be sent by a router in response to a packet that it
    cannot forward because the packet is larger than the MTU of the outgoing link"; its MTU field
    is "the Maximum Transmission Unit of the next-hop link". A 1400-octet packet to the far host:
    Packet Too Big code 0, MTU 1280, quoting the packet (as much as fits in 1280 octets).
    """
    net = pmtu_routed6
    packet = oversized(net, b"too big for the far link")
    got = answered(net, to_sut(net, packet), like(IPv6(dst=net.tester.ip6) / ICMPv6PacketTooBig(), name="a Packet Too Big"),
                   "a packet larger than the far link's MTU must draw Packet Too Big")
    assert got[ICMPv6PacketTooBig].mtu == net.far_mtu, f"the MTU field must be the far link's {net.far_mtu}, not {got[ICMPv6PacketTooBig].mtu}"
    assert got[ICMPv6PacketTooBig].code == 0, f"the code must be 0, not {got[ICMPv6PacketTooBig].code}"
    quoted = quote_of(got)
    assert quoted == bytes(packet)[:len(quoted)] and len(quoted) >= 1232, "the message must quote the packet, 1232 octets of it"


@case("IP6-FWD-NO-FRAGMENTATION", rfc=8200, section="4.5", level=MUST, layer=3, also=(4443,))
def test_router_does_not_fragment_a_packet_too_big_for_the_next_link(pmtu_routed6):
    """A router does not fragment a packet that is too big for the next link: neither the packet nor pieces of it cross.

    RFC 8200 4.5: unlike IPv4, fragmentation in IPv6 is performed only by source nodes. A
    1400-octet packet to the far host, whose link MTU is 1280: nothing of it may reach the far
    host. The check ends on the far Port's control.
    """
    net = pmtu_routed6
    net.tester.send(to_sut(net, oversized(net, b"must not be fragmented")))
    net.far.expect_none(like(IPv6(src=net.tester.ip6, dst=net.far.ip6), name="the packet, whole or in fragments"))
