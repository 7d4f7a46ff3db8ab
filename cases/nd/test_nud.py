"""Neighbor Unreachability Detection (RFC 4861 7.3): the states a neighbour entry goes through as
confirmations arrive or stop arriving, and the unicast probes that test a neighbour the SUT still
uses. The SUT's neighbour cache is the oracle, beside the probes on the wire.

The SUT's timers are shortened through its own settings (preconditions): BaseReachableTime
100 ms, RetransTimer 100 ms and, where the case is about probing, no delay before the first
probe. The count of probes (MAX_UNICAST_SOLICIT) is left as the SUT is configured. Section 7.3.3
states the transitions in the indicative; they are read as MUST, its SHOULDs as SHOULD.
"""

import itertools

from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from cases.nd.frames import echo, echo_reply, na, ns_for, same_ip
from cases.nd.steps import NEIGHBOUR_IP, NEIGHBOUR_MAC, entry, ident, make_reachable, solicitations, wait_state, watch
from conformance.catalog import MUST, SHOULD, case
from conformance.verdict import Inconclusive

NEEDS = ("sysctl", "neighbours")
STALE_WAIT = "the SUT's ReachableTime (BaseReachableTime 100 ms after its setting) until its entry goes stale"


def shorten(host, *, delay_s=None):
    host.control.set_sysctl(host.nd_prefix + "base_reachable_time_ms", 100)
    host.control.set_sysctl(host.nd_prefix + "retrans_time_ms", 100)
    if delay_s is not None:
        host.control.set_sysctl(host.nd_prefix + "delay_first_probe_time", delay_s)


def reachable_then_stale(host):
    make_reachable(host)
    found = wait_state(host, {"STALE"})
    if found is None or found.state != "STALE":
        raise Inconclusive(f"precondition not met: the entry goes STALE once ReachableTime (~100 ms) has passed; it is {found}")


def use(host) -> int:
    """The SUT sends to the neighbour: an Echo Request from it, whose reply the SUT sends."""
    n = ident()
    host.tester.send(echo(NEIGHBOUR_MAC, NEIGHBOUR_IP, host.sut.mac, host.sut.ip6, n))
    return n


@case("ND-NUD-REACHABLE-TO-STALE", rfc=4861, section="7.3.3", level=MUST, layer=3, needs=NEEDS, waits=STALE_WAIT)
def test_reachable_entry_goes_stale_after_reachable_time(nd_host):
    """When ReachableTime has passed since the last confirmation, a REACHABLE entry becomes STALE.

    The queued echo reply went out at the confirmation, so DELAY also fits 7.3.2's definition
    ("a packet was sent within the last DELAY_FIRST_PROBE_TIME seconds"); staying REACHABLE does not."""
    shorten(nd_host)
    make_reachable(nd_host)
    found = wait_state(nd_host, {"STALE", "DELAY", "PROBE"}, timeout=2.0)
    assert found is not None and found.state in ("STALE", "DELAY", "PROBE"), (
        f"RFC 4861 7.3.3: REACHABLE changes to STALE after ReachableTime (base 100 ms, at most 1.5 x); after 2 s the entry is {found}")


@case("ND-NUD-STALE-SEND-DELAY", rfc=4861, section="7.3.3", level=MUST, layer=3, needs=NEEDS, waits=STALE_WAIT)
def test_sending_to_stale_entry_uses_it_and_enters_delay(nd_host):
    """The first packet to a STALE neighbour goes out at once to the cached address, and the
    entry enters DELAY (no solicitation before the packet)."""
    shorten(nd_host, delay_s=0)  # no packet counts as recent: the entry goes STALE, not DELAY (7.3.2)
    reachable_then_stale(nd_host)
    nd_host.control.set_sysctl(nd_host.nd_prefix + "delay_first_probe_time", 5)  # DELAY lasts long enough to be read
    n = use(nd_host)
    reply = nd_host.tester.expect(echo_reply(n))
    assert reply[Ether].dst == NEIGHBOUR_MAC, f"the packet goes to the cached address {NEIGHBOUR_MAC}; it went to {reply[Ether].dst}"
    found = entry(nd_host)
    assert found is not None and found.state == "DELAY", (
        f"RFC 4861 7.3.3: the sender changes the state to DELAY; the entry is {found}")


