"""Redirects received by a host (RFC 4861 8.1, 8.3). The SUT sends its reply to a remote host
through its default router (the tester's fe80::fe); a Redirect from that router names a better
first hop (another router on the link, or the destination itself). Where the next reply goes
is the oracle, with the SUT's neighbour cache.

Each invalid Redirect is followed by a reply that must still go through the default router,
then by the same Redirect made valid, after which the reply must take the new first hop: the
positive control that a Redirect is honoured on this very path.
"""

from scapy.layers.inet6 import ICMPv6NDOptUnknown
from scapy.layers.l2 import Ether

from cases.nd.frames import bad_checksum, echo, echo_reply, redirect, truncated
from cases.nd.steps import entry, ident
from conformance.catalog import MUST, SHOULD, case
from conformance.verdict import Inconclusive

REMOTE = "2001:db8:99::5"  # off-link: the SUT reaches it through its default router
REMOTE_MAC = "02:00:00:00:99:05"  # where REMOTE turns out to be when it is on-link after all
BETTER, BETTER_MAC = "fe80::b2", "02:00:00:00:6b:b2"  # a better first-hop router on the link
NEEDS = ("routes", "neighbours")


def via_default_router(host, gateway=None):
    """The SUT's default route through the tester's router; the first reply to REMOTE goes there."""
    gateway = gateway or host.router.ll
    host.control.add_route("::/0", gateway=gateway, dev=host.sut.ifname)
    if gateway != host.router.ll:
        host.tester.claims[gateway] = host.router.mac
    mac = reply_mac(host)
    if mac != host.router.mac:
        raise Inconclusive(f"precondition not met: the SUT replies to {REMOTE} through its router {host.router.mac}; it used {mac}")


def reply_mac(host) -> str:
    """Where the SUT sends its reply to REMOTE (an Echo Request from REMOTE, via the router)."""
    n = ident()
    reply = host.tester.exchange(echo(host.router.mac, REMOTE, host.sut.mac, host.sut.ip6, n), expect=echo_reply(n, to=REMOTE))
    return str(reply[Ether].dst)


def redirect_from_router(host, *, src=None, target=BETTER, tllao=BETTER_MAC, **kw):
    return redirect(host.router.mac, src or host.router.ll, host.sut.mac, host.sut.ip6, target=target, destination=REMOTE,
                    tllao=tllao, **kw)


def ignored_then_honoured(host, invalid, valid=None):
    host.tester.send(invalid)
    host.tester.handled()
    mac = reply_mac(host)
    assert mac == host.router.mac, (
        f"RFC 4861 8.1: an invalid Redirect MUST be silently discarded; the reply to {REMOTE} went to {mac}, not the "
        f"router {host.router.mac}")
    host.tester.send(valid if valid is not None else redirect_from_router(host))
    host.tester.handled()
    if reply_mac(host) != BETTER_MAC:
        raise Inconclusive("positive control failed: the same Redirect, valid, was not honoured either")


@case("ND-REDIRECT-TO-ROUTER", rfc=4861, section="8.3", level=SHOULD, layer=3, needs=NEEDS)
def test_redirect_to_better_router_is_followed(nd_host):
    """A valid Redirect to a better router on the link sends later traffic for the destination
    to that router."""
    via_default_router(nd_host)
    nd_host.tester.send(redirect_from_router(nd_host))
    nd_host.tester.handled()
    mac = reply_mac(nd_host)
    assert mac == BETTER_MAC, f"RFC 4861 8.3: subsequent traffic SHOULD go to the target {BETTER} ({BETTER_MAC}); it went to {mac}"


@case("ND-REDIRECT-ON-LINK", rfc=4861, section="8.3", level=MUST, layer=3, needs=NEEDS)
def test_redirect_to_destination_makes_it_on_link(nd_host):
    """A Redirect whose Target is the Destination says the destination is on-link: the SUT sends
    to it directly."""
    via_default_router(nd_host)
    nd_host.tester.send(redirect_from_router(nd_host, target=REMOTE, tllao=REMOTE_MAC))
    nd_host.tester.handled()
    mac = reply_mac(nd_host)
    assert mac == REMOTE_MAC, f"RFC 4861 8.3: the host MUST treat the Target as on-link; the reply went to {mac}, not {REMOTE_MAC}"


