"""Neighbor Advertisements the SUT receives (RFC 4861 7.1.2, 7.2.5): which are discarded, and how
a valid one changes the neighbour entry, by the entry's state and the Solicited and Override
flags. The SUT's neighbour cache is the oracle, with the queued packet it sends once an entry
is resolved.

Section 7.2.5 states the state changes in the indicative and in MUSTs; both are read as MUST,
its SHOULDs as SHOULD.
"""

from scapy.layers.inet6 import ICMPv6NDOptUnknown, IPv6

from cases.nd.frames import ALL_NODES, ALL_NODES_MAC, bad_checksum, echo_reply, na, truncated
from cases.nd.ra import advertise, default_gateway
from cases.nd.steps import (
    NEIGHBOUR_IP,
    NEIGHBOUR_MAC,
    OTHER_MAC,
    entry,
    make_reachable,
    make_stale,
    positive_control,
    prompt_resolution,
)
from conformance.catalog import MUST, SHOULD, case
from conformance.verdict import Inconclusive

NEEDS = ("neighbours",)


def advert(host, solicitation=None, **kw):
    dst = solicitation[IPv6].src if solicitation is not None else host.sut.ip6
    kw.setdefault("dst", dst)
    kw.setdefault("dst_mac", host.sut.mac)
    return na(kw.pop("mac", NEIGHBOUR_MAC), NEIGHBOUR_IP, **kw)


def ignored_while_incomplete(host, make_invalid):
    """Resolution under way; the invalid advertisement leaves the entry unresolved and the
    queued packet unsent; the valid one then resolves it (the positive control)."""
    n, solicitation = prompt_resolution(host)
    host.tester.send(make_invalid(solicitation))
    host.tester.expect_none(echo_reply(n))
    found = entry(host)
    assert found is None or found.state == "INCOMPLETE", (
        f"RFC 4861 7.1.2: an invalid advertisement MUST be discarded; the entry for {NEIGHBOUR_IP} became {found}")
    positive_control("the same advertisement, valid, resolves the entry and releases the queued packet",
                     lambda: host.tester.exchange(advert(host, solicitation), expect=echo_reply(n)))


# --- validation (7.1.2) ----------------------------------------------------------------------

