"""Validation of received Neighbor Solicitations (RFC 4861 7.1.1): a node MUST silently discard a
solicitation that fails any of the checks. Each case sends a solicitation for the SUT's address
that breaks one check, then shows silence (ended by the fence, an unrelated solicitation the SUT
answers at once), then that no neighbour entry was made from it, and last that the same
solicitation with only that field corrected is answered: the positive control on the same path.
"""

from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptUnknown, IPv6

from cases.nd.frames import ALL_NODES, UNSPECIFIED, bad_checksum, ns, solicited_node, truncated
from cases.nd.steps import NEIGHBOUR_IP, NEIGHBOUR_MAC, entry, na_to, positive_control, solicitations
from conformance.catalog import MUST, case
from conformance.match import like

NEEDS = ("neighbours",)


def discarded_then_answered(host, invalid, valid, *, answer=None, learns=True):
    """`invalid` gets no answer and teaches the SUT nothing; `valid` is answered."""
    answer = answer or na_to(NEIGHBOUR_IP)
    host.tester.send(invalid)
    host.tester.expect_none(answer)
    assert not solicitations(host.tester, NEIGHBOUR_IP), "a discarded solicitation must not make the SUT solicit its sender"
    if learns:
        found = entry(host)
        assert found is None, f"RFC 4861 7.1.1: a discarded solicitation must not create a neighbour entry; there is {found}"
    positive_control("the same solicitation, valid, is answered", lambda: host.tester.exchange(valid, expect=answer))


def solicitation(host, **kw):
    return ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, host.sut.ip6, **kw)


@case("ND-NS-INVALID-HOPLIMIT", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_with_hop_limit_below_255_is_discarded(nd_host):
    """A solicitation whose IP Hop Limit is not 255 (it may have been forwarded) is discarded."""
    discarded_then_answered(nd_host, solicitation(nd_host, hlim=254), solicitation(nd_host))


@case("ND-NS-INVALID-CODE", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_with_code_not_zero_is_discarded(nd_host):
    """A solicitation whose ICMP Code is not 0 is discarded."""
    discarded_then_answered(nd_host, solicitation(nd_host, code=1), solicitation(nd_host))


@case("ND-NS-INVALID-CHECKSUM", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_with_bad_checksum_is_discarded(nd_host):
    """A solicitation whose ICMP checksum is wrong is discarded."""
    discarded_then_answered(nd_host, bad_checksum(solicitation(nd_host)), solicitation(nd_host))


@case("ND-NS-INVALID-SHORT", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_shorter_than_24_octets_is_discarded(nd_host):
    """A solicitation whose ICMP length is under 24 octets is discarded.

    Without room for an option, the solicitation is a unicast one (whose Source Link-Layer
    Address option is only a SHOULD); the SUT resolves the sender to answer the valid one."""
    nd_host.tester.claims[NEIGHBOUR_IP] = NEIGHBOUR_MAC
    unicast = solicitation(nd_host, sllao=None, dst=nd_host.sut.ip6, dst_mac=nd_host.sut.mac)
    nd_host.tester.send(truncated(unicast, 20))
    nd_host.tester.expect_none(na_to(NEIGHBOUR_IP))
    assert not solicitations(nd_host.tester, NEIGHBOUR_IP), "a discarded solicitation must not make the SUT solicit its sender"
    assert entry(nd_host) is None, f"a discarded solicitation must not create a neighbour entry; there is {entry(nd_host)}"
    positive_control("the same solicitation, whole, is answered",
                     lambda: nd_host.tester.exchange(unicast, expect=na_to(NEIGHBOUR_IP)))


@case("ND-NS-INVALID-TARGET-MULTICAST", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_for_multicast_target_is_discarded(nd_host):
    """A solicitation whose Target Address is a multicast address is discarded."""
    group = solicited_node(nd_host.sut.ip6)
    invalid = ns(NEIGHBOUR_MAC, NEIGHBOUR_IP, ALL_NODES, dst=group)
    discarded_then_answered(nd_host, invalid, solicitation(nd_host))


@case("ND-NS-INVALID-OPTION-LENGTH-ZERO", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_with_zero_length_option_is_discarded(nd_host):
    """A solicitation that includes an option of length zero is discarded."""
    zero = ICMPv6NDOptUnknown(type=200, len=0, data=b"")
    discarded_then_answered(nd_host, solicitation(nd_host, options=zero), solicitation(nd_host))


@case("ND-NS-INVALID-DAD-DESTINATION", title="DAD solicitation not to the solicited-node group is discarded", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_dad_solicitation_not_to_solicited_node_is_discarded(nd_host):
    """A solicitation from the unspecified address must go to a solicited-node multicast
    address; one sent to the SUT's unicast address is discarded."""
    defence = like(IPv6(dst=ALL_NODES) / ICMPv6ND_NA(tgt=nd_host.sut.ip6), name="an advertisement to all nodes")
    invalid = ns(NEIGHBOUR_MAC, UNSPECIFIED, nd_host.sut.ip6, sllao=None, dst=nd_host.sut.ip6, dst_mac=nd_host.sut.mac)
    valid = ns(NEIGHBOUR_MAC, UNSPECIFIED, nd_host.sut.ip6, sllao=None)
    discarded_then_answered(nd_host, invalid, valid, answer=defence, learns=False)


@case("ND-NS-INVALID-DAD-SLLAO", title="DAD solicitation with a source link-layer address is discarded", rfc=4861, section="7.1.1", level=MUST, layer=3, needs=NEEDS)
def test_dad_solicitation_with_source_lladdr_is_discarded(nd_host):
    """A solicitation from the unspecified address that carries a Source Link-Layer Address
    option is discarded."""
    defence = like(IPv6(dst=ALL_NODES) / ICMPv6ND_NA(tgt=nd_host.sut.ip6), name="an advertisement to all nodes")
    invalid = ns(NEIGHBOUR_MAC, UNSPECIFIED, nd_host.sut.ip6)
    valid = ns(NEIGHBOUR_MAC, UNSPECIFIED, nd_host.sut.ip6, sllao=None)
    discarded_then_answered(nd_host, invalid, valid, answer=defence, learns=False)