@case("ND-REDIRECT-TLLAO-STALE", rfc=4861, section="8.3", level=MUST, layer=3, needs=NEEDS)
def test_redirect_target_lladdr_creates_stale_entry(nd_host):
    """A Redirect's Target Link-Layer Address option creates the target's neighbour entry with
    that address, in state STALE."""
    via_default_router(nd_host)
    nd_host.tester.send(redirect_from_router(nd_host))
    nd_host.tester.handled()
    found = entry(nd_host, BETTER)
    assert found is not None and (found.mac, found.state) == (BETTER_MAC, "STALE"), (
        f"RFC 4861 8.3: the entry created for the target MUST be STALE at {BETTER_MAC}; it is {found}")


@case("ND-REDIRECT-TARGET-ISROUTER", rfc=4861, section="8.3", level=MUST, layer=3, needs=NEEDS)
def test_redirect_target_router_is_router(nd_host):
    """When the Target differs from the Destination, the target's IsRouter flag is set."""
    via_default_router(nd_host)
    nd_host.tester.send(redirect_from_router(nd_host))
    nd_host.tester.handled()
    found = entry(nd_host, BETTER)
    assert found is not None and found.router, f"RFC 4861 8.3: the host MUST set IsRouter to TRUE for the target; the entry is {found}"


@case("ND-REDIRECT-NOT-FIRST-HOP", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_not_from_first_hop_is_discarded(nd_host):
    """A Redirect whose source is not the current first-hop router for the destination is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host, src="fe80::99"))


@case("ND-REDIRECT-SOURCE-NOT-LINK-LOCAL", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_from_global_source_is_discarded(nd_host):
    """A Redirect whose IP source is not link-local is discarded, even from the first-hop router
    (here reached at its global address)."""
    router_global = "2001:db8:1::fe"
    via_default_router(nd_host, gateway=router_global)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host, src=router_global),
                          valid=_relabelled(nd_host, router_global))


def _relabelled(host, router_global):
    """The positive control for a first hop known by its global address: the host cannot accept
    a Redirect from it at all, so the route is moved to the router's link-local address first."""
    host.control.del_route("::/0", gateway=router_global, dev=host.sut.ifname)
    host.control.add_route("::/0", gateway=host.router.ll, dev=host.sut.ifname)
    return redirect_from_router(host)


@case("ND-REDIRECT-INVALID-HOPLIMIT", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_with_hop_limit_below_255_is_discarded(nd_host):
    """A Redirect whose IP Hop Limit is not 255 is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host, hlim=254))


@case("ND-REDIRECT-INVALID-CODE", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_with_code_not_zero_is_discarded(nd_host):
    """A Redirect whose ICMP Code is not 0 is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host, code=1))


@case("ND-REDIRECT-INVALID-CHECKSUM", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_with_bad_checksum_is_discarded(nd_host):
    """A Redirect whose ICMP checksum is wrong is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, bad_checksum(redirect_from_router(nd_host)))


@case("ND-REDIRECT-INVALID-SHORT", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_shorter_than_40_octets_is_discarded(nd_host):
    """A Redirect whose ICMP length is under 40 octets is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, truncated(redirect_from_router(nd_host, tllao=None), 36))


@case("ND-REDIRECT-INVALID-DESTINATION-MULTICAST", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_for_multicast_destination_is_discarded(nd_host):
    """A Redirect whose Destination Address is a multicast address is discarded: it changes
    nothing, the route to the remote host included."""
    via_default_router(nd_host)
    invalid = redirect(nd_host.router.mac, nd_host.router.ll, nd_host.sut.mac, nd_host.sut.ip6, target=BETTER,
                       destination="ff0e::db8:1", tllao=BETTER_MAC)
    nd_host.tester.send(invalid)
    nd_host.tester.handled()
    found = entry(nd_host, BETTER)
    assert found is None, f"RFC 4861 8.1: the Redirect MUST be silently discarded; it made the entry {found}"
    ignored_then_honoured(nd_host, invalid)


@case("ND-REDIRECT-INVALID-TARGET", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_to_global_router_address_is_discarded(nd_host):
    """A Redirect whose Target is neither link-local nor the Destination is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host, target="2001:db8:1::b2"))


@case("ND-REDIRECT-INVALID-OPTION-LENGTH-ZERO", rfc=4861, section="8.1", level=MUST, layer=3, needs=NEEDS)
def test_redirect_with_zero_length_option_is_discarded(nd_host):
    """A Redirect that includes an option of length zero is discarded."""
    via_default_router(nd_host)
    ignored_then_honoured(nd_host, redirect_from_router(nd_host) / ICMPv6NDOptUnknown(type=200, len=0, data=b""))
