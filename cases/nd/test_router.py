"""Neighbor Discovery on a router (RFC 4861 6.2, 8.2, 8.4): the Redirects the SUT router sends
when it forwards a packet back onto the link it came from, Redirects it must not act on, and
Router Solicitations when it is not configured to advertise.

The SUT router reaches 2001:db8:7::/64 through a second router on the tester's link (fe80::a1),
so a packet from the tester to that prefix has a better first hop than the SUT.
"""

from scapy.layers.inet6 import UDP, ICMPv6ND_Redirect, ICMPv6NDOptRedirectedHdr, IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from cases.nd.frames import any_ra, redirect, rs, same_ip
from cases.nd.steps import NEIGHBOUR_MAC
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

NEEDS = ("second_segment",)
BEHIND_ALT = "2001:db8:7::5"
ON_LINK_HOST, ON_LINK_MAC = "2001:db8:1::55", "02:00:00:00:6b:55"


def datagram_to(rt, dst, size=16):
    return (Ether(src=rt.tester.mac, dst=rt.near.mac) / IPv6(src=rt.tester.ip6, dst=dst, hlim=64)
            / UDP(sport=40000, dport=40001) / Raw(b"r" * size))


def redirect_for(rt, dst, size=16):
    """Send a datagram that the SUT forwards back onto the tester's link; its Redirect."""
    rt.tester.send(datagram_to(rt, dst, size))
    try:
        return rt.tester.expect(like(IPv6(dst=rt.tester.ip6) / ICMPv6ND_Redirect()))
    except AssertionError as exc:
        raise AssertionError(f"RFC 4861 8.2: a router SHOULD send a Redirect when it forwards a packet back onto the link "
                             f"it came from, to a better first hop; none came ({exc})") from None


@case("ND-RTR-REDIRECT-SENT", rfc=4861, section="8.2", level=SHOULD, layer=3, needs=NEEDS)
def test_router_redirects_to_better_first_hop(nd_router):
    """A router forwarding a packet from a neighbour to a better first hop on the same link
    sends the neighbour a Redirect."""
    redirect_for(nd_router, BEHIND_ALT)


@case("ND-RTR-REDIRECT-TARGET-LINK-LOCAL", rfc=4861, section="8.2", level=MUST, layer=3, needs=NEEDS)
def test_redirect_names_router_by_link_local_address(nd_router):
    """A Redirect to a router names it by its link-local address in the Target field."""
    msg = redirect_for(nd_router, BEHIND_ALT)
    assert same_ip(msg[ICMPv6ND_Redirect].tgt, nd_router.alt_router.ll), (
        f"RFC 4861 8.2: that router's link-local address {nd_router.alt_router.ll} MUST be used; the Target was "
        f"{msg[ICMPv6ND_Redirect].tgt}")


@case("ND-RTR-REDIRECT-DESTINATION", rfc=4861, section="8.2", level=MUST, layer=3, needs=NEEDS)
def test_redirect_destination_is_invoking_destination(nd_router):
    """The Redirect's Destination Address is the destination of the packet that invoked it."""
    msg = redirect_for(nd_router, BEHIND_ALT)
    assert same_ip(msg[ICMPv6ND_Redirect].dst, BEHIND_ALT), (
        f"RFC 4861 8.2: the Destination Address field holds {BEHIND_ALT}; it held {msg[ICMPv6ND_Redirect].dst}")


@case("ND-RTR-REDIRECT-SOURCE-LINK-LOCAL", rfc=4861, section="4.5", level=MUST, layer=3, needs=NEEDS)
def test_redirect_comes_from_link_local_address(nd_router):
    """A Redirect's IP source is the router's link-local address on the interface, its Hop Limit 255."""
    msg = redirect_for(nd_router, BEHIND_ALT)
    assert same_ip(msg[IPv6].src, nd_router.near.ll), (
        f"RFC 4861 4.5: the source MUST be the link-local address {nd_router.near.ll}; it was {msg[IPv6].src}")
    assert msg[IPv6].hlim == 255, f"RFC 4861 4.5: Hop Limit 255; it was {msg[IPv6].hlim}"


