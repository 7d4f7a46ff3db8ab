"""Neighbor Solicitations the SUT receives and the Neighbor Advertisements it answers with
(RFC 4861 7.2.3, 7.2.4): which solicitations are answered, the advertisement's flags and
options, and what the solicitation teaches the SUT's neighbour cache.

The RFC states the receiver's algorithm in the indicative ("the node sends a Neighbor
Advertisement"); those steps are read as MUST, its own SHOULDs as SHOULD. The section 4.4
format (Hop Limit 255) is MUST: a receiver must discard any other (7.1.2).
"""

from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, ICMPv6NDOptUnknown, IPv6
from scapy.layers.l2 import Ether

from cases.nd.frames import ALL_NODES, ALL_NODES_MAC, UNSPECIFIED, na_for, ns, option, same_ip
from cases.nd.steps import NEIGHBOUR_IP, NEIGHBOUR_MAC, OTHER_MAC, entry, make_reachable, na_to
from conformance.catalog import MUST, SHOULD, case

NEEDS = ("neighbours",)


def answer_to_multicast_ns(host, target=None):
    target = target or host.sut.ip6
    return host.tester.exchange(ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, target), expect=na_for(target))


@case("ND-NA-ANSWERS-NS", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_solicitation_for_own_address_is_answered(nd_host):
    """A valid Neighbor Solicitation for one of the SUT's addresses is answered with a Neighbor
    Advertisement whose Target Address is the solicitation's."""
    advert = answer_to_multicast_ns(nd_host)
    assert same_ip(advert[ICMPv6ND_NA].tgt, nd_host.sut.ip6)


@case("ND-NA-LINK-LOCAL-TARGET", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_solicitation_for_link_local_address_is_answered(nd_host):
    """A solicitation for the SUT's link-local address is answered like one for its global address."""
    answer_to_multicast_ns(nd_host, nd_host.sut.ll)


@case("ND-NA-SOLICITED-UNICAST", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_answer_is_solicited_and_unicast(nd_host):
    """The answer to a solicitation from a unicast source has the Solicited flag set and is
    unicast to that source."""
    advert = answer_to_multicast_ns(nd_host)
    assert advert[ICMPv6ND_NA].S == 1, "RFC 4861 7.2.4: the node MUST set the Solicited flag to one"
    assert same_ip(advert[IPv6].dst, NEIGHBOUR_IP), (
        f"RFC 4861 7.2.4: the advertisement is unicast to the solicitation's source {NEIGHBOUR_IP}; it went to {advert[IPv6].dst}")
    assert advert[Ether].dst == NEIGHBOUR_MAC, f"it goes to the solicitor's MAC {NEIGHBOUR_MAC}, went to {advert[Ether].dst}"


@case("ND-NA-TLLAO-FOR-MULTICAST-NS", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_answer_to_multicast_solicitation_carries_target_lladdr(nd_host):
    """When the solicitation was sent to a multicast address, the advertisement includes the
    Target Link-Layer Address option with the SUT's MAC."""
    advert = answer_to_multicast_ns(nd_host)
    opt = option(advert, ICMPv6NDOptDstLLAddr)
    assert opt is not None, "RFC 4861 7.2.4: the Target Link-Layer option MUST be included; there was none"
    assert opt.lladdr == nd_host.sut.mac, f"the option must carry {nd_host.sut.mac}; it carried {opt.lladdr}"


@case("ND-NA-OVERRIDE-SET", rfc=4861, section="7.2.4", level=SHOULD, layer=3)
def test_answer_for_own_unicast_address_sets_override(nd_host):
    """An advertisement for the SUT's own unicast address that carries its link-layer address
    has the Override flag set."""
    advert = answer_to_multicast_ns(nd_host)
    assert advert[ICMPv6ND_NA].O == 1, "RFC 4861 7.2.4: the Override flag SHOULD be set to one; it was zero"


@case("ND-NA-OVERRIDE-WITHOUT-TLLAO", rfc=4861, section="7.2.4", level=SHOULD, layer=3)
def test_override_clear_when_target_lladdr_omitted(nd_host):
    """An advertisement without a Target Link-Layer Address option (allowed in answer to a
    unicast solicitation) has the Override flag clear; one with it has the flag set."""
    advert = nd_host.tester.exchange(
        ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, nd_host.sut.ip6, dst=nd_host.sut.ip6, dst_mac=nd_host.sut.mac),
        expect=na_for(nd_host.sut.ip6))
    has_tllao = option(advert, ICMPv6NDOptDstLLAddr) is not None
    assert int(has_tllao) == advert[ICMPv6ND_NA].O, (
        f"RFC 4861 7.2.4: without the Target Link-Layer option the Override flag SHOULD be zero, with it one; "
        f"the option was {'present' if has_tllao else 'absent'} and O={advert[ICMPv6ND_NA].O}")


@case("ND-NA-ROUTER-FLAG-HOST", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_host_clears_router_flag(nd_host):
    """A host sets the Router flag of its advertisements to zero."""
    advert = answer_to_multicast_ns(nd_host)
    assert advert[ICMPv6ND_NA].R == 0, "RFC 4861 7.2.4: a node that is not a router MUST set the Router flag to zero"


@case("ND-NA-ROUTER-FLAG-ROUTER", rfc=4861, section="7.2.4", level=MUST, layer=3, needs=("second_segment",))
def test_router_sets_router_flag(nd_router):
    """A router sets the Router flag of its advertisements to one."""
    advert = nd_router.tester.exchange(ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, nd_router.near.ip6), expect=na_for(nd_router.near.ip6))
    assert advert[ICMPv6ND_NA].R == 1, "RFC 4861 7.2.4: if the node is a router, it MUST set the Router flag to one"


@case("ND-NA-HOPLIMIT", rfc=4861, section="4.4", level=MUST, layer=3)
def test_advertisement_hop_limit_255(nd_host):
    """A Neighbor Advertisement is sent with IP Hop Limit 255."""
    advert = answer_to_multicast_ns(nd_host)
    assert advert[IPv6].hlim == 255, f"RFC 4861 4.4: Hop Limit 255; the advertisement had {advert[IPv6].hlim}"


@case("ND-NA-UNICAST-NS", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_unicast_solicitation_is_answered(nd_host):
    """A solicitation sent to the SUT's unicast address (as Neighbor Unreachability Detection
    sends them) is answered, solicited and unicast."""
    advert = nd_host.tester.exchange(
        ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, nd_host.sut.ip6, dst=nd_host.sut.ip6, dst_mac=nd_host.sut.mac),
        expect=na_for(nd_host.sut.ip6))
    assert advert[ICMPv6ND_NA].S == 1 and same_ip(advert[IPv6].dst, NEIGHBOUR_IP), (
        f"the answer is solicited and unicast to {NEIGHBOUR_IP}: S={advert[ICMPv6ND_NA].S}, to {advert[IPv6].dst}")


@case("ND-NA-DAD-ALL-NODES", rfc=4861, section="7.2.4", level=MUST, layer=3)
def test_duplicate_address_probe_answered_to_all_nodes(nd_host):
    """A solicitation from the unspecified address (another node's Duplicate Address Detection)
    is answered to the all-nodes address with the Solicited flag clear."""
    advert = nd_host.tester.exchange(
        ns(NEIGHBOUR_MAC, UNSPECIFIED, nd_host.sut.ip6, sllao=None), expect=na_for(nd_host.sut.ip6))
    assert same_ip(advert[IPv6].dst, ALL_NODES), (
        f"RFC 4861 7.2.4: the node MUST multicast the advertisement to the all-nodes address; it went to {advert[IPv6].dst}")
    assert advert[Ether].dst == ALL_NODES_MAC, f"ff02::1 maps to {ALL_NODES_MAC}; the frame went to {advert[Ether].dst}"
    assert advert[ICMPv6ND_NA].S == 0, "RFC 4861 7.2.4: the node MUST set the Solicited flag to zero"


@case("ND-NS-FOREIGN-TARGET-SILENT", rfc=4861, section="7.2.3", level=MUST, layer=3)
def test_solicitation_for_other_address_is_not_answered(nd_host):
    """A solicitation whose target is not one of the SUT's addresses (nor one it proxies) is
    silently discarded: no advertisement."""
    stranger = "2001:db8:1::77"
    nd_host.tester.send(ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, stranger))
    nd_host.tester.expect_none(na_for(stranger))


@case("ND-NS-CREATES-STALE", rfc=4861, section="7.2.3", level=SHOULD, layer=3, needs=NEEDS)
def test_solicitation_creates_stale_entry(nd_host):
    """A solicitation with a Source Link-Layer Address option from a neighbour the SUT has no
    entry for creates one, in state STALE, with that link-layer address."""
    answer_to_multicast_ns(nd_host)
    found = entry(nd_host)
    assert found is not None, f"RFC 4861 7.2.3: the recipient SHOULD create a Neighbor Cache entry for {NEIGHBOUR_IP}; there is none"
    # Answering the solicitation is the first use of the entry: STALE becomes DELAY (7.3.3).
    assert found.state in ("STALE", "DELAY") and found.mac == NEIGHBOUR_MAC, (
        f"RFC 4861 7.2.3: the new entry is STALE (DELAY once the answer used it) at {NEIGHBOUR_MAC}; "
        f"it is {found.state} at {found.mac}")


@case("ND-NS-NEW-LLADDR-STALE", rfc=4861, section="7.2.3", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_with_new_lladdr_makes_entry_stale(nd_host):
    """A solicitation whose Source Link-Layer Address differs from a REACHABLE entry's puts the
    entry in state STALE (with the new address)."""
    make_reachable(nd_host)
    nd_host.tester.exchange(ns(OTHER_MAC, NEIGHBOUR_IP, nd_host.sut.ip6), expect=na_to(NEIGHBOUR_IP))
    found = entry(nd_host)
    # Answering the solicitation is the first use of the entry: STALE becomes DELAY (7.3.3).
    assert found is not None and found.state in ("STALE", "DELAY"), (
        f"RFC 4861 7.2.3: the entry's reachability state MUST be set to STALE (DELAY once the answer used it); it is {found}")
    assert found.mac == OTHER_MAC, f"the cached address should be replaced by {OTHER_MAC}; it is {found.mac}"


@case("ND-NS-UNKNOWN-OPTION-IGNORED", rfc=4861, section="4.3", level=MUST, layer=3)
def test_unknown_option_is_skipped(nd_host):
    """An option the SUT does not recognise is silently ignored and the solicitation processed."""
    unknown = ICMPv6NDOptUnknown(type=200, len=1, data=b"\0" * 6)
    nd_host.tester.exchange(ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, nd_host.sut.ip6, options=unknown), expect=na_for(nd_host.sut.ip6))


@case("ND-NS-RESERVED-IGNORED", rfc=4861, section="4.3", level=MUST, layer=3)
def test_reserved_field_is_ignored(nd_host):
    """A solicitation whose Reserved field is not zero is processed all the same: the receiver
    ignores the field."""
    nd_host.tester.exchange(ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, nd_host.sut.ip6, res=0xDEADBEEF), expect=na_for(nd_host.sut.ip6))
