"""Datagrams a router cannot forward, and what it tells their source (RFC 1812 4.3.3.1, 5.2.7.1)."""

from scapy.layers.inet import ICMP, IP, IPerror

from cases.routing.frames import any_icmp_error_to, udp_frame, udp_like
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like

REMOTE_NET, REMOTE_DST = "198.19.0.0/16", "198.19.9.9"
SILENT_NEIGHBOUR = "198.18.2.77"  # on the far subnet; nobody answers ARP for it


def _send(routed, dst: str, sport: int) -> None:
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, routed.tester.ip, dst, sport=sport))


def _default_via_far(routed) -> None:
    """Without the special route, the datagram would be forwarded to the far host."""
    routed.control.add_route("0.0.0.0/0", gateway="198.18.2.2")


@case("RT-NO-ROUTE-NET-UNREACH", rfc=1812, section="4.3.3.1", level=MUST, layer=3)
def test_no_route_yields_network_unreachable(routed):
    """A datagram for which the router has no route at all (not even a default route) is answered
    with Destination Unreachable, code 0 (network unreachable)."""
    _send(routed, REMOTE_DST, 42001)
    err = routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst=REMOTE_DST)))
    assert err[ICMP].code == 0, f"RFC 1812 4.3.3.1: no route at all MUST give code 0 (network unreachable), not {err[ICMP].code}"


@case("RT-NEXTHOP-HOST-UNREACH", rfc=1812, section="4.3.3.1", level=MUST, layer=3, needs=("sysctl",),
      waits="ARP give-up for the silent neighbour: one probe, 50 ms after sysctl")
def test_unresolvable_neighbour_yields_host_unreachable(routed):
    """A datagram for a host on a directly connected network that does not answer ARP is
    answered with Destination Unreachable, code 1 (host unreachable).

    Precondition: on the far interface, the SUT gives up resolution after one ARP request and
    50 ms (net.ipv4.neigh.eth1.mcast_solicit=1, retrans_time_ms=50) instead of 3 s.
    """
    routed.control.set_sysctl(f"net.ipv4.neigh.{routed.router_far.ifname}.mcast_solicit", 1)
    routed.control.set_sysctl(f"net.ipv4.neigh.{routed.router_far.ifname}.retrans_time_ms", 50)
    _send(routed, SILENT_NEIGHBOUR, 42002)
    err = routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst=SILENT_NEIGHBOUR)), timeout=3.0)
    assert err[ICMP].code == 1, (
        f"RFC 1812 4.3.3.1: an unreachable host on a connected network MUST give code 1 (host unreachable), not {err[ICMP].code}"
    )


@case("RT-ROUTE-UNREACHABLE-ICMP", rfc=1812, section="5.2.7.1", level=MUST, layer=3, needs=("routes",))
def test_unreachable_route_yields_destination_unreachable(routed):
    """A datagram that matches a route configured as unreachable is discarded and answered with
    Destination Unreachable, not forwarded.

    Preconditions: a default route via the far host, and `unreachable 198.19.0.0/16`.

    RFC 1812 5.2.7.1: "A router MUST be able to generate ICMP Destination Unreachable messages
    and SHOULD choose a response code that most closely matches the reason"; the code is that
    SHOULD and is not judged by this MUST case.
    """
    _default_via_far(routed)
    routed.control.add_route(REMOTE_NET, type="unreachable")
    _send(routed, REMOTE_DST, 42003)
    routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst=REMOTE_DST),
                              name="an ICMP Destination Unreachable (RFC 1812 5.2.7.1: a router MUST be able to "
                                   "generate one for a datagram it cannot forward)"))
    routed.far.expect_none(udp_like(routed.tester.ip, REMOTE_DST, sport=42003))


@case("RT-ROUTE-PROHIBIT-CODE13", rfc=1812, section="5.2.7.1", level=SHOULD, layer=3, needs=("routes",))
def test_prohibit_route_yields_administratively_prohibited(routed):
    """A datagram discarded by administrative policy (a prohibit route) is answered with
    Destination Unreachable code 13, communication administratively prohibited.

    Preconditions: a default route via the far host, and `prohibit 198.19.0.0/16`.
    """
    _default_via_far(routed)
    routed.control.add_route(REMOTE_NET, type="prohibit")
    _send(routed, REMOTE_DST, 42004)
    err = routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst=REMOTE_DST)))
    assert err[ICMP].code == 13, (
        f"RFC 1812 5.2.7.1: administrative filtering should be reported with code 13, not {err[ICMP].code}"
    )


@case("RT-ROUTE-BLACKHOLE-SILENT", rfc=1812, section="5.2.7.1", level=MAY, layer=3, needs=("routes",))
def test_blackhole_route_discards_silently(routed):
    """A router may be configured to drop administratively prohibited traffic without any ICMP
    error: a datagram matching a blackhole route is neither forwarded nor answered.

    Preconditions: a default route via the far host, and `blackhole 198.19.0.0/16`.
    """
    _default_via_far(routed)
    routed.control.add_route(REMOTE_NET, type="blackhole")
    _send(routed, REMOTE_DST, 42005)
    routed.tester.expect_none(any_icmp_error_to(routed.tester.ip))
    routed.far.expect_none(udp_like(routed.tester.ip, REMOTE_DST, sport=42005))