@case("ND-NUD-PROBE-UNICAST", rfc=4861, section="7.3.3", level=MUST, layer=3, needs=NEEDS, waits=STALE_WAIT)
def test_probe_is_unicast_to_cached_address(nd_host):
    """Entering PROBE, the SUT sends a Neighbor Solicitation unicast to the neighbour, at its
    cached link-layer address."""
    shorten(nd_host, delay_s=0)
    reachable_then_stale(nd_host)
    use(nd_host)
    probe = nd_host.tester.expect(ns_for(NEIGHBOUR_IP), timeout=1.0)
    assert same_ip(probe[IPv6].dst, NEIGHBOUR_IP), (
        f"RFC 4861 7.3.3: the probe is a unicast solicitation to {NEIGHBOUR_IP}; it went to {probe[IPv6].dst}")
    assert probe[Ether].dst == NEIGHBOUR_MAC, (
        f"RFC 4861 7.3.3: the probe uses the cached link-layer address {NEIGHBOUR_MAC}; it went to {probe[Ether].dst}")


@case("ND-NUD-PROBE-RETRANSMIT", rfc=4861, section="7.3.3", level=MUST, layer=3, needs=NEEDS,
      waits=STALE_WAIT + ", then the unanswered probes (RetransTimer 100 ms)")
def test_unanswered_probes_repeat_every_retrans_timer(nd_host):
    """While in PROBE the SUT retransmits the solicitation every RetransTimer, at most
    MAX_UNICAST_SOLICIT (3) in all, without further packets to the neighbour."""
    shorten(nd_host, delay_s=0)
    reachable_then_stale(nd_host)
    use(nd_host)
    nd_host.tester.expect(ns_for(NEIGHBOUR_IP))
    watch(nd_host.tester, 0.6)
    probes = [(t, p) for t, p in solicitations(nd_host.tester, NEIGHBOUR_IP) if p[Ether].dst == NEIGHBOUR_MAC]
    assert len(probes) >= 2, f"RFC 4861 7.3.3: probes are retransmitted every RetransTimer; {len(probes)} came in 0.6 s"
    assert len(probes) <= 3, f"RFC 4861 7.3.3: at most MAX_UNICAST_SOLICIT (3) probes; {len(probes)} came"
    gaps = [(b - a) / 1e6 for (a, _), (b, _) in itertools.pairwise(probes)]
    assert all(g >= 90 for g in gaps), f"RFC 4861 7.3.3: probes every RetransTimer (100 ms); the gaps were {gaps} ms"


@case("ND-NUD-FAILED-DELETED", rfc=4861, section="7.3.3", level=SHOULD, layer=3, needs=NEEDS,
      waits=STALE_WAIT + ", then the unanswered probes (RetransTimer 100 ms)")
def test_entry_is_deleted_after_failed_probes(nd_host):
    """When the probes go unanswered the entry is deleted: the next packet starts a new address
    resolution (a multicast solicitation) rather than going to the old address."""
    shorten(nd_host, delay_s=0)
    reachable_then_stale(nd_host)
    use(nd_host)
    nd_host.tester.expect(ns_for(NEIGHBOUR_IP))
    found = wait_state(nd_host, {None, "FAILED", "INCOMPLETE"}, timeout=2.0)
    assert found is None or found.state in ("FAILED", "INCOMPLETE"), (
        f"RFC 4861 7.3.3: after the probes the entry SHOULD be deleted; after 2 s it is {found}")
    n = use(nd_host)
    solicitation = nd_host.tester.expect(ns_for(NEIGHBOUR_IP))
    assert solicitation[Ether].dst.startswith("33:33:"), (
        f"the next packet starts address resolution with a multicast solicitation; it went to {solicitation[Ether].dst}")
    sent_blind = [f for f in nd_host.tester.arrived() if echo_reply(n)(f.packet)]
    assert not sent_blind, "after the probes failed the packet must wait for a new resolution, not go to the old address"


@case("ND-NUD-PROBE-CONFIRMED", rfc=4861, section="7.3.3", level=MUST, layer=3, needs=NEEDS, waits=STALE_WAIT)
def test_solicited_answer_to_probe_makes_entry_reachable(nd_host):
    """A solicited advertisement in answer to a probe confirms reachability: the entry becomes
    REACHABLE and probing stops."""
    shorten(nd_host, delay_s=0)
    reachable_then_stale(nd_host)
    use(nd_host)
    probe = nd_host.tester.expect(ns_for(NEIGHBOUR_IP))
    nd_host.tester.send(na(NEIGHBOUR_MAC, NEIGHBOUR_IP, dst=probe[IPv6].src, dst_mac=nd_host.sut.mac, S=1, O=0, tllao=None))
    nd_host.tester.handled()
    found = entry(nd_host)
    assert found is not None and found.state == "REACHABLE", (
        f"RFC 4861 7.3.3: on reachability confirmation the state changes to REACHABLE; it is {found}")
