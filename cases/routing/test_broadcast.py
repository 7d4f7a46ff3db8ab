"""Forwarding of broadcasts (RFC 1812 5.3.4, 5.3.5.1, 5.3.5.2 as updated by RFC 2644)."""

from scapy.layers.inet import IP
from scapy.layers.l2 import Ether

from cases.routing.frames import BROADCAST_MAC, udp_frame, udp_like
from conformance.catalog import MAY, MUST, case
from conformance.verdict import Inconclusive

FAR_BROADCAST = "198.18.2.255"


@case("RT-LIMITED-BCAST-NOT-FORWARDED", rfc=1812, section="5.3.5.1", level=MUST, layer=3)
def test_limited_broadcast_is_not_forwarded(routed):
    """A datagram to the limited broadcast address 255.255.255.255 is never forwarded."""
    routed.tester.send(udp_frame(routed.tester.mac, BROADCAST_MAC, routed.tester.ip, "255.255.255.255", sport=47001))
    routed.far.expect_none(udp_like(routed.tester.ip, "255.255.255.255", sport=47001))


@case("RT-LL-BCAST-NOT-FORWARDED", rfc=1812, section="5.3.4", level=MUST, layer=3)
def test_unicast_datagram_in_link_broadcast_is_not_forwarded(routed):
    """A router does not forward a datagram it received as a link-layer broadcast unless it is
    addressed to an IP multicast address: a unicast datagram in a broadcast frame stays put.

    The datagram is addressed to the far host 198.18.2.2, which the router would otherwise
    forward to.
    """
    routed.tester.send(udp_frame(routed.tester.mac, BROADCAST_MAC, routed.tester.ip, "198.18.2.2", sport=47002))
    routed.far.expect_none(udp_like(routed.tester.ip, "198.18.2.2", sport=47002))


@case("RT-LL-MCAST-NOT-FORWARDED", rfc=1812, section="5.3.4", level=MUST, layer=3)
def test_unicast_datagram_in_link_multicast_is_not_forwarded(routed):
    """A router does not forward a datagram it received as a link-layer multicast unless it is
    addressed to an IP multicast address: a unicast datagram in a multicast frame stays put.

    The frame goes to 01:00:5e:00:00:09; the datagram inside is for the far host 198.18.2.2.
    """
    routed.tester.send(udp_frame(routed.tester.mac, "01:00:5e:00:00:09", routed.tester.ip, "198.18.2.2", sport=47005))
    routed.far.expect_none(udp_like(routed.tester.ip, "198.18.2.2", sport=47005))


@case("RT-DIRECTED-BCAST-DEFAULT-OFF", rfc=1812, section="5.3.5.2", level=MUST, layer=3, also=(2644,))
def test_directed_broadcast_not_forwarded_by_default(routed):
    """By default a router does not forward a directed broadcast onto the network it is
    directed to (RFC 2644 changed RFC 1812's default: the option MUST default to off).

    The tester sends, unicast to the router, a datagram to 198.18.2.255, the broadcast address of
    the far subnet. The SUT runs with its defaults for this.
    """
    for scope in ("all", routed.router_near.ifname, routed.router_far.ifname):
        value = routed.control.sysctl(f"net.ipv4.conf.{scope}.bc_forwarding")
        if value != "0":
            raise Inconclusive(f"the SUT does not run with the default here: conf.{scope}.bc_forwarding is {value} "
                               "(IPv4 conf/all is copied from the host's namespace)")
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, routed.tester.ip, FAR_BROADCAST, sport=47003))
    routed.far.expect_none(udp_like(routed.tester.ip, FAR_BROADCAST, sport=47003))


@case("RT-DIRECTED-BCAST-ENABLED", rfc=1812, section="5.3.5.2", level=MAY, layer=3, needs=("sysctl",),
      also=(2644, 919))
def test_directed_broadcast_forwarded_as_link_broadcast_when_enabled(routed):
    """When forwarding of directed broadcasts is enabled, a directed broadcast for an attached
    network is sent onto it as a link-layer broadcast.

    RFC 1812 5.3.5.2 made forwarding the default; RFC 2644 turned the default off and leaves the
    capability optional, so the case is a MAY. That the datagram goes onto the destination
    network as a link-layer broadcast is RFC 919 section 6 ("it should be sent as a (data link
    layer) broadcast on that network").

    Precondition: directed-broadcast forwarding on (net.ipv4.conf.all.bc_forwarding=1 and
    conf.eth0.bc_forwarding=1, conf.eth1.bc_forwarding=1).
    """
    for scope in ("all", routed.router_near.ifname, routed.router_far.ifname):
        routed.control.set_sysctl(f"net.ipv4.conf.{scope}.bc_forwarding", 1)
    routed.tester.send(udp_frame(routed.tester.mac, routed.router_near.mac, routed.tester.ip, FAR_BROADCAST, sport=47004))
    fwd = routed.far.expect(udp_like(routed.tester.ip, FAR_BROADCAST, sport=47004))
    assert fwd[Ether].dst == BROADCAST_MAC, (
        f"RFC 919 section 6: a directed broadcast for an attached network is sent onto it as a link-layer broadcast; "
        f"it went to {fwd[Ether].dst}"
    )
    assert fwd[IP].ttl < 64, f"the forwarded broadcast must have its TTL reduced from 64; it has TTL {fwd[IP].ttl}"
