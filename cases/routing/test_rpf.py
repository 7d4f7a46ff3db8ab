"""Reverse-path filtering of source addresses (RFC 1812 5.3.8, RFC 3704 2.2-2.4), with the
filter switched on through the SUT's rp_filter sysctl as a stated precondition.

RFC 1812 5.3.8: a router SHOULD implement the filter and, when it is enabled, "MUST silently
discard" a datagram from the wrong interface (the MUST cases). RFC 3704 (a BCP) describes loose
RPF (2.4) as an option without RFC 2119 keywords; its cases are read as MAY.
"""

from cases.routing.frames import any_icmp_error_to, udp_frame, udp_like
from conformance.catalog import MAY, MUST, case

FAR_DST = "198.18.2.2"
SPOOFED_FAR_SOURCE = "198.18.2.77"  # lives behind the far interface, arrives on the near one
UNROUTED_SOURCE = "198.19.99.1"  # the router has no route (and no default) back to it


def _rp_filter(routed, mode: int) -> None:
    routed.control.set_sysctl("net.ipv4.conf.all.rp_filter", mode)
    routed.control.set_sysctl(f"net.ipv4.conf.{routed.router_near.ifname}.rp_filter", mode)


def _send_from(routed, src: str, sport: int) -> None:
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, src, FAR_DST, sport=sport))


@case("RT-RPF-STRICT", rfc=1812, section="5.3.8", level=MUST, layer=3, needs=("sysctl",), also=(3704,))
def test_strict_rpf_discards_source_from_wrong_interface(routed):
    """With source address validation enabled, a datagram whose source the router would reach
    through another interface than the one it arrived on is silently discarded.

    Precondition: strict reverse-path filtering (RFC 3704 2.2) on the near interface
    (net.ipv4.conf.all.rp_filter=1 and conf.eth0.rp_filter=1). The tester sends, on the near
    side, a datagram from 198.18.2.77, an address of the far subnet.
    """
    _rp_filter(routed, 1)
    routed.far.claims[SPOOFED_FAR_SOURCE] = routed.far.mac  # so an ICMP error to it could be delivered
    _send_from(routed, SPOOFED_FAR_SOURCE, 46001)
    routed.far.expect_none(udp_like(SPOOFED_FAR_SOURCE, FAR_DST, sport=46001))
    # "Silently": no ICMP error either, which would head for the far side, where the source lives.
    routed.far.expect_none(any_icmp_error_to(SPOOFED_FAR_SOURCE))


@case("RT-RPF-STRICT-ACCEPTS-VALID", rfc=1812, section="5.3.8", level=MUST, layer=3, needs=("sysctl",), also=(3704,))
def test_strict_rpf_forwards_source_from_right_interface(routed):
    """Source address validation discards only datagrams whose source is reached through another
    interface: one whose source is on the arrival interface's side is forwarded as usual.

    Precondition: strict reverse-path filtering on the near interface, as in RT-RPF-STRICT.
    """
    _rp_filter(routed, 1)
    _send_from(routed, routed.tester.ip, 46002)
    routed.far.expect(udp_like(routed.tester.ip, FAR_DST, sport=46002))


@case("RT-RPF-LOOSE-UNROUTED", rfc=3704, section="2.4", level=MAY, layer=3, needs=("sysctl",))
def test_loose_rpf_discards_unrouted_source(routed):
    """With loose reverse-path filtering, a datagram whose source address has no route at all in
    the router's table is discarded.

    Precondition: loose reverse-path filtering (net.ipv4.conf.all.rp_filter=2 and
    conf.eth0.rp_filter=2); the router has no default route. The source is 198.19.99.1.
    """
    _rp_filter(routed, 2)
    _send_from(routed, UNROUTED_SOURCE, 46003)
    routed.far.expect_none(udp_like(UNROUTED_SOURCE, FAR_DST, sport=46003))


@case("RT-RPF-LOOSE-ASYMMETRIC", rfc=3704, section="2.4", level=MAY, layer=3, needs=("sysctl",))
def test_loose_rpf_forwards_routable_source_on_any_interface(routed):
    """Loose reverse-path filtering only asks that the source be routable, not that it be
    reached through the arrival interface: such a datagram is forwarded.

    Precondition: loose reverse-path filtering as in RT-RPF-LOOSE-UNROUTED. The source is
    198.18.2.77, routable through the far interface, arriving on the near one.
    """
    _rp_filter(routed, 2)
    _send_from(routed, SPOOFED_FAR_SOURCE, 46004)
    routed.far.expect(udp_like(SPOOFED_FAR_SOURCE, FAR_DST, sport=46004))
