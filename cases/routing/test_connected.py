"""Connected routes on a router follow its addresses and links (RFC 1812 5.2.4.2, 4.3.3.1;
RFC 1122 3.3.1.1), and a host with forwarding off does not forward (RFC 1122 3.1)."""

from scapy.layers.inet import ICMP, IP, IPerror

from cases.routing.frames import arp_request_for, udp_frame, udp_like
from conformance.catalog import MUST, case
from conformance.match import like

NEW_FAR_CIDR, NEW_FAR_HOST = "198.18.9.1/24", "198.18.9.5"


def _send(routed, dst: str, sport: int) -> None:
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, routed.tester.ip, dst, sport=sport))


@case("RT-CONNECTED-ADDED", rfc=1812, section="5.2.4.2", level=MUST, layer=3, needs=("routes",), also=(1122,))
def test_address_added_makes_its_subnet_directly_reachable(routed):
    """When the router gets an address on a new subnet, that subnet becomes directly connected:
    datagrams for it are delivered on that interface after resolving the destination itself.

    RFC 1812 5.2.4.2 (Local/Remote Decision): the algorithm that "MUST be used" compares the
    destination with the network prefix of each IP address assigned to the router.

    Precondition: 198.18.9.1/24 is added on the router's far interface. The far Port answers ARP
    for 198.18.9.5.
    """
    routed.control.add_address(NEW_FAR_CIDR, routed.router_far.ifname)
    routed.far.claims[NEW_FAR_HOST] = routed.far.mac
    _send(routed, NEW_FAR_HOST, 44001)
    routed.far.expect(arp_request_for(NEW_FAR_HOST))
    fwd = routed.far.expect(udp_like(routed.tester.ip, NEW_FAR_HOST, sport=44001, dst_mac=routed.far.mac))
    assert fwd[IP].ttl < 64, f"the datagram must be forwarded, its TTL reduced from 64; it has TTL {fwd[IP].ttl}"


@case("RT-CONNECTED-ADDR-REMOVED", rfc=1812, section="4.3.3.1", level=MUST, layer=3, needs=("routes",))
def test_address_removed_withdraws_connected_route(routed):
    """When the router's only address on a subnet is removed, the subnet is no longer connected:
    a datagram for it is not forwarded there, and with no other route it is answered with
    Destination Unreachable, network unreachable.

    Precondition: the router's far address 198.18.2.1/24 is removed. Once the error is in, the
    address is given back, so that a datagram forwarded to the far host after it shows the far
    path open: had the router forwarded the first datagram anyway, it would have come before.
    """
    far_address = routed.router_far.ip + "/24"
    routed.control.del_address(far_address, routed.router_far.ifname)
    _send(routed, "198.18.2.2", 44002)
    err = routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst="198.18.2.2")))
    assert err[ICMP].code == 0, f"RFC 1812 4.3.3.1: with no route left the code MUST be 0 (network unreachable), not {err[ICMP].code}"
    routed.control.add_address(far_address, routed.router_far.ifname)  # only for the control that ends the check
    routed.far.expect_none(udp_like(routed.tester.ip, "198.18.2.2", sport=44002))


@case("RT-CONNECTED-LINK-DOWN", rfc=1812, section="4.3.3.1", level=MUST, layer=3, needs=("routes",))
def test_link_down_withdraws_connected_route(routed):
    """When an interface goes down, the routes through it stop being used: a datagram for the
    subnet behind it is answered with Destination Unreachable, network unreachable.

    Precondition: the router's far interface is set administratively down.
    """
    routed.control.set_link_down(routed.router_far.ifname)
    _send(routed, "198.18.2.2", 44003)
    err = routed.tester.expect(like(IP(dst=routed.tester.ip) / ICMP(type=3) / IPerror(dst="198.18.2.2")))
    assert err[ICMP].code == 0, f"RFC 1812 4.3.3.1: with no usable route the code MUST be 0 (network unreachable), not {err[ICMP].code}"


@case("RT-HOST-NO-FORWARD", rfc=1122, section="3.1", level=MUST, layer=3, needs=("sysctl",))
def test_no_forwarding_when_forwarding_is_off(routed):
    """A host with its gateway function switched off does not forward a datagram it receives for
    another host, even when it is connected to the destination's network.

    RFC 1122 3.1 (where 1.1.4, Embedded Gateway Code, sends the reader for "the detailed
    requirements"): the gateway switch "MUST default to the non-gateway mode. In this mode, a
    datagram arriving through one interface will not be forwarded to another host or gateway".

    Precondition: net.ipv4.ip_forward=0 on the SUT, which otherwise is the `routed` router (and
    has forwarded a datagram to the far host while it was one, when the topology was set up).
    Once the SUT has handled the datagram (the tester's echo fence is answered), forwarding is
    turned back on for a control datagram to the far host alone: it shows the path open, and
    had the host forwarded the first datagram, that would have come before it.
    """
    routed.control.set_sysctl("net.ipv4.ip_forward", 0)
    _send(routed, "198.18.2.2", 44004)
    routed.tester.handled()
    routed.control.set_sysctl("net.ipv4.ip_forward", 1)  # only for the control that ends the check
    routed.far.expect_none(udp_like(routed.tester.ip, "198.18.2.2", sport=44004))
