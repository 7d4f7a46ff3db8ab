"""Duplicate Address Detection (RFC 4862 5.4): the solicitations the SUT sends for a tentative
address, what it does with a tentative address meanwhile, and what a duplicate costs it.

IPv6 is off on the SUT's interface until the case turns it on, so its first frames are seen;
RetransTimer is shortened to 100 ms through the SUT's setting and the random delay before the
first solicitation is set to none (`slaac_host`), so DAD costs about 0.1 s. The number of
solicitations (DupAddrDetectTransmits) is left as the SUT is configured.

Section 5.4.2 states the solicitation's form in the indicative ("the source address is the
unspecified address"); it is read as MUST.
"""

import time

from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from cases.nd.frames import (
    ALL_NODES,
    ALL_NODES_MAC,
    UNSPECIFIED,
    echo,
    echo_reply,
    multicast_mac,
    na,
    ns,
    same_ip,
    solicited_node,
)
from cases.nd.steps import NEIGHBOUR_MAC, ident, positive_control, watch
from cases.slaac.steps import dad_ns_for, enable, ready
from conformance.catalog import MAY, MUST, SHOULD, case
from conformance.match import like
from conformance.verdict import Inconclusive

NEEDS = ("sysctl", "addresses")
MANUAL = "2001:db8:1::1"


def dad_for_manual(host, retrans_ms=300):
    """The link-local address ready, then an address added by hand, with DAD; its solicitation.
    RetransTimer is lengthened so the tester has time to answer inside DAD."""
    ready(host)
    host.control.set_sysctl(host.nd_prefix + "retrans_time_ms", retrans_ms)
    host.add_address(MANUAL + "/64")
    try:
        return host.tester.expect(dad_ns_for(MANUAL), timeout=2.0)
    except AssertionError as exc:
        raise AssertionError(f"RFC 4862 5.4: DAD MUST be performed on a manually configured address; none came for {MANUAL} ({exc})") from None


@case("SLAAC-LINK-LOCAL-FORMED", rfc=4862, section="5.3", level=MUST, layer=3, needs=NEEDS)
def test_link_local_address_formed_when_interface_enabled(slaac_host):
    """When an interface becomes enabled the node forms a link-local address (fe80::/64 plus an
    interface identifier)."""
    slaac_host.enable()
    slaac_host.wait_for(lambda: any(a.address.startswith("fe80:") for a in slaac_host.addresses()),
                        "a link-local address on the SUT's interface")
    ll = [a for a in slaac_host.addresses() if a.address.startswith("fe80:")]
    assert ll[0].prefixlen == 64, f"RFC 4862 5.3: the link-local prefix is fe80::/64; the address is {ll[0]}"


@case("SLAAC-DAD-LINK-LOCAL", title="DAD is performed on the link-local address", rfc=4862, section="5.4", level=MUST, layer=3, needs=NEEDS)
def test_dad_is_performed_on_link_local_address(slaac_host):
    """Duplicate Address Detection is performed on the link-local address before it is assigned."""
    enable(slaac_host)


@case("SLAAC-DAD-NS-SOURCE", title="DAD solicitation comes from the unspecified address", rfc=4862, section="5.4.2", level=MUST, layer=3, needs=NEEDS)
def test_dad_solicitation_from_unspecified_address(slaac_host):
    """A DAD solicitation's IP source is the unspecified address."""
    slaac_host.enable()
    probe = slaac_host.tester.expect(like(ICMPv6ND_NS(tgt=slaac_host.sut.ll)), timeout=2.0)
    assert same_ip(probe[IPv6].src, UNSPECIFIED), f"RFC 4862 5.4.2: the source is the unspecified address; it was {probe[IPv6].src}"


@case("SLAAC-DAD-NS-DESTINATION", title="DAD solicitation goes to the solicited-node group", rfc=4862, section="5.4.2", level=MUST, layer=3, needs=NEEDS)
def test_dad_solicitation_to_solicited_node_group(slaac_host):
    """A DAD solicitation goes to the solicited-node multicast address of the tentative address."""
    probe = enable(slaac_host)
    group = solicited_node(slaac_host.sut.ll)
    assert same_ip(probe[IPv6].dst, group), f"RFC 4862 5.4.2: the destination is {group}; it was {probe[IPv6].dst}"
    assert probe[Ether].dst == multicast_mac(group), f"{group} maps to {multicast_mac(group)}; the frame went to {probe[Ether].dst}"


