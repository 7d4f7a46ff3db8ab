"""Router Advertisements processed by a host (RFC 4861 6.3.4, 6.3.5): the Default Router List,
the Prefix List (on-link determination), and the parameters a router hands its hosts. The SUT's
routes, neighbour cache and settings are the oracles; the RA comes from the tester's router at
fe80::fe, and the fence (answered after the RA) shows the SUT has processed it.

Section 6.3.4 describes the list updates in the indicative ("create a new entry"); they are read
as MUST, its SHOULDs as SHOULD.
"""

from scapy.layers.inet6 import ICMPv6EchoReply, IPv6, IPv6ExtHdrFragment

from cases.nd.frames import echo, mtu_option, pio, ra
from cases.nd.ra import OFF_LINK, advertise, default_gateway, on_link, route
from cases.nd.steps import OTHER_MAC, entry, ident, make_reachable, watch
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

PREFIX, IN_PREFIX = "2001:db8:5::/64", "2001:db8:5::9"
NEEDS = ("routes",)


@case("ND-RA-DEFAULT-ROUTER", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=NEEDS)
def test_advertising_router_becomes_default_router(nd_host):
    """A router advertising a non-zero Router Lifetime enters the Default Router List: the SUT
    sends off-link traffic through it."""
    assert default_gateway(nd_host) is None, "precondition: the SUT starts with no default router"
    advertise(nd_host, lifetime=1800)
    gateway = default_gateway(nd_host)
    assert gateway == nd_host.router.ll, (
        f"RFC 4861 6.3.4: the router {nd_host.router.ll} joins the Default Router List; the SUT's next hop to {OFF_LINK} "
        f"is {gateway}")


@case("ND-RA-LIFETIME-ZERO", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=NEEDS)
def test_router_lifetime_zero_removes_default_router(nd_host):
    """An advertisement with Router Lifetime zero from a router in the Default Router List
    times its entry out at once."""
    advertise(nd_host, lifetime=1800)
    assert default_gateway(nd_host) == nd_host.router.ll, "precondition: the router is the SUT's default router"
    advertise(nd_host, lifetime=0)
    gateway = default_gateway(nd_host)
    assert gateway is None, f"RFC 4861 6.3.4: a Router Lifetime of zero immediately times the entry out; the SUT still uses {gateway}"


@case("ND-RA-LIFETIME-EXPIRES", rfc=4861, section="6.3.5", level=MUST, layer=3, needs=NEEDS,
      waits="the advertised Router Lifetime, 1 s")
def test_default_router_expires_with_its_lifetime(nd_host):
    """A default router whose Router Lifetime runs out without a new advertisement is discarded."""
    advertise(nd_host, lifetime=1)
    assert default_gateway(nd_host) == nd_host.router.ll, "precondition: the router is the SUT's default router"
    watch(nd_host.tester, 1.3)
    gateway = default_gateway(nd_host)
    assert gateway is None, f"RFC 4861 6.3.5: the entry is discarded when its invalidation timer expires (1 s); after 1.3 s the SUT uses {gateway}"


@case("ND-RA-PIO-ON-LINK", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=NEEDS)
def test_prefix_with_on_link_flag_is_on_link(nd_host):
    """A Prefix Information option with the on-link (L) flag puts the prefix in the Prefix List:
    addresses in it are reached directly."""
    advertise(nd_host, lifetime=1800, options=pio(PREFIX, L=1, A=0))
    assert on_link(nd_host, IN_PREFIX), (
        f"RFC 4861 6.3.4: {PREFIX} is on-link; the SUT's route to {IN_PREFIX} is {route(nd_host, IN_PREFIX)}")


@case("ND-RA-PIO-NOT-ON-LINK", rfc=4861, section="4.6.2", level=MUST, layer=3, needs=NEEDS)
def test_prefix_without_on_link_flag_is_not_on_link(nd_host):
    """A Prefix Information option without the L flag says nothing about on-link: the prefix is
    not taken as on-link, and traffic to it goes through the default router."""
    advertise(nd_host, lifetime=1800, options=pio(PREFIX, L=0, A=0))
    r = route(nd_host, IN_PREFIX)
    assert r is not None and r["gateway"] == nd_host.router.ll, (
        f"RFC 4861 4.6.2: with L clear the advertisement makes no on-link statement; {IN_PREFIX} must go via the default "
        f"router {nd_host.router.ll}; the SUT's route is {r}")