@case("ND-RTR-REDIRECT-ON-LINK-TARGET", rfc=4861, section="8.2", level=MUST, layer=3, needs=NEEDS)
def test_redirect_to_on_link_host_names_destination(nd_router):
    """A Redirect telling a node that the destination is itself on the link has Target equal to
    Destination."""
    nd_router.tester.claims[ON_LINK_HOST] = ON_LINK_MAC
    msg = redirect_for(nd_router, ON_LINK_HOST)
    assert same_ip(msg[ICMPv6ND_Redirect].tgt, ON_LINK_HOST), (
        f"RFC 4861 8.2: if the target is a host, the Target MUST equal the Destination {ON_LINK_HOST}; it was "
        f"{msg[ICMPv6ND_Redirect].tgt}")


@case("ND-RTR-REDIRECT-HEADER-SIZE", title="Redirect quotes what fits in the minimum MTU", rfc=4861, section="8.2", level=MUST, layer=3, needs=NEEDS)
def test_redirect_quotes_what_fits_in_minimum_mtu(nd_router):
    """The Redirected Header option quotes the forwarded packet as far as the Redirect stays
    within the IPv6 minimum MTU (1280 octets)."""
    msg = redirect_for(nd_router, BEHIND_ALT, size=1400)
    size = 40 + msg[IPv6].plen
    assert size <= 1280, f"RFC 4861 8.2: the Redirect must not exceed 1280 octets; it had {size}"
    assert ICMPv6NDOptRedirectedHdr in msg, "RFC 4861 8.2: the Redirected Header option quotes the forwarded packet; none"


@case("ND-RTR-IGNORES-REDIRECT", rfc=4861, section="8.4", level=MUST, layer=3, needs=NEEDS)
def test_router_does_not_act_on_redirect(nd_router):
    """A router does not update its routing on a Redirect: packets for the destination keep
    their next hop."""
    rt = nd_router
    rt.tester.send(redirect(rt.alt_router.mac, rt.alt_router.ll, rt.near.mac, rt.near.ll, target="fe80::fe",
                            destination=BEHIND_ALT, tllao="02:00:00:00:6f:fe"))
    rt.tester.handled()
    rt.tester.send(datagram_to(rt, BEHIND_ALT))
    forwarded = rt.tester.expect(like(Ether(src=rt.near.mac) / IPv6(dst=BEHIND_ALT) / UDP(dport=40001)))
    assert forwarded[Ether].dst == rt.alt_router.mac, (
        f"RFC 4861 8.4: a router MUST NOT update its routing tables upon receipt of a Redirect; the packet went to "
        f"{forwarded[Ether].dst}, not its next hop {rt.alt_router.mac}")


@case("ND-RTR-NO-RA-BY-DEFAULT", rfc=4861, section="6.2.1", level=MUST, layer=3, needs=NEEDS)
def test_router_not_configured_to_advertise_sends_no_ra(nd_router):
    """A router's AdvSendAdvertisements is FALSE by default: unconfigured, it answers a Router
    Solicitation with no advertisement."""
    nd_router.tester.send(rs(NEIGHBOUR_MAC, "fe80::b1"))
    nd_router.tester.expect_none(any_ra())


@case("ND-RTR-RS-CREATES-STALE", rfc=4861, section="6.2.6", level=MUST, layer=3, needs=(*NEEDS, "neighbours"))
def test_router_solicitation_creates_stale_entry(nd_router):
    """A Router Solicitation with a Source Link-Layer Address option from a node the router has
    no entry for creates one, with that address, in state STALE."""
    sender = "fe80::b1"
    nd_router.tester.send(rs(NEIGHBOUR_MAC, sender))
    nd_router.tester.handled()
    found = nd_router.control.neighbours(nd_router.near.ifname, family=6).get(sender)
    assert found is not None and (found.mac, found.state) == (NEIGHBOUR_MAC, "STALE"), (
        f"RFC 4861 6.2.6: the router creates an entry, installs the link-layer address and sets it STALE; it is {found}")