@case("SLAAC-DAD-NS-NO-SLLAO", title="DAD solicitation carries no source link-layer address", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS, also=(4862,))
def test_dad_solicitation_has_no_source_lladdr(slaac_host):
    """A solicitation from the unspecified address carries no Source Link-Layer Address option."""
    probe = enable(slaac_host)
    assert ICMPv6NDOptSrcLLAddr not in probe, "RFC 4861 4.3: the option MUST NOT be included when the source is the unspecified address"


@case("SLAAC-DAD-NS-HOPLIMIT", title="DAD solicitation has hop limit 255", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS, also=(4862,))
def test_dad_solicitation_hop_limit_255(slaac_host):
    """A DAD solicitation is sent with Hop Limit 255."""
    probe = enable(slaac_host)
    assert probe[IPv6].hlim == 255, f"RFC 4861 4.3: Hop Limit 255; it was {probe[IPv6].hlim}"


@case("SLAAC-DAD-TRANSMITS", title="DAD sends the configured count, then waits RetransTimer", rfc=4862, section="5.4.2", level=MUST, layer=3, needs=NEEDS,
      waits="DAD of the link-local address: DupAddrDetectTransmits x RetransTimer (100 ms)")
def test_dad_sends_configured_count_then_waits_retrans_timer(slaac_host):
    """DAD sends DupAddrDetectTransmits solicitations RetransTimer apart, and the address is
    assigned only RetransTimer after the last one went unanswered."""
    transmits = int(slaac_host.control.sysctl(slaac_host.conf_prefix + "dad_transmits"))
    if transmits < 1:
        raise Inconclusive("the SUT is configured with DupAddrDetectTransmits 0: it performs no DAD")
    enable(slaac_host)
    slaac_host.link_local_ready()
    assigned_ns = time.time_ns()
    slaac_host.tester.capture.drain()
    probes = [f for f in slaac_host.tester.capture.frames if f.direction == "in" and dad_ns_for(slaac_host.sut.ll)(f.packet)]
    assert len(probes) == transmits, (
        f"RFC 4862 5.4.2: DupAddrDetectTransmits ({transmits}) solicitations; {len(probes)} were sent")
    waited = (assigned_ns - probes[-1].t_ns) / 1e6
    assert waited >= 90, (
        f"RFC 4862 5.4.2: the address is unique only RetransTimer (100 ms) after the last solicitation; it was assigned "
        f"{waited:.0f} ms after it")


@case("SLAAC-DAD-MANUAL-ADDRESS", title="DAD is performed on a manually configured address", rfc=4862, section="5.4", level=MUST, layer=3, needs=NEEDS)
def test_dad_is_performed_on_manual_address(slaac_host):
    """DAD is performed on a manually configured unicast address too."""
    dad_for_manual(slaac_host, retrans_ms=100)


@case("SLAAC-TENTATIVE-NO-NA", rfc=4862, section="5.4.3", level=MUST, layer=3, needs=NEEDS)
def test_solicitation_for_tentative_address_is_not_answered(slaac_host):
    """A node does not answer a Neighbor Solicitation for its tentative address."""
    dad_for_manual(slaac_host, retrans_ms=1000)
    slaac_host.tester.send(ns(NEIGHBOUR_MAC, "2001:db8:1::b1", MANUAL))
    slaac_host.tester.expect_none(like(ICMPv6ND_NA(tgt=MANUAL)))


@case("SLAAC-TENTATIVE-DISCARDS", rfc=4862, section="5.4", level=MAY, layer=3, needs=NEEDS)
def test_packet_to_tentative_address_is_discarded(slaac_host):
    """Packets other than DAD's addressed to a tentative address are silently discarded (the RFC's
    lowercase "should")."""
    dad_for_manual(slaac_host, retrans_ms=1000)
    n = ident()
    slaac_host.tester.send(echo(slaac_host.tester.mac, slaac_host.tester.ip6, slaac_host.sut.mac, MANUAL, n))
    slaac_host.tester.expect_none(echo_reply(n))


@case("SLAAC-TENTATIVE-NOT-SOURCE", rfc=4862, section="5.4", level=MUST, layer=3, needs=(*NEEDS, "sockets"))
def test_tentative_address_is_not_used_as_source(slaac_host):
    """A tentative address is not yet assigned: the SUT sends nothing from it."""
    dad_for_manual(slaac_host, retrans_ms=1000)
    sock = slaac_host.app.udp_at("::", 0, connect=(slaac_host.tester.ip6, 9))
    sock.send(b"from which address?")
    datagram = slaac_host.tester.expect(like(IPv6(dst=slaac_host.tester.ip6)), timeout=2.0)
    assert not same_ip(datagram[IPv6].src, MANUAL), f"RFC 4862 5.4: the tentative address {MANUAL} MUST NOT be used; it was the source"