@case("ND-RA-PIO-LIFETIME-ZERO", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=NEEDS)
def test_on_link_prefix_with_valid_lifetime_zero_times_out(nd_host):
    """An on-link prefix advertised again with Valid Lifetime zero is timed out at once."""
    advertise(nd_host, lifetime=0, options=pio(PREFIX, L=1, A=0))
    assert on_link(nd_host, IN_PREFIX), "precondition: the prefix is on-link after the first advertisement"
    advertise(nd_host, lifetime=0, options=pio(PREFIX, L=1, A=0, valid=0, preferred=0))
    assert not on_link(nd_host, IN_PREFIX), (
        f"RFC 4861 6.3.4: a new lifetime of zero times the prefix out immediately; the route is {route(nd_host, IN_PREFIX)}")


@case("ND-RA-CUR-HOP-LIMIT", rfc=4861, section="6.3.4", level=SHOULD, layer=3)
def test_cur_hop_limit_is_adopted(nd_host):
    """A non-zero Cur Hop Limit becomes the Hop Limit of the packets the SUT originates."""
    advertise(nd_host, lifetime=0, chlim=77)
    n = ident()
    reply = nd_host.tester.exchange(echo(nd_host.tester.mac, nd_host.tester.ip6, nd_host.sut.mac, nd_host.sut.ip6, n),
                                    expect=like(ICMPv6EchoReply(id=n)))
    assert reply[IPv6].hlim == 77, f"RFC 4861 6.3.4: the host SHOULD set its CurHopLimit to 77; the reply had {reply[IPv6].hlim}"


@case("ND-RA-CUR-HOP-LIMIT-ZERO", rfc=4861, section="6.3.4", level=SHOULD, layer=3)
def test_cur_hop_limit_zero_changes_nothing(nd_host):
    """A Cur Hop Limit of zero is unspecified: the SUT keeps the Hop Limit it had."""
    n = ident()
    probe = echo(nd_host.tester.mac, nd_host.tester.ip6, nd_host.sut.mac, nd_host.sut.ip6, n)
    before = nd_host.tester.exchange(probe, expect=like(ICMPv6EchoReply(id=n)))[IPv6].hlim
    advertise(nd_host, lifetime=0, chlim=0)
    after = nd_host.tester.exchange(probe, expect=like(ICMPv6EchoReply(id=n)))[IPv6].hlim
    assert after == before and after != 0, (
        f"RFC 4861 6.3.4: only a non-zero Cur Hop Limit is adopted; the Hop Limit went from {before} to {after}")


@case("ND-RA-REACHABLE-TIME", rfc=4861, section="6.3.4", level=SHOULD, layer=3, needs=("sysctl",))
def test_reachable_time_is_adopted(nd_host):
    """A non-zero Reachable Time becomes the SUT's BaseReachableTime."""
    advertise(nd_host, lifetime=0, reachable=2000)
    value = nd_host.control.sysctl(nd_host.nd_prefix + "base_reachable_time_ms")
    assert int(value) == 2000, f"RFC 4861 6.3.4: BaseReachableTime SHOULD become 2000 ms; the SUT has {value} ms"


@case("ND-RA-RETRANS-TIMER", rfc=4861, section="6.3.4", level=SHOULD, layer=3, needs=("sysctl",))
def test_retrans_timer_is_adopted(nd_host):
    """A non-zero Retrans Timer becomes the SUT's RetransTimer."""
    advertise(nd_host, lifetime=0, retrans=400)
    value = nd_host.control.sysctl(nd_host.nd_prefix + "retrans_time_ms")
    assert int(value) == 400, f"RFC 4861 6.3.4: RetransTimer SHOULD become 400 ms; the SUT has {value} ms"


