"""Address resolution by the SUT (RFC 4861 7.2.2): the Neighbor Solicitation it multicasts for a
neighbour it must reach, the packet it holds meanwhile, and what it does when nobody answers.

The SUT is prompted by an Echo Request from a neighbour it has no entry for: its reply waits for
resolution. Section 4.3 fixes the solicitation's fields (Hop Limit 255, Code 0, Reserved zero,
a solicited-node or the target's address as destination); a receiver must discard any other
(7.1.1), so they are read as MUST.
"""

import itertools

from scapy.layers.inet6 import ICMPv6DestUnreach, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from cases.nd.frames import echo, echo_reply, multicast_mac, na, option, same_ip, solicited_node
from cases.nd.steps import NEIGHBOUR_IP, NEIGHBOUR_MAC, prompt_resolution, solicitations, watch
from conformance.catalog import MUST, SHOULD, case
from conformance.match import like

NEEDS = ("neighbours",)


@case("ND-NS-RESOLVE-SOLICITED-NODE", rfc=4861, section="7.2.2", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicits_solicited_node_group(nd_host):
    """The solicitation that starts address resolution goes to the solicited-node multicast
    address of the target, in the Ethernet group that address maps to."""
    _, solicitation = prompt_resolution(nd_host)
    group = solicited_node(NEIGHBOUR_IP)
    assert same_ip(solicitation[IPv6].dst, group), (
        f"RFC 4861 7.2.2: the solicitation is sent to the target's solicited-node address {group}; went to {solicitation[IPv6].dst}")
    assert solicitation[Ether].dst == multicast_mac(group), (
        f"RFC 2464 7: {group} maps to {multicast_mac(group)}; the frame went to {solicitation[Ether].dst}")


@case("ND-NS-RESOLVE-HOPLIMIT", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicitation_hop_limit_255(nd_host):
    """A Neighbor Solicitation is sent with IP Hop Limit 255, so receivers know it was not
    forwarded."""
    _, solicitation = prompt_resolution(nd_host)
    assert solicitation[IPv6].hlim == 255, f"RFC 4861 4.3: Hop Limit 255; the solicitation had {solicitation[IPv6].hlim}"


@case("ND-NS-RESOLVE-CODE-ZERO", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicitation_code_zero(nd_host):
    """A Neighbor Solicitation carries ICMP Code 0."""
    _, solicitation = prompt_resolution(nd_host)
    assert solicitation[ICMPv6ND_NS].code == 0, f"RFC 4861 4.3: Code 0; the solicitation had {solicitation[ICMPv6ND_NS].code}"


@case("ND-NS-RESOLVE-RESERVED-ZERO", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicitation_reserved_zero(nd_host):
    """The Reserved field of a Neighbor Solicitation is initialised to zero by the sender."""
    _, solicitation = prompt_resolution(nd_host)
    assert solicitation[ICMPv6ND_NS].res == 0, (
        f"RFC 4861 4.3: Reserved MUST be initialized to zero; it was {solicitation[ICMPv6ND_NS].res:#x}")


@case("ND-NS-RESOLVE-TARGET", rfc=4861, section="4.3", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicitation_names_target(nd_host):
    """The solicitation's Target Address is the address being resolved, never a multicast one."""
    _, solicitation = prompt_resolution(nd_host)
    assert same_ip(solicitation[ICMPv6ND_NS].tgt, NEIGHBOUR_IP), (
        f"RFC 4861 4.3: the Target Address is the address of the target; it was {solicitation[ICMPv6ND_NS].tgt}")


@case("ND-NS-RESOLVE-SLLAO", rfc=4861, section="7.2.2", level=MUST, layer=3, needs=NEEDS)
def test_resolution_solicitation_carries_source_lladdr(nd_host):
    """A solicitation sent to a solicited-node multicast address includes the sender's
    link-layer address in a Source Link-Layer Address option."""
    _, solicitation = prompt_resolution(nd_host)
    opt = option(solicitation, ICMPv6NDOptSrcLLAddr)
    assert opt is not None, "RFC 4861 7.2.2: the sender MUST include its link-layer address as a Source Link-Layer Address option; there was none"
    assert opt.lladdr == nd_host.sut.mac, f"the option must carry the SUT's MAC {nd_host.sut.mac}; it carried {opt.lladdr}"


@case("ND-NS-RESOLVE-SOURCE", rfc=4861, section="7.2.2", level=SHOULD, layer=3, needs=NEEDS)
def test_resolution_solicitation_source_is_prompting_source(nd_host):
    """The solicitation's IP source is the source address of the packet that prompted it, when
    that address belongs to the outgoing interface."""
    _, solicitation = prompt_resolution(nd_host)
    assert same_ip(solicitation[IPv6].src, nd_host.sut.ip6), (
        f"RFC 4861 7.2.2: the echo reply waiting comes from {nd_host.sut.ip6}, which SHOULD be the solicitation's "
        f"source; it was {solicitation[IPv6].src}")


@case("ND-RESOLVE-QUEUE", rfc=4861, section="7.2.2", level=MUST, layer=3, needs=NEEDS)
def test_packet_waiting_for_resolution_is_sent(nd_host):
    """While resolution is under way the packet that needs it is queued, and sent once the
    neighbour's advertisement arrives."""
    n, solicitation = prompt_resolution(nd_host)
    reply = nd_host.tester.exchange(
        na(NEIGHBOUR_MAC, NEIGHBOUR_IP, dst=solicitation[IPv6].src, dst_mac=nd_host.sut.mac, S=1, O=1),
        expect=echo_reply(n, to=NEIGHBOUR_IP))
    assert reply[Ether].dst == NEIGHBOUR_MAC, f"the queued packet goes to the resolved MAC {NEIGHBOUR_MAC}, went to {reply[Ether].dst}"


@case("ND-RESOLVE-RETRANSMIT", rfc=4861, section="7.2.2", level=SHOULD, layer=3, needs=("sysctl", "neighbours"),
      waits="three unanswered solicitations, RetransTimer shortened to 100 ms")
def test_unanswered_solicitation_is_retransmitted(nd_host):
    """An unanswered solicitation is retransmitted every RetransTimer, at most
    MAX_MULTICAST_SOLICIT (3) times in all.

    RetransTimer is shortened to 100 ms; the SUT's count of solicitations is left as configured."""
    nd_host.control.set_sysctl(nd_host.nd_prefix + "retrans_time_ms", 100)
    prompt_resolution(nd_host)
    watch(nd_host.tester, 0.6)
    sent = solicitations(nd_host.tester, NEIGHBOUR_IP)
    assert len(sent) >= 2, f"RFC 4861 7.2.2: the solicitation SHOULD be retransmitted; 1 was sent in {0.6 + 0.1:g} s"
    assert len(sent) <= 3, f"RFC 4861 7.2.2: at most MAX_MULTICAST_SOLICIT (3) solicitations; {len(sent)} were sent"
    gaps = [(b - a) / 1e6 for (a, _), (b, _) in itertools.pairwise(sent)]
    assert all(g >= 90 for g in gaps), f"retransmissions every RetransTimer (100 ms); the gaps were {gaps} ms"


@case("ND-RESOLVE-FAIL-UNREACHABLE", rfc=4861, section="7.2.2", level=MUST, layer=3, needs=("sysctl", "second_segment"),
      waits="three unanswered solicitations, RetransTimer shortened to 100 ms")
def test_failed_resolution_returns_address_unreachable(nd_router):
    """When resolution fails, the packets queued for it are answered with ICMPv6 Destination
    Unreachable, code 3 (Address Unreachable), to their source."""
    nd_router.control.set_sysctl(f"net.ipv6.neigh.{nd_router.far_end.ifname}.retrans_time_ms", 100)
    nobody = "2001:db8:2::99"
    n = 0x6EFF
    error = nd_router.tester.exchange(
        echo(nd_router.tester.mac, nd_router.tester.ip6, nd_router.near.mac, nobody, n),
        expect=like(IPv6(dst=nd_router.tester.ip6) / ICMPv6DestUnreach()), timeout=2.0)
    assert error[ICMPv6DestUnreach].code == 3, (
        f"RFC 4861 7.2.2: Destination Unreachable code 3 (Address Unreachable); code {error[ICMPv6DestUnreach].code} came")
    sent = solicitations(nd_router.far, nobody)
    assert sent, "the router must have tried to resolve the destination before giving up"
