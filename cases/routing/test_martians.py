"""Martian address filtering: invalid sources and destinations are not forwarded (RFC 1812 5.3.7).

Each case first gives the router a default route via the far host, so that without the
martian check the datagram would be forwarded there. The filter's switch, if any, is left at
its default, which RFC 1812 says MUST be to perform the checks.
"""

from scapy.layers.inet import IP

from cases.routing.frames import udp_frame
from conformance.catalog import SHOULD, case
from conformance.match import like

FAR_DST = "198.18.2.2"


def _not_forwarded(routed, src: str, dst: str, sport: int) -> None:
    routed.control.add_route("0.0.0.0/0", gateway=FAR_DST)
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, src, dst, sport=sport))
    routed.far.expect_none(like(IP(src=src, dst=dst)))


@case("RT-MARTIAN-SRC-NET0", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_source_on_network_zero_not_forwarded(routed):
    """A datagram with a source address on network 0 (0.1.2.3) is not forwarded."""
    _not_forwarded(routed, "0.1.2.3", FAR_DST, 49001)


@case("RT-MARTIAN-SRC-LOOPBACK", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_loopback_source_not_forwarded(routed):
    """A datagram with a source address on network 127 (127.0.0.9), received on a real interface,
    is not forwarded."""
    _not_forwarded(routed, "127.0.0.9", FAR_DST, 49002)


@case("RT-MARTIAN-SRC-MULTICAST", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_multicast_source_not_forwarded(routed):
    """A datagram whose source is not a unicast address (the multicast 224.0.0.9) is not
    forwarded: such a source address is invalid."""
    _not_forwarded(routed, "224.0.0.9", FAR_DST, 49003)


@case("RT-MARTIAN-SRC-BROADCAST", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_limited_broadcast_source_not_forwarded(routed):
    """A datagram with the limited broadcast address 255.255.255.255 as its source is not
    forwarded: such a source address is invalid."""
    _not_forwarded(routed, "255.255.255.255", FAR_DST, 49004)


@case("RT-MARTIAN-SRC-CLASS-E", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_class_e_source_not_forwarded(routed):
    """A datagram with a Class E source address (240.0.0.1) is not forwarded: RFC 1812 5.3.7
    calls a source that "is not a unicast address" invalid, and Class E addresses are reserved
    for experimental use (4.2.2.11), not unicast."""
    _not_forwarded(routed, "240.0.0.1", FAR_DST, 49005)


@case("RT-MARTIAN-DST-NET0", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_destination_on_network_zero_not_forwarded(routed):
    """A datagram to a destination on network 0 (0.1.2.3) is not forwarded, default route or not."""
    _not_forwarded(routed, routed.tester.ip, "0.1.2.3", 49006)


@case("RT-MARTIAN-DST-LOOPBACK", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_loopback_destination_not_forwarded(routed):
    """A datagram to a destination on network 127 (127.0.0.9) received on a real interface is not
    forwarded."""
    _not_forwarded(routed, routed.tester.ip, "127.0.0.9", 49007)


@case("RT-MARTIAN-DST-CLASS-E", rfc=1812, section="5.3.7", level=SHOULD, layer=3, needs=("routes",))
def test_class_e_destination_not_forwarded(routed):
    """A datagram to a Class E destination (240.0.0.1) is not forwarded: RFC 1812 5.3.7 calls
    every Class E address except 255.255.255.255 an invalid destination."""
    _not_forwarded(routed, routed.tester.ip, "240.0.0.1", 49008)