def reply_sizes(host, size):
    n = ident()
    host.tester.send(echo(host.tester.mac, host.tester.ip6, host.sut.mac, host.sut.ip6, n, data=b"m" * size))
    first = host.tester.expect(like(IPv6(src=host.sut.ip6, dst=host.tester.ip6)))
    frames = [first]
    if IPv6ExtHdrFragment in first:
        frames.append(host.tester.expect(like(IPv6(src=host.sut.ip6) / IPv6ExtHdrFragment())))
    return [40 + f[IPv6].plen for f in frames]


@case("ND-RA-MTU", title="MTU option sets the link MTU", rfc=4861, section="6.3.4", level=SHOULD, layer=3, needs=("sysctl",))
def test_mtu_option_sets_link_mtu(nd_host):
    """An MTU option of at least the IPv6 minimum becomes the link's MTU: the SUT sends no packet
    larger on the link."""
    advertise(nd_host, lifetime=0, options=mtu_option(1400))
    sizes = reply_sizes(nd_host, 1420)
    assert max(sizes) <= 1400, f"RFC 4861 6.3.4: the host SHOULD copy the MTU option's 1400 into LinkMTU; it sent packets of {sizes} octets"


@case("ND-RA-MTU-BELOW-MINIMUM", title="MTU option below the IPv6 minimum is ignored", rfc=4861, section="6.3.4", level=SHOULD, layer=3, needs=("sysctl",))
def test_mtu_option_below_minimum_is_ignored(nd_host):
    """An MTU option below the IPv6 minimum link MTU (1280) is not adopted."""
    advertise(nd_host, lifetime=0, options=mtu_option(1200))
    sizes = reply_sizes(nd_host, 1300)
    assert sizes == [1348], f"RFC 4861 6.3.4: an MTU of 1200 (under 1280) is ignored; the 1348-octet reply went out as {sizes}"


@case("ND-RA-SLLAO-RECORDED", rfc=4861, section="6.3.4", level=SHOULD, layer=3, needs=("neighbours",))
def test_router_lladdr_is_recorded(nd_host):
    """The advertisement's Source Link-Layer Address is recorded in the router's neighbour entry."""
    advertise(nd_host, lifetime=1800)
    found = entry(nd_host, nd_host.router.ll)
    assert found is not None and found.mac == nd_host.router.mac, (
        f"RFC 4861 6.3.4: the link-layer address SHOULD be recorded for {nd_host.router.ll}; the entry is {found}")


@case("ND-RA-NEW-ENTRY-STALE", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=("neighbours",))
def test_router_entry_created_stale(nd_host):
    """A neighbour entry the advertisement creates for the router is in state STALE."""
    advertise(nd_host, lifetime=1800)
    found = entry(nd_host, nd_host.router.ll)
    assert found is not None and found.state == "STALE", (
        f"RFC 4861 6.3.4: if a Neighbor Cache entry is created for the router, its state MUST be STALE; it is {found}")


@case("ND-RA-ISROUTER", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=("neighbours",))
def test_router_entry_is_router(nd_host):
    """The advertising router's neighbour entry has its IsRouter flag set."""
    advertise(nd_host, lifetime=1800)
    found = entry(nd_host, nd_host.router.ll)
    assert found is not None and found.router, f"RFC 4861 6.3.4: the IsRouter flag MUST be set to TRUE; the entry is {found}"


@case("ND-RA-SLLAO-CHANGED-STALE", rfc=4861, section="6.3.4", level=MUST, layer=3, needs=("neighbours",))
def test_router_new_lladdr_makes_entry_stale(nd_host):
    """An advertisement whose Source Link-Layer Address differs from the router's REACHABLE
    entry updates the entry and sets it STALE."""
    make_reachable(nd_host, nd_host.router.ll, nd_host.router.mac)
    nd_host.tester.send(ra(OTHER_MAC, nd_host.router.ll, lifetime=1800))
    nd_host.tester.handled()
    found = entry(nd_host, nd_host.router.ll)
    assert found is not None and (found.mac, found.state) == (OTHER_MAC, "STALE"), (
        f"RFC 4861 6.3.4: updated with {OTHER_MAC}, the state MUST also be set to STALE; the entry is {found}")