@case("SLAAC-DAD-DUPLICATE-BY-NS", rfc=4862, section="5.4.5", level=MUST, layer=3, needs=NEEDS)
def test_duplicate_found_by_solicitation_is_not_assigned(slaac_host):
    """A DAD solicitation from another node for the same tentative address makes it a duplicate:
    it is not assigned (the SUT does not answer for it afterwards)."""
    dad_for_manual(slaac_host)
    slaac_host.tester.send(ns(NEIGHBOUR_MAC, UNSPECIFIED, MANUAL, sllao=None))
    not_assigned(slaac_host)


@case("SLAAC-DAD-DUPLICATE-BY-NA", rfc=4862, section="5.4.5", level=MUST, layer=3, needs=NEEDS)
def test_duplicate_found_by_advertisement_is_not_assigned(slaac_host):
    """An advertisement for the tentative address makes it a duplicate: it is not assigned."""
    dad_for_manual(slaac_host)
    slaac_host.tester.send(na(NEIGHBOUR_MAC, MANUAL, dst=ALL_NODES, dst_mac=ALL_NODES_MAC, S=0, O=1))
    not_assigned(slaac_host)


def dad_over(address) -> bool:
    """DAD has ended for `address`: it is gone, assigned, or marked a duplicate."""
    return address is None or "tentative" not in address.flags or "dadfailed" in address.flags


def not_assigned(host):
    host.wait_for(lambda: dad_over(host.address(MANUAL)),
                  f"DAD of {MANUAL} ending (300 ms)", timeout=2.0)
    found = host.address(MANUAL)
    assert found is None or "dadfailed" in found.flags, (
        f"RFC 4862 5.4.5: a duplicate address MUST NOT be assigned to an interface; the SUT has {found}")
    host.tester.send(ns(NEIGHBOUR_MAC, "2001:db8:1::b1", MANUAL))
    host.tester.expect_none(like(ICMPv6ND_NA(tgt=MANUAL)))


@case("SLAAC-LINK-LOCAL-DUPLICATE-DISABLES-IP", title="Duplicate hardware-based link-local address disables IPv6", rfc=4862, section="5.4.5", level=SHOULD, layer=3, needs=NEEDS,
      waits="0.5 s watched for silence: nothing on a disabled interface can answer a probe")
def test_duplicate_hardware_link_local_disables_ip(slaac_host):
    """When the link-local address formed from the hardware address (EUI-64) is a duplicate, IP
    operation on the interface is disabled: the SUT stops answering on it.

    Before the duplicate, an address given without DAD answers an echo (the positive control);
    after it, nothing may answer, and since no probe can be answered on a disabled interface
    the silence is watched for 0.5 s."""
    slaac_host.control.set_sysctl(slaac_host.nd_prefix + "retrans_time_ms", 1000)
    enable(slaac_host)
    iid = slaac_host.sut.ll.split("::")[1]
    if "ff:fe" not in iid:
        raise Inconclusive(f"the SUT's link-local address {slaac_host.sut.ll} is not formed from its hardware address")
    slaac_host.add_address(MANUAL + "/64", dad=False)
    n = ident()
    probe = echo(slaac_host.tester.mac, slaac_host.tester.ip6, slaac_host.sut.mac, MANUAL, n)
    positive_control(f"{MANUAL} answers an echo before the duplicate",
                     lambda: slaac_host.tester.exchange(probe, expect=echo_reply(n)))
    slaac_host.tester.send(na(NEIGHBOUR_MAC, slaac_host.sut.ll, dst=ALL_NODES, dst_mac=ALL_NODES_MAC, S=0, O=1))
    slaac_host.wait_for(lambda: dad_over(slaac_host.address(slaac_host.sut.ll)),
                        "DAD of the link-local address ending", timeout=3.0)
    slaac_host.tester.send(probe)
    watch(slaac_host.tester, 0.5)
    answered = [f for f in slaac_host.tester.arrived() if echo_reply(n)(f.packet)]
    assert not answered, (
        "RFC 4862 5.4.5: with its hardware-derived link-local address a duplicate, IP operation on the interface SHOULD "
        f"be disabled; the SUT still answered an echo to {MANUAL}")