@case("ND-NA-INVALID-HOPLIMIT", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_hop_limit_below_255_is_discarded(nd_host):
    """An advertisement whose IP Hop Limit is not 255 is discarded."""
    ignored_while_incomplete(nd_host, lambda s: advert(nd_host, s, hlim=64))


@case("ND-NA-INVALID-CODE", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_code_not_zero_is_discarded(nd_host):
    """An advertisement whose ICMP Code is not 0 is discarded."""
    ignored_while_incomplete(nd_host, lambda s: advert(nd_host, s, code=1))


@case("ND-NA-INVALID-CHECKSUM", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_bad_checksum_is_discarded(nd_host):
    """An advertisement whose ICMP checksum is wrong is discarded."""
    ignored_while_incomplete(nd_host, lambda s: bad_checksum(advert(nd_host, s)))


@case("ND-NA-INVALID-SHORT", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_shorter_than_24_octets_is_discarded(nd_host):
    """An advertisement whose ICMP length is under 24 octets is discarded."""
    ignored_while_incomplete(nd_host, lambda s: truncated(advert(nd_host, s, tllao=None), 20))


@case("ND-NA-INVALID-TARGET-MULTICAST", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_for_multicast_target_is_discarded(nd_host):
    """An advertisement whose Target Address is a multicast address is discarded: it resolves
    nothing, and the queued packet waits for a valid one."""
    ignored_while_incomplete(nd_host, lambda s: na(NEIGHBOUR_MAC, ALL_NODES, src=NEIGHBOUR_IP, dst=s[IPv6].src,
                                                   dst_mac=nd_host.sut.mac))


@case("ND-NA-INVALID-SOLICITED-MULTICAST", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_solicited_advertisement_to_multicast_is_discarded(nd_host):
    """An advertisement sent to a multicast address with the Solicited flag set is discarded."""
    ignored_while_incomplete(nd_host, lambda s: advert(nd_host, s, dst=ALL_NODES, dst_mac=ALL_NODES_MAC, S=1))


@case("ND-NA-INVALID-OPTION-LENGTH-ZERO", rfc=4861, section="7.1.2", level=MUST, layer=3, needs=NEEDS)
def test_advertisement_with_zero_length_option_is_discarded(nd_host):
    """An advertisement that includes an option of length zero is discarded."""
    ignored_while_incomplete(nd_host, lambda s: advert(nd_host, s) / ICMPv6NDOptUnknown(type=200, len=0, data=b""))


# --- an entry being resolved (INCOMPLETE) ------------------------------------------------------

@case("ND-NA-INCOMPLETE-SOLICITED-REACHABLE", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_solicited_advertisement_makes_entry_reachable(nd_host):
    """A solicited advertisement with the target's link-layer address resolves an INCOMPLETE
    entry: the address is recorded and the state is REACHABLE."""
    n, solicitation = prompt_resolution(nd_host)
    nd_host.tester.exchange(advert(nd_host, solicitation, S=1), expect=echo_reply(n))
    found = entry(nd_host)
    assert found is not None and (found.state, found.mac) == ("REACHABLE", NEIGHBOUR_MAC), (
        f"RFC 4861 7.2.5: the entry is REACHABLE at {NEIGHBOUR_MAC}; it is {found}")


@case("ND-NA-INCOMPLETE-UNSOLICITED-STALE", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_unsolicited_advertisement_makes_incomplete_entry_stale(nd_host):
    """An advertisement with the Solicited flag clear resolves an INCOMPLETE entry to STALE:
    the address is recorded (and the queued packet sent) without confirming reachability."""
    n, solicitation = prompt_resolution(nd_host)
    nd_host.tester.exchange(advert(nd_host, solicitation, S=0, dst=ALL_NODES, dst_mac=ALL_NODES_MAC), expect=echo_reply(n))
    found = entry(nd_host)
    # Sending the queued packet is the first use of a STALE entry: it becomes DELAY (7.3.3).
    assert found is not None and found.state in ("STALE", "DELAY") and found.mac == NEIGHBOUR_MAC, (
        f"RFC 4861 7.2.5: with the Solicited flag zero the entry is set to STALE (DELAY once used) at {NEIGHBOUR_MAC}; "
        f"it is {found}")


@case("ND-NA-INCOMPLETE-NO-TLLAO-IGNORED", rfc=4861, section="7.2.5", level=SHOULD, layer=3, needs=NEEDS)
def test_advertisement_without_lladdr_does_not_resolve(nd_host):
    """An advertisement without a Target Link-Layer Address option cannot resolve an INCOMPLETE
    entry and is discarded."""
    ignored_while_incomplete(nd_host, lambda s: advert(nd_host, s, tllao=None))


# --- no entry ----------------------------------------------------------------------------------

@case("ND-NA-NO-ENTRY-IGNORED", rfc=4861, section="7.2.5", level=SHOULD, layer=3, needs=NEEDS)
def test_advertisement_for_unknown_target_creates_no_entry(nd_host):
    """An advertisement for a target the SUT has no entry for is silently discarded: no entry
    is created from it."""
    nd_host.tester.send(advert(nd_host, S=0, dst=ALL_NODES, dst_mac=ALL_NODES_MAC))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is None, f"RFC 4861 7.2.5: if no entry exists, the advertisement SHOULD be silently discarded; there is {found}"


# --- an entry the SUT holds (7.2.5 I and II) -----------------------------------------------------

@case("ND-NA-OVERRIDE-CLEAR-REACHABLE-STALE", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_non_override_advert_with_new_lladdr_makes_reachable_entry_stale(nd_host):
    """An advertisement with Override clear and a different link-layer address puts a REACHABLE
    entry in STALE and changes it in no other way: the cached address stays."""
    make_reachable(nd_host)
    nd_host.tester.send(advert(nd_host, mac=OTHER_MAC, S=1, O=0))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is not None and found.state == "STALE", f"RFC 4861 7.2.5 I.a: set it to STALE; it is {found}"
    assert found.mac == NEIGHBOUR_MAC, f"RFC 4861 7.2.5 I.a: do not update the entry in any other way; its MAC became {found.mac}"


@case("ND-NA-OVERRIDE-CLEAR-STALE-IGNORED", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_non_override_advert_with_new_lladdr_does_not_update_stale_entry(nd_host):
    """An advertisement with Override clear and a different link-layer address does not update
    an entry that is not REACHABLE."""
    make_stale(nd_host)
    before = entry(nd_host)
    nd_host.tester.send(advert(nd_host, mac=OTHER_MAC, S=1, O=0))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is not None and found.mac == NEIGHBOUR_MAC, (
        f"RFC 4861 7.2.5 I.b: the advertisement MUST NOT update the cache; the entry became {found}")
    assert before is not None and found.state == before.state, (
        f"RFC 4861 7.2.5 I.b: nothing changes, the state included; {before.state if before else None} became {found.state}")


@case("ND-NA-OVERRIDE-UPDATES-LLADDR", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_override_advert_with_new_lladdr_updates_entry_to_stale(nd_host):
    """An unsolicited advertisement with Override set and a new link-layer address replaces the
    cached address, and the entry becomes STALE."""
    make_reachable(nd_host)
    nd_host.tester.send(advert(nd_host, mac=OTHER_MAC, S=0, O=1, dst=ALL_NODES, dst_mac=ALL_NODES_MAC))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is not None and found.mac == OTHER_MAC, (
        f"RFC 4861 7.2.5 II: the link-layer address MUST be inserted in the cache ({OTHER_MAC}); the entry is {found}")
    assert found.state == "STALE", f"RFC 4861 7.2.5 II: the state MUST be set to STALE; it is {found.state}"


@case("ND-NA-SOLICITED-CONFIRMS", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_solicited_advert_makes_stale_entry_reachable(nd_host):
    """A solicited advertisement (with the same link-layer address) puts a STALE entry in
    REACHABLE: it confirms reachability."""
    make_stale(nd_host)
    nd_host.tester.send(advert(nd_host, S=1, O=1))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is not None and found.state == "REACHABLE", (
        f"RFC 4861 7.2.5 II: if the Solicited flag is set, the state MUST be set to REACHABLE; it is {found}")


@case("ND-NA-UNSOLICITED-SAME-LLADDR-UNCHANGED", rfc=4861, section="7.2.5", level=MUST, layer=3, needs=NEEDS)
def test_unsolicited_advert_with_same_lladdr_leaves_state(nd_host):
    """An unsolicited advertisement that repeats the cached link-layer address does not confirm
    reachability: the entry's state stays as it was."""
    make_stale(nd_host)
    before = entry(nd_host)
    nd_host.tester.send(advert(nd_host, S=0, O=1, dst=ALL_NODES, dst_mac=ALL_NODES_MAC))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert before is not None and found is not None and found.state == before.state, (
        f"RFC 4861 7.2.5 II: otherwise, the entry's state remains unchanged ({before.state if before else None}); "
        f"it is {found}")


@case("ND-NA-ISROUTER-CLEARED-REMOVES-DEFAULT", rfc=4861, section="7.2.5", level=MUST, layer=3,
      needs=("neighbours", "routes"))
def test_router_flag_cleared_removes_default_router(nd_host):
    """When an advertisement turns a neighbour's IsRouter flag from true to false, that router
    is removed from the Default Router List."""
    advertise(nd_host)
    if default_gateway(nd_host) is None:
        raise Inconclusive("precondition not met: the SUT took the tester's router as its default router from an RA")
    router = nd_host.router
    nd_host.tester.send(na(router.mac, router.ll, R=0, S=0, O=1, dst=ALL_NODES, dst_mac=ALL_NODES_MAC))
    nd_host.tester.handled()
    gateway = default_gateway(nd_host)
    assert gateway is None, (
        f"RFC 4861 7.2.5: the node MUST remove that router from the Default Router List; the SUT still routes via {gateway}")
