"""Validation of received Router Advertisements (RFC 4861 6.1.2) and of Router Solicitations on
a host (6.2.6): a host MUST silently discard an advertisement that fails any check, and every
solicitation. An invalid advertisement with a non-zero Router Lifetime must not make its sender
the SUT's default router; the same advertisement with only the broken field corrected must (the
positive control, on the same path).
"""

from scapy.layers.inet6 import ICMPv6NDOptUnknown

from cases.nd.frames import any_ra, bad_checksum, ra, rs, truncated
from cases.nd.ra import OFF_LINK, default_gateway
from cases.nd.steps import NEIGHBOUR_MAC, entry
from conformance.catalog import MUST, case
from conformance.verdict import Inconclusive

NEEDS = ("routes",)


def ignored_then_honoured(host, invalid, valid=None):
    valid = valid if valid is not None else ra(host.router.mac, host.router.ll, lifetime=1800)
    host.tester.send(invalid)
    host.tester.handled()
    gateway = default_gateway(host)
    assert gateway is None, f"RFC 4861 6.1.2: an invalid advertisement MUST be discarded; the SUT now routes {OFF_LINK} via {gateway}"
    host.tester.send(valid)
    host.tester.handled()
    if default_gateway(host) is None:
        raise Inconclusive("positive control failed: the same advertisement, valid, did not make a default router either")


def router_ad(host, **kw):
    return ra(host.router.mac, host.router.ll, lifetime=1800, **kw)


@case("ND-RA-INVALID-SOURCE-GLOBAL", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_from_global_source_is_discarded(nd_host):
    """An advertisement whose IP source is not a link-local address is discarded."""
    ignored_then_honoured(nd_host, ra(nd_host.router.mac, "2001:db8:1::fe", lifetime=1800))


@case("ND-RA-INVALID-HOPLIMIT", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_hop_limit_below_255_is_discarded(nd_host):
    """An advertisement whose IP Hop Limit is not 255 is discarded."""
    ignored_then_honoured(nd_host, router_ad(nd_host, hlim=64))


@case("ND-RA-INVALID-CODE", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_code_not_zero_is_discarded(nd_host):
    """An advertisement whose ICMP Code is not 0 is discarded."""
    ignored_then_honoured(nd_host, router_ad(nd_host, code=1))


@case("ND-RA-INVALID-CHECKSUM", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_bad_checksum_is_discarded(nd_host):
    """An advertisement whose ICMP checksum is wrong is discarded."""
    ignored_then_honoured(nd_host, bad_checksum(router_ad(nd_host)))


@case("ND-RA-INVALID-SHORT", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_shorter_than_16_octets_is_discarded(nd_host):
    """An advertisement whose ICMP length is under 16 octets is discarded."""
    ignored_then_honoured(nd_host, truncated(router_ad(nd_host, sllao=False), 12), router_ad(nd_host, sllao=False))


@case("ND-RA-INVALID-OPTION-LENGTH-ZERO", rfc=4861, section="6.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_zero_length_option_is_discarded(nd_host):
    """An advertisement that includes an option of length zero is discarded."""
    ignored_then_honoured(nd_host, router_ad(nd_host, options=ICMPv6NDOptUnknown(type=200, len=0, data=b"")))


@case("ND-HOST-DISCARDS-RS", rfc=4861, section="6.2.6", level=MUST, layer=3, needs=("neighbours",))
def test_host_discards_router_solicitation(nd_host):
    """A host silently discards Router Solicitations: it answers none with an advertisement and
    learns no neighbour entry from one."""
    soliciting = "fe80::b1"
    nd_host.tester.send(rs(NEIGHBOUR_MAC, soliciting))
    nd_host.tester.expect_none(any_ra())
    found = entry(nd_host, soliciting)
    assert found is None, f"RFC 4861 6.2.6: a host MUST silently discard the solicitation; it made the entry {found}"
